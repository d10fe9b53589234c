"""The action types of automatic tasks, one class each, registered by type.

Each class says, in one place, what its action needs and does: `clean` (validate the input of the form or the
API and turn it into TaskAction fields), `problem` (why a saved action cannot run, e.g. its series was deleted:
the task is then shown as broken and does not run), `perform` (do it, idempotently), `describe` (one line for
people) and `references` (the rows it points at: series, template, status, printer). The engine, the "broken"
detection, the task form and the API all read this registry; nothing else lists action types.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounting import emails
from accounting import services as accounting
from accounting.models import Document, DocumentKind, DocumentSeries, DocumentState, EmailMessage, EmailTemplate
from apilo.errors import ApplicationError
from orders import services as orders
from orders.models import Order, OrderEvent, OrderStatus

from .models import ActionType, TaskAction, TaskRun


class ActionInvalid(ApplicationError):
    pass


@dataclass
class Context:
    """What an action runs for: the order, its run, the chain of tasks so far, and whether a person asked (Ponów)."""

    order: Order
    run: TaskRun
    chain: dict
    by_person: bool = False


# the API / form shape of an action: every key always present (None when unused)
DATA_KEYS = ("type", "series", "kind", "template", "status", "note", "printer")
REFERENCE_LABELS = {
    "series": "seria dokumentów",
    "template": "szablon e-mail",
    "status": "status",
    "printer": "drukarka",
}


class Action:
    type: str = ""
    references: tuple[str, ...] = ()  # TaskAction foreign keys this action needs
    # False: perform() talks to the outside world (SMTP) and must not run inside the run's transaction;
    # such an action implements prepare() (inside, locked) and deliver() (outside) instead
    transactional: bool = True

    # --- saving -----------------------------------------------------------------------------------------------

    def clean(self, index: int, data: dict) -> dict:
        """Validated TaskAction fields (without type/position) from the form's or the API's dict."""
        return {}

    @staticmethod
    def fail(index: int, message: str):
        raise ActionInvalid(f"Akcja {index + 1}: {message}", field=f"actions.{index}")

    # --- broken? ----------------------------------------------------------------------------------------------

    def problem(self, action: TaskAction) -> str:
        """Why this saved action cannot run, or ""."""
        for ref in self.references:
            if getattr(action, f"{ref}_id") is None:
                return f"Akcja {action.position + 1}: {REFERENCE_LABELS[ref]} — wskazany element został usunięty."
        return ""

    # --- reading ----------------------------------------------------------------------------------------------

    def to_data(self, action: TaskAction) -> dict:
        return {
            "type": action.type,
            "series": action.series_id,
            "kind": action.document_kind or None,
            "template": action.template_id,
            "status": action.status_id,
            "note": action.note or None,
            "printer": action.printer_id,
        }

    def describe(self, action: TaskAction) -> str:
        return action.get_type_display()

    # --- running ----------------------------------------------------------------------------------------------

    def perform(self, action: TaskAction, ctx: Context) -> str:
        raise NotImplementedError

    def prepare(self, action: TaskAction, ctx: Context):
        raise NotImplementedError

    def deliver(self, prepared) -> str:
        raise NotImplementedError


REGISTRY: dict[str, Action] = {}


def register(cls: type[Action]) -> type[Action]:
    REGISTRY[cls.type] = cls()
    return cls


def for_type(kind: str) -> Action:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ApplicationError(f"Nieznana akcja „{kind}”.") from None


def _live_document(order: Order, kind: str) -> Document | None:
    documents = Document.objects.filter(order=order, kind=kind).exclude(state=DocumentState.CANCELLED)
    return documents.order_by("-id").first()


def _document_kind(index: int, data: dict, what: str) -> str:
    if data.get("kind") not in DocumentKind.values:
        Action.fail(index, f"wybierz rodzaj dokumentu do {what}.")
    return data["kind"]


def _printer(index: int, data: dict):
    from devices.models import Printer

    printer = Printer.objects.filter(pk=_pk(data.get("printer"))).first() if data.get("printer") else None
    if printer is None:
        Action.fail(index, "wybierz drukarkę.")
    return printer


def _pk(value):
    """A primary key from user input, or None (so a filter finds nothing instead of raising)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@register
class IssueDocument(Action):
    type = ActionType.ISSUE_DOCUMENT
    references = ("series",)

    def clean(self, index, data):
        series = DocumentSeries.objects.filter(pk=_pk(data.get("series"))).first()
        if series is None:
            self.fail(index, "wybierz istniejącą serię dokumentów.")
        if series.kind == DocumentKind.CORRECTION:
            self.fail(index, "korekt nie wystawia się automatycznie.")
        return {"series": series}

    def problem(self, action):
        if action.series_id is None:
            return f"Akcja {action.position + 1}: seria dokumentów została usunięta."
        return ""

    def describe(self, action):
        return f"Wystaw dokument w serii „{action.series}”"

    def perform(self, action, ctx):
        existing = _live_document(ctx.order, action.series.kind)
        if existing:
            return f"Pominięto: zamówienie ma już dokument {existing.number or existing.pk}."
        try:
            document = accounting.document_issue(order=ctx.order, series=action.series)
        except accounting.DocumentAlreadyIssued as err:
            return f"Pominięto: zamówienie ma już dokument {err.document.number}."
        return f"Wystawiono dokument {document.number or '(numer nada serwis księgowy)'}."


@register
class SendDocument(Action):
    """E-mail at most once per task: the trigger is the task, not the event, so an event that recurs (Wysłane →
    Do wysłania → Wysłane) finds the message already sent. A failed message is sent again (Ponów)."""

    type = ActionType.SEND_DOCUMENT
    references = ("template",)
    transactional = False

    def clean(self, index, data):
        kind = _document_kind(index, data, "wysłania")
        if data.get("template"):
            template = EmailTemplate.objects.filter(pk=_pk(data.get("template"))).first()
        else:
            template = emails.template_default()
        if template is None:
            self.fail(index, "szablon e-mail nie istnieje.")
        return {"document_kind": kind, "template": template}

    def problem(self, action):
        if action.template_id is None:
            return f"Akcja {action.position + 1}: szablon e-mail został usunięty."
        return ""

    def describe(self, action):
        return f"Wyślij {action.get_document_kind_display().lower()} kupującemu (szablon „{action.template}”)"

    @staticmethod
    def trigger(action: TaskAction) -> str:
        return f"task:{action.task_id}"

    def prepare(self, action, ctx):
        document = _live_document(ctx.order, action.document_kind)
        if document is None:
            raise ApplicationError(f"Zamówienie nie ma dokumentu rodzaju „{action.get_document_kind_display()}”.")
        return emails.message_prepare(
            document=document, template=action.template, trigger=self.trigger(action), resend_unknown=ctx.by_person
        )

    def deliver(self, prepared) -> str:
        message = prepared if isinstance(prepared, EmailMessage) else emails.message_deliver(prepared)
        if message.state == "sent" and isinstance(prepared, EmailMessage):
            return f"Pominięto: {message.document.number} wysłano już na {message.recipient}."
        if message.state != "sent":
            raise ApplicationError(message.error or "Nie wysłano wiadomości.")
        return f"Wysłano {message.document.number} na {message.recipient}."


@register
class ChangeStatus(Action):
    type = ActionType.CHANGE_STATUS
    references = ("status",)

    def clean(self, index, data):
        status = OrderStatus.objects.filter(pk=_pk(data.get("status"))).first()
        if status is None:
            self.fail(index, "wybierz istniejący status.")
        return {"status": status}

    def problem(self, action):
        if action.status_id is None:
            return f"Akcja {action.position + 1}: status został usunięty."
        return ""

    def describe(self, action):
        return f"Zmień status na „{action.status}”"

    def perform(self, action, ctx):
        event = orders.order_set_status(
            order=ctx.order, status=action.status, payload={"automation": {**ctx.chain, "run": ctx.run.pk}}
        )
        return f"Zmieniono status na „{action.status.name}”." if event else "Status był już ustawiony."


@register
class AddNote(Action):
    """Idempotent on redelivery: the note and the run's record of it commit together, and a note this run's
    action already added (recorded in the order's history) is not added again."""

    type = ActionType.ADD_NOTE

    def clean(self, index, data):
        note = (data.get("note") or "").strip()
        if not note:
            self.fail(index, "wpisz treść notatki.")
        return {"note": note[:500]}

    def describe(self, action):
        return f"Dodaj notatkę „{action.note}”"

    def perform(self, action, ctx):
        marker = {"run": ctx.run.pk, "action": action.position}
        if OrderEvent.objects.filter(
            order=ctx.order,
            kind="note_added",
            payload__automation__run=ctx.run.pk,
            payload__automation__action=action.position,
        ).exists():
            return "Notatka była już dodana."
        orders.order_add_note(order=ctx.order, text=action.note, payload={"automation": {**ctx.chain, **marker}})
        return "Dodano notatkę."


@register
class PrintReceipt(Action):
    type = ActionType.PRINT_RECEIPT
    references = ("series",)

    def clean(self, index, data):
        series = DocumentSeries.objects.filter(pk=_pk(data.get("series"))).first()
        if series is None or series.kind != DocumentKind.RECEIPT or series.printer_id is None:
            self.fail(index, "wybierz serię paragonów z przypisaną drukarką fiskalną.")
        return {"series": series}

    def problem(self, action):
        if action.series_id is None:
            return f"Akcja {action.position + 1}: seria paragonów została usunięta."
        if action.series.kind != DocumentKind.RECEIPT:
            return f"Akcja {action.position + 1}: seria „{action.series}” nie jest serią paragonów."
        if action.series.printer_id is None:
            return f"Akcja {action.position + 1}: drukarka fiskalna serii „{action.series}” została usunięta."
        return ""

    def describe(self, action):
        return f"Wydrukuj paragon w serii „{action.series}”"

    def perform(self, action, ctx):
        existing = _live_document(ctx.order, DocumentKind.RECEIPT)
        if existing:
            return f"Pominięto: zamówienie ma już paragon {existing.number}."
        document = accounting.document_issue(order=ctx.order, series=action.series)
        return f"Wystawiono paragon {document.number} i wysłano go do drukarki {action.series.printer.name}."


class _PrinterAction(Action):
    references = ("printer",)
    kinds: tuple[str, ...] = ()
    kinds_message = ""

    def clean(self, index, data):
        printer = _printer(index, data)
        if printer.kind not in self.kinds:
            self.fail(index, self.kinds_message)
        return {"printer": printer}

    def problem(self, action):
        if action.printer_id is None:
            return f"Akcja {action.position + 1}: drukarka została usunięta."
        if action.printer.kind not in self.kinds:
            return f"Akcja {action.position + 1}: {self.kinds_message}"
        return ""


@register
class PrintDocument(_PrinterAction):
    type = ActionType.PRINT_DOCUMENT
    kinds = ("printnode",)
    kinds_message = "dokumenty PDF drukuje drukarka PrintNode."

    def clean(self, index, data):
        cleaned = super().clean(index, data)
        return {**cleaned, "document_kind": _document_kind(index, data, "wydruku")}

    def describe(self, action):
        return f"Wydrukuj {action.get_document_kind_display().lower()} na drukarce „{action.printer}”"

    def perform(self, action, ctx):
        from devices import services as devices

        document = _live_document(ctx.order, action.document_kind)
        if document is None:
            raise ApplicationError(f"Zamówienie nie ma dokumentu rodzaju „{action.get_document_kind_display()}”.")
        if document.state == DocumentState.ISSUING:
            raise emails.DocumentNotReady("Dokument czeka jeszcze na numer z serwisu księgowego.")
        job, created = devices.printnode_enqueue(
            printer=action.printer,
            kind="document",
            key=f"print-document-{document.pk}-{action.pk}",
            title=document.number,
            content=accounting.document_pdf(document=document),
            content_type="pdf_base64",
        )
        return f"{'Wysłano' if created else 'Już wysłano'} {document.number} do drukarki {action.printer.name}."


@register
class PrintLabel(_PrinterAction):
    type = ActionType.PRINT_LABEL
    kinds = ("escpos", "printnode")
    kinds_message = "etykietę drukuje drukarka ESC/POS lub PrintNode."

    def describe(self, action):
        return f"Wydrukuj etykietę na drukarce „{action.printer}”"

    def perform(self, action, ctx):
        from devices import services as devices
        from devices.escpos_print import PackingSlip, slip_bytes

        order = ctx.order
        slip = PackingSlip(
            order_number=order.number,
            customer=order.delivery_name or order.customer_name,
            address=[order.delivery_street, f"{order.delivery_post_code} {order.delivery_city}"],
            items=[(item.name, f"{item.quantity.normalize():f}") for item in order.items.all()],
            notes=order.notes,
        )
        key = f"label-{order.pk}-{action.pk}-{ctx.run.event_id}"
        if action.printer.kind == "printnode":
            devices.printnode_enqueue(
                printer=action.printer,
                kind="label",
                key=key,
                title=f"Etykieta {order.number}",
                content=slip_bytes(slip),
                content_type="raw_base64",
            )
        else:
            devices.slip_enqueue(printer=action.printer, key=key, slip=slip)
        return f"Wysłano etykietę {order.number} do drukarki {action.printer.name}."


def clean(index: int, data: dict) -> dict:
    """TaskAction fields for one action of the form or the API (type and position included)."""
    if not isinstance(data, dict):
        raise ActionInvalid(f"Akcja {index + 1}: podaj obiekt z polem „type”.", field=f"actions.{index}")
    kind = data.get("type")
    if kind not in REGISTRY:
        raise ActionInvalid(f"Akcja {index + 1}: nieznany typ „{kind}”.", field=f"actions.{index}")
    return {"type": kind, "position": index, **REGISTRY[kind].clean(index, data)}


def problem(action: TaskAction) -> str:
    handler = REGISTRY.get(action.type)
    if handler is None:
        return f"Akcja {action.position + 1}: nieznany typ „{action.type}”."
    return handler.problem(action)


def to_data(action: TaskAction) -> dict:
    return for_type(action.type).to_data(action)


def describe(action: TaskAction) -> str:
    handler = REGISTRY.get(action.type)
    return handler.describe(action) if handler else action.type


def tasks_referencing(**lookup) -> list:
    """Tasks with an action pointing at this row, e.g. tasks_referencing(template=t)."""
    from .models import AutomaticTask

    return list(AutomaticTask.objects.filter(actions__in=TaskAction.objects.filter(**lookup)).distinct())
