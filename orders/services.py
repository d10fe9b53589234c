"""Every state change of orders. Views, API, forms and tasks call these; nothing else writes orders."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict
from apilo.outbox import call_on_commit

from .models import (
    BulkStatusChange,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderItem,
    OrderNumberCounter,
    OrderStatus,
)
from .selectors import order_counts_invalidate
from .signals import order_event

logger = logging.getLogger(__name__)

ORDER_NUMBER_PREFIX = "AL"


class InvalidOrderStatus(ApplicationError):
    pass


def _emit_after_commit(event: OrderEvent) -> None:
    event_id = event.pk
    call_on_commit(order_counts_invalidate)
    # send_robust: a receiver that fails (broker down) is logged and never stops the others; the automation
    # sweeper picks the event up from its row.
    call_on_commit(lambda: _send_event(event_id))


def _send_event(event_id: int) -> None:
    for receiver, result in order_event.send_robust(sender=OrderEvent, event_id=event_id):
        if isinstance(result, Exception):
            logger.warning(
                "order event receiver failed, left for the sweeper",
                extra={"event": event_id, "receiver": getattr(receiver, "__name__", str(receiver))},
                exc_info=(type(result), result, result.__traceback__),
            )


def order_event_record(
    *, order: Order, kind: str, actor=None, from_status=None, to_status=None, payload: dict | None = None
) -> OrderEvent:
    """Write one immutable history row in the caller's transaction; the signal goes out after commit."""
    event = OrderEvent.objects.create(
        order=order,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_status=from_status,
        to_status=to_status,
        payload=payload or {},
    )
    _emit_after_commit(event)
    return event


def order_numbers_allocate(*, count: int = 1, when=None) -> list[str]:
    """Reserve `count` consecutive public numbers of the current month (Europe/Warsaw). Call inside a transaction."""
    local = timezone.localtime(when or timezone.now())
    period = local.strftime("%y%m")
    OrderNumberCounter.objects.bulk_create([OrderNumberCounter(period=period)], ignore_conflicts=True)
    counter = OrderNumberCounter.objects.select_for_update().get(period=period)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return [f"{ORDER_NUMBER_PREFIX}{period}{n:06d}" for n in range(first, first + count)]


MAX_ORDER_TOTAL = Decimal("1000000000000")


def order_status_default() -> OrderStatus:
    status = OrderStatus.objects.filter(is_active=True).order_by("position", "id").first()
    if status is None:
        raise ApplicationError("Brak aktywnych statusów zamówień. Dodaj status w Administracja > Statusy zamówień.")
    return status


def _validation_error_to_application(err: ValidationError, prefix: str = "") -> ApplicationError:
    if hasattr(err, "error_dict"):
        field, errors = next(iter(err.error_dict.items()))
        return ApplicationError(errors[0].messages[0], field=f"{prefix}{field}")
    return ApplicationError(err.messages[0])


def _items_build(order: Order, items: Sequence[dict]) -> list[OrderItem]:
    if not items:
        raise ApplicationError("Zamówienie musi mieć co najmniej jedną pozycję.", field="items")
    built = []
    for position, data in enumerate(items, start=1):
        item = OrderItem(order=order, position=position, **data)
        try:
            item.full_clean(exclude=["order"])
        except ValidationError as err:
            raise _validation_error_to_application(err, prefix=f"items.{position - 1}.") from err
        built.append(item)
    return built


def order_create(
    *, fields: dict, items: Sequence[dict], actor=None, status: OrderStatus | None = None
) -> tuple[Order, bool]:
    """Create an order with its items and a `created` event.

    Returns (order, created). An order whose (channel, external id) already exists is returned as it is,
    with created=False: channels resend orders, and a resend must never make a duplicate.
    """
    channel, external_id = fields.get("channel"), fields.get("external_id") or ""
    if external_id:
        existing = Order.objects.filter(channel=channel, external_id=external_id).first()
        if existing is not None:
            return existing, False
    order = Order(**fields)
    order.status = status or order_status_default()
    if not order.status.is_active:
        raise InvalidOrderStatus(f"Status „{order.status.name}” jest nieaktywny.", field="status")
    order.created_by = actor if getattr(actor, "is_authenticated", False) else None
    try:
        order.full_clean(exclude=["number", "status", "created_by"])
    except ValidationError as err:
        raise _validation_error_to_application(err) from err
    built_items = _items_build(order, items)
    order.total_gross = sum((i.gross for i in built_items), Decimal("0.00"))
    if order.total_gross >= MAX_ORDER_TOTAL:  # the column holds 12 digits before the point
        raise ApplicationError("Wartość zamówienia jest za duża (najwyżej 999 999 999 999,99).", field="items")
    try:
        with transaction.atomic():
            order.number = order_numbers_allocate(count=1)[0]
            order.save()
            for item in built_items:
                item.order = order
            OrderItem.objects.bulk_create(built_items)
            order_event_record(order=order, kind=OrderEventKind.CREATED, actor=actor, to_status=order.status)
    except IntegrityError:
        existing = Order.objects.filter(channel=channel, external_id=external_id).first() if external_id else None
        if existing is None:
            raise
        return existing, False
    logger.info("order created", extra={"order": order.number, "channel": order.channel})
    return order, True


EDITABLE_FIELDS = frozenset(
    {
        "customer_name",
        "customer_email",
        "customer_phone",
        "customer_login",
        *(f"invoice_{f}" for f in Order.ADDRESS_FIELDS),
        *(f"delivery_{f}" for f in Order.DELIVERY_FIELDS),
        "wants_invoice",
        "payment_method",
        "payment_status",
        "amount_paid",
        "notes",
    }
)


@transaction.atomic
def order_update(*, order: Order, data: dict, actor=None) -> Order:
    """Change an order's data (not its items, status or channel). Payment status changes get their own event."""
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ApplicationError("Tego pola nie można zmieniać w zamówieniu.", field=field)
    order = Order.objects.select_for_update().get(pk=order.pk)
    before = {name: getattr(order, name) for name in data}
    for name, value in data.items():
        setattr(order, name, value)
    try:
        order.full_clean(exclude=["number", "status", "created_by"])
    except ValidationError as err:
        raise _validation_error_to_application(err) from err
    changed = [name for name in data if before[name] != getattr(order, name)]
    if not changed:
        return order
    order.save(update_fields=[*changed, "updated_at"])
    if "payment_status" in changed:
        order_event_record(
            order=order,
            kind=OrderEventKind.PAYMENT_STATUS_CHANGED,
            actor=actor,
            payload={"from": before["payment_status"], "to": order.payment_status},
        )
    other = [name for name in changed if name != "payment_status"]
    if other:
        order_event_record(order=order, kind=OrderEventKind.UPDATED, actor=actor, payload={"fields": other})
    return order


def order_set_status(
    *, order: Order, status: OrderStatus, actor=None, payload: dict | None = None
) -> OrderEvent | None:
    """The one door for changing an order's status. Returns the event, or None when the status is already set."""
    if not status.is_active:
        raise InvalidOrderStatus(f"Status „{status.name}” jest nieaktywny i nie można go ustawić.", field="status")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status_id == status.pk:
            return None
        previous = locked.status
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        event = order_event_record(
            order=locked,
            kind=OrderEventKind.STATUS_CHANGED,
            actor=actor,
            from_status=previous,
            to_status=status,
            payload=payload,
        )
    order.status = status
    return event


def order_bulk_set_status(*, order_ids: Iterable[int], status: OrderStatus, actor=None) -> dict:
    """Change many orders' status: one event per changed order, recorded as a BulkStatusChange for the
    progress view. Returns counts of changed, unchanged and missing orders and the bulk change's id."""
    changed = unchanged = 0
    events = []
    ids = sorted(set(order_ids))  # a fixed lock order: two bulk changes cannot deadlock
    with transaction.atomic():
        for order in Order.objects.filter(pk__in=ids).order_by("pk"):
            event = order_set_status(order=order, status=status, actor=actor)
            if event is None:
                unchanged += 1
            else:
                changed += 1
                events.append(event.pk)
        bulk = BulkStatusChange.objects.create(
            status=status,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            event_ids=events,
            changed=changed,
            unchanged=unchanged,
        )
    return {"changed": changed, "unchanged": unchanged, "missing": len(ids) - changed - unchanged, "bulk": bulk.pk}


# --- statuses (Administracja > Statusy zamówień) -------------------------------------------------------

DEFAULT_STATUSES = [
    ("Nowy", "#1f77b4"),
    ("Niepotwierdzone", "#9467bd"),
    ("W realizacji", "#ff7f0e"),
    ("Do wysłania", "#bcbd22"),
    ("Spakowane", "#17becf"),
    ("Wysłane", "#2ca02c"),
    ("Zakończone", "#4b5563"),
    ("Anulowane", "#d62728"),
]


SHIPMENT_STATUSES = {"Wysłane"}  # "oznacza wysyłkę": the default date of sale on invoices


def order_statuses_seed_defaults() -> None:
    """The statuses a new installation starts with (the initial migration writes the same)."""
    for position, (name, colour) in enumerate(DEFAULT_STATUSES, start=1):
        OrderStatus.objects.get_or_create(
            name=name,
            defaults={"colour": colour, "position": position * 10, "marks_shipment": name in SHIPMENT_STATUSES},
        )


def order_status_create(
    *, name: str, colour: str = "#6c757d", is_active: bool = True, marks_shipment: bool = False
) -> OrderStatus:
    last = OrderStatus.objects.order_by("-position").values_list("position", flat=True).first() or 0
    status = OrderStatus(
        name=name.strip(), colour=colour, is_active=is_active, marks_shipment=marks_shipment, position=last + 10
    )
    try:
        status.full_clean()
    except ValidationError as err:
        raise _validation_error_to_application(err) from err
    status.save()
    return status


def order_status_update(
    *, status: OrderStatus, name: str, colour: str, is_active: bool, marks_shipment: bool | None = None
) -> OrderStatus:
    if (
        not is_active
        and status.is_active
        and not OrderStatus.objects.filter(is_active=True).exclude(pk=status.pk).exists()
    ):
        raise ApplicationError("Musi pozostać co najmniej jeden aktywny status.", field="is_active")
    status.name, status.colour, status.is_active = name.strip(), colour, is_active
    if marks_shipment is not None:
        status.marks_shipment = marks_shipment
    try:
        status.full_clean()
    except ValidationError as err:
        raise _validation_error_to_application(err) from err
    status.save()
    return status


def order_status_delete(*, status: OrderStatus) -> None:
    in_use = (
        status.orders.exists()
        or OrderEvent.objects.filter(to_status=status).exists()
        or OrderEvent.objects.filter(from_status=status).exists()
    )
    if in_use:
        raise Conflict(
            f"Status „{status.name}” jest używany przez zamówienia lub ich historię — można go tylko dezaktywować."
        )
    status.delete()


@transaction.atomic
def order_status_move(*, status: OrderStatus, direction: int) -> None:
    """Move a status one place up (-1) or down (+1) in the tab order."""
    statuses = list(OrderStatus.objects.select_for_update().order_by("position", "id"))
    index = next(i for i, s in enumerate(statuses) if s.pk == status.pk)
    target = index + direction
    if 0 <= target < len(statuses):
        statuses[index], statuses[target] = statuses[target], statuses[index]
    for position, item in enumerate(statuses, start=1):
        if item.position != position * 10:
            item.position = position * 10
            item.save(update_fields=["position"])


@transaction.atomic
def order_add_note(*, order: Order, text: str, actor=None, payload: dict | None = None) -> OrderEvent:
    """Append a dated line to the order's notes and record it in the history."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Notatka nie może być pusta.", field="note")
    locked = Order.objects.select_for_update().get(pk=order.pk)
    stamp = timezone.localtime().strftime("%d.%m.%Y %H:%M")
    locked.notes = f"{locked.notes}\n[{stamp}] {text}".strip()
    locked.save(update_fields=["notes", "updated_at"])
    return order_event_record(
        order=locked, kind=OrderEventKind.NOTE_ADDED, actor=actor, payload={**(payload or {}), "note": text}
    )


def order_mark_packed(*, order: Order, actor=None, counts: dict | None = None) -> OrderEvent:
    """The packing station finished the order: a `packed` event (automatic tasks may change its status, print…)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        return order_event_record(
            order=locked, kind=OrderEventKind.PACKED, actor=actor, payload={"counts": counts or {}}
        )
