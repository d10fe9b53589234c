import re

import pytest
from playwright.sync_api import expect

from accounting.models import Document, DocumentSeries
from tests.e2e.conftest import login, open_menu
from tests.factories import SELLER, OrderFactory, SeriesFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_configures_series_through_the_ui(page):
    UserFactory(username="szefowa", role="admin")
    login(page, "szefowa")
    open_menu(page).get_by_role("link", name="Księgowość konfiguracja").click()
    expect(page.get_by_role("button", name="Rozpocznij konfigurację")).to_be_visible()
    for field in (
        "seller_company_name",
        "seller_nip",
        "seller_street",
        "seller_post_code",
        "seller_city",
        "bank_name",
        "bank_account",
        "bank_swift",
    ):
        page.fill(f"#id_{field}", SELLER[field])
    page.get_by_role("button", name="Rozpocznij konfigurację").click()
    expect(page.locator(".msg-success")).to_contain_text("Utworzono domyślne serie")
    expect(page.locator("#series")).to_contain_text("Paragon (domyślnie)")

    page.locator("details.menu summary").click()
    page.get_by_role("link", name="Faktura", exact=True).click()
    page.fill("#id_name", "Faktury Allegro")
    page.fill("#id_number_format", "FA/{nr}/{mm}/{rrrr}")
    expect(page.locator("#number-preview")).to_have_text(re.compile(r"^FA/1/\d\d/\d{4}$"))
    page.fill("#id_number_format", "FA/{mm}")
    expect(page.locator("#number-preview")).to_contain_text("{nr}")
    page.fill("#id_number_format", "FA/{nr}/{mm}/{rrrr}")
    page.get_by_role("button", name="Zapisz serię").click()
    expect(page.locator(".msg-success")).to_contain_text("Zapisano serię „Faktury Allegro”")
    assert DocumentSeries.objects.get(name="Faktury Allegro").seller_nip == SELLER["seller_nip"]


def test_staff_issues_an_invoice_sees_the_preview_and_downloads_the_pdf(page):
    UserFactory(username="ola", role="staff")
    SeriesFactory(name="Faktura (domyślnie)", number_format="FV/{nr}/{mm}/{rrrr}", is_default=True)
    order = OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078")
    login(page, "ola")
    page.goto(f"/zamowienia/{order.pk}/")
    page.locator("#document-menu summary").click()
    page.get_by_role("button", name="Faktura (domyślnie)").click()

    expect(page.locator(".msg-success")).to_contain_text("Wystawiono dokument FV/1/")
    expect(page.locator(".doc")).to_contain_text("Żółw Sp. z o.o.")
    expect(page.locator(".doc")).to_contain_text("Razem do zapłaty: 114,97 PLN")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Drukuj").click()
    download = download_info.value
    assert download.suggested_filename.startswith("FV_1_") and download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(4) == b"%PDF"
    assert Document.objects.count() == 1


def test_staff_corrects_an_invoice_through_the_ui(page):
    from accounting import services

    UserFactory(username="ola", role="staff")
    SeriesFactory(kind="correction", name="Korekty", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    invoice = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    login(page, "ola")
    page.goto(f"/ksiegowosc/dokumenty/{invoice.pk}/")
    page.get_by_role("link", name="Koryguj").click()
    page.fill("#id_qty_1", "1")
    page.fill("#id_reason", "Zwrot jednej sztuki")
    page.get_by_role("button", name="Wystaw korektę").click()
    expect(page.locator(".msg-success")).to_contain_text("Wystawiono korektę FK/1/")
    expect(page.locator(".doc")).to_contain_text(f"Korekta do dokumentu nr {invoice.number}")
    expect(page.locator(".doc")).to_contain_text("Kwota korekty: -49,99 PLN")
