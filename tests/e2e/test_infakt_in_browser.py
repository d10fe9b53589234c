import re

import pytest
from playwright.sync_api import expect

from accounting.models import Document
from tests.e2e.conftest import login, open_menu
from tests.factories import OrderFactory, SeriesFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_connects_infakt_links_a_series_and_staff_gets_the_infakt_number(page, fake_infakt, browser, live_server):
    UserFactory(username="szefowa", role="admin")
    UserFactory(username="ola", role="staff")
    series = SeriesFactory(name="Faktury Allegro", number_format="FA/{nr}/{mm}/{rrrr}")
    order = OrderFactory()

    login(page, "szefowa")
    open_menu(page).get_by_role("link", name="Konfiguracja faktur").click()
    page.get_by_role("link", name="Dodaj połączenie z inFakt").click()
    page.fill("#id_name", "Moje inFakt")
    page.fill("#id_api_key", fake_infakt.api_key)
    page.select_option("#id_environment", "custom")
    page.fill("#id_custom_url", fake_infakt.base_url)
    page.get_by_role("button", name="Zapisz i sprawdź").click()
    expect(page.locator(".msg-success")).to_contain_text("Połączenie działa")
    expect(page.locator(".integration")).to_contain_text("••••9876")
    expect(page.locator(".integration")).to_contain_text("5260250274")

    open_menu(page).get_by_role("link", name="Księgowość konfiguracja").click()
    page.get_by_role("link", name="Faktury Allegro").first.click()
    page.select_option("#id_integration", label="Moje inFakt (inFakt)")
    page.get_by_role("button", name="Zapisz serię").click()
    expect(page.locator(".msg-success")).to_contain_text("Zapisano serię „Faktury Allegro”")
    series.refresh_from_db()
    assert series.integration is not None and series.external_numbering

    staff = browser.new_context(base_url=live_server.url).new_page()
    login(staff, "ola")
    staff.goto(f"/zamowienia/{order.pk}/")
    staff.locator("#document-menu summary").click()
    staff.get_by_role("button", name="Faktury Allegro").click()
    expect(staff.locator(".pagehead h1")).to_contain_text(re.compile(r"Faktura VAT 1/\d\d/\d{4}"))
    expect(staff.locator("#sync")).to_contain_text("Dokument wystawiony w inFakt: numer 1/")
    document = Document.objects.get()
    assert document.state == "issued" and document.external_uuid in fake_infakt.invoices
