from decimal import Decimal

import pytest

from accounting.models import Document, DocumentSeries
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

SERIES = {
    "kind": "invoice",
    "name": "Faktury API",
    "number_format": "API/{nr}/{mm}/{rrrr}",
    "reset": "monthly",
    "start_number": 1,
    "seller": {
        "company_name": "Sklep Bursztyn Sp. z o.o.",
        "company_name_2": "",
        "nip": "5260250274",
        "street": "ul. Długa 5",
        "post_code": "80-831",
        "city": "Gdańsk",
        "country": "PL",
        "email": "biuro@bursztyn.example.pl",
        "phone": "",
    },
    "bank": {"bank_name": "Santander", "account_number": "PL61109010140000071219812874", "swift": "WBKPPLPP"},
    "place_of_issue": "Gdańsk",
    "payment_term_days": 14,
    "notes": "",
    "active": True,
    "is_default": True,
}


def test_admin_creates_and_patches_a_series(admin_api):
    created = admin_api.post("/api/series/", SERIES, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["seller"]["nip"] == "5260250274" and body["bank"]["swift"] == "WBKPPLPP"

    patched = admin_api.patch(
        f"/api/series/{body['id']}/", {"name": "Faktury (API)", "payment_term_days": 21}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["payment_term_days"] == 21


def test_bad_series_names_the_field(admin_api):
    bad = {**SERIES, "seller": {**SERIES["seller"], "nip": "5260250275"}}
    response = admin_api.post("/api/series/", bad, format="json")
    assert response.status_code == 400
    assert "seller_nip" in response.json() or "seller" in response.json()
    no_nr = admin_api.post("/api/series/", {**SERIES, "number_format": "API/{mm}/{rrrr}"}, format="json")
    assert no_nr.status_code == 400 and "number_format" in no_nr.json()
    assert not DocumentSeries.objects.exists()


def test_staff_reads_series_but_cannot_change_them(staff_api):
    series = SeriesFactory()
    assert staff_api.get("/api/series/").status_code == 200
    assert staff_api.patch(f"/api/series/{series.pk}/", {"name": "x"}, format="json").status_code == 403
    assert staff_api.post("/api/series/", SERIES, format="json").status_code == 403


def test_issue_from_an_order_returns_201_then_409_with_the_existing_id(staff_api):
    series, order = SeriesFactory(), OrderFactory()
    first = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": series.pk}, format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["state"] == "issued" and body["total_gross"] == "114.97"
    assert body["lines"][0] == {
        "position": 1,
        "name": "Kubek ceramiczny",
        "quantity": "2.000",
        "unit": "szt.",
        "unit_price_net": "40.64",
        "unit_price_gross": "49.99",
        "vat_rate": "23",
        "net": "81.28",
        "vat": "18.70",
        "gross": "99.98",
        "quantity_before": None,
        "unit_price_gross_before": None,
        "gross_before": None,
    }
    assert body["vat_summary"] == [{"rate": "23", "net": "93.47", "vat": "21.50", "gross": "114.97"}]
    assert body["pdf_url"].endswith(f"/api/documents/{body['id']}/pdf/")

    again = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": series.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["document"] == body["id"]
    assert Document.objects.count() == 1


def test_issue_refusal_is_400_with_the_reason(staff_api):
    order = OrderFactory(invoice_company_name="Firma", invoice_nip="")
    response = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": SeriesFactory().pk}, format="json")
    assert response.status_code == 400
    assert "NIP" in response.json()["invoice_nip"][0]


def test_document_list_detail_and_pdf(staff_api):
    series = SeriesFactory()
    order = OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078")
    doc_id = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": series.pk}, format="json").json()["id"]
    OrderFactory()

    listed = staff_api.get("/api/documents/", {"buyer": "5252344078"}).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == doc_id
    assert staff_api.get(f"/api/documents/{doc_id}/").json()["buyer"]["nip"] == "5252344078"
    pdf = staff_api.get(f"/api/documents/{doc_id}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_correction_and_cancel_through_the_api(staff_api):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    series, order = SeriesFactory(), OrderFactory()
    doc_id = staff_api.post(f"/api/orders/{order.pk}/documents/", {"series": series.pk}, format="json").json()["id"]

    correction = staff_api.post(
        f"/api/documents/{doc_id}/corrections/",
        {"reason": "Zwrot", "lines": [{"position": 1, "quantity": "1"}]},
        format="json",
    )
    assert correction.status_code == 201, correction.json()
    assert correction.json()["total_gross"] == "-49.99"
    assert correction.json()["corrected_document"] == doc_id
    assert correction.json()["lines"][0]["quantity_before"] == "2.000"

    no_reason = staff_api.post(f"/api/documents/{doc_id}/corrections/", {"lines": []}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()

    blocked = staff_api.post(f"/api/documents/{doc_id}/cancel/", {"reason": "Błąd"}, format="json")
    assert blocked.status_code == 409  # has a live correction
    corr_id = correction.json()["id"]
    assert staff_api.post(f"/api/documents/{corr_id}/cancel/", {"reason": "Błąd"}, format="json").status_code == 200
    cancelled = staff_api.post(f"/api/documents/{doc_id}/cancel/", {"reason": "Błąd"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


@pytest.mark.parametrize("url", ["/api/documents/", "/api/series/"])
def test_document_api_needs_a_role(anon_api, nobody_api, url):
    assert anon_api.get(url).status_code == 401
    assert nobody_api.get(url).status_code == 403


def test_amounts_are_decimal_strings(staff_api):
    doc = staff_api.post(
        f"/api/orders/{OrderFactory().pk}/documents/", {"series": SeriesFactory().pk}, format="json"
    ).json()
    assert isinstance(doc["total_net"], str) and Decimal(doc["total_net"]) + Decimal(doc["total_vat"]) == Decimal(
        doc["total_gross"]
    )
