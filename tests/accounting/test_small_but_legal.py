"""Typed exchange rate with its table, DataZaplaty of partial payments, the buyer's address, the PDF line table,
and typed errors shown by the one shared view mixin."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.views import View
from lxml import etree

from accounting import ksef, services
from apilo.errors import ApplicationError
from apilo.mixins import TypedErrorsMixin
from apilo.states import IllegalTransition
from tests.accounting.test_pdf import pdf_text
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
Q = {"f": ksef.NS}


def test_a_typed_exchange_rate_needs_its_table_number_and_a_business_day(fake_nbp):
    fake_nbp.fail_with = 503
    order = OrderFactory(currency="EUR")
    with time_machine.travel("2026-11-24 10:00 +01:00"):
        with pytest.raises(ApplicationError) as err:
            services.document_issue(order=order, series=SeriesFactory(), exchange_rate=Decimal("4.25"))
        assert err.value.field == "exchange_rate_table"
        with pytest.raises(ApplicationError) as err:
            services.document_issue(
                order=order,
                series=SeriesFactory(),
                exchange_rate=Decimal("4.25"),
                exchange_rate_table="226/A/NBP/2026",
                exchange_rate_date=date(2026, 11, 22),  # a Sunday
            )
        assert err.value.field == "exchange_rate_date" and "dniem roboczym" in err.value.message
        invoice = services.document_issue(
            order=order,
            series=SeriesFactory(),
            exchange_rate=Decimal("4.25"),
            exchange_rate_table="226/A/NBP/2026",
            exchange_rate_date=date(2026, 11, 20),
        )
    assert "Kurs NBP 226/A/NBP/2026 z dnia 20.11.2026" in pdf_text(invoice)


def test_a_partial_payment_is_marked_as_partial_with_its_date():
    with time_machine.travel("2026-11-05 09:00 +01:00"):
        order = OrderFactory(payment_method="transfer")
    with time_machine.travel("2026-11-06 09:00 +01:00"):
        from orders import services as orders

        orders.order_update(order=order, data={"payment_status": "partial", "amount_paid": Decimal("50.00")})
    with time_machine.travel("2026-11-09 09:00 +01:00"):
        invoice = services.document_issue(order=order, series=SeriesFactory())
    payment = etree.fromstring(ksef.document_ksef_xml(invoice)).find("f:Fa/f:Platnosc", Q)
    assert payment.findtext("f:ZnacznikZaplatyCzesciowej", namespaces=Q) == "1"
    assert payment.findtext("f:ZaplataCzesciowa/f:KwotaZaplatyCzesciowej", namespaces=Q) == "50.00"
    assert payment.findtext("f:ZaplataCzesciowa/f:DataZaplatyCzesciowej", namespaces=Q) == "2026-11-06"
    assert payment.find("f:Zaplacono", Q) is None


def test_a_vat_invoice_needs_the_buyers_street_post_code_and_city():
    order = OrderFactory(invoice_street="", invoice_city="")
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=SeriesFactory())
    assert err.value.field == "invoice_street"
    assert "ulica" in err.value.message and "miejscowość" in err.value.message
    assert "kod pocztowy" not in err.value.message
    assert order.documents.count() == 0


def test_api_names_the_missing_address_field(staff_api):
    order = OrderFactory(invoice_post_code="")
    response = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": SeriesFactory().pk}, format="json")
    assert response.status_code == 400 and "kod pocztowy" in response.json()["invoice_post_code"][0]


def test_pdf_line_table_has_no_per_line_vat_that_disagrees_with_the_per_rate_total():
    items = [
        {"name": f"Długopis {i}", "quantity": Decimal(1), "unit_price_gross": Decimal("9.99"), "vat_rate": "23"}
        for i in range(3)
    ]
    invoice = services.document_issue(order=OrderFactory(items=items), series=SeriesFactory())
    text = pdf_text(invoice)
    assert invoice.total_vat == Decimal("5.60")
    assert "5.60" in text or "5,60" in text
    assert "1.87" not in text and "1,87" not in text  # per-line VAT (3 × 1.87 = 5.61) is not shown
    assert "wiążące są kwoty w podsumowaniu" in text


class _Refusing(TypedErrorsMixin, View):
    def post(self, request):
        raise IllegalTransition("Niedozwolona zmiana stanu dokumentu: „Anulowany” → „Wystawiony”.")


def test_a_typed_error_a_view_does_not_catch_becomes_a_message_not_a_500():
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = RequestFactory().post("/ksiegowosc/dokumenty/1/ponow/", HTTP_REFERER="http://testserver/ksiegowosc/")
    request.session = {}
    request._messages = FallbackStorage(request)
    response = _Refusing.as_view()(request)
    assert response.status_code == 302 and response.url == "http://testserver/ksiegowosc/"  # the sending page
    assert [m.message for m in get_messages(request)] == [
        "Niedozwolona zmiana stanu dokumentu: „Anulowany” → „Wystawiony”."
    ]


def test_a_refused_pdf_of_a_document_awaiting_its_service_is_a_message_on_the_document_page(
    staff_client, infakt_integration
):
    from accounting.models import Document

    invoice = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    Document.objects.filter(pk=invoice.pk).update(integration=infakt_integration, state="attention", pdf="")
    response = staff_client.get(f"/ksiegowosc/dokumenty/{invoice.pk}/pdf/", follow=True)
    assert response.redirect_chain[-1][0] == f"/ksiegowosc/dokumenty/{invoice.pk}/"
    assert "będzie dostępny po nadaniu numeru" in response.content.decode()
