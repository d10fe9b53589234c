import pytest
from playwright.sync_api import expect

from accounting.models import Document
from tests.e2e.conftest import login, open_menu
from tests.factories import OrderFactory, SeriesFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_picks_a_popular_task_activates_it_and_sees_invoice_and_email_in_the_order_log(page):
    UserFactory(username="szefowa", role="admin")
    SeriesFactory(name="Faktura (domyślnie)", number_format="FV/{nr}/{mm}/{rrrr}", is_default=True)
    order = OrderFactory(customer_email="kupujacy@example.pl")

    login(page, "szefowa")
    open_menu(page).get_by_role("link", name="Zadania automatyczne").click()
    page.locator("#popular .tile").filter(has_text="Wystaw fakturę po zmianie statusu na Wysłane").get_by_role(
        "button", name="Wybierz"
    ).click()
    expect(page.locator(".msg-success")).to_contain_text("Dodano zadanie")
    page.locator("#toggle").click()
    expect(page.locator(".msg-success")).to_contain_text("jest teraz aktywne")

    page.goto(f"/zamowienia/{order.pk}/")
    page.select_option("#id_status", label="Wysłane")
    page.get_by_role("button", name="Zapisz status").click()
    expect(page.locator(".msg-success")).to_contain_text("Zmieniono status na „Wysłane”")
    expect(page.locator("#runs")).to_contain_text("Wystawiono dokument FV/1/")
    expect(page.locator("#emails")).to_contain_text("kupujacy@example.pl")
    expect(page.locator("#emails")).to_contain_text("Wysłano")
    expect(page.locator("#documents-panel")).to_contain_text("FV/1/")
    assert Document.objects.filter(order=order).count() == 1
