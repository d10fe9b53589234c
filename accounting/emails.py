"""E-mailing documents to buyers: templates with a fixed set of placeholders (validated on save, substituted
by hand, never `str.format`), the PDF attached, one message per (document, template, trigger) ever.

Triggers: `task:<task id>` (an automatic task: once per task, however often its event recurs),
`manual` / `manual:<form token>` (a person, first time), `again:<token>` (a person's explicit Wyślij ponownie)."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage as MailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict

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


class EmailFailed(ApplicationError):
    """The mail server refused or could not be reached: nothing was delivered, the message may be sent again."""

    http_status = 502


# --- placeholders: a fixed set, validated on save, substituted by hand (never str.format) ----------------------

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def _tokens(text: str):
    """(kind, value, offset): kind is "text", "name" (a placeholder) or "stray" (a lone brace)."""
    last = 0
    for match in _TOKEN.finditer(text or ""):
        if match.start() > last:
            yield "text", text[last : match.start()], last
        token = match.group(0)
        if token in ("{{", "}}"):
            yield "text", token[0], match.start()
        elif match.group(1) is not None:
            yield "name", match.group(1), match.start()
        else:
            yield "stray", token, match.start()
        last = match.end()
    if last < len(text or ""):
        yield "text", text[last:], last


def _available() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def template_problems(text: str) -> list[str]:
    """Every problem of a subject or body, in Polish, each naming the placeholder or the brace at fault."""
    problems = []
    for kind, value, offset in _tokens(text):
        if kind == "stray":
            problems.append(
                f"Pojedynczy nawias „{value}” (znak {offset + 1}) — znaczniki piszemy jak {{numer_dokumentu}}, "
                f"a sam nawias jako „{value * 2}”."
            )
        elif kind == "name" and value not in PLACEHOLDERS:
            base = re.split(r"[:!]", value, maxsplit=1)[0].strip()
            if base in PLACEHOLDERS:
                problems.append(f"Znacznik {{{value}}} ma format — wpisz samo {{{base}}}.")
            else:
                problems.append(f"Nieznany znacznik {{{value}}}; dostępne: {_available()}.")
    return problems


def template_check(*, subject: str, body: str) -> None:
    """Raise ApplicationError naming the field (subject/body) and the first bad placeholder."""
    for field, text in (("subject", subject), ("body", body)):
        problems = template_problems(text)
        if problems:
            raise ApplicationError(problems[0], field=field)


def _substitute(text: str, values: dict[str, str]) -> str:
    parts = []
    for kind, value, _ in _tokens(text):
        if kind == "text":
            parts.append(value)
        elif kind == "name" and value in values:
            parts.append(str(values[value]))
        else:  # a template saved before validation existed: refuse clearly instead of a 500
            raise ApplicationError(
                f"Szablon e-mail zawiera błędny znacznik: {(template_problems(text) or [value])[0]}",
                field="template",
            )
    return "".join(parts)


@transaction.atomic
def template_save(*, data: dict, template: EmailTemplate | None = None) -> EmailTemplate:
    """Create or change a template: name unique, placeholders from the fixed set only; one default."""
    name = (data.get("name", template.name if template else "") or "").strip()
    subject = data.get("subject", template.subject if template else "") or ""
    body = data.get("body", template.body if template else "") or ""
    is_default = bool(data.get("is_default", template.is_default if template else False))
    if not name:
        raise ApplicationError("Podaj nazwę szablonu.", field="name")
    if not subject.strip():
        raise ApplicationError("Podaj temat wiadomości.", field="subject")
    if not body.strip():
        raise ApplicationError("Podaj treść wiadomości.", field="body")
    template_check(subject=subject, body=body)
    if EmailTemplate.objects.filter(name=name).exclude(pk=getattr(template, "pk", None)).exists():
        raise ApplicationError("Szablon o takiej nazwie już istnieje.", field="name")
    template = template or EmailTemplate()
    template.name, template.subject, template.body, template.is_default = name, subject, body, is_default
    try:
        template.full_clean(validate_unique=False)
    except ValidationError as err:
        field, errors = next(iter(err.message_dict.items()))
        raise ApplicationError(errors[0], field=field) from None
    template.save()
    if is_default:
        EmailTemplate.objects.exclude(pk=template.pk).update(is_default=False)
    return template


def template_default() -> EmailTemplate:
    """The default invoice template (created by a data migration; recreated here if someone deleted it)."""
    template = EmailTemplate.objects.filter(is_default=True).first()
    if template is None:
        template, _ = EmailTemplate.objects.get_or_create(name=DEFAULT_TEMPLATE["name"], defaults=DEFAULT_TEMPLATE)
    return template


def _values(document: Document) -> dict[str, str]:
    return {
        "numer_zamowienia": document.order_number,
        "numer_dokumentu": document.number,
        "rodzaj_dokumentu": document.title,
        "nabywca": document.buyer.get("name", ""),
        "kwota": f"{document.total_gross} {document.currency}",
        "termin_platnosci": document.due_date.strftime("%d.%m.%Y") if document.due_date else "—",
        "konto": document.seller.get("bank_account", "") or "—",
        "sprzedawca": document.seller.get("company_name", ""),
    }


def render(template: EmailTemplate, document: Document) -> tuple[str, str]:
    values = _values(document)
    return _substitute(template.subject, values), _substitute(template.body, values)


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


# --- sending: one message per (document, template, trigger) ------------------------------------------------

INTERRUPTED = "Wysyłka została przerwana — sprawdź, czy wiadomość dotarła, zanim wyślesz ponownie."


@dataclass
class Outgoing:
    """A message recorded as `sending` (committed before the mail server is contacted) and its content."""

    message: EmailMessage
    mail: MailMessage


def message_prepare(
    *,
    document: Document,
    template: EmailTemplate | None = None,
    trigger: str,
    actor=None,
    resend_unknown: bool = False,
) -> EmailMessage | Outgoing:
    """Record the message to send, or return the one already recorded for (document, template, trigger)
    (or a `failed` one without a recipient when the buyer has no valid e-mail address).

    A sent message is returned as it is (never sent twice). A message whose sending failed (the server refused
    or was unreachable) is sent again on the same row. A message whose sending was interrupted (it may have gone
    out) is marked `unknown` and sent again only when a person asks (`resend_unknown`, i.e. Ponów)."""
    from .services import document_pdf

    template = template or template_default()
    if document.state == DocumentState.ISSUING:
        raise DocumentNotReady("Dokument czeka jeszcze na numer z serwisu księgowego.")
    if document.state != DocumentState.ISSUED:
        raise ApplicationError(f"Dokument {document.number} nie jest wystawiony ({document.get_state_display()}).")
    existing = (
        EmailMessage.objects.select_for_update().filter(document=document, template=template, trigger=trigger).first()
    )
    if existing is not None and existing.state == EmailState.SENDING:
        existing.state, existing.error = EmailState.UNKNOWN, INTERRUPTED
        existing.save(update_fields=["state", "error"])
    if existing is not None and existing.state == EmailState.SENT:
        return existing
    if existing is not None and existing.state == EmailState.UNKNOWN and not resend_unknown:
        return existing
    try:
        recipient = recipient_of(document)
    except ApplicationError as err:  # recorded (never attempted, so it may be tried again once fixed), not raised:
        if existing is None:  # the caller's transaction must keep the record
            existing = EmailMessage.objects.create(
                document=document,
                template=template,
                trigger=trigger,
                state=EmailState.FAILED,
                error=err.message,
                actor=actor,
            )
        else:
            existing.state, existing.error, existing.recipient = EmailState.FAILED, err.message, ""
            existing.save(update_fields=["state", "error", "recipient"])
        return existing
    subject, body = render(template, document)
    pdf = document_pdf(document=document)
    if existing is None:
        try:
            with transaction.atomic():
                message = EmailMessage.objects.create(
                    document=document,
                    template=template,
                    trigger=trigger,
                    recipient=recipient,
                    subject=subject,
                    actor=actor,
                )
        except IntegrityError:  # recorded meanwhile by someone else: theirs it is
            return EmailMessage.objects.get(document=document, template=template, trigger=trigger)
    else:
        message = existing
        message.state, message.error, message.recipient, message.subject = EmailState.SENDING, "", recipient, subject
        message.attempts += 1
        if actor is not None:
            message.actor = actor
        message.save(update_fields=["state", "error", "recipient", "subject", "attempts", "actor"])
    mail = MailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={"X-Document": document.number, "X-Trigger": trigger},
    )
    mail.attach(f"{document.number.replace('/', '_')}.pdf", pdf, "application/pdf")
    return Outgoing(message=message, mail=mail)


def message_deliver(outgoing: Outgoing) -> EmailMessage:
    """Hand the recorded message to the mail server (outside any transaction: its `sending` row is committed)."""
    message = outgoing.message
    try:
        outgoing.mail.send()
    except Exception as err:  # SMTP errors of every kind: logged on the message, shown to the user
        message.state, message.error = EmailState.FAILED, str(err)[:1000]
        message.save(update_fields=["state", "error"])
        logger.warning("e-mail failed", extra={"email_message": message.pk})
        raise EmailFailed(f"Nie udało się wysłać e-maila: {err}") from err
    message.state, message.sent_at = EmailState.SENT, timezone.now()
    message.save(update_fields=["state", "sent_at"])
    logger.info("e-mail sent", extra={"email_message": message.pk, "trigger": message.trigger})
    return message


def document_send(
    *,
    document: Document,
    template: EmailTemplate | None = None,
    trigger: str,
    actor=None,
    resend_unknown: bool = False,
) -> EmailMessage:
    """E-mail the document's PDF to the buyer. The same (document, template, trigger) is sent at most once:
    a second call returns the logged message (see `message_prepare`)."""
    with transaction.atomic():
        prepared = message_prepare(
            document=document, template=template, trigger=trigger, actor=actor, resend_unknown=resend_unknown
        )
    if isinstance(prepared, EmailMessage):
        return prepared
    return message_deliver(prepared)


def document_was_sent(document: Document) -> EmailMessage | None:
    """The last message with this document that left (by a task or by hand), or None."""
    return EmailMessage.objects.filter(document=document, state=EmailState.SENT).order_by("-sent_at", "-id").first()


def document_send_by_hand(
    *,
    document: Document,
    actor,
    template: EmailTemplate | None = None,
    again: bool = False,
    token: str = "",
) -> EmailMessage:
    """A person sends the document (preview's button, `POST /api/documents/{id}/email/`).

    Refused with Conflict when the document was already sent, unless `again` (Wyślij ponownie, confirmed).
    `token` (one per form) makes a double click one message."""
    kind = "again" if again else "manual"
    trigger = f"{kind}:{token[:40]}" if token else (f"again:{uuid.uuid4().hex}" if again else "manual")
    if token and EmailMessage.objects.filter(document=document, trigger=trigger, state=EmailState.SENT).exists():
        return EmailMessage.objects.filter(document=document, trigger=trigger, state=EmailState.SENT).first()
    sent = document_was_sent(document)
    if sent is not None and not again:
        when = timezone.localtime(sent.sent_at).strftime("%d.%m.%Y %H:%M") if sent.sent_at else ""
        raise Conflict(
            f"Dokument {document.number} został już wysłany na {sent.recipient} ({when}). "
            "Aby wysłać go jeszcze raz, użyj „Wyślij ponownie”.",
            field="again",
        )
    message = document_send(document=document, template=template, trigger=trigger, actor=actor, resend_unknown=True)
    if message.state != EmailState.SENT:
        raise ApplicationError(message.error or "Nie wysłano wiadomości.", field="email")
    logger.info(
        "e-mail sent by hand",
        extra={"document": document.number, "actor": getattr(actor, "pk", None), "again": again},
    )
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
    template_check(subject=subject, body=body)
    return _substitute(subject, values), _substitute(body, values)
