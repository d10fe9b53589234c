import pytest

from devices import services
from devices.fake_posnet import FakePosnet
from devices.models import Printer
from devices.posnet import PosnetDriver, PosnetError, build_frame, crc, parse_frame

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("123456789", "31C3"),
        ("trinit\tbm0\t", "4825"),
        ("rtcget\t", "7D61"),
        ("ERR\t?5\t", "7F84"),
        ("rtcset\tda2016-09-23;12:30\t", "4A7D"),
        ("trline\tnaChleb\tvt1\tpr200\t", "B23A"),
    ],
)
def test_crc_vectors_from_the_specification(body, expected):
    assert crc(body.encode("cp1250")) == expected


def test_two_rate_receipt_with_nip_and_card_payment_produces_exactly_the_expected_frames():
    frames = [
        build_frame("trinit", [("bm", 0)]),
        build_frame("trline", [("na", "Kubek"), ("vt", 0), ("pr", 4999), ("il", 1), ("wa", 4999)]),
        build_frame("trline", [("na", "Książka"), ("vt", 2), ("pr", 3500), ("il", 2), ("wa", 7000)]),
        build_frame("trnipset", [("ni", "5252344078")]),
        build_frame("trpayment", [("ty", 2), ("wa", 11999)]),
        build_frame("trend", [("to", 11999), ("fp", 11999)]),
    ]
    assert frames == [
        b"\x02trinit\tbm0\t#4825\x03",
        b"\x02trline\tnaKubek\tvt0\tpr4999\til1\twa4999\t#FD15\x03",
        "\x02trline\tnaKsiążka\tvt2\tpr3500\til2\twa7000\t#6F87\x03".encode("cp1250"),
        b"\x02trnipset\tni5252344078\t#CE2A\x03",
        b"\x02trpayment\tty2\twa11999\t#1085\x03",
        b"\x02trend\tto11999\tfp11999\t#0C4A\x03",
    ]
    assert build_frame("prncancel") == b"\x02prncancel\t#6B3B\x03"


def test_replies_with_a_bad_crc_are_refused():
    with pytest.raises(PosnetError):
        parse_frame(b"\x02trinit\t#0000\x03")
    assert parse_frame(b"\x02ERR\t?5\t#7F84\x03").error == 5


@pytest.fixture
def fake():
    printer = FakePosnet()
    yield printer
    printer.stop()


@pytest.fixture
def printer(fake):
    return services.printer_save(
        data={
            "kind": "posnet",
            "name": "Kasa 1",
            "connection": fake.url,
            "settings": {"baudrate": 115200, "timeout": 2},
        }
    )


def receipt_job(printer, key="receipt-1", nip="5252344078"):
    payload = services.receipt_payload(
        services.ReceiptPayload(
            lines=[services.ReceiptLine("Kubek", "1", 4999, "23"), services.ReceiptLine("Książka", "2", 3500, "5")],
            total=11999,
            nip=nip,
            payments=[("card", 11999)],
        )
    )
    job, _ = services.print_job_enqueue(printer=printer, kind="receipt", key=key, payload=payload)
    return job


def test_test_connection_reads_status_and_the_vat_table(printer):
    printer = services.printer_test(printer=printer)
    assert printer.last_status == "OK"
    assert printer.vat_slots == {"23": 0, "8": 1, "5": 2, "0": 3, "zw": 6}


def test_receipt_is_printed_with_rates_mapped_to_slots_and_recorded(printer, fake):
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == "done" and job.result["receipt_number"] == "1"
    assert fake.journal == [
        {
            "lines": [
                {"name": "Kubek", "slot": 0, "price": 4999, "quantity": 1},
                {"name": "Książka", "slot": 2, "price": 3500, "quantity": 2},
            ],
            "nip": "5252344078",
            "payments": [(2, 11999)],
            "total": 11999,
            "number": 1,
        }
    ]
    # running the same job again prints nothing
    services.print_job_run(job_id=job.pk)
    assert len(fake.journal) == 1
    again, created = services.print_job_enqueue(printer=printer, kind="receipt", key="receipt-1", payload={})
    assert not created and again.pk == job.pk


def test_rate_the_printer_does_not_have_refuses_the_receipt(printer, fake):
    payload = services.receipt_payload(
        services.ReceiptPayload(lines=[services.ReceiptLine("Gazeta", "1", 540, "np")], total=540)
    )
    job, _ = services.print_job_enqueue(printer=printer, kind="receipt", key="np-1", payload=payload)
    job = services.print_job_run(job_id=job.pk)
    assert job.state == "failed" and "nie ma stawki VAT „np”" in job.error and fake.journal == []


def test_paper_out_makes_the_job_wait_and_say_why(printer, fake):
    fake.state = 5
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == "queued" and "brak papieru" in job.error
    fake.state = 0
    assert services.print_job_run(job_id=job.pk).state == "done"


def test_crash_drill_dropped_connection_mid_receipt_ends_in_needs_attention_and_one_receipt(printer, fake):
    fake.drop_after_lines = 1
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == "attention"
    assert "anulowana" in job.error and fake.open is None  # the half receipt was cancelled
    fake.drop_after_lines = None
    services.print_job_run(job_id=job.pk)  # a retried task does not print it again
    assert fake.journal == []


def test_worker_crash_while_printing_is_recovered_without_printing_twice(printer, fake):
    job = receipt_job(printer)
    services.print_job_run(job_id=job.pk)
    assert len(fake.journal) == 1
    # a second receipt whose worker died after marking it printing (and after trinit)
    other = receipt_job(printer, key="receipt-2")
    with PosnetDriver(fake.url) as driver:
        driver.call("trinit", [("bm", 0)])
    type(other).objects.filter(pk=other.pk).update(state="printing")
    recovered = services.print_job_run(job_id=other.pk)
    assert recovered.state == "attention" and fake.open is None
    assert len(fake.journal) == 1


def test_unreachable_printer_is_reported(db):
    printer = Printer.objects.create(kind="posnet", name="Zła", connection="socket://127.0.0.1:1")
    assert "Nie można połączyć" in services.printer_test(printer=printer).last_status


def test_issuing_a_receipt_in_a_series_bound_to_a_printer_prints_it_once(
    printer, fake, staff_client, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from django.urls import reverse

    from accounting import services as accounting
    from tests.factories import OrderFactory, SeriesFactory

    series = accounting.series_save(
        data={"printer": printer}, series=SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")
    )
    order = OrderFactory(
        invoice_company_name="Żółw Sp. z o.o.",
        invoice_nip="5252344078",
        payment_method="card",
        items=[{"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("49.99"), "vat_rate": "23"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        document = accounting.document_issue(order=order, series=series)
    assert fake.journal[0]["nip"] == "5252344078" and fake.journal[0]["total"] == 9998
    assert fake.journal[0]["payments"] == [(2, 9998)]
    page = staff_client.get(reverse("accounting:document_detail", args=[document.pk])).content.decode()
    assert "Paragon fiskalny — Kasa 1" in page and "numer paragonu 1" in page


def test_a_printer_can_be_bound_only_to_a_receipt_series(printer):
    from accounting import services as accounting
    from apilo.errors import ApplicationError
    from tests.factories import SeriesFactory

    with pytest.raises(ApplicationError) as err:
        accounting.series_save(data={"printer": printer}, series=SeriesFactory())
    assert err.value.field == "printer"


def test_devices_page_adds_tests_a_printer_and_lists_jobs(admin_client, fake):
    from django.urls import reverse

    response = admin_client.post(
        reverse("devices:create"),
        {
            "kind": "posnet",
            "name": "Kasa 2",
            "connection": fake.url,
            "baudrate": "115200",
            "flow": "xonxoff",
            "active": "on",
        },
        follow=True,
    )
    assert "Zapisano drukarkę „Kasa 2”" in response.content.decode()
    printer = Printer.objects.get(name="Kasa 2")
    assert printer.settings == {"baudrate": 115200, "xonxoff": True, "rtscts": False}
    tested = admin_client.post(reverse("devices:test", args=[printer.pk]), follow=True).content.decode()
    assert "odpowiada" in tested and "23 → slot 0" in tested
    services.print_job_run(job_id=receipt_job(printer).pk)
    page = admin_client.get(reverse("devices:list")).content.decode()
    assert "paragon nr 1" in page and "receipt-1" in page


def test_devices_are_for_admins(staff_client):
    from django.urls import reverse

    assert staff_client.get(reverse("devices:list")).status_code == 403


def test_printers_api(admin_api, staff_api, fake):
    created = admin_api.post(
        "/api/printers/",
        {"kind": "posnet", "name": "Kasa 1", "connection": fake.url, "settings": {"baudrate": 115200}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    printer_id = created.json()["id"]
    assert (
        admin_api.patch(f"/api/printers/{printer_id}/", {"name": "Kasa główna"}, format="json").json()["name"]
        == "Kasa główna"
    )
    tested = admin_api.post(f"/api/printers/{printer_id}/test/").json()
    assert tested["last_status"] == "OK" and tested["vat_slots"]["23"] == 0
    bad = admin_api.post("/api/printers/", {"kind": "posnet", "name": "", "connection": "x"}, format="json")
    assert bad.status_code == 400
    assert admin_api.get("/api/print-jobs/").status_code == 200
    assert staff_api.get("/api/printers/").status_code == 403


def test_packed_order_prints_its_receipt_and_label_through_automatic_tasks(
    printer, fake, django_capture_on_commit_callbacks
):
    import socket
    import threading

    from accounting import services as accounting
    from automation import services as automation
    from orders import services as orders
    from tests.factories import OrderFactory, SeriesFactory

    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def accept():
        connection, _ = server.accept()
        with connection:
            received.append(b"".join(iter(lambda: connection.recv(65536), b"")))

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    label_printer = services.printer_save(
        data={"kind": "escpos", "name": "Etykiety", "connection": f"socket://127.0.0.1:{server.getsockname()[1]}"}
    )
    receipts = accounting.series_save(
        data={"printer": printer}, series=SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")
    )
    automation.task_save(
        data={
            "name": "Po spakowaniu: paragon i etykieta",
            "event": {"type": "order_packed"},
            "actions": [
                {"type": "print_receipt", "series": receipts.pk},
                {"type": "print_label", "printer": label_printer.pk},
            ],
        }
    )
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_packed(order=order)
    listener.join(timeout=5)
    server.close()
    assert len(fake.journal) == 1 and fake.journal[0]["total"] == 11497
    from devices.models import PrintJob

    assert received and order.number.encode() in received[0], list(PrintJob.objects.values("kind", "state", "error"))
    # the same event again prints nothing more
    from orders.models import OrderEvent

    automation.event_process(event_id=OrderEvent.objects.get(order=order, kind="packed").pk)
    assert len(fake.journal) == 1


def test_crash_drill_lost_reply_after_the_receipt_ends_with_one_receipt_and_the_job_needing_attention(printer, fake):
    fake.drop_after_end = True
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == "attention" and "Sprawdź wydruk" in job.error
    fake.drop_after_end = False
    for _ in range(3):  # retried tasks, a restarted worker: nothing is printed again
        services.print_job_run(job_id=job.pk)
    assert len(fake.journal) == 1


def test_open_cover_makes_the_job_wait(printer, fake):
    fake.state = 1
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == "queued" and "pokrywa" in job.error and fake.journal == []


def test_receipt_series_takes_a_printer_through_the_api(admin_api, printer):
    from tests.factories import SeriesFactory

    series = SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")
    response = admin_api.patch(f"/api/series/{series.pk}/", {"printer": printer.pk}, format="json")
    assert response.status_code == 200 and response.json()["printer"] == printer.pk
