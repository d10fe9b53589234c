import re

import pytest
from playwright.sync_api import expect

from accounting.models import KsefSubmission
from tests.e2e.conftest import login, open_menu
from tests.factories import OrderFactory, SeriesFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NIP = "5260250274"


@pytest.fixture
def fake_ksef(settings):
    from integrations.ksef.client import _certificates
    from integrations.ksef.fake import FakeKsef

    settings.KSEF_POLL_SECONDS = 0.02
    settings.KSEF_TIMEOUT_SECONDS = 2.0
    _certificates.clear()
    fake = FakeKsef()
    fake.start()
    yield fake
    fake.stop()


def test_admin_connects_ksef_links_a_series_and_staff_sees_the_ksef_number_upo_and_qr(
    page, fake_ksef, browser, live_server
):
    UserFactory(username="szefowa", role="admin")
    UserFactory(username="ola", role="staff")
    series = SeriesFactory(name="Faktury KSeF", number_format="FK1/{nr}/{mm}/{rrrr}")
    order = OrderFactory()
    token = fake_ksef.token_for(NIP)

    login(page, "szefowa")
    open_menu(page).get_by_role("link", name="KSeF", exact=True).click()
    page.get_by_role("link", name="Dodaj połączenie z KSeF").click()
    page.fill("#id_name", "KSeF sklepu")
    page.fill("#id_nip", NIP)
    page.select_option("#id_environment", "custom")
    page.fill("#id_base_url", fake_ksef.base_url)
    page.fill("#id_token", token)
    page.get_by_role("button", name="Zapisz i sprawdź").click()
    expect(page.locator(".msg-success")).to_contain_text("Uwierzytelnienie w KSeF działa")
    expect(page.locator(".integration")).to_contain_text("••••" + token[-4:])
    assert token not in page.content()

    open_menu(page).get_by_role("link", name="Księgowość konfiguracja").click()
    page.get_by_role("link", name="Faktury KSeF").first.click()
    page.select_option("#id_ksef_connection", label=f"KSeF sklepu (NIP {NIP})")
    page.get_by_role("button", name="Zapisz serię").click()
    expect(page.locator(".msg-success")).to_contain_text("Zapisano serię „Faktury KSeF”")
    series.refresh_from_db()
    assert series.ksef_connection is not None

    staff = browser.new_context(base_url=live_server.url).new_page()
    login(staff, "ola")
    staff.goto(f"/zamowienia/{order.pk}/")
    staff.locator("#document-menu summary").click()
    staff.get_by_role("button", name="Faktury KSeF").click()
    expect(staff.locator(".pagehead h1")).to_contain_text(re.compile(r"Faktura VAT FK1/1/"))
    submission = KsefSubmission.objects.get()
    for _ in range(50):
        submission.refresh_from_db()
        if submission.state == "accepted":
            break
        staff.wait_for_timeout(100)
    staff.reload()
    expect(staff.locator("#ksef-state")).to_contain_text("Przyjęty w KSeF")
    expect(staff.locator("#ksef-number")).to_have_text(submission.ksef_number)
    expect(staff.locator(".ksef-qr img")).to_be_visible()
    with staff.expect_download() as download:
        staff.locator("#ksef-upo").click()
    assert download.value.suggested_filename.startswith("UPO_")
