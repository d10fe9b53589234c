"""Receipts (paragony): the fiscal print job of a receipt."""

from __future__ import annotations

from apilo.money import to_grosze
from apilo.validators import normalize_nip

from ..models import Document, DocumentKind, DocumentState
from .errors import Unprocessable

RECEIPT_PAYMENTS = {"cash": "cash", "cod": "cash", "card": "card", "transfer": "transfer", "online": "transfer"}


def _receipt_print(document: Document, printer) -> None:
    """A fiscal receipt for the document: one print job per document (its idempotency key), printed after commit
    by the printer's own queue."""
    from devices import services as devices

    lines = [
        devices.ReceiptLine(
            name=line.name,
            quantity=f"{line.quantity.normalize():f}",
            unit_price=to_grosze(line.unit_price_gross),
            vat_rate=line.vat_rate,
        )
        for line in document.lines.all()
    ]
    total = to_grosze(document.total_gross)
    payload = devices.ReceiptPayload(
        lines=lines,
        total=total,
        nip=document.buyer.get("nip", ""),
        payments=[(RECEIPT_PAYMENTS.get(document.payment_method, "other"), total)],
    )
    job, created = devices.print_job_enqueue(
        printer=printer, kind="receipt", key=f"receipt-document-{document.pk}", payload=devices.receipt_payload(payload)
    )
    if created:
        devices.schedule(job)


def check_receipt_can_issue(series, order) -> None:
    """A receipt is a fiscal record: its series prints on a fiscal printer, and the printer sells in PLN only."""
    if not series.printer_id:
        raise Unprocessable(
            f"Seria paragonów „{series.name}” nie ma drukarki fiskalnej — paragon bez zapisu w kasie nie istnieje. "
            "Przypisz drukarkę w Administracja > Księgowość konfiguracja.",
            field="series",
        )
    if order.currency != "PLN":
        raise Unprocessable(
            f"Paragon wystawia się tylko w złotych — zamówienie jest w {order.currency}. Wystaw fakturę.",
            field="currency",
        )


def receipt_nip(receipt: Document) -> str:
    return normalize_nip((receipt.buyer or {}).get("nip", ""))


def receipt_for_invoice(order, *, buyer: dict, buyer_is_company: bool) -> Document | None:
    """The live receipt an invoice for this order replaces (faktura do paragonu, art. 106b ust. 3).

    A company buyer (with NIP) gets it only if the receipt carried that NIP (art. 106b ust. 5); a consumer may."""
    receipt = (
        Document.objects.filter(order=order, kind=DocumentKind.RECEIPT)
        .exclude(state=DocumentState.CANCELLED)
        .order_by("id")
        .first()
    )
    if receipt is None:
        return None
    nip = normalize_nip(buyer.get("nip", ""))
    if buyer_is_company and nip and receipt_nip(receipt) != nip:
        raise Unprocessable(
            f"Do paragonu {receipt.number} nie można wystawić faktury na firmę z NIP {nip}: paragon nie zawiera "
            "tego NIP (art. 106b ust. 5 ustawy o VAT; sankcja z art. 109 ust. 13). Można wystawić fakturę na osobę "
            "prywatną.",
            field="invoice_nip",
        )
    return receipt
