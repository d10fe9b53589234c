"""Which printer connections may be saved: network and serial transports, and files only when they are printer
devices. pyserial's debugging URLs (`spy://…?file=`, `loop://`, `hwgrep://`, `alt://`) and arbitrary file paths
would let a connection string write wherever the worker can, so they are refused everywhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .models import PrinterKind

# Printer devices a "File" or serial connection may open.
SERIAL_DEVICE = re.compile(r"^/dev/(?:ttyUSB\d{1,3}|ttyACM\d{1,3}|ttyS\d{1,3}|serial/by-(?:id|path)/(?!\.)[\w.:+-]+)$")
ESCPOS_FILE_DEVICE = re.compile(r"^/dev/(?:usb/lp\d{1,3}|ttyUSB\d{1,3}|ttyACM\d{1,3})$")
USB_IDS = re.compile(r"^usb://[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$")
NETWORK_SCHEMES = ("socket", "rfc2217")

NETWORK_HINT = "socket://192.168.1.50:9100"


def _network_problem(value: str) -> str | None:
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or not port or parts.path not in ("", "/"):
        return f"Podaj adres i port, np. {parts.scheme}://192.168.1.50:{9100 if parts.scheme == 'socket' else 2217}."
    if "file=" in parts.query.lower():
        return "Połączenie nie może zapisywać do pliku (opcja file=)."
    return None


def connection_problem(kind: str, connection: str) -> str | None:
    """None when `connection` is allowed for a printer of `kind`, else the Polish reason."""
    value = (connection or "").strip()
    if not value:
        return "Podaj połączenie, np. socket://192.168.1.50:6666 albo /dev/ttyUSB0."
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return "Połączenie nie może zawierać spacji ani znaków sterujących."
    if kind == PrinterKind.PRINTNODE:
        return None if value.isdigit() else "Dla PrintNode podaj numer (id) drukarki z konta PrintNode."
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme in NETWORK_SCHEMES:
        if kind == PrinterKind.ESCPOS and scheme != "socket":
            return (
                "Drukarka ESC/POS: socket://host:port, usb://vendor:product, serial:/dev/ttyUSB0 albo /dev/usb/lp0 "
                f"(np. {NETWORK_HINT})."
            )
        return _network_problem(value)
    if kind == PrinterKind.POSNET:
        if SERIAL_DEVICE.match(value):
            return None
        return (
            "Drukarka fiskalna: podaj port szeregowy (/dev/ttyUSB0, /dev/ttyACM0, /dev/ttyS0), socket://host:port "
            "albo rfc2217://host:port. Adresy spy://, loop://, hwgrep:// i inne pliki są niedozwolone."
        )
    if kind == PrinterKind.ESCPOS:
        if USB_IDS.match(value):
            return None
        if value.startswith("serial:"):
            target = urlsplit(value.removeprefix("serial:"))
            if SERIAL_DEVICE.match(target.path) and not target.netloc and "file=" not in target.query.lower():
                return None
            return "Połączenie szeregowe: serial:/dev/ttyUSB0?baudrate=19200 (tylko port szeregowy)."
        path = value.removeprefix("file://")
        if ESCPOS_FILE_DEVICE.match(path) or (not value.startswith("file://") and SERIAL_DEVICE.match(path)):
            return None
        return (
            "Drukarka ESC/POS jako plik: tylko urządzenie drukarki (/dev/usb/lp0, /dev/ttyUSB0, /dev/ttyACM0). "
            "Inne ścieżki, spy:// i loop:// są niedozwolone."
        )
    return "Wybierz rodzaj drukarki."
