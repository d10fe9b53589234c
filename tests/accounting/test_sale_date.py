"""Date of sale (art. 19a, 106i): shipment, else payment of a prepaid order, else the issue date."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from lxml import etree

from accounting import ksef, services
from apilo.errors import ApplicationError
from orders import services as orders
from orders.models import OrderStatus
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db
Q = {"f": ksef.NS}


def test_sale_date_defaults_to_the_day_the_order_was_shipped():
    order = OrderFactory(payment_method="cod")
    with time_machine.travel("2026-11-10 10:00 +01:00"):
        orders.order_set_status(order=order, status=status("Wysłane"))
    with time_machine.travel("2026-11-12 10:00 +01:00"):
        orders.order_set_status(order=order, status=status("Do wysłania"))
        orders.order_set_status(order=order, status=status("Wysłane"))
    with time_machine.travel("2026-11-20 10:00 +01:00"):
        invoice = services.document_issue(order=order, series=SeriesFactory())
    assert invoice.sale_date == date(2026, 11, 10)  # the first time it entered a "shipment" status
    root = etree.fromstring(ksef.document_ksef_xml(invoice))
    assert root.findtext("f:Fa/f:P_6", namespaces=Q) == "2026-11-10"


def test_sale_date_of_a_prepaid_order_not_shipped_is_the_payment_date():
    with time_machine.travel("2026-11-05 09:00 +01:00"):
        order = OrderFactory(payment_method="online")
    with time_machine.travel("2026-11-06 09:00 +01:00"):
        orders.order_update(order=order, data={"payment_status": "paid", "amount_paid": order.total_gross})
    with time_machine.travel("2026-11-09 09:00 +01:00"):
        invoice = services.document_issue(order=order, series=SeriesFactory())
    assert invoice.sale_date == date(2026, 11, 6)
    assert invoice.payment_date == date(2026, 11, 6)
    root = etree.fromstring(ksef.document_ksef_xml(invoice))
    assert root.findtext("f:Fa/f:Platnosc/f:DataZaplaty", namespaces=Q) == "2026-11-06"  # not the issue date


def test_sale_date_otherwise_is_the_issue_date_and_can_be_set_by_hand():
    order = OrderFactory(payment_method="cod")
    with time_machine.travel("2026-11-20 10:00 +01:00"):
        assert services.document_issue(order=order, series=SeriesFactory()).sale_date == date(2026, 11, 20)
        other = services.document_issue(order=OrderFactory(), series=SeriesFactory(), sale_date=date(2026, 11, 18))
    assert other.sale_date == date(2026, 11, 18)


def test_sale_date_more_than_60_days_after_issue_is_refused():
    with time_machine.travel("2026-11-20 10:00 +01:00"), pytest.raises(ApplicationError) as err:
        services.document_issue(order=OrderFactory(), series=SeriesFactory(), sale_date=date(2027, 1, 20))
    assert err.value.field == "sale_date" and "106i ust. 7" in err.value.message


def test_issuing_after_the_15th_of_the_next_month_warns(staff_api):
    order = OrderFactory()
    series = SeriesFactory()
    with time_machine.travel("2026-11-20 10:00 +01:00"):
        response = staff_api.post(
            f"/api/orders/{order.pk}/documents/", {"series": series.pk, "sale_date": "2026-10-02"}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert response.json()["sale_date"] == "2026-10-02"
    assert "15.11.2026" in response.json()["warnings"][0]


def test_issuing_page_shows_the_late_issue_warning(staff_client):
    order = OrderFactory()
    series = SeriesFactory()
    with time_machine.travel("2026-11-20 10:00 +01:00"):
        response = staff_client.post(
            f"/zamowienia/{order.pk}/dokument/",
            {"series": series.pk, "sale_date": "2026-10-02"},
            follow=True,
        )
    assert "Faktura wystawiona po terminie" in response.content.decode()


def test_nbp_rate_follows_the_sale_date(fake_nbp):
    fake_nbp.publish("EUR", date(2026, 11, 6), "4.2000", "216/A/NBP/2026")
    order = OrderFactory(currency="EUR")
    with time_machine.travel("2026-11-20 10:00 +01:00"):
        invoice = services.document_issue(order=order, series=SeriesFactory(), sale_date=date(2026, 11, 9))
    assert invoice.exchange_rate_date == date(2026, 11, 6) and invoice.exchange_rate == Decimal("4.2000")


def test_order_statuses_expose_marks_shipment_set_on_wyslane(staff_api, admin_client):
    body = staff_api.get("/api/order-statuses/").json()
    rows = body["results"] if isinstance(body, dict) else body
    flags = {row["name"]: row["marks_shipment"] for row in rows}
    assert flags["Wysłane"] is True and flags["Nowy"] is False
    nowy = OrderStatus.objects.get(name="Nowy")
    response = admin_client.get(f"/administracja/statusy/{nowy.pk}/")
    assert "oznacza wysyłkę" in response.content.decode().lower()
