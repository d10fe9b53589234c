"""The top bar fits on one line from 1280 px (Administracja is a dropdown); the order list's "all matching the
filter" appears only when the whole page is ticked and never leaves a misleading counter."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.e2e.conftest import login, open_menu
from tests.factories import OrderFactory, UserFactory, status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ONE_LINE = """() => {
  const bar = document.querySelector("header.topbar");
  const parts = [...bar.children].map(el => el.getBoundingClientRect());
  const middles = parts.map(r => r.top + r.height / 2);
  return {height: bar.getBoundingClientRect().height, spread: Math.max(...middles) - Math.min(...middles)};
}"""


@pytest.mark.parametrize("width", [1280, 1366])
def test_the_admin_top_bar_fits_on_one_line(page, width):
    UserFactory(username="szefowa", first_name="Małgorzata", last_name="Brzęczyszczykiewicz", role="admin")
    page.set_viewport_size({"width": width, "height": 800})
    login(page, "szefowa")
    expect(page.locator("h1")).to_have_text("Zamówienia")
    bar = page.evaluate(ONE_LINE)
    assert bar["height"] <= 56, bar  # one line: 8 px padding around the tallest item, not two rows
    assert bar["spread"] <= 4, bar  # brand, menu and user box side by side
    expect(page.locator("nav.mainnav .navmenu ul")).to_be_hidden()  # closed until asked


def test_the_administracja_dropdown_opens_its_links_work_and_it_closes(page):
    UserFactory(username="szefowa", role="admin")
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, "szefowa")
    summary = page.locator("nav.mainnav summary", has_text="Administracja")
    links = page.locator("nav.mainnav .navmenu a")
    expect(links.first).to_be_hidden()

    summary.click()
    expect(links).to_have_count(8)  # Użytkownicy … Urządzenia, KSeF
    expect(page.get_by_role("link", name="Urządzenia")).to_be_visible()
    page.keyboard.press("Escape")
    expect(links.first).to_be_hidden()

    summary.click()
    page.locator("h1").click()  # a click elsewhere closes it
    expect(links.first).to_be_hidden()

    open_menu(page).get_by_role("link", name="Urządzenia").click()
    expect(page).to_have_url(re.compile(r"/administracja/urzadzenia/$"))
    expect(page.locator("h1")).to_contain_text("Urządzenia")
    expect(summary).to_have_class(re.compile(r"\bactive\b"))  # the section of the open page is marked
    open_menu(page).get_by_role("link", name="Statusy zamówień").click()
    expect(page.locator("h1")).to_contain_text("Statusy")


def test_staff_sees_no_administracja_dropdown(page):
    UserFactory(username="ola", role="staff")
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, "ola")
    expect(page.locator("nav.mainnav details")).to_have_count(0)
    expect(page.locator("nav.mainnav")).to_contain_text("Zamówienia")


def test_select_all_matching_shows_only_when_the_page_is_ticked_and_the_counter_tells_the_truth(page):
    UserFactory(username="ola", role="staff")
    orders = [OrderFactory() for _ in range(3)]
    login(page, "ola")
    offer = page.locator("#select-all-matching")
    counter = page.locator("#bulk-selected")
    expect(page.locator("input.row-check")).to_have_count(3)
    expect(offer).to_be_hidden()  # before anything is ticked
    expect(counter).to_have_text("Zaznaczono: 0")

    page.check(f"input.row-check[value='{orders[0].pk}']")
    expect(offer).to_be_hidden()
    page.check("#check-page")
    expect(offer).to_be_visible()
    expect(counter).to_have_text("Zaznaczono: 3")

    page.check("#bulk-select-all")
    expect(counter).to_have_text("Zaznaczono: wszystkie pasujące do filtra (3)")
    page.uncheck(f"input.row-check[value='{orders[1].pk}']")  # unticking a row withdraws "all matching"
    expect(offer).to_be_hidden()
    expect(page.locator("#bulk-select-all")).not_to_be_checked()
    expect(counter).to_have_text("Zaznaczono: 2")

    # chosen on its own (e.g. the page untouched): it ticks the page, so what the counter says is what happens
    page.uncheck("#check-page")
    page.locator("#bulk-select-all").evaluate("el => { el.checked = true; el.dispatchEvent(new Event('change')); }")
    expect(counter).to_have_text("Zaznaczono: wszystkie pasujące do filtra (3)")
    expect(page.locator("input.row-check:checked")).to_have_count(3)
    page.select_option("#bulk-form select[name=status]", label="Wysłane")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Zmień status").click()
    expect(page.locator(".msg-success")).to_contain_text("Zmieniono status 3 zamówień")
    assert set(Order.objects.values_list("status", flat=True)) == {status("Wysłane").pk}
