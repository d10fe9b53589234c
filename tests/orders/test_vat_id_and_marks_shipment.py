"""A foreign buyer's EU VAT number on the invoice address; statuses marked "oznacza wysyłkę"."""

import pytest
from django.urls import reverse

from orders.models import Order, OrderStatus
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_order_api_takes_and_returns_the_buyers_eu_vat_number(staff_api):
    order = OrderFactory(invoice_country="DE", invoice_company_name="Bernstein GmbH")
    response = staff_api.patch(
        f"/api/orders/{order.pk}/", {"invoice_address": {"vat_id": "DE136695976"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["invoice_address"]["vat_id"] == "DE136695976"
    assert Order.objects.get(pk=order.pk).invoice_vat_id == "DE136695976"


def test_a_wrong_eu_vat_number_is_refused_naming_the_field_and_nothing_changes(staff_api):
    order = OrderFactory()
    response = staff_api.patch(f"/api/orders/{order.pk}/", {"invoice_address": {"vat_id": "DE12"}}, format="json")
    assert response.status_code == 400
    assert "vat_id" in str(response.json()) and "numer VAT UE" in str(response.json())
    assert Order.objects.get(pk=order.pk).invoice_vat_id == ""


def test_order_card_shows_the_eu_vat_number(staff_client):
    order = OrderFactory(invoice_country="DE", invoice_company_name="Bernstein GmbH", invoice_vat_id="DE136695976")
    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "VAT UE: DE136695976" in page


def test_status_admin_form_sets_marks_shipment(admin_client):
    status = OrderStatus.objects.get(name="Spakowane")
    response = admin_client.post(
        reverse("orders:status_edit", args=[status.pk]),
        {"name": "Spakowane", "colour": "#17becf", "is_active": "on", "marks_shipment": "on"},
    )
    assert response.status_code == 302
    assert OrderStatus.objects.get(pk=status.pk).marks_shipment is True


def test_the_data_migration_marks_wyslane():
    from importlib import import_module

    from django.apps import apps

    OrderStatus.objects.filter(name="Wysłane").update(marks_shipment=False)
    import_module("orders.migrations.0008_wyslane_marks_shipment").mark_shipped(apps, None)
    assert OrderStatus.objects.get(name="Wysłane").marks_shipment is True
