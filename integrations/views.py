from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import AdminRequiredMixin

from . import services
from .forms import InfaktForm
from .infakt.provider import ENVIRONMENTS
from .models import Integration

LIMITATIONS = (
    "Edycja, usunięcie lub anulowanie dokumentu w tej aplikacji nie zmienia go w inFakt, a zmiany "
    "wprowadzone w inFakt nie wracają do tej aplikacji."
)


class IntegrationListView(AdminRequiredMixin, View):
    def get(self, request):
        return render(
            request,
            "integrations/integration_list.html",
            {
                "integrations": Integration.objects.prefetch_related("series"),
                "limitations": LIMITATIONS,
            },
        )


def _environment_of(url: str) -> tuple[str, str]:
    for key, value in ENVIRONMENTS.items():
        if url == value:
            return key, ""
    return "custom", url


class IntegrationFormView(AdminRequiredMixin, View):
    template_name = "integrations/integration_form.html"

    def get(self, request, pk=None):
        integration = get_object_or_404(Integration, pk=pk) if pk else None
        initial = {}
        if integration:
            environment, custom = _environment_of(integration.base_url)
            initial = {"name": integration.name, "environment": environment, "custom_url": custom}
        return render(
            request,
            self.template_name,
            {
                "form": InfaktForm(initial=initial, editing=bool(integration)),
                "integration": integration,
            },
        )

    def post(self, request, pk=None):
        integration = get_object_or_404(Integration, pk=pk) if pk else None
        form = InfaktForm(request.POST, editing=bool(integration))
        if form.is_valid():
            try:
                integration = services.integration_save(
                    integration=integration,
                    data={
                        "provider": "infakt",
                        "name": form.cleaned_data["name"],
                        "base_url": form.base_url(),
                        "api_key": form.cleaned_data["api_key"],
                    },
                )
            except ApplicationError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                if integration.state == "ok":
                    messages.success(request, f"Zapisano integrację „{integration.name}”. Połączenie działa.")
                else:
                    messages.warning(
                        request,
                        f"Zapisano integrację „{integration.name}”, ale połączenie nie działa: "
                        f"{integration.last_error}",
                    )
                return redirect("integrations:list")
        return render(request, self.template_name, {"form": form, "integration": integration}, status=400)


class IntegrationVerifyView(AdminRequiredMixin, View):
    def post(self, request, pk):
        integration = services.integration_verify(integration=get_object_or_404(Integration, pk=pk))
        if integration.state == "ok":
            messages.success(request, "Połączenie z inFakt działa.")
        else:
            messages.error(request, f"Połączenie nie działa: {integration.last_error}")
        return redirect("integrations:list")
