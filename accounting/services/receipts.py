"""Receipts (paragony): the fiscal print job of a receipt."""

from __future__ import annotations

from apilo.money import to_grosze

from ..models import Document

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
