"""ESC/POS packing slips (pick lists) with python-escpos: the order number as a barcode and a QR code, Polish
text in a fixed code page (CP852, ESC t 18), sent through python-escpos's Network, Serial, Usb or File printer."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

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


def escpos_device(connection: str, *, timeout: float = 10):
    """The python-escpos printer for a connection string:
    socket://host:9100 → Network; usb://04b8:0202 → Usb (vendor:product, needs pyusb); /dev/usb/lp0 or file://… →
    File; serial:/dev/ttyUSB0?baudrate=9600 or a /dev/tty… path → Serial."""
    from escpos.printer import File, Network, Serial, Usb

    from .connections import connection_problem

    if problem := connection_problem("escpos", connection):  # rows saved before the rule existed
        raise ValueError(problem)
    if connection.startswith("socket://"):
        url = urlparse(connection)
        return Network(host=url.hostname, port=url.port or 9100, timeout=timeout)
    if connection.startswith("usb://"):
        vendor, _, product = connection.removeprefix("usb://").partition(":")
        return Usb(idVendor=int(vendor, 16), idProduct=int(product, 16), timeout=int(timeout * 1000))
    if connection.startswith("serial:") or connection.startswith("/dev/tty"):
        url = urlparse(connection.removeprefix("serial:"))
        baudrate = int(dict(part.split("=") for part in url.query.split("&") if "=" in part).get("baudrate", 9600))
        return Serial(devfile=url.path, baudrate=baudrate, timeout=timeout)
    return File(devfile=connection.removeprefix("file://"))


def send_raw(connection: str, data: bytes, *, timeout: float = 10) -> None:
    """Send the slip's bytes through python-escpos's own transport for the connection."""
    device = escpos_device(connection, timeout=timeout)
    try:
        device.open(raise_not_found=True)
        device._raw(data)
    except Exception as err:  # escpos raises its own DeviceNotFoundError, OSError, USBError…
        raise OSError(f"{err.__class__.__name__}: {err}") from err
    finally:
        device.close()
