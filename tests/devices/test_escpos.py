import socket
import threading

import pytest

from devices import services
from devices.escpos_print import PackingSlip, slip_bytes

pytestmark = pytest.mark.django_db

SLIP = PackingSlip(
    order_number="AL2611000017",
    customer="Łukasz Żółtowski",
    address=["ul. Świętokrzyska 12/4", "00-916 Warszawa"],
    items=[("Kubek ceramiczny „Zakopane”", "2"), ("Herbata liściasta", "1")],
)


def test_slip_bytes_have_cp852_polish_text_barcode_qr_and_cut():
    data = slip_bytes(SLIP)
    assert data.startswith(b"\x1bt\x12")  # code page pinned to CP852
    assert "Łukasz Żółtowski".encode("cp852") in data
    assert b"\x1dkI\x0e{BAL2611000017" in data  # CODE128 of the order number
    assert b"\x1d(k\x0f\x001P0AL2611000017" in data  # native QR with the order number
    assert data.endswith(b"\x1dV\x00") or b"\x1dV" in data[-6:]  # cut


def test_slip_job_is_sent_to_a_network_printer_once():
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def accept():
        connection, _ = server.accept()
        with connection:
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
            received.append(b"".join(chunks))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    printer = services.printer_save(
        data={"kind": "escpos", "name": "Pakowanie", "connection": f"socket://127.0.0.1:{server.getsockname()[1]}"}
    )
    job, created = services.slip_enqueue(printer=printer, key="slip-AL2611000017", slip=SLIP)
    job = services.print_job_run(job_id=job.pk)
    thread.join(timeout=5)
    server.close()
    assert created and job.state == "done"
    assert received == [slip_bytes(SLIP)]
    assert services.print_job_run(job_id=job.pk).state == "done"  # not sent again
    assert not services.slip_enqueue(printer=printer, key="slip-AL2611000017", slip=SLIP)[1]


def test_unreachable_escpos_printer_fails_the_job_with_the_reason():
    printer = services.printer_save(data={"kind": "escpos", "name": "Zła", "connection": "socket://127.0.0.1:1"})
    job, _ = services.slip_enqueue(printer=printer, key="slip-x", slip=SLIP)
    job = services.print_job_run(job_id=job.pk)
    assert job.state == "failed" and "ESC/POS" in job.error


def test_connection_strings_select_python_escpos_printer_classes(tmp_path, monkeypatch):
    import re

    from escpos.printer import File, Network, Serial, Usb

    from devices import connections
    from devices.escpos_print import escpos_device, send_raw

    assert isinstance(escpos_device("socket://10.0.0.5:9100"), Network)
    assert isinstance(escpos_device("usb://04b8:0202"), Usb)
    assert isinstance(escpos_device("serial:/dev/ttyUSB0?baudrate=19200"), Serial)
    assert isinstance(escpos_device("/dev/usb/lp0"), File)
    target = tmp_path / "lp0"
    with pytest.raises(ValueError, match="tylko urządzenie drukarki"):  # only printer devices (issue 12)
        send_raw(f"file://{target}", slip_bytes(SLIP))
    assert not target.exists()
    monkeypatch.setattr(connections, "ESCPOS_FILE_DEVICE", re.compile(re.escape(str(target))))  # stands for lp0
    send_raw(f"file://{target}", slip_bytes(SLIP))
    assert target.read_bytes() == slip_bytes(SLIP)
