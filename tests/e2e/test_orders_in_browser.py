import re

import pytest
from playwright.sync_api import expect

from orders.models import OrderEvent
from tests.e2e.conftest import login
from tests.factories import OrderFactory, UserFactory, status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_finds_an_order_changes_its_status_and_sees_it_in_history(page):
    UserFactory(username="ola", first_name="Ola", last_name="Nowak", role="staff")
    OrderFactory(customer_name="Zofia Wiśniewska", invoice_name="Zofia Wiśniewska")
    target = OrderFactory(customer_name="Grzegorz Brzęczyszczykiewicz", external_id="ALG-777")
    shipped = OrderFactory(customer_name="Anna Mazur")
    shipped.status = status("Wysłane")
    shipped.save()

    login(page, "ola")
    expect(page.locator("h1")).to_have_text("Zamówienia")

    page.get_by_role("link", name=re.compile(r"^Nowy")).click()
    expect(page.locator("table.orders tbody tr")).to_have_count(2)

    page.fill("#id_q", "Brzęczyszczykiewicz")
    page.get_by_role("button", name="Filtruj").click()
    expect(page.locator("table.orders tbody tr")).to_have_count(1)

    page.get_by_role("link", name=target.number).click()
    expect(page.locator("h1")).to_contain_text(target.number)
    page.select_option("#id_status", label="W realizacji")
    page.get_by_role("button", name="Zapisz status").click()

    expect(page.locator(".msg-success")).to_contain_text("Zmieniono status na „W realizacji”")
    expect(page.locator("#history")).to_contain_text("Nowy → W realizacji")
    expect(page.locator("#history")).to_contain_text("Ola Nowak")
    assert OrderEvent.objects.filter(order=target, kind="status_changed").count() == 1


def test_staff_does_not_see_administration_and_cannot_open_it(page):
    UserFactory(username="ola", role="staff")
    login(page, "ola")
    expect(page.locator("nav.mainnav")).not_to_contain_text("Administracja")
    response = page.goto("/administracja/statusy/")
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("Brak dostępu")


def test_staff_changes_the_status_of_selected_orders_in_bulk(page):
    UserFactory(username="ola", role="staff")
    orders = [OrderFactory() for _ in range(3)]
    login(page, "ola")
    page.check(f"input.row-check[value='{orders[0].pk}']")
    page.check(f"input.row-check[value='{orders[1].pk}']")
    expect(page.locator("#bulk-selected")).to_have_text("Zaznaczono: 2")
    page.select_option("#bulk-form select[name=status]", label="Wysłane")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Zmień status").click()
    expect(page.locator(".msg-success")).to_contain_text("Zmieniono status 2 zamówień")
    expect(page.locator("#bulk-done")).to_have_text("2")  # the progress view updates itself
    expect(page.locator("#bulk-waiting")).to_have_text("0")
    page.get_by_role("link", name="Wróć do zamówień").click()
    expect(page.get_by_role("link", name=re.compile(r"^Wysłane"))).to_contain_text("2")
