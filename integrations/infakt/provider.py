"""inFakt as an accounting provider: InvoicePayload → inFakt JSON (integer grosze, gross line totals, currency
always sent), async create + status, read back number and PDF, look an invoice up after an uncertain failure."""

from __future__ import annotations

from decimal import Decimal

from apilo.money import to_grosze
from integrations.providers import (
    AccountInfo,
    ExternalInvoice,
    InvoicePayload,
    ProviderRejected,
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


def invoice_body(payload: InvoicePayload) -> dict:
    invoice = {
        "kind": payload.kind,
        "invoice_date": payload.issue_date.isoformat(),
        "sale_date": payload.sale_date.isoformat(),
        "payment_method": PAYMENT_METHODS.get(payload.payment_method, "other"),
        "currency": payload.currency,
        "notes": f"Zamówienie {payload.order_number} [ref {payload.reference}]"
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


def correction_body(payload: InvoicePayload) -> dict:
    services = []
    for group, line in enumerate(payload.lines, start=1):
        base = {"name": line.name[:256], "tax_symbol": line.vat_rate, "unit": line.unit, "group": str(group)}
        services.append(
            {
                **base,
                "quantity": float(line.quantity_before),
                "correction": False,
                "gross_price": to_grosze(line.gross_total_before),
            }
        )
        services.append(
            {**base, "quantity": float(line.quantity), "correction": True, "gross_price": to_grosze(line.gross_total)}
        )
    body = {
        "payment_method": PAYMENT_METHODS.get(payload.payment_method, "other"),
        "currency": payload.currency,
        "invoice_date": payload.issue_date.isoformat(),
        "corrected_invoice_number": payload.corrected_number,
        "corrected_invoice_date": payload.corrected_date.isoformat() if payload.corrected_date else None,
        "corrected_invoice_uuid": payload.corrected_uuid,
        "correction_reason": payload.correction_reason or "other",
        "notes": f"Zamówienie {payload.order_number} [ref {payload.reference}]",
        "services": services,
        **_client_fields(payload),
    }
    return {"corrective_invoice": body, "send_to_ksef": False}


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
            raise ProviderRejected("inFakt nie zwrócił numeru zlecenia.", errors={"base": [str(answer)[:200]]})
        return reference

    def task_status(self, reference: str, *, correction: bool = False) -> TaskStatus:
        resource, _ = self._resource(correction)
        answer = self.client.get(f"/async/{resource}/status/{reference}.json")
        code = answer.get("processing_code")
        if code == 201 and answer.get("invoice_uuid"):
            return TaskStatus(done=True, external_uuid=answer["invoice_uuid"])
        if code == 422:
            errors = answer.get("invoice_errors") or {}
            from .client import _errors_text

            raise ProviderRejected(_errors_text(errors) or "inFakt odrzucił dokument.", errors=errors)
        return TaskStatus(done=False)

    def get(self, uuid: str, *, correction: bool = False) -> ExternalInvoice:
        _, resource = self._resource(correction)
        data = self.client.get(f"/{resource}/{uuid}.json")
        return ExternalInvoice(
            uuid=data["uuid"],
            id=str(data.get("id", "")),
            number=data.get("number", ""),
            gross_total=Decimal(data.get("gross_price", 0)) / 100,
        )

    def pdf(self, uuid: str, *, correction: bool = False) -> bytes:
        _, resource = self._resource(correction)
        return self.client.request(
            "GET", f"/{resource}/{uuid}/pdf.json", params={"document_type": "original", "locale": "pl"}, raw=True
        )

    def find(self, payload: InvoicePayload, *, correction: bool = False) -> ExternalInvoice | None:
        """After an uncertain create: the invoice of that date, buyer and gross total carrying our reference."""
        _, resource = self._resource(correction)
        params = {"q[invoice_date_eq]": payload.issue_date.isoformat(), "limit": 100, "offset": 0}
        if payload.buyer.nip:
            params["q[clean_client_nip_eq]"] = payload.buyer.nip
        marker = f"[ref {payload.reference}]"
        while True:
            page = self.client.get(f"/{resource}.json", **params)
            entities = page.get("entities", [])
            for entity in entities:
                if marker in (entity.get("notes") or "") and entity.get("gross_price") == to_grosze(
                    payload.total_gross
                ):
                    return ExternalInvoice(
                        uuid=entity["uuid"],
                        id=str(entity.get("id", "")),
                        number=entity.get("number", ""),
                        gross_total=Decimal(entity["gross_price"]) / 100,
                    )
            params["offset"] += len(entities)
            if not entities or params["offset"] >= page.get("metainfo", {}).get("total_count", 0):
                return None
