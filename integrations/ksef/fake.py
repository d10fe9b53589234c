"""A stateful fake of the KSeF 2.0 API subset we use, speaking the real wire format so that `ksef-client` works
against it unchanged (base URL `http://127.0.0.1:PORT`, the client appends `/v2`).

What it does like the Ministry's service:
- its own RSA-2048 key pairs and self-signed certificates, served by `GET /security/public-key-certificates`
  (Base64 DER, `certificateId` = b64(sha256(DER)), `publicKeyId` = b64(sha256(SPKI)));
- token authentication: challenge (10 min) → `POST /auth/ksef-token` with the token encrypted by RSA-OAEP-SHA256
  (`token|timestampMs`, split on the last `|`) → 202 with an authentication token → `GET /auth/{ref}` (100, then
  200 or 450) → `POST /auth/token/redeem` (once; then 21301) → access + refresh tokens; `POST /auth/token/refresh`;
- online sessions: the AES-256 key decrypted with the second key pair, invoices decrypted with the session IV,
  declared sizes and hashes checked (21402/21403), the plain XML checked (UTF-8 without BOM, FA(3) schema, P_1 not
  after the acceptance day) → status 450 with the validator's text; duplicates (seller NIP + RodzajFaktury + P_2)
  → 440 with `originalKsefNumber`; KSeF numbers and reference numbers with their CRC-8 check digits;
- status progression: 100 → 150 → final after `processing_polls` polls *and* `processing_seconds`; sessions
  170 after close, then 200 with collective UPO pages (445 if nothing succeeded, 440 if nothing was sent);
- UPO v4-3 XML per invoice and per session page, with the `x-ms-meta-hash` header;
- error bodies as KSeF sends them: `{"exception":{"exceptionDetailList":[…]}}` for 400, problem+json for 401.

Injectable faults (`faults`: probability per kind, or `fail_next(kind, path_contains)` for exactly one request):
"429" (with `Retry-After: retry_after`), "500", "503" (with Retry-After), "timeout" (processed, the answer comes
after `slow_seconds`), "drop" (connection closed before anything happens), "lost_answer" (a POST is processed, the
connection is closed without an answer), "expire_token" (the access token used expires now → 401),
"expire_session" (the session used expires now → 21180). `available = False` answers 503 to everything.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from lxml import etree

WARSAW = ZoneInfo("Europe/Warsaw")
FA_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
UPO_NS = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"
SCHEMA_FILES = (
    "schemat_FA(3)_v1-0E.xsd",
    "StrukturyDanych_v10-0E.xsd",
    "ElementarneTypyDanych_v10-0E.xsd",
    "KodyKrajow_v10-0E.xsd",
)
MAX_INVOICE_BYTES = 1_000_000
SESSION_INVOICE_LIMIT = 10_000
POST_FAULTS = {"lost_answer"}


# --- numbers ------------------------------------------------------------------------------------------------------


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, init 0, no reflection, no final XOR (the KSeF number's check digits)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def with_check_digits(body: str) -> str:
    return f"{body}-{crc8(body.encode('ascii')):02X}"


def ksef_number(nip: str, day: dt.date, rng: random.Random) -> str:
    return with_check_digits(f"{nip}-{day:%Y%m%d}-{rng.getrandbits(48):012X}")


def reference_number(kind: str, day: dt.date, rng: random.Random) -> str:
    return with_check_digits(f"{day:%Y%m%d}-{kind}-{rng.getrandbits(40):010X}-{rng.getrandbits(40):010X}")


def demo_token(nip: str) -> str:
    """A KSeF-token-shaped secret derived from the NIP: `make run`'s fake and demo data agree on it."""
    digest = hashlib.sha256(f"fake-ksef-token:{nip}".encode()).hexdigest()
    ref = with_check_digits(f"20260101-EC-{digest[:10].upper()}-{digest[10:20].upper()}")
    return f"{ref}|nip-{nip}|{digest}"


# --- crypto and schema --------------------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sha_b64(data: bytes) -> str:
    return _b64(hashlib.sha256(data).digest())


@dataclass
class _KeyPair:
    usage: str
    key: rsa.RSAPrivateKey
    der: bytes
    valid_from: dt.datetime
    valid_to: dt.datetime

    @property
    def public_key_id(self) -> str:
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _sha_b64(spki)

    def as_json(self) -> dict:
        return {
            "certificate": _b64(self.der),
            "certificateId": _sha_b64(self.der),
            "publicKeyId": self.public_key_id,
            "validFrom": _iso(self.valid_from),
            "validTo": _iso(self.valid_to),
            "usage": [self.usage],
        }

    def decrypt(self, data: bytes) -> bytes:
        return self.key.decrypt(
            data,
            asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )


def _key_pair(usage: str) -> _KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    valid_from, valid_to = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atrapa KSeF (Ministerstwo Finansów – test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"fake-ksef {usage}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .sign(key, hashes.SHA256())
    )
    return _KeyPair(usage, key, cert.public_bytes(serialization.Encoding.DER), valid_from, valid_to)


class _SchemaResolver(etree.Resolver):
    def __init__(self, directory: Path):
        super().__init__()
        self.directory = directory

    def resolve(self, url, public_id, context):
        name = Path(url).name
        if name not in SCHEMA_FILES:
            raise ValueError(f"unexpected schema reference {url!r}")
        return self.resolve_filename(str(self.directory / name), context)


@functools.lru_cache(maxsize=1)
def fa3_schema() -> etree.XMLSchema:
    """The FA(3) schema carried by ksef-client, compiled once, never touching the network."""
    import ksef_client.documents.fa3 as fa3

    directory = Path(fa3.__file__).parent / "schemas"
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_SchemaResolver(directory))
    return etree.XMLSchema(etree.parse(str(directory / SCHEMA_FILES[0]), parser))


def aes_decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


# --- state ---------------------------------------------------------------------------------------------------------


@dataclass
class AuthOperation:
    reference: str
    auth_token: str
    nip: str
    token_reference: str
    ok: bool
    error: str = ""
    polls_left: int = 1
    redeemed: bool = False
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class Session:
    reference: str
    nip: str
    token_reference: str
    key: bytes | None
    iv: bytes
    valid_until: dt.datetime
    created: dt.datetime
    status: int = 100
    close_polls_left: int = 1
    invoices: list[str] = field(default_factory=list)
    updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class Invoice:
    reference: str
    session: str
    ordinal: int
    invoice_hash: str
    received: dt.datetime
    final_code: int
    final_description: str
    details: list[str] = field(default_factory=list)
    extensions: dict | None = None
    xml: bytes = b""
    nip: str = ""
    kind: str = ""
    number: str = ""
    issue_date: str = ""
    ksef_number: str = ""
    offline: bool = False
    polls: int = 0
    acquired: dt.datetime | None = None


class FakeKsef:
    def __init__(
        self,
        *,
        seed: int = 1,
        processing_polls: int = 1,
        processing_seconds: float = 0.0,
        auth_polls: int = 1,
        access_ttl: float = 900.0,
        session_ttl: float = 12 * 3600.0,
    ):
        self.random = random.Random(seed)
        self.lock = threading.RLock()
        self.processing_polls = processing_polls
        self.processing_seconds = processing_seconds
        self.auth_polls = auth_polls
        self.access_ttl = access_ttl
        self.session_ttl = session_ttl
        self.faults: dict[str, float] = {}
        self.retry_after = 1
        self.slow_seconds = 3.0
        self.available = True
        self._next_faults: list[tuple[str, str]] = []
        self.keys = [_key_pair("KsefTokenEncryption"), _key_pair("SymmetricKeyEncryption")]
        self.tokens: dict[str, str] = {}  # KSeF token → NIP
        self.accept_demo_tokens = True  # `demo_token(nip)` works for any NIP (like TEST's generated tokens)
        self.challenges: dict[str, tuple[int, dt.datetime]] = {}
        self.auth_operations: dict[str, AuthOperation] = {}
        self.access_tokens: dict[str, tuple[str, str, float]] = {}  # token → (nip, token reference, expiry)
        self.refresh_tokens: dict[str, tuple[str, str, float]] = {}
        self.sessions: dict[str, Session] = {}
        self.invoices: dict[str, Invoice] = {}
        self.by_ksef_number: dict[str, Invoice] = {}
        self.duplicates: dict[tuple[str, str, str], Invoice] = {}
        self.requests: list[tuple[str, str]] = []
        self.faults_served: dict[str, int] = {}
        self.server: ThreadingHTTPServer | None = None

    # --- running -------------------------------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        class Handler(_Handler):
            pass

        Handler.fake = self
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # --- set-up and inspection -----------------------------------------------------------------------------------
    def token_for(self, nip: str) -> str:
        """Registers (idempotently) and returns the KSeF token of a NIP."""
        token = demo_token(nip)
        with self.lock:
            self.tokens[token] = nip
        return token

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def rotate_keys(self) -> None:
        """New encryption certificates; requests naming the old `publicKeyId` get 21470."""
        with self.lock:
            self.keys = [_key_pair("KsefTokenEncryption"), _key_pair("SymmetricKeyEncryption")]

    def fail_next(self, kind: str, path_contains: str = "") -> None:
        """Exactly one fault of `kind` on the next request whose path contains `path_contains`."""
        with self.lock:
            self._next_faults.append((kind, path_contains))

    def accepted(self) -> list[Invoice]:
        return [inv for inv in self.invoices.values() if inv.final_code == 200]

    def accepted_for(self, nip: str, number: str, kind: str = "VAT") -> list[Invoice]:
        return [inv for inv in self.accepted() if (inv.nip, inv.kind, inv.number) == (nip, kind, number)]

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for m, p in self.requests if m == method and path_part in p)

    # --- internals -----------------------------------------------------------------------------------------------
    def _fault(self, path: str, method: str) -> str | None:
        for index, (kind, part) in enumerate(self._next_faults):
            if part in path and (kind not in POST_FAULTS or method == "POST"):
                del self._next_faults[index]
                return kind
        for kind, probability in self.faults.items():
            if kind in POST_FAULTS and method != "POST":
                continue
            if probability and self.random.random() < probability:
                return kind
        return None

    def _key(self, usage: str, public_key_id: str | None) -> _KeyPair | None:
        for pair in self.keys:
            if pair.usage == usage and (not public_key_id or pair.public_key_id == public_key_id):
                return pair
        return None

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _invoice_status(self, invoice: Invoice, *, count_poll: bool) -> dict:
        ready = (
            invoice.polls >= self.processing_polls
            and (self._now() - invoice.received).total_seconds() >= self.processing_seconds
        )
        if count_poll and not ready:
            invoice.polls += 1
        body = {
            "ordinalNumber": invoice.ordinal,
            "referenceNumber": invoice.reference,
            "invoiceHash": invoice.invoice_hash,
            "invoicingDate": _iso(invoice.received),
        }
        if invoice.number:
            body["invoiceNumber"] = invoice.number
        if not ready:
            code = 100 if invoice.polls <= 1 else 150
            text = "Faktura przyjęta do dalszego przetwarzania" if code == 100 else "Trwa przetwarzanie"
            body["status"] = {"code": code, "description": text}
            return body
        if invoice.final_code == 200 and invoice.acquired is None:
            invoice.acquired = self._now()
        body["status"] = {"code": invoice.final_code, "description": invoice.final_description}
        if invoice.details:
            body["status"]["details"] = invoice.details
        if invoice.extensions:
            body["status"]["extensions"] = invoice.extensions
        if invoice.final_code == 200:
            body.update(
                ksefNumber=invoice.ksef_number,
                acquisitionDate=_iso(invoice.acquired),
                permanentStorageDate=_iso(invoice.acquired),
                invoicingMode="Offline" if invoice.offline else "Online",
            )
        return body

    def _ready(self, invoice: Invoice) -> bool:
        return invoice.final_code == 200 and invoice.acquired is not None

    def upo_xml(self, session: Session, invoices: list[Invoice], page: str | None = None) -> bytes:
        root = etree.Element(f"{{{UPO_NS}}}Potwierdzenie", nsmap={None: UPO_NS})
        etree.SubElement(root, f"{{{UPO_NS}}}NazwaPodmiotuPrzyjmujacego").text = "Ministerstwo Finansów (atrapa KSeF)"
        etree.SubElement(root, f"{{{UPO_NS}}}NumerReferencyjnySesji").text = session.reference
        auth = etree.SubElement(root, f"{{{UPO_NS}}}Uwierzytelnienie")
        context = etree.SubElement(auth, f"{{{UPO_NS}}}IdKontekstu")
        etree.SubElement(context, f"{{{UPO_NS}}}Nip").text = session.nip
        etree.SubElement(auth, f"{{{UPO_NS}}}NumerReferencyjnyTokenaKSeF").text = session.token_reference
        if page:
            description = etree.SubElement(root, f"{{{UPO_NS}}}OpisPotwierdzenia")
            etree.SubElement(description, f"{{{UPO_NS}}}Strona").text = "1"
            etree.SubElement(description, f"{{{UPO_NS}}}LiczbaStron").text = "1"
        etree.SubElement(root, f"{{{UPO_NS}}}NazwaStrukturyLogicznej").text = "Schemat_FA(3)_v1-0E.xsd"
        etree.SubElement(root, f"{{{UPO_NS}}}KodFormularza").text = "FA (3)"
        for invoice in invoices:
            doc = etree.SubElement(root, f"{{{UPO_NS}}}Dokument")
            for tag, value in (
                ("NipSprzedawcy", invoice.nip),
                ("NumerKSeFDokumentu", invoice.ksef_number),
                ("NumerFaktury", invoice.number),
                ("DataWystawieniaFaktury", invoice.issue_date),
                ("DataPrzeslaniaDokumentu", _iso(invoice.received)),
                ("DataNadaniaNumeruKSeF", _iso(invoice.acquired or invoice.received)),
                ("SkrotDokumentu", invoice.invoice_hash),
                ("TrybWysylki", "Offline" if invoice.offline else "Online"),
            ):
                etree.SubElement(doc, f"{{{UPO_NS}}}{tag}").text = value
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _check_plain(self, plain: bytes, received: dt.datetime) -> tuple[int, str, list[str], dict]:
        """Validation of the decrypted XML → (code, description, details, fields)."""
        semantic = "Błąd weryfikacji semantyki dokumentu faktury"
        if len(plain) > MAX_INVOICE_BYTES:
            return 430, "Błąd weryfikacji pliku faktury", ["Przekroczony maksymalny rozmiar faktury."], {}
        if plain.startswith(b"\xef\xbb\xbf"):
            return 450, semantic, ["Plik zawiera znacznik BOM; wymagane UTF-8 bez BOM."], {}
        try:
            plain.decode("utf-8")
        except UnicodeDecodeError:
            return 450, semantic, ["Plik nie jest poprawnym tekstem UTF-8."], {}
        try:
            document = etree.fromstring(plain, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as err:
            return 450, semantic, [f"Nieprawidłowy XML: {err}"], {}
        schema = fa3_schema()
        if not schema.validate(document):
            return 450, semantic, [str(e.message) for e in list(schema.error_log)[:5]], {}
        ns = {"f": FA_NS}
        fields = {
            "nip": document.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", namespaces=ns) or "",
            "kind": document.findtext("f:Fa/f:RodzajFaktury", namespaces=ns) or "",
            "number": document.findtext("f:Fa/f:P_2", namespaces=ns) or "",
            "issue_date": document.findtext("f:Fa/f:P_1", namespaces=ns) or "",
        }
        if dt.date.fromisoformat(fields["issue_date"]) > received.astimezone(WARSAW).date():
            return 450, semantic, ["Data wystawienia faktury (P_1) jest późniejsza niż data przyjęcia."], fields
        return 200, "Sukces", [], fields


# --- HTTP ----------------------------------------------------------------------------------------------------------


class _Answer(Exception):
    def __init__(
        self, status: int, body=None, *, raw: bytes | None = None, content_type="application/json", headers=None
    ):
        super().__init__(status)
        self.status, self.body, self.raw, self.content_type, self.headers = (
            status,
            body,
            raw,
            content_type,
            headers or {},
        )


def _error(code: int, description: str, details: list[str] | None = None, status: int = 400) -> _Answer:
    return _Answer(
        status,
        {
            "exception": {
                "exceptionDetailList": [
                    {"exceptionCode": code, "exceptionDescription": description, "details": details or []}
                ],
                "serviceCode": secrets.token_hex(8),
                "serviceName": "fake-ksef",
                "timestamp": _iso(dt.datetime.now(dt.UTC)),
            }
        },
    )


def _unauthorized(detail: str) -> _Answer:
    return _Answer(
        401,
        {"title": "Unauthorized", "status": 401, "detail": detail, "timestamp": _iso(dt.datetime.now(dt.UTC))},
        content_type="application/problem+json",
    )


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKsef
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _send(self, answer: _Answer) -> None:
        payload = (
            answer.raw if answer.raw is not None else (b"" if answer.body is None else json.dumps(answer.body).encode())
        )
        self.send_response(answer.status)
        if payload:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.close()

    def _handle(self, method: str) -> None:
        fake = self.fake
        parsed = urlparse(self.path)
        path, query = parsed.path, parse_qs(parsed.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        with fake.lock:
            fake.requests.append((method, path))
            fault = fake._fault(path, method) if path.startswith("/v2/") else None
            if fault:
                fake.faults_served[fault] = fake.faults_served.get(fault, 0) + 1
            if not fake.available:
                fault = "unavailable"
        if fault == "drop":
            return self._drop()
        if fault == "429":
            return self._send(
                _Answer(
                    429,
                    {"status": {"code": 429, "description": "Too Many Requests", "details": ["Przekroczono limit."]}},
                    headers={"Retry-After": str(fake.retry_after)},
                )
            )
        if fault == "500":
            return self._send(_Answer(500, raw=b"Internal Server Error", content_type="text/plain"))
        if fault in ("503", "unavailable"):
            return self._send(
                _Answer(
                    503,
                    raw=b"Service Unavailable",
                    content_type="text/plain",
                    headers={"Retry-After": str(fake.retry_after)},
                )
            )
        with fake.lock:
            if fault == "expire_token":
                token = self._bearer()
                if token in fake.access_tokens:
                    nip, ref, _expiry = fake.access_tokens[token]
                    fake.access_tokens[token] = (nip, ref, 0.0)
            if fault == "expire_session":
                for session in fake.sessions.values():
                    if session.reference in path:
                        session.valid_until = fake._now() - dt.timedelta(seconds=1)
            try:
                body = json.loads(raw_body) if raw_body else {}
            except ValueError:
                answer = _error(21405, "Błąd walidacji danych wejściowych.", ["Nieprawidłowy JSON."])
            else:
                try:
                    answer = self._route(method, path, query, body)
                except _Answer as caught:
                    answer = caught
        if fault == "lost_answer":
            return self._drop()
        if fault == "timeout":
            time.sleep(fake.slow_seconds)
        return self._send(answer)

    # --- helpers ---
    def _bearer(self) -> str:
        value = self.headers.get("Authorization") or ""
        return value[7:].strip() if value.startswith("Bearer ") else ""

    def _access(self) -> tuple[str, str]:
        nip, ref, expiry = self.fake.access_tokens.get(self._bearer(), ("", "", 0.0))
        if not nip:
            raise _unauthorized("Brak lub nieprawidłowy token dostępowy.")
        if expiry < time.time():
            raise _unauthorized("Token dostępowy wygasł.")
        return nip, ref

    def _session(self, ref: str, nip: str) -> Session:
        session = self.fake.sessions.get(ref)
        if session is None or session.nip != nip:
            raise _error(21173, "Brak sesji o wskazanym numerze referencyjnym.")
        return session

    # --- routes ---
    def _route(self, method: str, path: str, query: dict, body: dict) -> _Answer:
        if not path.startswith("/v2/"):
            return _Answer(404, {"title": "Not Found", "status": 404})
        parts = path[len("/v2/") :].strip("/").split("/")
        fake = self.fake
        route = (method, *parts)
        if route == ("GET", "security", "public-key-certificates"):
            return _Answer(200, [pair.as_json() for pair in fake.keys])
        if route == ("POST", "auth", "challenge"):
            return self._challenge()
        if route == ("POST", "auth", "ksef-token"):
            return self._ksef_token(body)
        if route == ("POST", "auth", "token", "redeem"):
            return self._redeem()
        if route == ("POST", "auth", "token", "refresh"):
            return self._refresh()
        if method == "GET" and len(parts) == 2 and parts[0] == "auth":
            return self._auth_status(parts[1])
        nip, token_ref = self._access()
        if route == ("POST", "sessions", "online"):
            return self._open(nip, token_ref, body)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["sessions", "online"] and parts[3] == "invoices":
            return self._send_invoice(self._session(parts[2], nip), body)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["sessions", "online"] and parts[3] == "close":
            return self._close(self._session(parts[2], nip))
        if method == "GET" and parts[0] == "sessions" and len(parts) >= 2:
            return self._session_get(self._session(parts[1], nip), parts[2:], query)
        return _Answer(404, {"title": "Not Found", "status": 404, "detail": path})

    def _challenge(self) -> _Answer:
        fake = self.fake
        now = fake._now()
        challenge = reference_number("CR", now.date(), fake.random)
        timestamp_ms = int(now.timestamp() * 1000)
        fake.challenges[challenge] = (timestamp_ms, now + dt.timedelta(minutes=10))
        return _Answer(
            200,
            {
                "challenge": challenge,
                "timestamp": _iso(now),
                "timestampMs": timestamp_ms,
                "clientIp": self.client_address[0],
            },
        )

    def _ksef_token(self, body: dict) -> _Answer:
        fake = self.fake
        challenge = body.get("challenge") or ""
        known = fake.challenges.pop(challenge, None)
        if known is None or known[1] < fake._now():
            raise _error(21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
        pair = fake._key("KsefTokenEncryption", body.get("publicKeyId"))
        if pair is None:
            raise _error(21470, "Nieznany lub unieważniony identyfikator klucza publicznego.")
        context = body.get("contextIdentifier") or {}
        nip = context.get("value") or ""
        ok, error, token_ref = False, "Nieprawidłowy token.", ""
        try:
            plain = pair.decrypt(base64.b64decode(body.get("encryptedToken") or "")).decode()
            token, _sep, stamp = plain.rpartition("|")
        except Exception:  # noqa: BLE001 - any decryption failure is a bad token
            token, stamp = "", ""
        known_token = fake.tokens.get(token) == nip or (fake.accept_demo_tokens and token == demo_token(nip))
        if token and stamp == str(known[0]) and known_token and context.get("type") == "Nip":
            ok, error, token_ref = True, "", token.split("|", 1)[0]
        operation = AuthOperation(
            reference=reference_number("AU", fake._now().date(), fake.random),
            auth_token=secrets.token_urlsafe(32),
            nip=nip,
            token_reference=token_ref,
            ok=ok,
            error=error,
            polls_left=fake.auth_polls,
        )
        fake.auth_operations[operation.reference] = operation
        return _Answer(
            202,
            {
                "referenceNumber": operation.reference,
                "authenticationToken": {
                    "token": operation.auth_token,
                    "validUntil": _iso(fake._now() + dt.timedelta(minutes=15)),
                },
            },
        )

    def _operation_by_token(self) -> AuthOperation:
        token = self._bearer()
        for operation in self.fake.auth_operations.values():
            if operation.auth_token == token:
                return operation
        raise _unauthorized("Nieprawidłowy token uwierzytelniający.")

    def _auth_status(self, reference: str) -> _Answer:
        operation = self._operation_by_token()
        if operation.reference != reference:
            raise _error(21304, "Brak operacji uwierzytelniania o wskazanym numerze referencyjnym.")
        if operation.polls_left > 0:
            operation.polls_left -= 1
            status = {"code": 100, "description": "Uwierzytelnianie w toku"}
        elif operation.ok:
            status = {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
        else:
            status = {
                "code": 450,
                "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
                "details": [operation.error],
            }
        return _Answer(
            200,
            {
                "startDate": _iso(operation.started),
                "authenticationMethod": "Token",
                "authenticationMethodInfo": {"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"},
                "status": status,
            },
        )

    def _issue_access(self, nip: str, ref: str) -> dict:
        token = secrets.token_urlsafe(32)
        expiry = time.time() + self.fake.access_ttl
        self.fake.access_tokens[token] = (nip, ref, expiry)
        return {"token": token, "validUntil": _iso(dt.datetime.fromtimestamp(expiry, dt.UTC))}

    def _redeem(self) -> _Answer:
        operation = self._operation_by_token()
        if operation.polls_left > 0 or not operation.ok:
            raise _error(21304, "Uwierzytelnianie nie zostało zakończone sukcesem.")
        if operation.redeemed:
            raise _error(21301, "Tokeny zostały już pobrane.")
        operation.redeemed = True
        refresh = secrets.token_urlsafe(32)
        expiry = time.time() + 7 * 24 * 3600
        self.fake.refresh_tokens[refresh] = (operation.nip, operation.token_reference, expiry)
        return _Answer(
            200,
            {
                "accessToken": self._issue_access(operation.nip, operation.token_reference),
                "refreshToken": {"token": refresh, "validUntil": _iso(dt.datetime.fromtimestamp(expiry, dt.UTC))},
            },
        )

    def _refresh(self) -> _Answer:
        nip, ref, expiry = self.fake.refresh_tokens.get(self._bearer(), ("", "", 0.0))
        if not nip or expiry < time.time():
            raise _unauthorized("Nieprawidłowy lub wygasły token odświeżający.")
        return _Answer(200, {"accessToken": self._issue_access(nip, ref)})

    def _open(self, nip: str, token_ref: str, body: dict) -> _Answer:
        fake = self.fake
        form = body.get("formCode") or {}
        if (form.get("systemCode"), form.get("schemaVersion"), form.get("value")) != ("FA (3)", "1-0E", "FA"):
            raise _error(21405, "Błąd walidacji danych wejściowych.", ["Nieobsługiwany kod formularza."])
        encryption = body.get("encryption") or {}
        pair = fake._key("SymmetricKeyEncryption", encryption.get("publicKeyId"))
        if pair is None:
            raise _error(21470, "Nieznany lub unieważniony identyfikator klucza publicznego.")
        try:
            key = pair.decrypt(base64.b64decode(encryption.get("encryptedSymmetricKey") or ""))
            iv = base64.b64decode(encryption.get("initializationVector") or "")
        except Exception:  # noqa: BLE001 - the session exists, but with a key error
            key, iv = None, b""
        if key is not None and (len(key) != 32 or len(iv) != 16):
            key = None
        now = fake._now()
        session = Session(
            reference=reference_number("SO", now.date(), fake.random),
            nip=nip,
            token_reference=token_ref,
            key=key,
            iv=iv,
            valid_until=now + dt.timedelta(seconds=fake.session_ttl),
            created=now,
        )
        if key is None:
            session.status = 415
        fake.sessions[session.reference] = session
        return _Answer(201, {"referenceNumber": session.reference, "validUntil": _iso(session.valid_until)})

    def _send_invoice(self, session: Session, body: dict) -> _Answer:
        fake = self.fake
        now = fake._now()
        if session.status != 100 or session.valid_until < now:
            raise _error(21180, "Status sesji nie pozwala na wykonanie operacji.")
        if len(session.invoices) >= SESSION_INVOICE_LIMIT:
            raise _error(21155, "Przekroczono dozwoloną liczbę faktur w sesji.")
        try:
            ct = base64.b64decode(body.get("encryptedInvoiceContent") or "", validate=True)
        except ValueError as err:
            raise _error(21405, "Błąd walidacji danych wejściowych.", ["encryptedInvoiceContent"]) from err
        if body.get("encryptedInvoiceSize") != len(ct):
            raise _error(21402, "Nieprawidłowy rozmiar pliku.")
        if body.get("encryptedInvoiceHash") != _sha_b64(ct):
            raise _error(21403, "Nieprawidłowy skrót pliku.")
        invoice = Invoice(
            reference=reference_number("EE", now.date(), fake.random),
            session=session.reference,
            ordinal=len(session.invoices) + 1,
            invoice_hash=body.get("invoiceHash") or "",
            received=now,
            final_code=200,
            final_description="Sukces",
            offline=bool(body.get("offlineMode")),
        )
        try:
            plain = aes_decrypt(ct, session.key, session.iv)
        except Exception:  # noqa: BLE001 - wrong key, IV or padding
            invoice.final_code, invoice.final_description = 435, "Błąd odszyfrowania pliku"
        else:
            invoice.xml = plain
            if body.get("invoiceSize") != len(plain) or body.get("invoiceHash") != _sha_b64(plain):
                invoice.final_code, invoice.final_description = 430, "Błąd weryfikacji pliku faktury"
                invoice.details = ["Rozmiar lub skrót faktury nie zgadza się z treścią."]
            else:
                code, text, details, fields = fake._check_plain(plain, now)
                invoice.final_code, invoice.final_description, invoice.details = code, text, details
                for name, value in fields.items():
                    setattr(invoice, name, value)
        if invoice.final_code == 200:
            key = (invoice.nip, invoice.kind, invoice.number)
            original = fake.duplicates.get(key)
            if original is not None:
                invoice.final_code, invoice.final_description = 440, "Duplikat faktury"
                invoice.details = [f"Faktura o numerze {invoice.number} została już przyjęta."]
                invoice.extensions = {
                    "originalKsefNumber": original.ksef_number,
                    "originalSessionReferenceNumber": original.session,
                }
            else:
                invoice.ksef_number = ksef_number(invoice.nip, now.astimezone(WARSAW).date(), fake.random)
                if dt.date.fromisoformat(invoice.issue_date) < now.astimezone(WARSAW).date():
                    invoice.offline = True
                fake.duplicates[key] = invoice
                fake.by_ksef_number[invoice.ksef_number] = invoice
        session.invoices.append(invoice.reference)
        session.updated = now
        fake.invoices[invoice.reference] = invoice
        return _Answer(202, {"referenceNumber": invoice.reference})

    def _close(self, session: Session) -> _Answer:
        if session.status != 100:
            raise _error(21180, "Status sesji nie pozwala na wykonanie operacji.")
        session.status = 170
        session.updated = self.fake._now()
        return _Answer(204)

    def _session_invoices(self, session: Session) -> list[Invoice]:
        return [self.fake.invoices[ref] for ref in session.invoices]

    def _session_get(self, session: Session, rest: list[str], query: dict) -> _Answer:
        fake = self.fake
        invoices = self._session_invoices(session)
        if not rest:
            return self._session_status(session, invoices)
        if rest in (["invoices"], ["invoices", "failed"]):
            bodies = [fake._invoice_status(inv, count_poll=False) for inv in invoices]
            if rest[-1] == "failed":
                bodies = [b for b in bodies if b["status"]["code"] >= 400]
            size = int((query.get("pageSize") or ["100"])[0])
            start = int(self.headers.get("x-continuation-token") or 0)
            page = bodies[start : start + size]
            answer = {"invoices": page}
            if start + size < len(bodies):
                answer["continuationToken"] = str(start + size)
            return _Answer(200, answer)
        if rest[0] == "invoices" and len(rest) >= 2:
            if rest[1] == "ksef" and len(rest) == 4 and rest[3] == "upo":
                invoice = fake.by_ksef_number.get(rest[2])
                if invoice is None or invoice.session != session.reference:
                    raise _error(21164, "Faktura o podanym identyfikatorze nie istnieje.")
                return self._upo(session, [invoice])
            invoice = fake.invoices.get(rest[1])
            if invoice is None or invoice.session != session.reference:
                raise _error(21164, "Faktura o podanym identyfikatorze nie istnieje.")
            if len(rest) == 2:
                return _Answer(200, fake._invoice_status(invoice, count_poll=True))
            if rest[2:] == ["upo"]:
                if not fake._ready(invoice):
                    raise _error(21178, "Nie znaleziono UPO dla podanych kryteriów.")
                return self._upo(session, [invoice])
        if rest[0] == "upo" and len(rest) == 2:
            if session.status != 200 or rest[1] != self._upo_page_ref(session):
                raise _error(21178, "Nie znaleziono UPO dla podanych kryteriów.")
            return self._upo(session, [inv for inv in invoices if fake._ready(inv)], page=rest[1])
        return _Answer(404, {"title": "Not Found", "status": 404})

    def _upo_page_ref(self, session: Session) -> str:
        day = session.created.date()
        digest = hashlib.sha256(session.reference.encode()).hexdigest().upper()
        return with_check_digits(f"{day:%Y%m%d}-EU-{digest[:10]}-{digest[10:20]}")

    def _upo(self, session: Session, invoices: list[Invoice], page: str | None = None) -> _Answer:
        xml = self.fake.upo_xml(session, invoices, page)
        return _Answer(200, raw=xml, content_type="application/xml", headers={"x-ms-meta-hash": _sha_b64(xml)})

    def _session_status(self, session: Session, invoices: list[Invoice]) -> _Answer:
        fake = self.fake
        codes = [fake._invoice_status(invoice, count_poll=False)["status"]["code"] for invoice in invoices]
        now = fake._now()
        if session.status == 170:
            if session.close_polls_left > 0:
                session.close_polls_left -= 1
            elif all(code >= 200 for code in codes):
                session.status = 200 if any(fake._ready(inv) for inv in invoices) else (445 if invoices else 440)
        descriptions = {
            100: "Sesja interaktywna otwarta",
            170: "Sesja interaktywna zamknięta",
            200: "Sesja interaktywna przetworzona pomyślnie",
            415: "Błąd odszyfrowania dostarczonego klucza",
            440: "Sesja anulowana – nie przesłano faktur",
            445: "Błąd weryfikacji, brak poprawnych faktur",
        }
        answer = {
            "status": {"code": session.status, "description": descriptions.get(session.status, "")},
            "dateCreated": _iso(session.created),
            "dateUpdated": _iso(session.updated),
            "validUntil": _iso(session.valid_until),
            "invoiceCount": len(invoices),
            "successfulInvoiceCount": sum(1 for inv in invoices if fake._ready(inv)),
            "failedInvoiceCount": sum(1 for code in codes if code >= 400),
        }
        if session.status == 200:
            answer["upo"] = {
                "pages": [
                    {
                        "referenceNumber": self._upo_page_ref(session),
                        "downloadUrl": f"https://upo.fake-ksef.invalid/{session.reference}",
                        "downloadUrlExpirationDate": _iso(now + dt.timedelta(hours=1)),
                    }
                ]
            }
        return _Answer(200, answer)
