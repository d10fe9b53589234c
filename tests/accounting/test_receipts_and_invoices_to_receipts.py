"""Receipts are fiscal records (printer, PLN); an invoice to a receipt follows art. 106b ust. 5."""

from decimal import Decimal

import pytest
from lxml import etree

from accounting import ksef, services
from apilo.errors import ApplicationError
from tests.accounting.test_pdf import pdf_text
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
Q = {"f": ksef.NS}
COMPANY = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}


def receipt_series():
    return SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")


def test_a_company_invoice_to_a_receipt_without_its_nip_is_refused_citing_art_106b():
    order = OrderFactory(**COMPANY)
    services.document_issue(order=order, series=receipt_series(), as_consumer=True)  # receipt without the NIP
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=SeriesFactory())
    assert err.value.http_status == 422 and "art. 106b ust. 5" in err.value.message
    assert order.documents.filter(kind="invoice").count() == 0


def test_api_refuses_it_with_422(staff_api):
    order = OrderFactory(**COMPANY)
    services.document_issue(order=order, series=receipt_series(), as_consumer=True)
    response = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": SeriesFactory().pk}, format="json")
    assert response.status_code == 422 and "106b" in response.json()["invoice_nip"][0]


def test_a_company_invoice_to_a_receipt_with_its_nip_says_so_in_pdf_and_fa3():
    order = OrderFactory(**COMPANY)
    receipt = services.document_issue(order=order, series=receipt_series())
    invoice = services.document_issue(order=order, series=SeriesFactory())
    assert invoice.receipt_document == receipt and invoice.issued_to_receipt
    assert f"Faktura do paragonu nr {receipt.number}" in pdf_text(invoice)
    root = etree.fromstring(ksef.document_ksef_xml(invoice))
    assert root.findtext("f:Fa/f:FP", namespaces=Q) == "1"


def test_a_consumer_may_get_an_invoice_to_a_receipt():
    order = OrderFactory()
    receipt = services.document_issue(order=order, series=receipt_series())
    invoice = services.document_issue(order=order, series=SeriesFactory())
    assert invoice.receipt_document == receipt


def test_a_receipt_series_must_have_a_fiscal_printer():
    series = receipt_series()
    with pytest.raises(ApplicationError) as err:
        services.series_save(data={"printer": None}, series=series)
    assert err.value.field == "printer"
    # inactive without a printer is allowed (the default set starts so)
    assert services.series_save(data={"printer": None, "active": False}, series=series).active is False


def test_series_api_refuses_an_active_receipt_series_without_printer(admin_api):
    from tests.accounting.test_documents_api import SERIES

    response = admin_api.post(
        "/api/series/", {**SERIES, "kind": "receipt", "number_format": "PAR/{nr}/{mm}/{rrrr}"}, format="json"
    )
    assert response.status_code == 400 and "printer" in response.json()


def test_receipt_in_euro_is_refused_with_422(staff_api):
    order = OrderFactory(currency="EUR")
    response = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": receipt_series().pk}, format="json")
    assert response.status_code == 422 and "tylko w złotych" in response.json()["currency"][0]


def test_receipt_pdf_is_titled_non_fiscal_copy():
    receipt = services.document_issue(order=OrderFactory(), series=receipt_series())
    text = pdf_text(receipt)
    assert text.startswith("Dokument niefiskalny — kopia paragonu")
    assert Decimal(receipt.total_gross) > 0


def test_receipt_series_page_requires_a_fiscal_printer(admin_client):
    from django.urls import reverse

    from accounting.models import DocumentSeries
    from tests.factories import SELLER, fiscal_printer

    form = {
        **SELLER,
        "kind": "receipt",
        "name": "Paragony sklep",
        "number_format": "PS/{nr}/{mm}/{rrrr}",
        "reset": "monthly",
        "start_number": "1",
        "seller_country": "PL",
        "payment_term_days": "0",
        "active": "on",
    }
    page = admin_client.get(reverse("accounting:series_create") + "?kind=receipt").content.decode()
    assert "Drukarka fiskalna" in page
    response = admin_client.post(reverse("accounting:series_create"), form)
    assert response.status_code == 400 and "musi mieć drukarkę fiskalną" in response.content.decode()
    assert not DocumentSeries.objects.filter(name="Paragony sklep").exists()
    response = admin_client.post(reverse("accounting:series_create"), {**form, "printer": fiscal_printer().pk})
    assert response.status_code == 302
    assert DocumentSeries.objects.get(name="Paragony sklep").printer is not None


def test_default_setup_leaves_the_receipt_series_inactive_until_a_printer_is_chosen():
    from accounting.models import DocumentSeries
    from tests.factories import SELLER

    services.series_setup_defaults(seller={**SELLER, "seller_country": "PL"})
    receipt = DocumentSeries.objects.get(kind="receipt")
    assert receipt.active is False and receipt.printer is None
    assert DocumentSeries.objects.get(kind="invoice").active is True
