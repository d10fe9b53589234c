from decimal import Decimal

import pytest
from django.db import transaction

from apilo.errors import ApplicationError
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.signals import order_event
from tests.factories import OrderFactory, status

pytestmark = pytest.mark.django_db

ITEMS = [
    {"name": "Kubek ceramiczny", "quantity": Decimal("2"), "unit_price_gross": Decimal("49.99"), "vat_rate": "23"},
    {
        "name": "Kurier InPost",
        "kind": "shipping",
        "quantity": Decimal("1"),
        "unit_price_gross": Decimal("14.99"),
        "vat_rate": "23",
    },
]


def fields(**overrides):
    from django.utils import timezone

    data = {
        "channel": "allegro",
        "external_id": "ALG-5512345",
        "ordered_at": timezone.now(),
        "currency": "PLN",
        "customer_name": "Łukasz Żółtowski",
        "invoice_nip": "5252344078",
        "invoice_company_name": "Żółw Sp. z o.o.",
    }
    data.update(overrides)
    return data


def test_new_order_gets_an_apilo_style_number_total_and_created_event(staff_user):
    order, created = services.order_create(fields=fields(), items=ITEMS, actor=staff_user)

    assert created
    assert order.number.startswith("AL") and len(order.number) == 12
    assert order.total_gross == Decimal("114.97")
    assert order.status.name == "Nowy"
    event = order.events.get()
    assert event.kind == "created" and event.actor == staff_user


def test_consecutive_orders_get_consecutive_numbers():
    first, _ = services.order_create(fields=fields(external_id="A1"), items=ITEMS)
    second, _ = services.order_create(fields=fields(external_id="A2"), items=ITEMS)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_resent_order_with_same_channel_and_external_id_is_not_duplicated():
    first, created = services.order_create(fields=fields(), items=ITEMS)
    again, created_again = services.order_create(fields=fields(), items=ITEMS)

    assert created and not created_again
    assert again.pk == first.pk
    assert Order.objects.count() == 1


def test_same_external_id_on_another_channel_is_another_order():
    services.order_create(fields=fields(), items=ITEMS)
    _, created = services.order_create(fields=fields(channel="amazon"), items=ITEMS)
    assert created


@pytest.mark.parametrize(
    ("order_fields", "items", "field"),
    [
        ({"invoice_nip": "5252344079"}, ITEMS, "invoice_nip"),
        ({}, [], "items"),
        ({}, [{**ITEMS[0], "quantity": Decimal(0)}], "items.0.quantity"),
        ({}, [{**ITEMS[0], "ean": "5901234123458"}], "items.0.ean"),
        ({"currency": "XYZ"}, ITEMS, "currency"),
    ],
)
def test_bad_order_is_refused_with_the_field_named_and_nothing_saved(order_fields, items, field):
    with pytest.raises(ApplicationError) as err:
        services.order_create(fields=fields(**order_fields), items=items)
    assert err.value.field == field
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0


def test_refused_order_consumes_no_number():
    with pytest.raises(ApplicationError):
        services.order_create(fields=fields(invoice_nip="123"), items=ITEMS)
    order, _ = services.order_create(fields=fields(), items=ITEMS)
    assert order.number.endswith("000001")


def test_status_change_records_event_with_from_and_to(staff_user):
    order = OrderFactory()
    event = services.order_set_status(order=order, status=status("Wysłane"), actor=staff_user)

    order.refresh_from_db()
    assert order.status.name == "Wysłane"
    assert (event.from_status.name, event.to_status.name, event.actor) == ("Nowy", "Wysłane", staff_user)


def test_setting_the_same_status_again_records_nothing():
    order = OrderFactory()
    assert services.order_set_status(order=order, status=status("Nowy")) is None
    assert order.events.count() == 0


def test_inactive_status_cannot_be_set():
    order = OrderFactory()
    archived = OrderStatus.objects.create(name="Archiwum", is_active=False)
    with pytest.raises(ApplicationError):
        services.order_set_status(order=order, status=archived)


def test_order_event_signal_fires_once_after_commit(django_capture_on_commit_callbacks):
    order = OrderFactory()
    received = []

    def receiver(sender, event_id, **kwargs):
        received.append(event_id)

    order_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            event = services.order_set_status(order=order, status=status("Wysłane"))
            assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        order_event.disconnect(receiver)
    assert received == [event.pk]


@pytest.mark.django_db(transaction=True)
def test_order_event_signal_is_not_sent_when_the_transaction_rolls_back():
    order = OrderFactory()
    received = []

    def receiver(sender, event_id, **kwargs):
        received.append(event_id)

    order_event.connect(receiver)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.order_set_status(order=order, status=status("Wysłane"))
            raise RuntimeError("rollback")
        assert received == []
        assert OrderEvent.objects.count() == 0
        services.order_set_status(order=order, status=status("Wysłane"))
        assert len(received) == 1
    finally:
        order_event.disconnect(receiver)


def test_bulk_status_change_creates_one_event_per_changed_order():
    orders = [OrderFactory() for _ in range(5)]
    services.order_set_status(order=orders[0], status=status("Wysłane"))

    result = services.order_bulk_set_status(order_ids=[o.pk for o in orders], status=status("Wysłane"))

    assert {k: result[k] for k in ("changed", "unchanged", "missing")} == {"changed": 4, "unchanged": 1, "missing": 0}
    assert OrderEvent.objects.filter(kind="status_changed").count() == 5


def test_order_events_are_immutable():
    order = OrderFactory()
    event = services.order_set_status(order=order, status=status("Wysłane"))
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        OrderEvent.objects.filter(pk=event.pk).update(kind="packed")


def test_payment_status_change_is_its_own_event():
    order = OrderFactory()
    services.order_update(order=order, data={"payment_status": "paid", "amount_paid": Decimal("114.97")})
    kinds = sorted(order.events.values_list("kind", flat=True))
    assert kinds == ["payment_status_changed", "updated"]


def test_status_in_use_cannot_be_deleted_but_an_unused_one_can():
    OrderFactory()
    with pytest.raises(ApplicationError):
        services.order_status_delete(status=status("Nowy"))
    spare = services.order_status_create(name="Reklamacja", colour="#123456")
    services.order_status_delete(status=spare)
    assert not OrderStatus.objects.filter(name="Reklamacja").exists()


def test_statuses_can_be_reordered():
    services.order_status_move(status=status("Wysłane"), direction=-1)
    names = list(OrderStatus.objects.order_by("position").values_list("name", flat=True))
    assert names.index("Wysłane") < names.index("Spakowane")


def test_last_active_status_cannot_be_deactivated():
    OrderStatus.objects.exclude(name="Nowy").update(is_active=False)
    with pytest.raises(ApplicationError):
        services.order_status_update(status=status("Nowy"), name="Nowy", colour="#000000", is_active=False)
