from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import OrderEvent
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

ITEMS = [
    {
        "name": "Kubek",
        "ean": "5901234123457",
        "quantity": Decimal(2),
        "unit_price_gross": Decimal("49.99"),
        "vat_rate": "23",
    },
    {
        "name": "Herbata",
        "ean": "4006381333931",
        "quantity": Decimal(1),
        "unit_price_gross": Decimal("18.90"),
        "vat_rate": "5",
    },
    {
        "name": "Kurier",
        "kind": "shipping",
        "quantity": Decimal(1),
        "unit_price_gross": Decimal("14.99"),
        "vat_rate": "23",
    },
]


def scan(client, code):
    return client.post(reverse("orders:packing_scan"), {"code": code}).json()


def test_scanning_the_order_then_every_piece_marks_it_packed(staff_client):
    order = OrderFactory(items=ITEMS)
    first = scan(staff_client, order.number)
    assert first["ok"] and [i["name"] for i in first["order"]["items"]] == ["Kubek", "Herbata"]  # no shipping line
    assert scan(staff_client, "5901234123457")["message"] == "Kubek: 1 z 2."
    scan(staff_client, "5901234123457")
    done = scan(staff_client, "4006381333931")
    assert done["done"] and "spakowane" in done["message"]
    assert OrderEvent.objects.filter(order=order, kind="packed").count() == 1
    assert "Zeskanuj numer zamówienia" in staff_client.get(reverse("orders:packing")).content.decode()


def test_unknown_invalid_and_over_scans_are_refused_with_the_reason(staff_client):
    order = OrderFactory(external_id="ALG-42", items=ITEMS)
    assert scan(staff_client, "ALG-42")["ok"]  # the channel's number works too
    invalid = scan(staff_client, "5901234123458")
    assert not invalid["ok"] and "nie jest prawidłowy kod EAN" in invalid["message"]
    unknown = scan(staff_client, "5900000000008")
    assert not unknown["ok"] and "nie ma w tym zamówieniu" in unknown["message"]
    scan(staff_client, "4006381333931")
    over = scan(staff_client, "4006381333931")
    assert not over["ok"] and "Za dużo" in over["message"]
    assert not OrderEvent.objects.filter(order=order, kind="packed").exists()


def test_unknown_order_and_already_packed_order(staff_client):
    assert "Nie znaleziono zamówienia" in scan(staff_client, "AL0000000000")["message"]
    order = OrderFactory(items=ITEMS[1:2])
    scan(staff_client, order.number)
    scan(staff_client, "4006381333931")
    assert "już spakowane" in scan(staff_client, order.number)["message"]


def test_reload_keeps_the_count_and_reset_clears_it(staff_client):
    order = OrderFactory(items=ITEMS)
    scan(staff_client, order.number)
    scan(staff_client, "5901234123457")
    page = staff_client.get(reverse("orders:packing")).content.decode()
    assert f"Zamówienie {order.number}" in page and "1 / 2" in page
    staff_client.post(reverse("orders:packing_scan"), {"reset": "1"})
    assert "Zeskanuj numer zamówienia" in staff_client.get(reverse("orders:packing")).content.decode()
