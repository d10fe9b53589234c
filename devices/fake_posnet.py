"""A fake Posnet printer on a TCP socket (reach it with socket://127.0.0.1:<port>) for development and tests.

Parses every frame and checks its CRC (bad CRC → ERR ?5), answers OK or the documented error codes, keeps a
journal of fiscalised receipts, and can simulate paper out, an open cover and a dropped connection mid-receipt.
"""

from __future__ import annotations

import socket
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

from .posnet import ETX, STX, build_frame, crc

# What each receipt command accepts, with the protocol's maximum text lengths (None: a number).
PARAMS = {
    "trinit": {"bm": None},
    "trline": {"na": 80, "vt": None, "pr": None, "il": None, "wa": None, "op": 50, "jm": 4},
    "trnipset": {"ni": 30, "dw": None, "ds": 40},
    "trpayment": {"ty": None, "wa": None, "na": 25, "re": None},
    "trend": {"to": None, "fp": None, "re": None},
}
VAT_TABLE = [("va", "23"), ("vb", "8"), ("vc", "5"), ("vd", "0"), ("ve", "101"), ("vf", "101"), ("vg", "100")]


class FakePosnet:
    def __init__(self):
        self.journal: list[dict] = []
        self.frames: list[bytes] = []
        self.state = 0  # !sprn pr: 0 ok, 1 cover open, 5 paper out
        self.drop_after_lines: int | None = None  # close the connection after this many trline in a receipt
        self.drop_after_end = False  # fiscalise at trend, then close the connection without answering
        self.refuse_trinit: int | None = None  # answer trinit with this command error (e.g. 383: no daily report)
        self.delay = 0.0  # seconds the printer takes to answer each frame (a slow mechanism)
        self.interleaved = 0  # frames of a second connection received while a receipt of another was open
        self.owner = None  # the connection that opened the current receipt
        self.open: dict | None = None
        self.number = 0
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.server.getsockname()[1]}"

    def stop(self):
        self.running = False
        self.server.close()

    def _accept(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket):
        buffer = b""
        with connection:
            while True:
                try:
                    data = connection.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while ETX in buffer:
                    frame, buffer = buffer.split(ETX, 1)
                    frame += ETX
                    start = frame.find(STX)
                    if self.delay:
                        time.sleep(self.delay)
                    with self.lock:
                        self.frames.append(frame[start:])
                        if self.open is not None and self.owner is not connection:
                            self.interleaved += 1
                        answer = self._answer(frame[start:])
                        if frame[start:].startswith(b"\x02trinit"):
                            self.owner = connection
                    if answer is None:
                        connection.close()
                        return
                    connection.sendall(answer)

    def _answer(self, frame: bytes) -> bytes | None:
        body, _, checksum = frame[1:-1].rpartition(b"#")
        if crc(body).encode() != checksum.upper():
            return build_frame("ERR", [("?", 5)])
        if any(byte < 0x20 and byte != 0x09 for byte in body):
            return build_frame("ERR", [("?", 3)])  # a control character inside a field
        fields = body.decode("cp1250").split("\t")
        command, params = fields[0], {f[:2]: f[2:] for f in fields[1:] if f}
        ok = build_frame(command)
        if command in PARAMS:
            known = PARAMS[command]
            names = [f[:2] for f in fields[1:] if f]
            if len(names) != len(set(names)) or any(name not in known for name in names):
                return build_frame("ERR", [("?", 6)])  # an injected or unknown parameter
            if any(known[name] and len(params[name]) > known[name] for name in names):
                return build_frame("ERR", [("?", 10)])  # a field longer than the protocol allows

        def err(code):
            raw = f"{command}\t?{code}\t".encode("cp1250")
            return STX + raw + b"#" + crc(raw).encode() + ETX

        if command == "!sprn":
            return build_frame(command, [("pr", self.state)])
        if command == "scomm":
            return build_frame(command, [("fs", 1), ("ts", 16 if self.open else 0)])
        if command == "vatget":
            return build_frame(command, VAT_TABLE)
        if command in ("prncancel", "trcancel"):
            self.open = None
            return ok
        if command == "trinit":
            if self.refuse_trinit:
                return err(self.refuse_trinit)
            if self.state:
                return err(1000 + self.state)
            if self.open:
                return err(41)
            self.open = {"lines": [], "nip": "", "payments": []}
            return ok
        if self.open is None and command.startswith("tr"):
            return err(2)
        if command == "trline":
            if "na" not in params or "vt" not in params or "pr" not in params:
                return err(2)
            quantity = Decimal(params.get("il", "1").replace(",", "."))
            if "wa" in params and int(params["wa"]) != int(
                (int(params["pr"]) * quantity).quantize(Decimal(1), ROUND_HALF_UP)
            ):
                return err(3)
            self.open["lines"].append(
                {"name": params["na"], "slot": int(params["vt"]), "price": int(params["pr"]), "quantity": quantity}
            )
            if self.drop_after_lines is not None and len(self.open["lines"]) >= self.drop_after_lines:
                return None  # the connection dies mid-receipt
            return ok
        if command == "trnipset":
            self.open["nip"] = params.get("ni", "")
            return ok
        if command == "trpayment":
            self.open["payments"].append((int(params["ty"]), int(params["wa"])))
            return ok
        if command == "trend":
            total = sum(
                int((line["price"] * line["quantity"]).quantize(Decimal(1), ROUND_HALF_UP))
                for line in self.open["lines"]
            )
            if int(params.get("to", -1)) != total or int(params.get("fp", total)) < total:
                return err(1953)
            self.number += 1
            self.journal.append({**self.open, "total": total, "number": self.number})
            self.open = None
            if self.drop_after_end:
                return None  # the receipt is printed, the reply is lost
            return build_frame(command, [("nr", self.number)])
        return err(1)
