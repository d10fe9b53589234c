"""The Posnet online protocol: STX cmd TAB {param TAB}* #CRC16 ETX, CRC-16/XMODEM over the cp1250 bytes.

`PosnetDriver` speaks it over any pyserial URL: a serial device (/dev/ttyUSB0), socket://host:port or rfc2217://….
Every reply's CRC is checked.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass

import serial

logger = logging.getLogger(__name__)

STX, ETX, TAB = b"\x02", b"\x03", b"\t"
ENCODING = "cp1250"
FRAME_ERRORS = {
    1: "nieznana komenda",
    2: "brak obowiązkowego pola",
    3: "błąd konwersji pola",
    4: "błędny token",
    5: "błędna suma kontrolna (CRC)",
    6: "brak nazwy parametru",
    10: "za długie pole",
    11: "przepełnienie bufora",
    14: "kolejka wejściowa pełna",
    15: "brak sumy kontrolnej",
}
COMMAND_ERRORS = {
    41: "drukarka jest zajęta przez inny interfejs",
    383: "brak raportu dobowego",
    1953: "błędna suma płatności",
    2054: "błędna suma płatności",
    2106: "towar zablokowany (obniżka stawki VAT)",
}
PRINTER_STATES = {
    0: "",
    1: "podniesiona dźwignia lub otwarta pokrywa",
    2: "brak dostępu do mechanizmu",
    3: "podniesiona pokrywa",
    5: "brak papieru",
    6: "zbyt wysoka temperatura lub zasilanie",
    7: "spadek napięcia",
    8: "błąd obcinacza",
    9: "błąd zasilacza",
    10: "pokrywa otwarta w trakcie obcinania",
}
PAYMENT_TYPES = {"cash": 0, "card": 2, "voucher": 4, "credit": 5, "other": 6, "transfer": 8}


class PosnetError(Exception):
    """The printer refused (`code`), or the link failed (`code` None)."""

    def __init__(self, message: str, *, code: int | None = None, frame_error: bool = False):
        super().__init__(message)
        self.code = code
        self.frame_error = frame_error


def crc(body: bytes) -> str:
    return f"{binascii.crc_hqx(body, 0):04X}"


def build_frame(command: str, params: list[tuple[str, object]] | None = None) -> bytes:
    body = command + "\t" + "".join(f"{key}{value}\t" for key, value in (params or []))
    raw = body.encode(ENCODING)
    return STX + raw + b"#" + crc(raw).encode() + ETX


@dataclass
class Reply:
    command: str
    params: dict[str, str]
    error: int | None = None


def parse_frame(frame: bytes) -> Reply:
    if not frame.startswith(STX) or not frame.endswith(ETX) or b"#" not in frame:
        raise PosnetError("Niepoprawna ramka odpowiedzi drukarki.")
    body, _, checksum = frame[1:-1].rpartition(b"#")
    if crc(body).encode() != checksum.upper():
        raise PosnetError("Błędna suma kontrolna odpowiedzi drukarki.")
    fields = body.decode(ENCODING).split("\t")
    command, params, error = fields[0], {}, None
    for field in fields[1:]:
        if not field:
            continue
        if field.startswith("?"):
            error = int(field[1:])
        elif field.startswith("@"):
            continue
        else:
            params[field[:2]] = field[2:]
    return Reply(command=command, params=params, error=error)


def error_text(reply: Reply) -> str:
    if reply.command == "ERR":
        return f"błąd ramki {reply.error}: {FRAME_ERRORS.get(reply.error, 'nieznany')}"
    return f"błąd {reply.error}: {COMMAND_ERRORS.get(reply.error, 'zobacz kody błędów Posnet')}"


class PosnetDriver:
    """One connection to a Posnet printer. Use as a context manager."""

    def __init__(
        self, url: str, *, baudrate: int = 9600, xonxoff: bool = False, rtscts: bool = False, timeout: float = 5.0
    ):
        self.url, self.timeout = url, timeout
        self.options = {"baudrate": baudrate, "xonxoff": xonxoff, "rtscts": rtscts}
        self.link = None

    def __enter__(self):
        try:
            self.link = serial.serial_for_url(self.url, timeout=self.timeout, **self.options)
        except (serial.SerialException, OSError, ValueError) as err:
            raise PosnetError(f"Nie można połączyć się z drukarką ({self.url}): {err}") from err
        return self

    def __exit__(self, *exc):
        if self.link is not None:
            self.link.close()

    def call(self, command: str, params: list[tuple[str, object]] | None = None) -> Reply:
        frame = build_frame(command, params)
        try:
            self.link.write(frame)
            answer = self.link.read_until(ETX)
        except (serial.SerialException, OSError) as err:
            raise PosnetError(f"Połączenie z drukarką zerwane: {err}") from err
        if not answer.endswith(ETX):
            raise PosnetError("Drukarka nie odpowiedziała (przekroczony czas).")
        reply = parse_frame(answer)
        if reply.error:
            raise PosnetError(
                f"Drukarka odrzuciła „{command}”: {error_text(reply)}",
                code=reply.error,
                frame_error=reply.command == "ERR",
            )
        return reply

    # --- queries ---
    def printer_state(self) -> int:
        return int(self.call("!sprn").params.get("pr", "0"))

    def open_transaction(self) -> bool:
        return self.call("scomm").params.get("ts", "0") not in ("0", "")

    def vat_slots(self) -> dict[str, int]:
        """The printer's VAT table as {our rate: slot}: 'va23' → {'23': 0}; 100 = zw; 101 = inactive."""
        params = self.call("vatget").params
        slots = {}
        for slot, key in enumerate(("va", "vb", "vc", "vd", "ve", "vf", "vg")):
            value = params.get(key, "101").replace(",", ".")
            if value.startswith("101"):
                continue
            rate = "zw" if value.startswith("100") else str(int(float(value)))
            slots.setdefault(rate, slot)
        return slots

    # --- receipt ---
    def receipt(self, *, lines, nip: str, payments: list[tuple[int, int]], total: int) -> str:
        self.call("trinit", [("bm", 0)])
        for line in lines:
            self.call(
                "trline",
                [
                    ("na", line["name"][:80]),
                    ("vt", line["slot"]),
                    ("pr", line["price"]),
                    ("il", line["quantity"]),
                    ("wa", line["total"]),
                ],
            )
        if nip:
            self.call("trnipset", [("ni", nip)])
        for kind, amount in payments:
            self.call("trpayment", [("ty", kind), ("wa", amount)])
        reply = self.call("trend", [("to", total), ("fp", sum(a for _, a in payments))])
        return reply.params.get("nr", "")

    def cancel(self) -> None:
        self.call("prncancel")
