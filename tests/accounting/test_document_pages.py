import csv
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse

from accounting import services
from accounting.models import Document, DocumentSeries
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def test_order_card_offers_dokument_menu_with_active_series(staff_client):
    SeriesFactory(name="Faktura (domyślnie)")
    SeriesFactory(name="Stara seria", active=False)
    order = OrderFactory()
    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Dokument" in page and "Faktura (domyślnie)" in page and "Stara seria" not in page
    assert "Do zamówienia nie wystawiono jeszcze dokumentów." in page


def test_clicking_dokument_issues_and_opens_the_preview(staff_client):
    series, order = SeriesFactory(), OrderFactory()
    response = staff_client.post(
        reverse("accounting:document_issue", args=[order.pk]), {"series": series.pk}, follow=True
    )
    page = response.content.decode()
    document = Document.objects.get()
    assert f"Wystawiono dokument {document.number}" in page
    assert "Drukuj" in page and "Razem do zapłaty" in page


def test_second_click_opens_the_existing_document_and_offers_an_explicit_additional_one(staff_client):
    series, order = SeriesFactory(), OrderFactory()
    url = reverse("accounting:document_issue", args=[order.pk])
    staff_client.post(url, {"series": series.pk})
    page = staff_client.post(url, {"series": series.pk}, follow=True).content.decode()
    assert "istnieje już dokument" in page and "Wystaw kolejny dokument" in page
    assert Document.objects.count() == 1
    staff_client.post(url, {"series": series.pk, "additional": "1"})
    assert Document.objects.count() == 2


def test_company_without_nip_gets_a_refusal_page_offering_a_consumer_invoice(staff_client):
    series = SeriesFactory()
    order = OrderFactory(invoice_company_name="Firma", invoice_nip="")
    response = staff_client.post(reverse("accounting:document_issue", args=[order.pk]), {"series": series.pk})
    page = response.content.decode()
    assert response.status_code == 400
    assert "nie ma prawidłowego NIP" in page and "Wystaw na osobę prywatną" in page
    assert "numer nie został zużyty" in page
    assert not Document.objects.exists()


def test_drukuj_downloads_a_pdf(staff_client):
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    response = staff_client.get(reverse("accounting:document_pdf", args=[document.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF")


def test_document_list_filters_and_searches(staff_client):
    series = SeriesFactory()
    company = services.document_issue(
        order=OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078"), series=series
    )
    consumer = services.document_issue(
        order=OrderFactory(customer_name="Zofia Nowak", invoice_name="Zofia Nowak"), series=series
    )
    url = reverse("accounting:document_list")

    by_nip = staff_client.get(url, {"buyer": "525-234-40-78"}).content.decode()
    by_name = staff_client.get(url, {"q": "zofia"}).content.decode()
    by_kind = staff_client.get(url, {"kind": "proforma"}).content.decode()

    assert company.number in by_nip and consumer.number not in by_nip
    assert consumer.number in by_name and company.number not in by_name
    assert "Brak dokumentów spełniających kryteria." in by_kind


def test_zip_of_selected_documents_contains_their_pdfs(staff_client):
    series = SeriesFactory(number_format="Z/{nr}/{mm}/{rrrr}")
    docs = [services.document_issue(order=OrderFactory(), series=series) for _ in range(2)]
    response = staff_client.post(reverse("accounting:document_zip"), {"ids": ",".join(str(d.pk) for d in docs)})
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(f"{d.number.replace('/', '_')}.pdf" for d in docs)
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


def test_csv_register_has_net_and_vat_per_rate(staff_client):
    order = OrderFactory(
        invoice_company_name="Żółw Sp. z o.o.",
        invoice_nip="5252344078",
        items=[
            {"name": "Kubek", "quantity": Decimal(1), "unit_price_gross": Decimal("123.00"), "vat_rate": "23"},
            {"name": "Książka", "quantity": Decimal(1), "unit_price_gross": Decimal("10.50"), "vat_rate": "5"},
        ],
    )
    document = services.document_issue(order=order, series=SeriesFactory())
    response = staff_client.get(reverse("accounting:document_register"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1
    row = rows[0]
    assert row["Numer"] == document.number and row["NIP nabywcy"] == "5252344078"
    assert (row["Netto 23"], row["VAT 23"], row["Netto 5"], row["VAT 5"]) == ("100.00", "23.00", "10.00", "0.50")
    assert row["Razem brutto"] == "133.50" and row["Waluta"] == "PLN"


def test_correction_through_the_page(staff_client):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    url = reverse("accounting:document_correct", args=[document.pk])
    form = staff_client.get(url).content.decode()
    assert "Przyczyna korekty" in form
    correction_series = DocumentSeries.objects.get(kind="correction")
    response = staff_client.post(
        url,
        {
            "qty_1": "1",
            "price_1": "49.99",
            "qty_2": "1",
            "price_2": "14.99",
            "reason": "Zwrot 1 szt.",
            "series": correction_series.pk,
        },
        follow=True,
    )
    assert "Wystawiono korektę FK/1/" in response.content.decode()


def test_cancel_through_the_page_needs_a_reason(staff_client):
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    url = reverse("accounting:document_cancel", args=[document.pk])
    assert "Podaj powód anulowania." in staff_client.post(url, {"reason": ""}).content.decode()
    response = staff_client.post(url, {"reason": "Klient zrezygnował"}, follow=True)
    assert "Numer pozostaje wykorzystany" in response.content.decode()
    document.refresh_from_db()
    assert document.state == "cancelled"


def test_menu_has_documents_for_staff_and_series_for_admin_only(client, staff_user, admin_user):
    client.force_login(staff_user)
    staff_page = client.get(reverse("orders:list")).content.decode()
    client.force_login(admin_user)
    admin_page = client.get(reverse("orders:list")).content.decode()
    assert "Dokumenty" in staff_page and "Księgowość konfiguracja" not in staff_page
    assert "Księgowość konfiguracja" in admin_page


def test_documents_need_a_role(client, nobody_user):
    client.force_login(nobody_user)
    assert client.get(reverse("accounting:document_list")).status_code == 403
