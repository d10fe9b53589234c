"""E-mailing documents to buyers: templates with placeholders, the PDF attached, one message per
(document, template, trigger) ever."""

from __future__ import annotations

import logging
from string import Formatter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage as MailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError

from .models import Document, DocumentState, EmailMessage, EmailState, EmailTemplate

logger = logging.getLogger(__name__)

PLACEHOLDERS = {
    "numer_zamowienia": "numer zamówienia",
    "numer_dokumentu": "numer dokumentu",
    "rodzaj_dokumentu": "rodzaj dokumentu (np. Faktura VAT)",
    "nabywca": "nabywca",
    "kwota": "kwota brutto z walutą",
    "termin_platnosci": "termin płatności",
    "konto": "numer konta sprzedawcy",
    "sprzedawca": "nazwa sprzedawcy",
}
DEFAULT_TEMPLATE = {
    "name": "Faktura dla kupującego",
    "subject": "{rodzaj_dokumentu} {numer_dokumentu} do zamówienia {numer_zamowienia}",
    "body": (
        "Dzień dobry,\n\nw załączniku przesyłamy dokument {rodzaj_dokumentu} nr {numer_dokumentu} do zamówienia "
        "{numer_zamowienia} na kwotę {kwota}.\nTermin płatności: {termin_platnosci}. Numer konta: {konto}.\n\n"
        "Dziękujemy za zakupy!\n{sprzedawca}"
    ),
    "is_default": True,
}


class DocumentNotReady(ApplicationError):
    """The document is still being numbered by an accounting service: try again later."""


def template_problems(text: str) -> list[str]:
    unknown = [name for _, name, _, _ in Formatter().parse(text) if name and name not in PLACEHOLDERS]
    return [
        f"Nieznany znacznik {{{name}}}; dostępne: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}." for name in unknown
    ]


def template_default() -> EmailTemplate:
    template = EmailTemplate.objects.filter(is_default=True).first()
    if template is None:
        template, _ = EmailTemplate.objects.get_or_create(name=DEFAULT_TEMPLATE["name"], defaults=DEFAULT_TEMPLATE)
    return template


def render(template: EmailTemplate, document: Document) -> tuple[str, str]:
    values = {
        "numer_zamowienia": document.order_number,
        "numer_dokumentu": document.number,
        "rodzaj_dokumentu": document.title,
        "nabywca": document.buyer.get("name", ""),
        "kwota": f"{document.total_gross} {document.currency}",
        "termin_platnosci": document.due_date.strftime("%d.%m.%Y") if document.due_date else "—",
        "konto": document.seller.get("bank_account", "") or "—",
        "sprzedawca": document.seller.get("company_name", ""),
    }
    return template.subject.format_map(values), template.body.format_map(values)


def recipient_of(document: Document) -> str:
    email = (document.buyer.get("email") or (document.order.customer_email if document.order_id else "")).strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            f"Kupujący nie ma prawidłowego adresu e-mail („{email or 'brak'}”) — nie wysłano dokumentu "
            f"{document.number}.",
            field="email",
        ) from None
    return email


def document_send(*, document: Document, template: EmailTemplate | None = None, trigger: str) -> EmailMessage:
    """E-mail the document's PDF to the buyer. The same (document, template, trigger) is sent at most once:
    a second call returns the logged message. A message whose sending was interrupted is not sent again
    (it may have gone out) and is reported as failed for a person to check."""
    from .services import document_pdf

    template = template or template_default()
    if document.state == DocumentState.ISSUING:
        raise DocumentNotReady("Dokument czeka jeszcze na numer z serwisu księgowego.")
    if document.state != DocumentState.ISSUED:
        raise ApplicationError(f"Dokument {document.number} nie jest wystawiony ({document.get_state_display()}).")
    existing = EmailMessage.objects.filter(document=document, template=template, trigger=trigger).first()
    if existing is not None and existing.state == EmailState.FAILED and not existing.recipient:
        existing.delete()  # never attempted (no address): may be tried again once the address is fixed
        existing = None
    if existing is not None:
        if existing.state == EmailState.SENDING:
            existing.state = EmailState.FAILED
            existing.error = "Wysyłka została przerwana — sprawdź, czy wiadomość dotarła, zanim wyślesz ponownie."
            existing.save(update_fields=["state", "error"])
        return existing
    try:
        recipient = recipient_of(document)
    except ApplicationError as err:
        EmailMessage.objects.create(
            document=document, template=template, trigger=trigger, state=EmailState.FAILED, error=err.message
        )
        raise
    subject, body = render(template, document)
    pdf = document_pdf(document=document)  # before the message is recorded: the "sending" window stays tiny
    try:
        with transaction.atomic():
            message = EmailMessage.objects.create(
                document=document, template=template, trigger=trigger, recipient=recipient, subject=subject
            )
    except IntegrityError:
        return EmailMessage.objects.get(document=document, template=template, trigger=trigger)
    mail = MailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={"X-Document": document.number, "X-Trigger": trigger},
    )
    mail.attach(f"{document.number.replace('/', '_')}.pdf", pdf, "application/pdf")
    try:
        mail.send()
    except Exception as err:  # SMTP errors of every kind: logged on the message, shown to the user
        message.state, message.error = EmailState.FAILED, str(err)[:1000]
        message.save(update_fields=["state", "error"])
        logger.warning("e-mail failed", extra={"document": document.number})
        raise ApplicationError(f"Nie udało się wysłać e-maila: {err}") from err
    message.state, message.sent_at = EmailState.SENT, timezone.now()
    message.save(update_fields=["state", "sent_at"])
    logger.info("e-mail sent", extra={"document": document.number})
    return message


def sample_render(subject: str, body: str) -> tuple[str, str]:
    """Preview of a template with example values."""
    values = {
        "numer_zamowienia": "AL2611000017",
        "numer_dokumentu": "FV/17/11/2026",
        "rodzaj_dokumentu": "Faktura VAT",
        "nabywca": "Żółw Sp. z o.o.",
        "kwota": "187,97 PLN",
        "termin_platnosci": "02.12.2026",
        "konto": "PL61 1090 1014 0000 0712 1981 2874",
        "sprzedawca": "Sklep Bursztyn Sp. z o.o.",
    }
    return subject.format_map(values), body.format_map(values)
