"""Preview actions for KSeF: "Wyślij do KSeF" (send now / again) and the UPO download. Staff (Obsługa) and admins."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import StaffRequiredMixin

from .ksef_send import document_ksef_upo, ksef_send_now
from .models import Document


class DocumentKsefSendView(StaffRequiredMixin, View):
    def post(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        try:
            ksef_send_now(document=document)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, "Dokument czeka na wysłanie do KSeF — stan odświeży się sam.")
        return redirect("accounting:document_detail", pk=pk)


class DocumentKsefUpoView(StaffRequiredMixin, View):
    def get(self, request, pk):
        document = get_object_or_404(Document, pk=pk)
        try:
            upo = document_ksef_upo(document=document)
        except ApplicationError as err:
            messages.error(request, err.message)
            return redirect("accounting:document_detail", pk=pk)
        response = HttpResponse(upo, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="UPO_{document.number.replace("/", "_")}.xml"'
        return response
