"""A stateful fake of the inFakt API v3 subset we use, for development and tests.

Documented shapes and validations: `X-inFakt-ApiKey`, money as integer grosze, tax symbols, required fields →
422 with field errors, async create + status polling, invoice by uuid, list with `q[...]` filters and
`metainfo.total_count`, PDF as raw bytes, async corrective invoices with before/after pairs, inFakt-style
numbering (`1/11/2026`, `1/KOR/11/2026`), per-IP limits (150 writes, 300 reads per 60 s → 429).

Fault injection (`faults`: probability per request kind): "429", "500", "timeout" (answers after `slow_seconds`),
"drop_after_create" (the invoice is created, the connection is closed without an answer).
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TAX_SYMBOLS = {"23", "8", "5", "0", "zw", "np"}
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


class FakeInfakt:
    def __init__(
        self,
        *,
        api_key: str = "fake-infakt-key-0001",
        polls_until_done: int = 1,
        seed: int = 1,
        enforce_limits: bool = True,
    ):
        self.api_key = api_key
        self.polls_until_done = polls_until_done
        self.faults: dict[str, float] = {}
        self.slow_seconds = 3.0
        self.enforce_limits = enforce_limits
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.invoices: dict[str, dict] = {}
        self.tasks: dict[str, dict] = {}
        self.counters: dict[tuple, int] = {}
        self.next_id = 1000
        self.requests: list[tuple[str, str]] = []
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
        self.server: ThreadingHTTPServer | None = None

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
        return [inv for inv in self.invoices.values() if marker in (inv.get("notes") or "")]

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

    # --- validation --------------------------------------------------------------------------------------------
    def validate(self, data: dict, correction: bool) -> dict:
        errors: dict[str, list[str]] = {}
        if not data.get("currency"):
            errors.setdefault("currency", []).append("Waluta jest wymagana.")
        if data.get("payment_method") not in PAYMENT_METHODS:
            errors.setdefault("payment_method", []).append("Proszę wybrać odpowiedni sposób płatności.")
        if not (data.get("client_company_name") or data.get("client_last_name") or data.get("client_id")):
            errors.setdefault("client", []).append("Podaj dane klienta.")
        services = data.get("services")
        if not isinstance(services, list) or not services:
            errors.setdefault("services", []).append("Faktura musi mieć co najmniej jedną pozycję.")
            services = []
        for index, service in enumerate(services):
            if not service.get("name"):
                errors.setdefault(f"services.{index}.name", []).append("Nazwa jest wymagana.")
            if service.get("tax_symbol") not in TAX_SYMBOLS:
                errors.setdefault(f"services.{index}.tax_symbol", []).append("Nieprawidłowa stawka VAT.")
            if not isinstance(service.get("gross_price"), int) or isinstance(service.get("gross_price"), bool):
                errors.setdefault(f"services.{index}.gross_price", []).append(
                    "Kwota musi być liczbą całkowitą w groszach."
                )
            if not isinstance(service.get("quantity"), int | float):
                errors.setdefault(f"services.{index}.quantity", []).append("Ilość musi być liczbą.")
        if correction:
            for key in ("corrected_invoice_number", "corrected_invoice_date", "corrected_invoice_uuid"):
                if not data.get(key):
                    errors.setdefault(key, []).append("Pole jest wymagane dla korekty.")
            if data.get("correction_reason") not in ("mistake", "other"):
                errors.setdefault("correction_reason", []).append("Dozwolone: mistake, other.")
            if data.get("corrected_invoice_uuid") and data["corrected_invoice_uuid"] not in self.invoices:
                errors.setdefault("corrected_invoice_uuid", []).append("Nie znaleziono faktury korygowanej.")
        return errors

    def create(self, data: dict, correction: bool) -> dict:
        errors = self.validate(data, correction)
        reference = str(uuidlib.uuid4())
        task = {"reference": reference, "polls": 0, "errors": errors, "uuid": None, "correction": correction}
        if not errors:
            day = date.fromisoformat(data.get("invoice_date") or date.today().isoformat())
            services = data["services"]
            if correction:
                gross = sum(s["gross_price"] if s.get("correction") else -s["gross_price"] for s in services)
            else:
                gross = sum(s["gross_price"] for s in services)
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
                "notes": data.get("notes", ""),
                "client_tax_code": data.get("client_tax_code", ""),
                "status": "draft",
                "services": services,
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

    def status(self, reference: str) -> dict | None:
        task = self.tasks.get(reference)
        if task is None:
            return None
        task["polls"] += 1
        body = {"invoice_task_reference_number": reference, "timestamps": {}}
        if task["polls"] < self.polls_until_done:
            return {**body, "processing_code": 140, "processing_description": "Przetwarzanie"}
        if task["errors"]:
            return {
                **body,
                "processing_code": 422,
                "processing_description": "Nie udało się stworzyć faktury",
                "invoice_errors": task["errors"],
            }
        self._publish(task["uuid"])
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
        return {k: v for k, v in invoice.items() if not k.startswith("_")}


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
            fake.requests.append((method, path))
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
                    "extentions": {"ksef": {"name": "KSeF", "active": False}},
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
        if method == "GET" and path == "/clients.json":
            return 200, {"metainfo": {"count": 10, "total_count": 0}, "entities": []}, None, None
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
            # The created invoice is findable even if its status was never polled (as in inFakt).
            want_kind = "correction" if match[1] == "corrective_invoices" else None
            rows = [
                inv for inv in fake.invoices.values() if (inv["kind"] == "correction") == (want_kind == "correction")
            ]
            for inv in rows:
                fake._publish(inv["uuid"])
            if "q[invoice_date_eq]" in query:
                rows = [inv for inv in rows if inv["invoice_date"] == query["q[invoice_date_eq]"][0]]
            if "q[clean_client_nip_eq]" in query:
                rows = [inv for inv in rows if inv["client_tax_code"] == query["q[clean_client_nip_eq]"][0]]
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
