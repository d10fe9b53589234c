"""The preview's e-mail buttons: Wyślij e-mailem (first time) and Wyślij ponownie (confirmed, logged)."""

import uuid

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apilo.errors import ApplicationError
from apilo.roles import StaffRequiredMixin

from . import emails
from .models import Document, EmailMessage, EmailTemplate


class DocumentSendView(StaffRequiredMixin, View):
    """Send the document to the buyer by hand. The form's token makes a double click one message; a document
    already sent is sent again only with `again` (the confirmation page's form)."""

    def post(self, request, pk):
        document = get_object_or_404(Document.objects.select_related("order"), pk=pk)
        token = request.POST.get("token", "")[:40] or uuid.uuid4().hex
        again = request.POST.get("again") in ("1", "true", "on")
        template = None
        if request.POST.get("template"):
            chosen = request.POST["template"]
            template = EmailTemplate.objects.filter(pk=chosen).first() if chosen.isdigit() else None
            if template is None:
                messages.error(request, "Wybrany szablon e-mail nie istnieje.")
                return redirect("accounting:document_send_again", pk=pk)
        try:
            message = emails.document_send_by_hand(
                document=document, actor=request.user, template=template, again=again, token=token
            )
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            if message.state == "sent":
                messages.success(request, f"Wysłano {document.number} na adres {message.recipient}.")
            else:
                messages.error(request, message.error)
        return redirect("accounting:document_detail", pk=pk)


class DocumentSendAgainView(StaffRequiredMixin, View):
    """Confirmation of Wyślij ponownie: what was sent, to whom, by whom, and the template to use."""

    def get(self, request, pk):
        document = get_object_or_404(Document.objects.select_related("order"), pk=pk)
        try:
            recipient = emails.recipient_of(document)
        except ApplicationError:
            recipient = ""
        return render(
            request,
            "accounting/document_send_again.html",
            {
                "document": document,
                "recipient": recipient,
                "messages_sent": EmailMessage.objects.filter(document=document).select_related("actor"),
                "templates": EmailTemplate.objects.all(),
                "send_token": uuid.uuid4().hex,
            },
        )
