"""Administracja > KSeF: list of connections, form (create / edit), verify. Admins only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import AdminRequiredMixin

from ..models import KsefConnection
from . import services
from .client import api_url
from .forms import KsefConnectionForm


class KsefConnectionListView(AdminRequiredMixin, View):
    def get(self, request):
        connections = list(KsefConnection.objects.prefetch_related("series"))
        for connection in connections:
            connection.api_address = api_url(connection)
        return render(request, "integrations/ksef_list.html", {"connections": connections})


class KsefConnectionFormView(AdminRequiredMixin, View):
    template_name = "integrations/ksef_form.html"

    def get(self, request, pk=None):
        connection = get_object_or_404(KsefConnection, pk=pk) if pk else None
        initial = {}
        if connection:
            initial = {
                "name": connection.name,
                "nip": connection.nip,
                "environment": connection.environment,
                "base_url": connection.base_url,
                "qr_environment": connection.qr_environment,
                "send_automatically": connection.send_automatically,
                "offline24": connection.offline24,
            }
        form = KsefConnectionForm(initial=initial, editing=bool(connection))
        return render(request, self.template_name, {"form": form, "connection": connection})

    def post(self, request, pk=None):
        connection = get_object_or_404(KsefConnection, pk=pk) if pk else None
        form = KsefConnectionForm(request.POST, editing=bool(connection))
        if form.is_valid():
            try:
                connection = services.ksef_connection_save(connection=connection, data=dict(form.cleaned_data))
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                if connection.state == "ok":
                    messages.success(
                        request, f"Zapisano połączenie „{connection.name}”. Uwierzytelnienie w KSeF działa."
                    )
                else:
                    messages.warning(
                        request,
                        f"Zapisano połączenie „{connection.name}”, ale uwierzytelnienie w KSeF nie działa: "
                        f"{connection.last_error or 'nie sprawdzono'}",
                    )
                return redirect("ksef:list")
        return render(request, self.template_name, {"form": form, "connection": connection}, status=400)


class KsefConnectionVerifyView(AdminRequiredMixin, View):
    def post(self, request, pk):
        connection = services.ksef_connection_verify(connection=get_object_or_404(KsefConnection, pk=pk))
        if connection.state == "ok":
            messages.success(request, "Uwierzytelnienie w KSeF działa.")
        else:
            messages.error(request, f"Uwierzytelnienie w KSeF nie działa: {connection.last_error}")
        return redirect("ksef:list")
