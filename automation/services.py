"""Automatic tasks: saving (validated, never code strings), matching events, running ordered idempotent actions."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounting import emails
from accounting.models import Document, DocumentKind, DocumentState, EmailTemplate
from apilo.errors import ApplicationError, Conflict
from orders.models import Channel, Order, OrderEvent, OrderStatus, PaymentMethod, PaymentStatus

from . import actions as action_types
from .models import (
    EVENT_FOR_ORDER_EVENT,
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
    raw_actions = data.get("actions") or []
    if not isinstance(raw_actions, list):
        raise TaskInvalid("Akcje podaj jako listę.", field="actions")
    actions = [action_types.clean(i, a) for i, a in enumerate(raw_actions)]
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
    """Why a task cannot run (something it points at was deleted), or "". Each action type says for itself."""
    if task.event_type == EventType.STATUS_CHANGED and task.to_status_id is None:
        return "Status docelowy zdarzenia został usunięty."
    for action in task.actions.all():
        problem = action_types.problem(action)
        if problem:
            return problem
    return ""


def task_references(*, template: EmailTemplate) -> list[AutomaticTask]:
    return action_types.tasks_referencing(template=template)


@transaction.atomic
def email_template_delete(*, template: EmailTemplate) -> None:
    """Delete an e-mail template, refused (409) while an automatic task uses it."""
    tasks = task_references(template=template)
    if tasks:
        names = ", ".join(f"„{task.name}”" for task in tasks)
        raise Conflict(
            f"Szablon „{template.name}” jest używany przez zadania automatyczne: {names}. "
            "Zmień w nich szablon albo usuń je, zanim usuniesz szablon.",
            field="template",
            extra={"tasks": [{"id": task.pk, "name": task.name} for task in tasks]},
        )
    template.delete()


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
            run = run_execute(run=run, chain={"depth": depth + 1, "tasks": sorted(fired | {task.pk})})
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


def run_execute(*, run: TaskRun, chain: dict | None = None, by_person: bool = False) -> TaskRun:
    """Run the actions from `run.next_action` on; a failure stops the later ones.

    Each action runs in a transaction that holds the run's row (select_for_update), re-reads where the run is
    and records its result in the same transaction: a second worker (a redelivered task, a Ponów clicked at the
    same moment) waits and then continues after what the first did, and a worker that dies mid-action leaves
    neither the action's writes nor its record (so a note is never added twice). An e-mail is the exception
    that cannot be rolled back: its message is recorded `sending` and committed under the lock, sent outside
    the transaction, and its result recorded under the lock again."""
    chain = chain or {"depth": run.chain_depth + 1, "tasks": [run.task_id]}
    while True:
        with transaction.atomic():
            locked = TaskRun.objects.select_for_update().get(pk=run.pk)
            if locked.state not in (RunState.RUNNING, RunState.WAITING):
                return locked  # finished by someone else meanwhile
            every = list(locked.task.actions.all()) if locked.task_id else []
            actions = [a for a in every if a.position >= locked.next_action]
            if not actions:
                locked.state, locked.finished_at = RunState.OK, timezone.now()
                locked.save(update_fields=["state", "finished_at"])
                return locked
            action = actions[0]
            handler = action_types.for_type(action.type)
            ctx = action_types.Context(
                order=Order.objects.get(pk=locked.order_id), run=locked, chain=chain, by_person=by_person
            )
            problem = handler.problem(action)
            if problem:
                _record(locked, action, "failed", problem, state=RunState.FAILED)
                return locked
            try:
                with transaction.atomic():
                    if handler.transactional:
                        message = handler.perform(action, ctx)
                    else:
                        prepared = handler.prepare(action, ctx)
            except emails.DocumentNotReady as err:
                _record(locked, action, "waiting", err.message, state=RunState.WAITING)
                return locked
            except ApplicationError as err:
                _record(locked, action, "failed", err.message, state=RunState.FAILED)
                logger.info("automation action failed", extra={"run": locked.pk, "order": ctx.order.number})
                return locked
            if handler.transactional:
                _record(locked, action, "ok", message, advance=True)
                continue
        # outside the transaction: the message's `sending` row is committed, the mail server may be slow
        try:
            message, outcome = handler.deliver(prepared), None
        except ApplicationError as err:
            message, outcome = err.message, RunState.FAILED
        with transaction.atomic():
            locked = TaskRun.objects.select_for_update().get(pk=run.pk)
            if outcome:
                _record(locked, action, "failed", message, state=outcome)
                return locked
            _record(locked, action, "ok", message, advance=True)


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


def run_retry(*, run: TaskRun) -> TaskRun:
    """ "Ponów": continue a failed run from the action that failed (a person's act: a message whose sending
    failed or was interrupted is sent again)."""
    with transaction.atomic():
        locked = TaskRun.objects.select_for_update().get(pk=run.pk)
        if locked.state not in (RunState.FAILED, RunState.WAITING):
            raise ApplicationError("Ponowić można tylko przebieg zakończony błędem.")
        if locked.task_id is None:
            raise ApplicationError("Zadanie zostało usunięte — nie można ponowić.")
        locked.state = RunState.RUNNING
        locked.save(update_fields=["state"])
    run = run_execute(run=locked, by_person=True)
    if (
        run.state == RunState.OK
        and not TaskRun.objects.filter(event_id=run.event_id).exclude(state=RunState.OK).exists()
    ):
        ProcessedEvent.objects.update_or_create(event_id=run.event_id, defaults={"state": RunState.OK})
    return run
