"""Automatic tasks: saving (validated, never code strings), matching events, running ordered idempotent actions."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounting import emails
from accounting import services as accounting
from accounting.models import Document, DocumentKind, DocumentSeries, DocumentState, EmailTemplate
from apilo.errors import ApplicationError
from orders import services as orders
from orders.models import Channel, Order, OrderEvent, OrderStatus, PaymentMethod, PaymentStatus

from .models import (
    EVENT_FOR_ORDER_EVENT,
    ActionType,
    AutomaticTask,
    EventType,
    ProcessedEvent,
    RunState,
    TaskAction,
    TaskRun,
)

logger = logging.getLogger(__name__)

CONDITION_FIELDS = {
    # field: (allowed ops, label)
    "channel": (("in", "not_in"), "kanał sprzedaży"),
    "payment_method": (("in", "not_in"), "metoda płatności"),
    "payment_status": (("in", "not_in"), "status płatności"),
    "invoice_country": (("in", "not_in"), "kraj (dane do faktury)"),
    "delivery_country": (("in", "not_in"), "kraj dostawy"),
    "buyer_has_nip": (("is",), "kupujący ma prawidłowy NIP"),
    "wants_invoice": (("is",), "kupujący chce fakturę"),
    "total": (("between",), "wartość zamówienia"),
    "current_status": (("in", "not_in"), "obecny status"),
    "has_document": (("is", "is_not"), "ma dokument rodzaju"),
}
CHOICES = {"channel": Channel.values, "payment_method": PaymentMethod.values, "payment_status": PaymentStatus.values}


class TaskInvalid(ApplicationError):
    pass


# --- saving ------------------------------------------------------------------------------------------------


def _check_condition(index: int, condition: dict) -> dict:
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    where = f"conditions.{index}"
    if field not in CONDITION_FIELDS:
        raise TaskInvalid(f"Warunek {index + 1}: nieznane pole „{field}”.", field=where)
    ops, label = CONDITION_FIELDS[field]
    if op not in ops:
        raise TaskInvalid(f"Warunek {index + 1} ({label}): dozwolone operatory {', '.join(ops)}.", field=where)
    if field in ("buyer_has_nip", "wants_invoice"):
        if not isinstance(value, bool):
            raise TaskInvalid(f"Warunek {index + 1} ({label}): wartość tak/nie (true/false).", field=where)
    elif field == "total":
        try:
            low, high = (Decimal(str(v)) for v in value)
        except (TypeError, ValueError, InvalidOperation):
            raise TaskInvalid(
                f'Warunek {index + 1} ({label}): podaj [od, do], np. ["0", "500.00"].', field=where
            ) from None
        if low > high:
            raise TaskInvalid(f"Warunek {index + 1} ({label}): „od” jest większe niż „do”.", field=where)
        value = [str(low), str(high)]
    elif field == "has_document":
        if value not in DocumentKind.values:
            raise TaskInvalid(f"Warunek {index + 1}: nieznany rodzaj dokumentu „{value}”.", field=where)
    else:
        if not isinstance(value, list) or not value:
            raise TaskInvalid(f"Warunek {index + 1} ({label}): podaj listę wartości.", field=where)
        if field in CHOICES and any(v not in CHOICES[field] for v in value):
            raise TaskInvalid(f"Warunek {index + 1} ({label}): dozwolone {', '.join(CHOICES[field])}.", field=where)
        if field == "current_status":
            value = [int(v) for v in value]
            if OrderStatus.objects.filter(pk__in=value).count() != len(set(value)):
                raise TaskInvalid(f"Warunek {index + 1}: status nie istnieje.", field=where)
        if field.endswith("country"):
            value = [str(v).upper() for v in value]
    return {"field": field, "op": op, "value": value}


def _check_action(index: int, action: dict) -> dict:
    kind = action.get("type")
    where = f"actions.{index}"
    if kind not in ActionType.values:
        raise TaskInvalid(f"Akcja {index + 1}: nieznany typ „{kind}”.", field=where)
    clean = {"type": kind, "position": index}
    if kind == ActionType.ISSUE_DOCUMENT:
        series = DocumentSeries.objects.filter(pk=action.get("series")).first()
        if series is None:
            raise TaskInvalid(f"Akcja {index + 1}: wybierz istniejącą serię dokumentów.", field=where)
        if series.kind == DocumentKind.CORRECTION:
            raise TaskInvalid(f"Akcja {index + 1}: korekt nie wystawia się automatycznie.", field=where)
        clean["series"] = series
    elif kind == ActionType.SEND_DOCUMENT:
        if action.get("kind") not in DocumentKind.values:
            raise TaskInvalid(f"Akcja {index + 1}: wybierz rodzaj dokumentu do wysłania.", field=where)
        clean["document_kind"] = action["kind"]
        template = (
            EmailTemplate.objects.filter(pk=action.get("template")).first()
            if action.get("template")
            else emails.template_default()
        )
        if template is None:
            raise TaskInvalid(f"Akcja {index + 1}: szablon e-mail nie istnieje.", field=where)
        clean["template"] = template
    elif kind == ActionType.CHANGE_STATUS:
        status = OrderStatus.objects.filter(pk=action.get("status")).first()
        if status is None:
            raise TaskInvalid(f"Akcja {index + 1}: wybierz istniejący status.", field=where)
        clean["status"] = status
    elif kind == ActionType.PRINT_RECEIPT:
        series = DocumentSeries.objects.filter(pk=action.get("series")).first()
        if series is None or series.kind != DocumentKind.RECEIPT or series.printer_id is None:
            raise TaskInvalid(
                f"Akcja {index + 1}: wybierz serię paragonów z przypisaną drukarką fiskalną.", field=where
            )
        clean["series"] = series
    elif kind in (ActionType.PRINT_DOCUMENT, ActionType.PRINT_LABEL):
        from devices.models import Printer

        printer = Printer.objects.filter(pk=action.get("printer")).first()
        if printer is None:
            raise TaskInvalid(f"Akcja {index + 1}: wybierz drukarkę.", field=where)
        if kind == ActionType.PRINT_DOCUMENT:
            if printer.kind != "printnode":
                raise TaskInvalid(f"Akcja {index + 1}: dokumenty PDF drukuje drukarka PrintNode.", field=where)
            if action.get("kind") not in DocumentKind.values:
                raise TaskInvalid(f"Akcja {index + 1}: wybierz rodzaj dokumentu do wydruku.", field=where)
            clean["document_kind"] = action["kind"]
        elif printer.kind not in ("escpos", "printnode"):
            raise TaskInvalid(f"Akcja {index + 1}: etykietę drukuje drukarka ESC/POS lub PrintNode.", field=where)
        clean["printer"] = printer
    elif kind == ActionType.ADD_NOTE:
        if not (action.get("note") or "").strip():
            raise TaskInvalid(f"Akcja {index + 1}: wpisz treść notatki.", field=where)
        clean["note"] = action["note"].strip()[:500]
    return clean


@transaction.atomic
def task_save(*, data: dict, task: AutomaticTask | None = None) -> AutomaticTask:
    """Create or replace a task (event, conditions as data, ordered actions). Everything validated first."""
    task = task or AutomaticTask()
    name = (data.get("name") or "").strip()
    if not name:
        raise TaskInvalid("Podaj nazwę zadania.", field="name")
    event = data.get("event") or {}
    if event.get("type") not in EventType.values:
        raise TaskInvalid("Wybierz zdarzenie.", field="event")
    to_status = from_status = None
    if event.get("to_status"):
        to_status = OrderStatus.objects.filter(pk=event["to_status"]).first()
        if to_status is None:
            raise TaskInvalid("Status docelowy nie istnieje.", field="event")
    if event.get("from_status"):
        from_status = OrderStatus.objects.filter(pk=event["from_status"]).first()
        if from_status is None:
            raise TaskInvalid("Status początkowy nie istnieje.", field="event")
    if event["type"] == EventType.STATUS_CHANGED and to_status is None:
        raise TaskInvalid("Przy zmianie statusu wybierz status, na który zmiana uruchamia zadanie.", field="event")
    payment_status = event.get("payment_status") or ""
    if event["type"] == EventType.PAYMENT_STATUS_CHANGED and payment_status not in PaymentStatus.values:
        raise TaskInvalid("Wybierz status płatności, który uruchamia zadanie.", field="event")
    conditions = [_check_condition(i, c) for i, c in enumerate(data.get("conditions") or [])]
    actions = [_check_action(i, a) for i, a in enumerate(data.get("actions") or [])]
    if not actions:
        raise TaskInvalid("Dodaj co najmniej jedną akcję.", field="actions")
    task.name, task.active, task.event_type = name, bool(data.get("active", True)), event["type"]
    task.to_status, task.from_status, task.payment_status = to_status, from_status, payment_status
    task.conditions, task.broken_reason = conditions, ""
    task.save()
    task.actions.all().delete()
    TaskAction.objects.bulk_create([TaskAction(task=task, **action) for action in actions])
    return task


def task_duplicate(*, task: AutomaticTask) -> AutomaticTask:
    copy = AutomaticTask.objects.get(pk=task.pk)
    actions = list(task.actions.all())
    copy.pk, copy.name, copy.active = None, f"{task.name} (kopia)", False
    copy.save()
    for action in actions:
        action.pk, action.task = None, copy
        action.save()
    return copy


def task_problems(task: AutomaticTask) -> str:
    """Why a task cannot run (something it points at was deleted), or ""."""
    if task.event_type == EventType.STATUS_CHANGED and task.to_status_id is None:
        return "Status docelowy zdarzenia został usunięty."
    for action in task.actions.all():
        if action.type == ActionType.ISSUE_DOCUMENT and action.series_id is None:
            return f"Akcja {action.position + 1}: seria dokumentów została usunięta."
        if action.type == ActionType.CHANGE_STATUS and action.status_id is None:
            return f"Akcja {action.position + 1}: status został usunięty."
        if action.type == ActionType.SEND_DOCUMENT and action.template_id is None:
            return f"Akcja {action.position + 1}: szablon e-mail został usunięty."
    return ""


# --- matching ---------------------------------------------------------------------------------------------------


def _event_matches(task: AutomaticTask, event: OrderEvent) -> bool:
    if EVENT_FOR_ORDER_EVENT.get(event.kind) != task.event_type:
        return False
    if task.event_type == EventType.STATUS_CHANGED:
        if event.to_status_id != task.to_status_id:
            return False
        if task.from_status_id and event.from_status_id != task.from_status_id:
            return False
    if task.event_type == EventType.PAYMENT_STATUS_CHANGED:
        return (event.payload or {}).get("to") == task.payment_status
    return True


def _condition_holds(condition: dict, order: Order) -> bool:
    from stdnum.pl import nip

    field, op, value = condition["field"], condition["op"], condition["value"]
    if field == "buyer_has_nip":
        return bool(order.invoice_nip and nip.is_valid(order.invoice_nip)) == value
    if field == "wants_invoice":
        return order.wants_invoice == value
    if field == "total":
        return Decimal(value[0]) <= order.total_gross <= Decimal(value[1])
    if field == "has_document":
        has = Document.objects.filter(order=order, kind=value).exclude(state=DocumentState.CANCELLED).exists()
        return has if op == "is" else not has
    actual = {
        "channel": order.channel,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "invoice_country": order.invoice_country,
        "delivery_country": order.delivery_country,
        "current_status": order.status_id,
    }[field]
    return (actual in value) if op == "in" else (actual not in value)


def conditions_hold(task: AutomaticTask, order: Order) -> bool:
    return all(_condition_holds(condition, order) for condition in task.conditions)


# --- running -------------------------------------------------------------------------------------------------------


def event_process(*, event_id: int) -> list[TaskRun]:
    """Run every active, matching task for one order event. Safe to call again for the same event."""
    event = OrderEvent.objects.select_related("order").get(pk=event_id)
    chain = (event.payload or {}).get("automation") or {}
    depth, fired = chain.get("depth", 0), set(chain.get("tasks", []))
    if depth >= settings.AUTOMATION_MAX_CHAIN_DEPTH:
        logger.warning("automation chain too deep, stopped", extra={"event": event_id, "order": event.order_id})
        ProcessedEvent.objects.update_or_create(event=event, defaults={"state": RunState.OK})
        return []
    runs = []
    tasks = AutomaticTask.objects.filter(active=True, event_type=EVENT_FOR_ORDER_EVENT.get(event.kind, "-"))
    for task in tasks.prefetch_related("actions"):
        if task.pk in fired or not _event_matches(task, event):
            continue
        problem = task_problems(task)
        if problem:
            if task.broken_reason != problem:
                AutomaticTask.objects.filter(pk=task.pk).update(broken_reason=problem)
            continue
        if not conditions_hold(task, event.order):
            continue
        try:
            with transaction.atomic():
                run, _ = TaskRun.objects.get_or_create(
                    task=task,
                    event=event,
                    defaults={"order": event.order, "task_name": task.name, "chain_depth": depth},
                )
        except IntegrityError:
            run = TaskRun.objects.get(task=task, event=event)
        if run.state in (RunState.RUNNING, RunState.WAITING):
            run_execute(run=run, chain={"depth": depth + 1, "tasks": sorted(fired | {task.pk})})
        runs.append(run)
    states = {run.state for run in runs}
    outcome = (
        RunState.FAILED
        if RunState.FAILED in states
        else (RunState.WAITING if RunState.WAITING in states else RunState.OK)
    )
    ProcessedEvent.objects.update_or_create(event=event, defaults={"state": outcome})
    return runs


def bulk_progress(event_ids: list[int]) -> dict:
    """How far the engine is with these events: waiting (not processed or waiting), done, failed."""
    from django.db.models import Count

    counts = dict(
        ProcessedEvent.objects.filter(event_id__in=event_ids)
        .values_list("state")
        .annotate(n=Count("event"))
        .values_list("state", "n")
    )
    done, failed = counts.get(RunState.OK, 0), counts.get(RunState.FAILED, 0)
    return {"waiting": len(event_ids) - done - failed, "done": done, "failed": failed}


def run_execute(*, run: TaskRun, chain: dict | None = None) -> TaskRun:
    """Run the actions from `run.next_action` on. Each action is idempotent; a failure stops the later ones."""
    actions = list(run.task.actions.all()) if run.task_id else []
    chain = chain or {"depth": run.chain_depth + 1, "tasks": [run.task_id]}
    order = Order.objects.get(pk=run.order_id)
    for action in actions[run.next_action :]:
        try:
            message = _perform(action, order, run, chain)
        except emails.DocumentNotReady as err:
            _record(run, action, "waiting", err.message, state=RunState.WAITING)
            return run
        except ApplicationError as err:
            _record(run, action, "failed", err.message, state=RunState.FAILED)
            logger.info("automation action failed", extra={"run": run.pk, "order": order.number})
            return run
        _record(run, action, "ok", message, advance=True)
    run.state, run.finished_at = RunState.OK, timezone.now()
    run.save(update_fields=["state", "finished_at"])
    return run


def _record(run: TaskRun, action: TaskAction, outcome: str, message: str, *, state=None, advance=False):
    run.results = [r for r in run.results if r.get("position") != action.position] + [
        {
            "position": action.position,
            "type": action.type,
            "label": action.get_type_display(),
            "outcome": outcome,
            "message": message,
            "at": timezone.now().isoformat(timespec="seconds"),
        }
    ]
    if advance:
        run.next_action = action.position + 1
    if state:
        run.state = state
    run.save(update_fields=["results", "next_action", "state"])


def _perform(action: TaskAction, order: Order, run: TaskRun, chain: dict) -> str:
    if action.type == ActionType.ISSUE_DOCUMENT:
        existing = (
            Document.objects.filter(order=order, kind=action.series.kind).exclude(state=DocumentState.CANCELLED).first()
        )
        if existing:
            return f"Pominięto: zamówienie ma już dokument {existing.number or existing.pk}."
        try:
            document = accounting.document_issue(order=order, series=action.series)
        except accounting.DocumentAlreadyIssued as err:
            return f"Pominięto: zamówienie ma już dokument {err.document.number}."
        return f"Wystawiono dokument {document.number or '(numer nada serwis księgowy)'}."
    if action.type == ActionType.SEND_DOCUMENT:
        document = (
            Document.objects.filter(order=order, kind=action.document_kind)
            .exclude(state=DocumentState.CANCELLED)
            .order_by("-id")
            .first()
        )
        if document is None:
            raise ApplicationError(f"Zamówienie nie ma dokumentu rodzaju „{action.get_document_kind_display()}”.")
        document.refresh_from_db()
        message = emails.document_send(
            document=document, template=action.template, trigger=f"task:{action.task_id}:event:{run.event_id}"
        )
        if message.state != "sent":
            raise ApplicationError(message.error or "Nie wysłano wiadomości.")
        return f"Wysłano {document.number} na {message.recipient}."
    if action.type == ActionType.CHANGE_STATUS:
        event = orders.order_set_status(
            order=order, status=action.status, payload={"automation": {**chain, "run": run.pk}}
        )
        return f"Zmieniono status na „{action.status.name}”." if event else "Status był już ustawiony."
    if action.type == ActionType.PRINT_RECEIPT:
        existing = (
            Document.objects.filter(order=order, kind=DocumentKind.RECEIPT)
            .exclude(state=DocumentState.CANCELLED)
            .first()
        )
        if existing:
            return f"Pominięto: zamówienie ma już paragon {existing.number}."
        document = accounting.document_issue(order=order, series=action.series)
        return f"Wystawiono paragon {document.number} i wysłano go do drukarki {action.series.printer.name}."
    if action.type == ActionType.PRINT_DOCUMENT:
        from devices import services as devices

        document = (
            Document.objects.filter(order=order, kind=action.document_kind)
            .exclude(state=DocumentState.CANCELLED)
            .order_by("-id")
            .first()
        )
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
    if action.type == ActionType.PRINT_LABEL:
        from devices import services as devices
        from devices.escpos_print import PackingSlip, slip_bytes

        slip = PackingSlip(
            order_number=order.number,
            customer=order.delivery_name or order.customer_name,
            address=[order.delivery_street, f"{order.delivery_post_code} {order.delivery_city}"],
            items=[(item.name, f"{item.quantity.normalize():f}") for item in order.items.all()],
            notes=order.notes,
        )
        key = f"label-{order.pk}-{action.pk}-{run.event_id}"
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
    if action.type == ActionType.ADD_NOTE:
        if any(r.get("position") == action.position and r.get("outcome") == "ok" for r in run.results):
            return "Notatka była już dodana."
        orders.order_add_note(order=order, text=action.note, payload={"automation": {**chain, "run": run.pk}})
        return "Dodano notatkę."
    raise ApplicationError(f"Nieznana akcja {action.type}.")


def run_retry(*, run: TaskRun) -> TaskRun:
    """ "Ponów": continue a failed run from the action that failed."""
    if run.state not in (RunState.FAILED, RunState.WAITING):
        raise ApplicationError("Ponowić można tylko przebieg zakończony błędem.")
    if run.task_id is None:
        raise ApplicationError("Zadanie zostało usunięte — nie można ponowić.")
    run.state = RunState.RUNNING
    run.save(update_fields=["state"])
    run = run_execute(run=run)
    if (
        run.state == RunState.OK
        and not TaskRun.objects.filter(event_id=run.event_id).exclude(state=RunState.OK).exists()
    ):
        ProcessedEvent.objects.update_or_create(event_id=run.event_id, defaults={"state": RunState.OK})
    return run
