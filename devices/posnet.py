"""The Posnet online protocol: STX cmd TAB {param TAB}* #CRC16 ETX, CRC-16/XMODEM over the cp1250 bytes.

`PosnetDriver` speaks it over any pyserial URL: a serial device (/dev/ttyUSB0), socket://host:port or rfc2217://….
Every reply's CRC is checked.

Every text that goes into a frame is cleaned first (`clean_text`): control characters (TAB, CR/LF, STX/ETX, …), `#`
and `@` would break the framing, so they become spaces; characters the printer's cp1250 code page lacks are
transliterated (`ż`, `é`, `ß` stay; `è`→`e`, `Київ`→`Kiiv` with anyascii; an emoji is dropped); the
length is capped per the protocol. `build_frame` refuses anything that would still break a frame, and a receipt is
built completely (`FiscalReceipt.frames()`) and checked before `trinit` is sent, so a receipt never opens and then
fails on our side.
"""

from __future__ import annotations

import binascii
import logging
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import serial
from anyascii import anyascii

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


# Field lengths from the specification (POT-I-DEV-37): trline na ≤ 80, op ≤ 50, jm ≤ 4; trnipset ni ≤ 30;
# trpayment na ≤ 25. Amounts are integers in grosze, at most 9999999999; at most 500 lines per receipt.
NAME_LENGTH, NIP_LENGTH, MAX_AMOUNT, MAX_LINES = 80, 30, 9_999_999_999, 500
_SPACES = re.compile(r"\s+")


def _encodable(char: str) -> bool:
    try:
        char.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _transliterate(char: str) -> str:
    """A character of the cp1250 code page stays; any other becomes its NFKD base letters when those are in
    cp1250 (`è`→`e`, `ﬁ`→`fi`), else its anyascii romanisation (`Київ`→`Kiiv`, `ø`→`o`); symbols such as emoji
    are dropped."""
    if _encodable(char):
        return char
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(_encodable(c) for c in base):
        return base
    if unicodedata.category(char)[0] in "SMC":  # emoji, skin tones, variation selectors, joiners, …
        return ""
    return anyascii(char)


def clean_text(value, limit: int) -> str:
    """A text safe inside a Posnet field: only characters of the cp1250 code page (others transliterated or
    dropped), no control characters, TAB, CR/LF, `#` or `@` (each becomes a space), whitespace collapsed, at most
    `limit` characters (cp1250 is one byte per character)."""
    text = "".join(_transliterate(char) for char in unicodedata.normalize("NFC", str(value or "")))
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char in "#@" or char.isspace() or category == "Cc":
            out.append(" ")
        elif category != "Cf":  # soft hyphen, zero-width characters: nothing to print
            out.append(char)
    return _SPACES.sub(" ", "".join(out)).strip()[:limit].rstrip()


class PosnetError(Exception):
    """The printer refused (`code`), or the link failed (`code` None)."""

    def __init__(self, message: str, *, code: int | None = None, frame_error: bool = False, command: str = ""):
        super().__init__(message)
        self.code = code
        self.frame_error = frame_error
        self.command = command


def crc(body: bytes) -> str:
    return f"{binascii.crc_hqx(body, 0):04X}"


class FrameError(ValueError):
    """A value that cannot go into a frame as it is (a control character, `#`, `@`, outside cp1250)."""


def build_frame(command: str, params: list[tuple[str, object]] | None = None) -> bytes:
    """One frame. Raises `FrameError` for a value that would break it: callers clean texts with `clean_text`."""
    parts = [command]
    for key, value in params or []:
        text = str(value)
        if any(ord(c) < 0x20 or c in "#@\x7f" for c in text):
            raise FrameError(f"Pole „{key}” polecenia {command} zawiera znak niedozwolony w ramce: {text!r}.")
        parts.append(f"{key}{text}")
    try:
        raw = ("\t".join(parts) + "\t").encode(ENCODING)
    except UnicodeEncodeError as err:
        bad = err.object[err.start]
        raise FrameError(f"Polecenie {command} zawiera znak spoza strony kodowej {ENCODING}: {bad!r}.") from None
    return STX + raw + b"#" + crc(raw).encode() + ETX


class ReceiptError(ValueError):
    """The receipt cannot be printed as given; nothing was sent to the printer."""


@dataclass
class FiscalReceipt:
    """A whole receipt, built and checked before anything is sent: lines (name, VAT slot, unit price in grosze,
    quantity), the buyer's NIP, payments (type, grosze), the total in grosze."""

    lines: list[dict]
    total: int
    nip: str = ""
    payments: list[tuple[int, int]] = dataclass_field(default_factory=list)

    def frames(self) -> list[tuple[str, bytes]]:
        """Every frame of the receipt, `trinit` first. Raises `ReceiptError` (in Polish, naming the line) before
        anything is sent when the receipt could not be completed."""
        if not self.lines:
            raise ReceiptError("Paragon nie ma pozycji.")
        if len(self.lines) > MAX_LINES:
            raise ReceiptError(f"Paragon ma {len(self.lines)} pozycji; drukarka przyjmuje najwyżej {MAX_LINES}.")
        frames = [("trinit", build_frame("trinit", [("bm", 0)]))]
        lines_total = 0
        for number, line in enumerate(self.lines, start=1):
            name = clean_text(line.get("name"), NAME_LENGTH)
            if not name:
                raise ReceiptError(f"Pozycja {number}: nazwa jest pusta po usunięciu niedozwolonych znaków.")
            try:
                quantity = Decimal(str(line["quantity"]))
            except (InvalidOperation, KeyError):
                raise ReceiptError(f"Pozycja {number} („{name}”): niepoprawna ilość.") from None
            price = line.get("price")
            if not quantity.is_finite() or quantity <= 0:
                raise ReceiptError(f"Pozycja {number} („{name}”): ilość musi być większa od zera.")
            if not isinstance(price, int) or isinstance(price, bool) or not 0 <= price <= MAX_AMOUNT:
                raise ReceiptError(f"Pozycja {number} („{name}”): niepoprawna cena.")
            value = int((price * quantity).quantize(Decimal(1), ROUND_HALF_UP))
            if value > MAX_AMOUNT:
                raise ReceiptError(f"Pozycja {number} („{name}”): wartość przekracza zakres drukarki.")
            lines_total += value
            frames.append(
                (
                    "trline",
                    build_frame(
                        "trline",
                        [
                            ("na", name),
                            ("vt", int(line["slot"])),
                            ("pr", price),
                            ("il", f"{quantity.normalize():f}"),
                            ("wa", value),
                        ],
                    ),
                )
            )
        if lines_total != self.total:
            raise ReceiptError(
                f"Suma pozycji ({lines_total / 100:.2f} zł) różni się od kwoty paragonu ({self.total / 100:.2f} zł)."
            )
        nip = clean_text(self.nip, NIP_LENGTH)
        if nip:
            frames.append(("trnipset", build_frame("trnipset", [("ni", nip)])))
        payments = self.payments or [(0, self.total)]
        paid = 0
        for kind, amount in payments:
            if not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
                raise ReceiptError("Niepoprawna kwota płatności.")
            paid += amount
            frames.append(("trpayment", build_frame("trpayment", [("ty", int(kind)), ("wa", amount)])))
        if paid < self.total:
            raise ReceiptError(f"Płatności ({paid / 100:.2f} zł) nie pokrywają kwoty paragonu.")
        frames.append(("trend", build_frame("trend", [("to", self.total), ("fp", paid)])))
        return frames


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
        return self.send(command, build_frame(command, params))

    def send(self, command: str, frame: bytes) -> Reply:
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
                command=command,
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
    def receipt(self, receipt: FiscalReceipt, *, heartbeat=None) -> str:
        """Print a receipt. Every frame is built and checked before `trinit` goes out (a `ReceiptError` then means
        nothing was sent); `heartbeat()` is called after each reply (the caller renews its printer lease)."""
        frames = receipt.frames()
        reply = None
        for command, frame in frames:
            reply = self.send(command, frame)
            if heartbeat is not None:
                heartbeat()
        return reply.params.get("nr", "")

    def cancel(self) -> None:
        self.call("prncancel")
