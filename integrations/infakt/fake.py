"""A stateful fake of the inFakt API v3 subset we use, for development and tests.

Documented shapes and validations: `X-inFakt-ApiKey`, money as integer grosze, tax symbols, required fields →
422 with field errors, async create + status polling, invoice by uuid, list with `q[...]` filters and
`metainfo.total_count`, PDF as raw bytes, async corrective invoices with before/after pairs, inFakt-style
numbering (`1/11/2026`, `1/KOR/11/2026`), per-IP limits (150 writes, 300 reads per 60 s → 429).

Asynchronous like inFakt: a create only queues a task. The task is processed `processing_seconds` after it was
accepted (plus `lost_answer_delay_seconds` when its answer was dropped), on the fake's `clock` (default
`time.time`, so time-machine drives it); only then does the invoice get its number and appear in lists, lookups
and its PDF, and the status answers 201 — before that 120/140. Processing happens whether or not anyone polls.

Validation follows the reference: corrections need `client_id` of an existing client (else 422 "client_id
required"), `corrected_invoice_*`, two rows per `group` priced by `unit_net_price`; "zw" lines need
`vat_exemption_reason` (an id from `/vat_exemptions.json`); an invoice with `receipt_number` needs `not_income`.
Read-back carries `net_price`/`tax_price`/`gross_price` and per-line `tax_price` (VAT per rate by the gross method,
or per line with `vat_rounding = "per_line"` to provoke a difference). Clients: list by `q[clean_nip_eq]`, create,
get; an invoice with inline buyer fields links (or creates) a client and returns its `client_id`.

Fault injection (`faults`: probability per request kind): "429", "500", "timeout" (answers after `slow_seconds`),
"drop_after_create" (the invoice task is accepted, the connection is closed without an answer).

KSeF through inFakt (reference §11): `POST /ksef2/documents/{uuid}/send.json` and `GET …/status.json`, `ksef_data` on
the invoice/corrective invoice GET. A sent document goes pending → sent (half of `ksef_seconds`) → success with a
KSeF number carrying valid CRC-8 check digits (after `ksef_seconds`, on `clock`). `ksef_error` (a
status_description) makes the next sends end in `error`; `ksef_integrated = False` answers every send with 422
"Użytkownik nie jest zintegrowany z KSeF." (as does a second send of the same document). Status of a document
never sent: 404 [inferred].
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid as uuidlib
from collections import deque
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TAX_SYMBOLS = {"23", "8", "5", "0", "zw", "np", "oo"}
RATE_PERCENT = {"23": 23, "8": 8, "5": 5}
VAT_EXEMPTIONS = [
    {
        "id": 1,
        "description": "zwolnienie podmiotowe",
        "legal_basis_rule": "art. 113 ust. 1 i 9",
        "legal_basis_source": "ustawa o VAT",
    },
    {
        "id": 3,
        "description": "usługi pocztowe",
        "legal_basis_rule": "art. 43 ust. 1 pkt 2",
        "legal_basis_source": "ustawa o VAT",
    },
    {
        "id": 19,
        "description": "usługi w zakresie opieki medycznej",
        "legal_basis_rule": "art. 43 ust. 1 pkt 19",
        "legal_basis_source": "ustawa o VAT",
    },
    {
        "id": 29,
        "description": "usługi kształcenia zawodowego",
        "legal_basis_rule": "art. 43 ust. 1 pkt 29 lit. a",
        "legal_basis_source": "ustawa o VAT",
    },
    {
        "id": 37,
        "description": "usługi finansowe",
        "legal_basis_rule": "art. 43 ust. 1 pkt 37",
        "legal_basis_source": "ustawa o VAT",
    },
]
PAYMENT_METHODS = {
    "transfer",
    "cash",
    "card",
    "barter",
    "check",
    "bill_of_sale",
    "delivery",
    "compensation",
    "accredited",
    "paypal",
    "instalment_sale",
    "payu",
    "tpay",
    "przelewy24",
    "dotpay",
    "other",
}
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _grosze(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _vat_of(gross: int, symbol: str) -> int:
    percent = RATE_PERCENT.get(symbol, 0)
    return _grosze(Decimal(gross) * percent / (100 + percent)) if percent else 0


class FakeInfakt:
    def __init__(
        self,
        *,
        api_key: str = "fake-infakt-key-0001",
        polls_until_done: int = 1,
        seed: int = 1,
        enforce_limits: bool = True,
        processing_seconds: float = 0.0,
        lost_answer_delay_seconds: float = 0.0,
        clock=None,
    ):
        self.api_key = api_key
        self.polls_until_done = polls_until_done
        # How long inFakt takes to process a queued create, and the extra delay before a create whose answer was
        # lost gets processed (a queue backlog): the invoice is invisible until then.
        self.processing_seconds = processing_seconds
        self.lost_answer_delay_seconds = lost_answer_delay_seconds
        self.clock = clock or time.time
        self.vat_rounding = "per_rate"  # "per_line": VAT rounded per line (may differ from ours by a grosz)
        self.faults: dict[str, float] = {}
        self.slow_seconds = 3.0
        self.enforce_limits = enforce_limits
        self.random = random.Random(seed)
        self.lock = threading.RLock()
        self.invoices: dict[str, dict] = {}
        self.tasks: dict[str, dict] = {}
        self.clients: dict[int, dict] = {}
        self.counters: dict[tuple, int] = {}
        self.next_id = 1000
        self.next_client_id = 500
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, dict]] = []  # (path, JSON body) of every POST
        self.served_429 = 0
        self.limit_429 = 0
        self.windows = {"read": deque(), "write": deque()}
        self.company = {
            "company_name": "Sklep Bursztyn Sp. z o.o.",
            "tax_id": "5260250274",
            "street": "ul. Długa 5",
            "street_name": "ul. Długa",
            "street_number": "5",
            "flat_number": "",
            "city": "Gdańsk",
            "postal_code": "80-831",
            "first_name": "Anna",
            "last_name": "Bursztyn",
        }
        self.bank_accounts = [
            {
                "id": 1,
                "bank_name": "Santander Bank Polska",
                "account_number": "PL61109010140000071219812874",
                "swift": "WBKPPLPP",
                "default": True,
                "currency": "PLN",
                "custom_name": "",
            }
        ]
        self.vat_exemptions = [dict(row) for row in VAT_EXEMPTIONS]
        self.server: ThreadingHTTPServer | None = None
        # KSeF through inFakt
        self.ksef_integrated = True
        self.ksef_seconds = 0.0
        self.ksef_error: str | None = None
        self.ksef_sends: list[str] = []  # uuids, one per send call that reached us
        self.ksef_random = random.Random(seed)

    # --- running --------------------------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/v3"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # --- state helpers ----------------------------------------------------------------------------------------
    def invoices_with_notes(self, marker: str) -> list[dict]:
        """Every invoice carrying `marker`, processed or still queued (what inFakt will eventually hold)."""
        return [inv for inv in self.invoices.values() if marker in (inv.get("notes") or "")]

    def process_due(self) -> None:
        """Run every queued task whose time has come (inFakt's workers do not wait to be polled)."""
        with self.lock:
            now = self.clock()
            due = sorted(
                (task for task in self.tasks.values() if not task["processed"] and task["ready_at"] <= now),
                key=lambda task: task["ready_at"],
            )
            for task in due:
                task["processed"] = True
                if not task["errors"]:
                    self._publish(task["uuid"])

    def _number(self, kind: str, day: date) -> str:
        key = (kind, day.year, day.month)
        self.counters[key] = self.counters.get(key, 0) + 1
        middle = "/KOR" if kind == "correction" else ""
        return f"{self.counters[key]}{middle}/{day.month:02d}/{day.year}"

    def _limited(self, kind: str) -> bool:
        if not self.enforce_limits:
            return False
        limit = 150 if kind == "write" else 300
        now = time.monotonic()
        window = self.windows[kind]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def fault(self, name: str) -> bool:
        probability = self.faults.get(name, 0)
        return probability > 0 and self.random.random() < probability

    # --- clients ---------------------------------------------------------------------------------------------
    def client_create(self, data: dict) -> dict:
        self.next_client_id += 1
        client = {"id": self.next_client_id, **{k: v for k, v in data.items() if k != "id"}}
        self.clients[client["id"]] = client
        return client

    def _client_for_invoice(self, data: dict) -> int:
        """Inline buyer fields link the client with that NIP, or create one (as inFakt does)."""
        if data.get("client_id"):
            return int(data["client_id"])
        nip = _clean_nip(data.get("client_tax_code") or "")
        if nip:
            for client in sorted(self.clients.values(), key=lambda c: c["id"]):
                if _clean_nip(client.get("nip") or "") == nip:
                    return client["id"]
        return self.client_create(
            {
                "company_name": data.get("client_company_name", ""),
                "first_name": data.get("client_first_name", ""),
                "last_name": data.get("client_last_name", ""),
                "nip": data.get("client_tax_code", ""),
                "street": data.get("client_street", ""),
                "city": data.get("client_city", ""),
                "postal_code": data.get("client_post_code", ""),
                "country": data.get("client_country", "PL"),
                "email": data.get("client_email", ""),
            }
        )["id"]

    # --- validation --------------------------------------------------------------------------------------------
    def validate(self, data: dict, correction: bool) -> dict:
        errors: dict[str, list[str]] = {}

        def add(key, message):
            errors.setdefault(key, []).append(message)

        if not data.get("currency"):
            add("currency", "Waluta jest wymagana.")
        if data.get("payment_method") not in PAYMENT_METHODS:
            add("payment_method", "Proszę wybrać odpowiedni sposób płatności.")
        if correction:
            client_id = data.get("client_id")
            if not client_id:
                add("client_id", "client_id required")
            elif not isinstance(client_id, int) or client_id not in self.clients:
                add("client_id", "Nie znaleziono klienta.")
        elif not (data.get("client_company_name") or data.get("client_last_name") or data.get("client_id")):
            add("client", "Podaj dane klienta.")
        services = data.get("services")
        if not isinstance(services, list) or not services:
            add("services", "Faktura musi mieć co najmniej jedną pozycję.")
            services = []
        for index, service in enumerate(services):
            if not service.get("name"):
                add(f"services.{index}.name", "Nazwa jest wymagana.")
            if service.get("tax_symbol") not in TAX_SYMBOLS:
                add(f"services.{index}.tax_symbol", "Nieprawidłowa stawka VAT.")
            price_key = "unit_net_price" if correction else "gross_price"
            for key in (price_key, "gross_price"):
                value = service.get(key)
                if (key == price_key or value is not None) and (not isinstance(value, int) or isinstance(value, bool)):
                    add(f"services.{index}.{key}", "Kwota musi być liczbą całkowitą w groszach.")
            if not isinstance(service.get("quantity"), int | float):
                add(f"services.{index}.quantity", "Ilość musi być liczbą.")
        if any(service.get("tax_symbol") == "zw" for service in services):
            known = {row["id"] for row in self.vat_exemptions}
            if data.get("vat_exemption_reason") not in known:
                add("vat_exemption_reason", "Wybierz podstawę zwolnienia z VAT.")
        if data.get("receipt_number") and data.get("not_income") is not True:
            add("not_income", "Faktura do paragonu wymaga not_income.")
        if correction:
            groups: dict[str, list[bool]] = {}
            for index, service in enumerate(services):
                if not isinstance(service.get("group"), str) or not service["group"]:
                    add(f"services.{index}.group", "Grupa jest wymagana.")
                    continue
                groups.setdefault(service["group"], []).append(service.get("correction"))
            for group, flags in groups.items():
                if sorted(flags, key=bool) != [False, True]:
                    add("services", f"Grupa {group}: wymagana para pozycji przed i po korekcie.")
            for key in ("corrected_invoice_number", "corrected_invoice_date", "corrected_invoice_uuid"):
                if not data.get(key):
                    add(key, "Pole jest wymagane dla korekty.")
            if data.get("correction_reason") not in ("mistake", "other"):
                add("correction_reason", "Dozwolone: mistake, other.")
            corrected = self.invoices.get(data.get("corrected_invoice_uuid") or "")
            if data.get("corrected_invoice_uuid") and (corrected is None or not corrected["_visible"]):
                add("corrected_invoice_uuid", "Nie znaleziono faktury korygowanej.")
        return errors

    # --- amounts ---------------------------------------------------------------------------------------------
    def _row_gross(self, service: dict, correction: bool) -> int:
        if isinstance(service.get("gross_price"), int):
            return service["gross_price"]
        percent = RATE_PERCENT.get(service["tax_symbol"], 0)
        net = Decimal(service["unit_net_price"]) * Decimal(str(service["quantity"]))
        return _grosze(net * (100 + percent) / 100)

    def _price(self, rows: list[dict]) -> tuple[int, int]:
        """Sets each row's `gross_price`, `tax_price` and `net_price`; returns (gross, VAT) of the rows."""
        by_rate: dict[str, list[dict]] = {}
        for row in rows:
            by_rate.setdefault(row["tax_symbol"], []).append(row)
        for symbol, group in by_rate.items():
            for row in group:
                row["tax_price"] = _vat_of(row["gross_price"], symbol)
            if self.vat_rounding == "per_rate" and group:
                rest = _vat_of(sum(row["gross_price"] for row in group), symbol) - sum(r["tax_price"] for r in group)
                group[-1]["tax_price"] += rest
        for row in rows:
            row["net_price"] = row["gross_price"] - row["tax_price"]
        return sum(row["gross_price"] for row in rows), sum(row["tax_price"] for row in rows)

    def create(self, data: dict, correction: bool) -> dict:
        errors = self.validate(data, correction)
        reference = str(uuidlib.uuid4())
        now = self.clock()
        task = {
            "reference": reference,
            "polls": 0,
            "errors": errors,
            "uuid": None,
            "correction": correction,
            "ready_at": now + self.processing_seconds,
            "processed": False,
        }
        if not errors:
            day = date.fromisoformat(data.get("invoice_date") or date.today().isoformat())
            services = [
                {**s, "id": index, "gross_price": self._row_gross(s, correction)}
                for index, s in enumerate(data["services"], start=1)
            ]
            if correction:
                gross_after, vat_after = self._price([s for s in services if s.get("correction")])
                gross_before, vat_before = self._price([s for s in services if not s.get("correction")])
                gross, tax = gross_after - gross_before, vat_after - vat_before
            else:
                gross, tax = self._price(services)
            invoice_uuid = str(uuidlib.uuid4())
            self.next_id += 1
            task["uuid"] = invoice_uuid
            self.invoices[invoice_uuid] = {
                "id": self.next_id,
                "uuid": invoice_uuid,
                "kind": "correction" if correction else data.get("kind", "vat"),
                "number": None,
                "invoice_date": day.isoformat(),
                "sale_date": data.get("sale_date"),
                "currency": data["currency"],
                "gross_price": gross,
                "tax_price": tax,
                "net_price": gross - tax,
                "notes": data.get("notes", ""),
                "client_id": self._client_for_invoice(data),
                "client_tax_code": data.get("client_tax_code", ""),
                "status": "draft",
                "services": services,
                "transaction_terms": data.get("transaction_terms") or {},
                "vat_exemption_reason": data.get("vat_exemption_reason"),
                "receipt_number": data.get("receipt_number", ""),
                "not_income": data.get("not_income", False),
                "correction_reason": data.get("correction_reason"),
                "corrected_invoice_uuid": data.get("corrected_invoice_uuid"),
                "_day": day,
                "_visible": False,
            }
        self.tasks[reference] = task
        return {
            "timestamps": {"task_created_at": time.strftime("%Y-%m-%d %H:%M:%S +0100")},
            "invoice_task_reference_number": reference,
            "processing_code": 100,
            "processing_description": "Zlecenie przyjęte",
            "invoice_kind": "corrective_invoice" if correction else "invoice",
        }

    def delay_task(self, reference: str, seconds: float) -> None:
        task = self.tasks.get(reference)
        if task is not None:
            task["ready_at"] += seconds

    def status(self, reference: str) -> dict | None:
        task = self.tasks.get(reference)
        if task is None:
            return None
        self.process_due()
        task["polls"] += 1
        body = {"invoice_task_reference_number": reference, "timestamps": {}}
        if not task["processed"]:
            code, text = (120, "Zlecenie czeka na przetworzenie") if task["polls"] == 1 else (140, "Przetwarzanie")
            return {**body, "processing_code": code, "processing_description": text}
        if task["polls"] < self.polls_until_done:
            return {**body, "processing_code": 140, "processing_description": "Przetwarzanie"}
        if task["errors"]:
            return {
                **body,
                "processing_code": 422,
                "processing_description": "Nie udało się stworzyć faktury",
                "invoice_errors": task["errors"],
            }
        return {
            **body,
            "processing_code": 201,
            "processing_description": "Faktura stworzona",
            "invoice_uuid": task["uuid"],
        }

    def _publish(self, invoice_uuid: str):
        invoice = self.invoices[invoice_uuid]
        if invoice["number"] is None:
            invoice["number"] = self._number(invoice["kind"], invoice["_day"])
            invoice["_visible"] = True

    def public(self, invoice: dict) -> dict:
        self._ksef_progress(invoice)
        return {k: v for k, v in invoice.items() if not k.startswith("_")}

    # --- KSeF through inFakt ---------------------------------------------------------------------------------------
    def _ksef_progress(self, invoice: dict) -> None:
        data = invoice.get("ksef_data")
        if not data or data["status"] in ("success", "error", "rejected"):
            invoice.setdefault("ksef_data", None)
            return
        elapsed = self.clock() - invoice["_ksef_sent_at"]
        if elapsed >= self.ksef_seconds:
            finished = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(self.clock()))
            data["timestamps"]["request_finished_at"] = finished
            if invoice["_ksef_error"]:
                data.update(status="error", status_description=invoice["_ksef_error"])
            else:
                from integrations.ksef.fake import ksef_number

                data.update(
                    status="success",
                    status_description="Dokument przyjęty przez KSeF",
                    ksef_number=ksef_number(self.company["tax_id"], invoice["_day"], self.ksef_random),
                )
        elif elapsed >= self.ksef_seconds / 2:
            data["status"] = "sent"

    def ksef_status_body(self, invoice: dict) -> dict:
        self._ksef_progress(invoice)
        kind = "corrective_invoice" if invoice["kind"] == "correction" else "invoice"
        return {**invoice["ksef_data"], "invoice_uuid": invoice["uuid"], "invoice_kind": kind}

    def ksef_send(self, invoice_uuid: str) -> tuple[int, dict]:
        invoice = self.invoices.get(invoice_uuid)
        if invoice is None or not invoice["_visible"]:
            return 404, {"error": "Zasób którego szukasz nie został znaleziony."}
        self.ksef_sends.append(invoice_uuid)
        if not self.ksef_integrated or invoice.get("ksef_data"):
            return 422, {"error": "Użytkownik nie jest zintegrowany z KSeF."}
        invoice["_ksef_sent_at"] = self.clock()
        invoice["_ksef_error"] = self.ksef_error
        invoice["ksef_data"] = {
            "request_uuid": str(uuidlib.uuid4()),
            "ksef_number": None,
            "status": "pending",
            "status_description": "Zlecono wysyłkę do KSeF",
            "timestamps": {
                "request_created_at": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(self.clock())),
                "request_finished_at": None,
            },
        }
        return 200, self.ksef_status_body(invoice)


def _clean_nip(value: str) -> str:
    return re.sub(r"[^0-9]", "", value or "")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeInfakt
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body=None, raw: bytes | None = None, content_type="application/json", headers=None):
        payload = raw if raw is not None else json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return {}

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str):
        fake = self.fake
        parsed = urlparse(self.path)
        path, query = parsed.path, parse_qs(parsed.query)
        body = self._body() if method == "POST" else {}
        kind = "write" if method == "POST" else "read"
        with fake.lock:
            fake.process_due()
            fake.requests.append((method, path))
            if method == "POST":
                fake.bodies.append((path, body))
            if self.headers.get("X-inFakt-ApiKey") != fake.api_key:
                return self._send(401, {"error": "Nieprawidłowy klucz API."})
            if fake._limited(kind):
                fake.limit_429 += 1
                return self._send(429, {"error": "Przekroczono limit zapytań."}, headers={"Retry-After": "1"})
            if fake.fault("429"):
                fake.served_429 += 1
                return self._send(429, {"error": "Przekroczono limit zapytań."}, headers={"Retry-After": "0"})
            if fake.fault("500"):
                return self._send(500, {"error": "Internal Server Error"})
            slow = fake.fault("timeout")
            drop = method == "POST" and fake.fault("drop_after_create")
            status, answer, raw, content_type = self._route(method, path, query, body)
            if drop and status in (200, 201, 202) and "invoice_task_reference_number" in (answer or {}):
                # nobody will poll it: inFakt gets to it when its queue does
                fake.delay_task(answer["invoice_task_reference_number"], fake.lost_answer_delay_seconds)
        if drop and status in (200, 201, 202):
            self.close_connection = True
            self.connection.close()
            return None
        if slow:
            time.sleep(fake.slow_seconds)
        if raw is not None:
            return self._send(status, raw=raw, content_type=content_type)
        return self._send(status, answer)

    def _route(self, method, path, query, body):
        fake = self.fake
        prefix = "/api/v3"
        if not path.startswith(prefix):
            return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
        path = path[len(prefix) :]
        if method == "GET" and path == "/account/details.json":
            return (
                200,
                {
                    "account_data": {"uuid": "acc-1", "email": "biuro@bursztyn.example.pl", "role": "owner"},
                    "company_data": fake.company,
                    "extentions": {"ksef": {"name": "KSeF", "active": fake.ksef_integrated}},
                },
                None,
                None,
            )
        if method == "GET" and path == "/bank_accounts.json":
            return (
                200,
                {"metainfo": {"count": 10, "total_count": len(fake.bank_accounts)}, "entities": fake.bank_accounts},
                None,
                None,
            )
        if method == "GET" and path == "/vat_exemptions.json":
            rows = fake.vat_exemptions
            return 200, {"metainfo": {"count": 10, "total_count": len(rows)}, "entities": rows}, None, None
        if method == "GET" and path == "/clients.json":
            rows = sorted(fake.clients.values(), key=lambda c: c["id"])
            nip = (query.get("q[clean_nip_eq]") or query.get("q[nip_eq]") or [""])[0]
            if nip:
                rows = [c for c in rows if _clean_nip(c.get("nip", "")) == _clean_nip(nip)]
            offset = int(query.get("offset", ["0"])[0])
            limit = min(int(query.get("limit", ["10"])[0]), 100)
            return (
                200,
                {"metainfo": {"count": 10, "total_count": len(rows)}, "entities": rows[offset : offset + limit]},
                None,
                None,
            )
        if method == "POST" and path == "/clients.json":
            data = body.get("client")
            if not isinstance(data, dict) or not data.get("country"):
                return 422, {"errors": {"country": ["Kraj jest wymagany."]}}, None, None
            if not (data.get("company_name") or data.get("last_name")):
                return 422, {"errors": {"company_name": ["Podaj nazwę firmy albo nazwisko."]}}, None, None
            return 201, fake.client_create(data), None, None
        match = re.fullmatch(r"/clients/(\d+)\.json", path)
        if method == "GET" and match:
            client = fake.clients.get(int(match[1]))
            if client is None:
                return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
            return 200, client, None, None
        match = re.fullmatch(r"/async/(invoices|corrective_invoices)\.json", path)
        if method == "POST" and match:
            correction = match[1] == "corrective_invoices"
            data = body.get("corrective_invoice" if correction else "invoice")
            if not isinstance(data, dict):
                return 422, {"errors": {"base": ["Brak danych dokumentu."]}}, None, None
            return 201, fake.create(data, correction), None, None
        match = re.fullmatch(r"/async/(invoices|corrective_invoices)/status/([\w-]+)\.json", path)
        if method == "GET" and match:
            answer = fake.status(match[2])
            if answer is None:
                return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
            return 200, answer, None, None
        match = re.fullmatch(r"/ksef2/documents/([\w-]+)/send\.json", path)
        if method == "POST" and match:
            status, answer = fake.ksef_send(match[1])
            return status, answer, None, None
        match = re.fullmatch(r"/ksef2/documents/([\w-]+)/status\.json", path)
        if method == "GET" and match:
            invoice = fake.invoices.get(match[1])
            if invoice is None or not invoice["_visible"] or not invoice.get("ksef_data"):
                return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
            return 200, fake.ksef_status_body(invoice), None, None
        match = re.fullmatch(r"/(invoices|corrective_invoices)/([\w-]+)/pdf\.json", path)
        if method == "GET" and match:
            invoice = fake.invoices.get(match[2])
            if invoice is None or not invoice["_visible"]:
                return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
            invoice["status"] = "printed"
            return 200, None, PDF + f"% {invoice['number']}\n".encode(), "application/pdf"
        match = re.fullmatch(r"/(invoices|corrective_invoices)/([\w-]+)\.json", path)
        if method == "GET" and match:
            invoice = fake.invoices.get(match[2])
            if invoice is None or not invoice["_visible"]:
                return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
            return 200, fake.public(invoice), None, None
        match = re.fullmatch(r"/(invoices|corrective_invoices)\.json", path)
        if method == "GET" and match:
            # Only processed invoices are listed, polled or not (as in inFakt); a queued one is not there yet.
            correction = match[1] == "corrective_invoices"
            rows = [
                inv for inv in fake.invoices.values() if inv["_visible"] and (inv["kind"] == "correction") == correction
            ]
            if "q[invoice_date_eq]" in query:
                rows = [inv for inv in rows if inv["invoice_date"] == query["q[invoice_date_eq]"][0]]
            if "q[invoice_date_gteq]" in query:
                rows = [inv for inv in rows if inv["invoice_date"] >= query["q[invoice_date_gteq]"][0]]
            if "q[invoice_date_lteq]" in query:
                rows = [inv for inv in rows if inv["invoice_date"] <= query["q[invoice_date_lteq]"][0]]
            if "q[clean_client_nip_eq]" in query:
                nip = _clean_nip(query["q[clean_client_nip_eq]"][0])
                rows = [inv for inv in rows if _clean_nip(inv["client_tax_code"]) == nip]
            offset = int(query.get("offset", ["0"])[0])
            limit = min(int(query.get("limit", ["10"])[0]), 100)
            page = rows[offset : offset + limit]
            return (
                200,
                {
                    "metainfo": {
                        "count": 10,
                        "total_count": len(rows),
                        "next": f"{fake.base_url}/invoices.json?offset={offset + limit}",
                    },
                    "entities": [fake.public(inv) for inv in page],
                },
                None,
                None,
            )
        return 404, {"error": "Zasób którego szukasz nie został znaleziony."}, None, None
