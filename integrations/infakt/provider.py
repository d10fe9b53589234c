"""inFakt as an accounting provider: InvoicePayload → inFakt JSON (integer grosze, gross line totals, currency
always sent), async create + status, read back number and PDF, look an invoice up after an uncertain failure."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from apilo.money import to_grosze
from integrations.providers import (
    AccountInfo,
    ExternalInvoice,
    InvoicePayload,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
    ServiceKsefStatus,
    TaskRejected,
    TaskStatus,
)

from .client import InfaktClient

PAYMENT_METHODS = {"transfer": "transfer", "cod": "delivery", "card": "card", "online": "other", "cash": "cash"}
ENVIRONMENTS = {
    "production": "https://api.infakt.pl/api/v3",
    "sandbox": "https://api.sandbox-infakt.pl/api/v3",
}


def _client_fields(payload: InvoicePayload) -> dict:
    buyer = payload.buyer
    fields = {
        "client_street": buyer.street,
        "client_city": buyer.city,
        "client_post_code": buyer.post_code,
        "client_country": buyer.country or "PL",
    }
    if buyer.email:
        fields["client_email"] = buyer.email
    if buyer.nip or buyer.company_name:
        fields.update(
            client_company_name=buyer.company_name or buyer.name,
            client_tax_code=buyer.nip,
            client_business_activity_kind="other_business",
        )
    else:
        first, _, last = (buyer.name or "Klient").partition(" ")
        fields.update(
            client_first_name=first, client_last_name=last or first, client_business_activity_kind="private_person"
        )
    return fields


def marker(payload: InvoicePayload) -> str:
    """The unique marker every document carries in its notes; an uncertain create is found again by it."""
    return f"[ref {payload.reference}]"


def _receipt_fields(payload: InvoicePayload) -> dict:
    # An invoice to a receipt: the receipt already booked the turnover, so inFakt must not count it as income.
    return {"receipt_number": payload.receipt_number, "not_income": True} if payload.receipt_number else {}


def _exemption_fields(payload: InvoicePayload) -> dict:
    if any(line.vat_rate == "zw" for line in payload.lines):
        if payload.vat_exemption_reason is None:
            raise ProviderRejected(
                "Pozycje zwolnione z VAT („zw”) wymagają podstawy zwolnienia — uzupełnij ją w serii dokumentów.",
                errors={"vat_exemption_reason": ["Brak podstawy zwolnienia z VAT."]},
            )
        return {"vat_exemption_reason": payload.vat_exemption_reason}
    return {}


def invoice_body(payload: InvoicePayload) -> dict:
    invoice = {
        "kind": payload.kind,
        "invoice_date": payload.issue_date.isoformat(),
        "sale_date": payload.sale_date.isoformat(),
        "payment_method": PAYMENT_METHODS.get(payload.payment_method, "other"),
        "currency": payload.currency,
        "notes": f"Zamówienie {payload.order_number} {marker(payload)}"
        + (f"\n{payload.notes}" if payload.notes else ""),
        "transaction_terms": {"orders": [{"number": payload.order_number, "date": payload.sale_date.isoformat()}]},
        "split_payment": payload.split_payment,
        "services": [
            {
                "name": line.name[:256],
                "tax_symbol": line.vat_rate,
                "unit": line.unit,
                "quantity": float(line.quantity),
                "gross_price": to_grosze(line.gross_total),
            }
            for line in payload.lines
        ],
        **_client_fields(payload),
        **_exemption_fields(payload),
        **_receipt_fields(payload),
    }
    if payload.due_date:
        invoice["payment_date"] = payload.due_date.isoformat()
    if payload.currency != "PLN":
        invoice["vat_exchange_date_kind"] = "vat"
    if payload.payment_method == "transfer" and payload.bank_account:
        invoice.update(bank_account=payload.bank_account, bank_name=payload.bank_name, swift=payload.swift)
    if payload.split_payment:
        invoice["split_payment_type"] = "required"
    return {"invoice": invoice, "send_to_ksef": False}


def _unit_net(line_unit_net: Decimal | None, unit_gross: Decimal, rate: str) -> int:
    if line_unit_net is not None:
        return to_grosze(line_unit_net)
    percent = Decimal(rate) if rate.isdigit() else Decimal(0)
    return to_grosze(unit_gross * 100 / (100 + percent))


def correction_body(payload: InvoicePayload) -> dict:
    """Two rows per `group` (before, after), priced by `unit_net_price` as inFakt prices corrections; the gross
    line totals go along (read-only for inFakt, the VAT check after creation compares its figures with ours)."""
    if not payload.client_id:
        raise ProviderRejected(
            "Korekta w inFakt wymaga klienta (client_id) — nie udało się go ustalić.",
            errors={"client_id": ["client_id required"]},
        )
    services = []
    for group, line in enumerate(payload.lines, start=1):
        base = {"name": line.name[:256], "tax_symbol": line.vat_rate, "unit": line.unit, "group": str(group)}
        services.append(
            {
                **base,
                "quantity": float(line.quantity_before),
                "correction": False,
                "unit_net_price": _unit_net(line.unit_price_net_before, line.unit_price_gross, line.vat_rate),
                "gross_price": to_grosze(line.gross_total_before),
            }
        )
        services.append(
            {
                **base,
                "quantity": float(line.quantity),
                "correction": True,
                "unit_net_price": _unit_net(line.unit_price_net, line.unit_price_gross, line.vat_rate),
                "gross_price": to_grosze(line.gross_total),
            }
        )
    notes = f"Zamówienie {payload.order_number} {marker(payload)}"
    if payload.correction_reason_text:
        notes += f"\nPrzyczyna korekty: {payload.correction_reason_text}"
    body = {
        "client_id": payload.client_id,
        "payment_method": PAYMENT_METHODS.get(payload.payment_method, "other"),
        "currency": payload.currency,
        "invoice_date": payload.issue_date.isoformat(),
        "sale_date_before_correction": (payload.corrected_sale_date or payload.sale_date).isoformat(),
        "corrected_invoice_number": payload.corrected_number,
        "corrected_invoice_date": payload.corrected_date.isoformat() if payload.corrected_date else None,
        "corrected_invoice_uuid": payload.corrected_uuid,
        "correction_reason": payload.correction_reason if payload.correction_reason == "mistake" else "other",
        "notes": notes,
        "transaction_terms": {"orders": [{"number": payload.order_number, "date": payload.sale_date.isoformat()}]},
        "services": services,
        **_exemption_fields(payload),
        **_receipt_fields(payload),
    }
    return {"corrective_invoice": body, "send_to_ksef": False}


def _normalise_basis(text: str) -> str:
    text = (text or "").lower().replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*ustaw[aye]\s+o\s+(podatku od towarów i usług|vat).*$", "", text).strip(" .,;")


def exemption_id(basis: str, exemptions: list[dict]) -> int | None:
    """The inFakt id of the exemption basis written on a document ("art. 113 ust. 1 i 9 ustawy o VAT" →
    the row whose `legal_basis_rule` it is): a bare id is taken as it is; the longest matching rule wins."""
    basis = (basis or "").strip()
    if basis.isdigit():
        return int(basis)
    wanted = _normalise_basis(basis)
    if not wanted:
        return None
    best, best_length = None, 0
    for row in exemptions:
        rule = _normalise_basis(row.get("legal_basis_rule") or "")
        matches = rule and (wanted == rule or re.search(rf"(^|\W){re.escape(rule)}($|\W)", wanted))
        if matches and len(rule) > best_length:
            best, best_length = row, len(rule)
    return int(best["id"]) if best else None


class InfaktProvider:
    id = "infakt"
    label = "inFakt"
    supports_receipts = False
    environments = ENVIRONMENTS

    def __init__(self, *, base_url: str, api_key: str, limiter_key: str = "infakt"):
        self.client = InfaktClient(base_url=base_url, api_key=api_key, limiter_key=limiter_key)

    def verify(self) -> AccountInfo:
        details = self.client.get("/account/details.json")
        company = details.get("company_data", {})
        banks = self.client.get("/bank_accounts.json", limit=100).get("entities", [])
        street = company.get("street") or " ".join(
            part for part in (company.get("street_name"), company.get("street_number")) if part
        )
        return AccountInfo(
            company_name=company.get("company_name", ""),
            nip=company.get("tax_id", ""),
            street=street,
            post_code=company.get("postal_code", ""),
            city=company.get("city", ""),
            bank_accounts=[
                {k: b.get(k, "") for k in ("bank_name", "account_number", "swift", "default")} for b in banks
            ],
        )

    def _resource(self, correction: bool) -> tuple[str, str]:
        return ("corrective_invoices", "corrective_invoices") if correction else ("invoices", "invoices")

    def create(self, payload: InvoicePayload, *, correction: bool = False) -> str:
        resource, _ = self._resource(correction)
        body = correction_body(payload) if correction else invoice_body(payload)
        answer = self.client.post(f"/async/{resource}.json", body)
        reference = answer.get("invoice_task_reference_number")
        if not reference:
            # accepted (2xx) but without a task reference: it may have been queued all the same
            raise ProviderUnavailable("inFakt nie zwrócił numeru zlecenia.", in_doubt=True)
        return reference

    def prepare(self, payload: InvoicePayload, *, correction: bool = False) -> InvoicePayload:
        """Reads (never writes a document) before a create: the exemption basis id for "zw" lines, and for a
        correction the client of the corrected invoice (inFakt refuses a correction without `client_id`)."""
        if any(line.vat_rate == "zw" for line in payload.lines) and payload.vat_exemption_reason is None:
            rows = self.client.get("/vat_exemptions.json", limit=100).get("entities", [])
            payload.vat_exemption_reason = exemption_id(payload.exemption_basis, rows)
            if payload.vat_exemption_reason is None:
                raise ProviderRejected(
                    f"Podstawa zwolnienia „{payload.exemption_basis or '(brak)'}” nie odpowiada żadnej podstawie "
                    "zwolnienia w inFakt — popraw ją w serii dokumentów.",
                    errors={"vat_exemption_reason": ["Nieznana podstawa zwolnienia z VAT."]},
                )
        if correction and not payload.client_id:
            payload.client_id = self._client_id(payload)
        return payload

    def _client_id(self, payload: InvoicePayload) -> int:
        """The corrected invoice's client; else the client with the buyer's NIP (lowest id); else a new one."""
        if payload.corrected_uuid:
            resource = "corrective_invoices" if payload.corrected_is_correction else "invoices"
            try:
                original = self.client.get(f"/{resource}/{payload.corrected_uuid}.json")
            except ProviderNotFound:
                original = {}
            if original.get("client_id"):
                return int(original["client_id"])
        buyer = payload.buyer
        nip = re.sub(r"[^0-9A-Za-z]", "", buyer.nip or "")
        if nip:
            rows = self.client.get("/clients.json", **{"q[clean_nip_eq]": nip, "limit": 100}).get("entities", [])
            ids = sorted(int(row["id"]) for row in rows if row.get("id"))
            if ids:
                return ids[0]
        first, _, last = (buyer.name or "Klient").partition(" ")
        client = {
            "company_name": buyer.company_name if (buyer.nip or buyer.company_name) else "",
            "first_name": "" if (buyer.nip or buyer.company_name) else first,
            "last_name": "" if (buyer.nip or buyer.company_name) else (last or first),
            "nip": buyer.nip,
            "street": buyer.street,
            "city": buyer.city,
            "postal_code": buyer.post_code,
            "country": buyer.country or "PL",
            "email": buyer.email,
            "business_activity_kind": "other_business" if buyer.nip else "private_person",
        }
        created = self.client.post("/clients.json", {"client": client})
        return int(created["id"])

    def task_status(self, reference: str, *, correction: bool = False) -> TaskStatus:
        resource, _ = self._resource(correction)
        try:
            answer = self.client.get(f"/async/{resource}/status/{reference}.json")
        except ProviderNotFound:
            # inFakt does not know (or no longer keeps) the task: its outcome is unknown, not failed
            return TaskStatus(done=False, unknown=True)
        code = answer.get("processing_code")
        if code == 201 and answer.get("invoice_uuid"):
            return TaskStatus(done=True, external_uuid=answer["invoice_uuid"])
        if code == 422:
            errors = answer.get("invoice_errors") or {}
            from .client import _errors_text

            raise TaskRejected(_errors_text(errors) or "inFakt odrzucił dokument.", errors=errors)
        return TaskStatus(done=False)

    # --- KSeF through inFakt (reference §11) ---------------------------------------------------------------------
    def ksef_send(self, uuid: str) -> ServiceKsefStatus:
        """Asks inFakt to send the document to KSeF. inFakt answers 422 both when the account has no KSeF integration
        and when the document was sent already: the status tells them apart (a sent document has one)."""
        try:
            return _ksef_status(self.client.post(f"/ksef2/documents/{uuid}/send.json", None))
        except ProviderNotFound:
            raise
        except ProviderRejected:
            status = self.ksef_status(uuid)
            if status.sent:
                return status
            raise

    def ksef_status(self, uuid: str) -> ServiceKsefStatus:
        try:
            answer = self.client.get(f"/ksef2/documents/{uuid}/status.json")
        except ProviderNotFound:
            return ServiceKsefStatus(status="", sent=False)
        return _ksef_status(answer)

    def get(self, uuid: str, *, correction: bool = False) -> ExternalInvoice:
        _, resource = self._resource(correction)
        return _external(self.client.get(f"/{resource}/{uuid}.json"), correction=correction)

    def pdf(self, uuid: str, *, correction: bool = False) -> bytes:
        _, resource = self._resource(correction)
        return self.client.request(
            "GET", f"/{resource}/{uuid}/pdf.json", params={"document_type": "original", "locale": "pl"}, raw=True
        )

    def find(self, payload: InvoicePayload, *, correction: bool = False) -> ExternalInvoice | None:
        """After an uncertain create: the document dated from its issue date to the next day (inFakt may date it
        by its own, Warsaw, calendar), of that buyer, carrying our marker in its notes (matched here: inFakt has
        no filter for notes). The gross total is not required to match: a difference is caught after adoption."""
        _, resource = self._resource(correction)
        params = {
            "q[invoice_date_gteq]": payload.issue_date.isoformat(),
            "q[invoice_date_lteq]": (payload.issue_date + timedelta(days=1)).isoformat(),
            "limit": 100,
            "offset": 0,
        }
        if payload.buyer.nip:
            params["q[clean_client_nip_eq]"] = payload.buyer.nip
        wanted = marker(payload)
        while True:
            page = self.client.get(f"/{resource}.json", **params)
            entities = page.get("entities") or []
            for entity in entities:
                if wanted in (entity.get("notes") or "") and entity.get("uuid"):
                    return _external(entity, correction=correction)
            params["offset"] += len(entities)
            if not entities or params["offset"] >= (page.get("metainfo") or {}).get("total_count", 0):
                return None


def _timestamp(value) -> datetime | None:
    """inFakt's "2024-01-15 16:00:00 +0100" (or ISO 8601)."""
    if not value:
        return None
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z"), datetime.fromisoformat):
        try:
            return parse(str(value))
        except ValueError:
            continue
    return None


def _ksef_status(data: dict | None) -> ServiceKsefStatus:
    if not data or not data.get("status"):
        return ServiceKsefStatus(status="", sent=False)
    return ServiceKsefStatus(
        status=str(data["status"]),
        ksef_number=data.get("ksef_number") or "",
        description=data.get("status_description") or "",
        finished_at=_timestamp((data.get("timestamps") or {}).get("request_finished_at")),
    )


def _grosze(value) -> Decimal:
    return Decimal(int(value)) / 100


def _external(data: dict, *, correction: bool) -> ExternalInvoice:
    """An invoice as inFakt reads it back: number, totals and VAT per rate (a correction: after − before)."""
    vat_by_rate: dict[str, Decimal] | None = None
    services = data.get("services") or []
    if services and all(isinstance(s.get("tax_price"), int) for s in services):
        vat_by_rate = {}
        for service in services:
            sign = -1 if correction and not service.get("correction") else 1
            symbol = str(service.get("tax_symbol"))
            vat_by_rate[symbol] = vat_by_rate.get(symbol, Decimal("0.00")) + sign * _grosze(service["tax_price"])
    orders = ((data.get("transaction_terms") or {}).get("orders")) or []
    return ExternalInvoice(
        uuid=data["uuid"],
        id=str(data.get("id", "")),
        number=data.get("number") or "",
        gross_total=_grosze(data.get("gross_price") or 0),
        vat_total=_grosze(data["tax_price"]) if isinstance(data.get("tax_price"), int) else None,
        vat_by_rate=vat_by_rate,
        order_numbers=[str(o.get("number")) for o in orders if isinstance(o, dict) and o.get("number")],
    )
