"""Browser tests: Debian's headless Chromium driven by Playwright (no browser download)."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in the tests themselves are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("REQUIRE_TEST_SERVICES") == "1":
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium")
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def login(page, username: str, password: str = "haslo-testowe-123"):
    page.goto("/logowanie/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def open_menu(page, label: str = "Administracja"):
    """Open a top-bar dropdown (the Administracja entries live in one) so its links can be clicked."""
    menu = page.locator("nav.mainnav details.navmenu").filter(has=page.locator("summary", has_text=label))
    if not menu.evaluate("el => el.open"):
        menu.locator("summary").click()
    return menu
