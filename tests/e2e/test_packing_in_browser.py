from decimal import Decimal

import pytest
from playwright.sync_api import expect

from automation import services
from tests.e2e.conftest import login
from tests.factories import OrderFactory, UserFactory, status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_scanner_keystrokes_pack_an_order_and_its_automatic_task_runs(page):
    UserFactory(username="magazyn", role="staff")
    services.task_save(
        data={
            "name": "Po spakowaniu: Do wysłania",
            "event": {"type": "order_packed"},
            "actions": [{"type": "change_status", "status": status("Do wysłania").pk}],
        }
    )
    order = OrderFactory(
        items=[
            {
                "name": "Kubek",
                "ean": "5901234123457",
                "quantity": Decimal(2),
                "unit_price_gross": Decimal("49.99"),
                "vat_rate": "23",
            }
        ]
    )
    login(page, "magazyn")
    page.get_by_role("link", name="Pakowanie").click()
    scanner = page.locator("#scan-input")
    expect(scanner).to_be_focused()

    def scan(code):
        page.keyboard.type(code, delay=5)  # a keyboard-wedge scanner: fast keystrokes and Enter
        page.keyboard.press("Enter")

    scan(order.number)
    expect(page.locator("#packing-title")).to_have_text(f"Zamówienie {order.number}")
    scan("5901234123457")
    expect(page.locator("#packing-items")).to_contain_text("1 / 2")
    scan("5900000000008")
    expect(page.locator("#scan-message")).to_have_class("scan-message error")
    expect(page.locator("#scan-message")).to_contain_text("nie ma w tym zamówieniu")
    scan("5901234123457")
    expect(page.locator("#scan-message")).to_contain_text("spakowane")

    order.refresh_from_db()
    assert order.status.name == "Do wysłania"
    page.goto(f"/zamowienia/{order.pk}/")
    expect(page.locator("#history")).to_contain_text("Spakowano")
    expect(page.locator("#runs")).to_contain_text("Po spakowaniu: Do wysłania")
