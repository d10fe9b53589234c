"""ESC/POS packing slips (pick lists) with python-escpos: the order number as a barcode and a QR code, Polish
text in a fixed code page (CP852, ESC t 18), sent raw to a network (socket://host:9100), serial or file device."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlparse

import serial
from escpos.printer import Dummy

CODE_PAGE = "cp852"
SELECT_CP852 = b"\x1bt\x12"


@dataclass
class PackingSlip:
    order_number: str
    customer: str
    address: list[str] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)  # (name, quantity)
    notes: str = ""


def slip_bytes(slip: PackingSlip) -> bytes:
    printer = Dummy(magic_encode_args={"disabled": True, "encoding": CODE_PAGE.upper()})
    printer._raw(SELECT_CP852)
    printer.set(align="center", bold=True, double_height=True)
    printer.textln(f"Zamówienie {slip.order_number}")
    printer.set_with_default(align="left")
    printer.textln(slip.customer)
    for line in slip.address:
        printer.textln(line)
    printer.textln("-" * 42)
    for name, quantity in slip.items:
        printer.textln(f"{quantity:>5} x {name[:34]}")
    printer.textln("-" * 42)
    if slip.notes:
        printer.textln(f"Uwagi: {slip.notes[:200]}")
    printer.barcode("{B" + slip.order_number, "CODE128", function_type="B", pos="BELOW")
    printer.set(align="center")
    printer.qr(slip.order_number, native=True, size=6)
    printer.set_with_default(align="left")
    printer.cut()
    return printer.output


def send_raw(connection: str, data: bytes, *, timeout: float = 10) -> None:
    """socket://host:port → TCP (port 9100 printers); /dev/usb/lp0 or another path → file; else a pyserial URL."""
    if connection.startswith("socket://"):
        url = urlparse(connection)
        with socket.create_connection((url.hostname, url.port or 9100), timeout=timeout) as link:
            link.sendall(data)
        return
    if connection.startswith("/dev/usb/") or connection.startswith("file://"):
        with open(connection.removeprefix("file://"), "wb") as handle:
            handle.write(data)
        return
    with serial.serial_for_url(connection, timeout=timeout) as link:
        link.write(data)
