"""0 % / np / reverse charge by transaction: 0 WDT, 0 EX, 0 KR, np I / np II, oo; split payment never on foreign
0 % / np sales."""

from decimal import Decimal

import pytest
from lxml import etree

from accounting import ksef, services
from accounting.services import rules
from tests.accounting.test_pdf import pdf_text
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
Q = {"f": ksef.NS}
GERMAN_BUSINESS = {
    "invoice_company_name": "Bernstein GmbH",
    "invoice_vat_id": "DE136695976",
    "invoice_street": "Hauptstraße 1",
    "invoice_post_code": "10115",
    "invoice_city": "Berlin",
    "invoice_country": "DE",
}


def xml_of(document):
    return etree.fromstring(ksef.document_ksef_xml(document))  # schema-valid and arithmetic-checked, or raises


def line(rate, price="100.00", **extra):
    return {
        "name": f"Pozycja {rate}",
        "quantity": Decimal(1),
        "unit_price_gross": Decimal(price),
        "vat_rate": rate,
        **extra,
    }


def test_zero_rate_to_an_eu_business_is_wdt_with_eu_vat_numbers_in_xml_and_pdf():
    invoice = services.document_issue(order=OrderFactory(items=[line("0")], **GERMAN_BUSINESS), series=SeriesFactory())
    root = xml_of(invoice)
    assert root.findtext("f:Fa/f:FaWiersz/f:P_12", namespaces=Q) == "0 WDT"
    assert root.findtext("f:Fa/f:P_13_6_2", namespaces=Q) == "100.00"
    ident = root.find("f:Podmiot2/f:DaneIdentyfikacyjne", Q)
    assert (ident.findtext("f:KodUE", namespaces=Q), ident.findtext("f:NrVatUE", namespaces=Q)) == ("DE", "136695976")
    text = pdf_text(invoice)
    assert "NIP UE: PL5260250274" in text and "NIP UE: DE136695976" in text and "0% WDT" in text


def test_zero_rate_outside_the_eu_is_export_and_at_home_is_kr():
    export = services.document_issue(
        order=OrderFactory(items=[line("0")], invoice_country="NO", invoice_company_name="Nordic AS"),
        series=SeriesFactory(),
    )
    assert xml_of(export).findtext("f:Fa/f:P_13_6_3", namespaces=Q) == "100.00"
    domestic = services.document_issue(order=OrderFactory(items=[line("0")]), series=SeriesFactory())
    assert xml_of(domestic).findtext("f:Fa/f:FaWiersz/f:P_12", namespaces=Q) == "0 KR"


def test_np_services_to_an_eu_business_are_np_ii_with_reverse_charge():
    invoice = services.document_issue(order=OrderFactory(items=[line("np")], **GERMAN_BUSINESS), series=SeriesFactory())
    root = xml_of(invoice)
    assert root.findtext("f:Fa/f:FaWiersz/f:P_12", namespaces=Q) == "np II"
    assert root.findtext("f:Fa/f:P_13_9", namespaces=Q) == "100.00"
    assert root.findtext("f:Fa/f:Adnotacje/f:P_18", namespaces=Q) == "1"
    assert "odwrotne obciążenie" in pdf_text(invoice)
    domestic = services.document_issue(order=OrderFactory(items=[line("np")]), series=SeriesFactory())
    assert xml_of(domestic).findtext("f:Fa/f:FaWiersz/f:P_12", namespaces=Q) == "np I"


def test_domestic_reverse_charge_oo_is_accepted_on_items_and_exported(staff_api):
    response = staff_api.post(
        "/api/orders/",
        {
            "channel": "shop",
            "external_id": "OO-1",
            "ordered_at": "2026-11-20T10:00:00+01:00",
            "invoice_address": {
                "company_name": "Złom Sp. z o.o.",
                "nip": "5252344078",
                "street": "ul. Stalowa 1",
                "post_code": "00-001",
                "city": "Warszawa",
            },
            "items": [{"name": "Złom stalowy", "quantity": "1", "unit_price_gross": "1000.00", "vat_rate": "oo"}],
        },
        format="json",
    )
    assert response.status_code in (200, 201), response.json()
    from orders.models import Order

    invoice = services.document_issue(order=Order.objects.get(pk=response.json()["id"]), series=SeriesFactory())
    root = xml_of(invoice)
    assert root.findtext("f:Fa/f:FaWiersz/f:P_12", namespaces=Q) == "oo"
    assert root.findtext("f:Fa/f:P_13_10", namespaces=Q) == "1000.00"
    assert root.findtext("f:Fa/f:Adnotacje/f:P_18", namespaces=Q) == "1"
    assert invoice.total_vat == 0 and "odwrotne obciążenie" in pdf_text(invoice)


def test_split_payment_never_applies_to_a_zero_rate_foreign_sale():
    items = [line("0", "20000.00", annex15=True)]
    invoice = services.document_issue(order=OrderFactory(items=items, **GERMAN_BUSINESS), series=SeriesFactory())
    assert not invoice.split_payment


def test_split_payment_threshold_uses_the_rounded_pln_gross():
    # 3 571.43 EUR × 4.2000 = 15 000.006 PLN → 15 000.01 PLN > 15 000: applies; 3 571.42 → 14 999.96: does not
    kw = {"buyer_is_company": True, "kind": rules.DOMESTIC, "exchange_rate": Decimal("4.2000")}
    lines = [services.LineInput(1, "Pręt", "", "", "szt.", Decimal(1), Decimal("1"), "23", True)]
    assert rules.split_payment_applies(lines=lines, total_gross=Decimal("3571.43"), **kw)
    assert not rules.split_payment_applies(lines=lines, total_gross=Decimal("3571.42"), **kw)
    assert not rules.split_payment_applies(
        lines=lines, total_gross=Decimal("15000.00"), buyer_is_company=True, kind=rules.DOMESTIC, exchange_rate=None
    )


def test_order_api_checks_the_eu_vat_number(staff_api):
    response = staff_api.post(
        "/api/orders/",
        {
            "channel": "shop",
            "external_id": "VAT-1",
            "ordered_at": "2026-11-20T10:00:00+01:00",
            "invoice_address": {"company_name": "Bernstein GmbH", "vat_id": "DE123", "country": "DE"},
            "items": [{"name": "Kubek", "quantity": "1", "unit_price_gross": "10.00", "vat_rate": "23"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "numer VAT UE" in str(response.json())
