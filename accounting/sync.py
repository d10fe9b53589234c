"""Sending documents to an accounting service (inFakt), exactly once.

The local document (state `issuing`) exists before any call. The task reference is saved the moment inFakt
returns it; an uncertain create (timeout after sending, lost answer) is looked up in the service before anything
is created again. Every step re-reads the row under a lock, so a retried or duplicated task does nothing twice.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import ConnectionState
from integrations.providers import (
    InvoiceLine,
    InvoicePayload,
    Party,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
)
from integrations.registry import provider_for

from .models import Document, DocumentKind, DocumentState, SyncState

logger = logging.getLogger(__name__)


def _correction_lines(document: Document) -> list[InvoiceLine]:
    from .services import document_current_lines
    from .vat import line_amounts

    before = document_current_lines(document.corrected_document)
    changed = {line.position: line for line in document.lines.all()}
    lines = []
    for position, old in sorted(before.items()):
        old_gross = line_amounts(old.quantity, old.unit_price_gross, old.vat_rate).gross
        new = changed.get(position)
        lines.append(
            InvoiceLine(
                name=old.name,
                unit=old.unit,
                vat_rate=old.vat_rate,
                quantity_before=old.quantity,
                gross_total_before=old_gross,
                quantity=new.quantity if new else old.quantity,
                gross_total=new.gross if new else old_gross,
                unit_price_gross=new.unit_price_gross if new else old.unit_price_gross,
            )
        )
    return lines


def document_payload(document: Document) -> InvoicePayload:
    buyer = document.buyer
    correction = document.kind == DocumentKind.CORRECTION
    if correction:
        lines = _correction_lines(document)
    else:
        lines = [
            InvoiceLine(
                name=line.name,
                unit=line.unit,
                quantity=line.quantity,
                vat_rate=line.vat_rate,
                gross_total=line.gross,
                unit_price_gross=line.unit_price_gross,
            )
            for line in document.lines.all()
        ]
    corrected = document.corrected_document
    return InvoicePayload(
        reference=f"D{document.pk}",
        order_number=document.order_number,
        issue_date=document.issue_date,
        sale_date=document.sale_date,
        due_date=document.due_date,
        payment_method=document.payment_method,
        currency=document.currency,
        buyer=Party(
            company_name=buyer.get("company_name", ""),
            name=buyer.get("name", ""),
            nip=buyer.get("nip", ""),
            street=buyer.get("street", ""),
            post_code=buyer.get("post_code", ""),
            city=buyer.get("city", ""),
            country=buyer.get("country", "PL"),
            email=buyer.get("email", ""),
        ),
        lines=lines,
        total_gross=document.total_gross,
        kind="proforma" if document.kind == DocumentKind.PROFORMA else "vat",
        bank_account=document.seller.get("bank_account", ""),
        bank_name=document.seller.get("bank_name", ""),
        swift=document.seller.get("bank_swift", ""),
        split_payment=document.split_payment,
        notes=document.notes,
        corrected_number=(corrected.external_number or corrected.number) if corrected else "",
        corrected_date=corrected.issue_date if corrected else None,
        corrected_uuid=corrected.external_uuid if corrected else "",
        correction_reason=document.correction_reason_code if correction else "",
    )


def _update(document: Document, **fields) -> None:
    for name, value in fields.items():
        setattr(document, name, value)
    Document.objects.filter(pk=document.pk).update(**fields)


class SyncRetry(Exception):
    """Not done yet (the service is processing, or failed in a way worth retrying)."""

    def __init__(self, reason: str, countdown: float | None = None):
        super().__init__(reason)
        self.countdown = countdown


LEASE_SECONDS = 120


def _take_lease(document_id: int) -> bool:
    now = timezone.now()
    return bool(
        Document.objects.filter(pk=document_id, state=DocumentState.ISSUING)
        .exclude(sync_state=SyncState.SYNCED)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .update(sync_lease_until=now + timedelta(seconds=LEASE_SECONDS), sync_attempts=F("sync_attempts") + 1)
    )


def document_sync(*, document_id: int, final_attempt: bool = False) -> Document:
    """Advance one document towards `issued` in its accounting service. Safe to call any number of times,
    from any number of workers: a lease lets one work on a document at a time, and every step is committed
    before the next call out."""
    if not _take_lease(document_id):
        document = Document.objects.get(pk=document_id)
        if document.state != DocumentState.ISSUING or document.sync_state == SyncState.SYNCED:
            return document
        raise SyncRetry("Inny proces wysyła już ten dokument.", countdown=5)
    document = Document.objects.select_related("integration", "corrected_document").get(pk=document_id)
    try:
        return _sync(document, final_attempt)
    finally:
        Document.objects.filter(pk=document_id).update(sync_lease_until=None)


def _sync(document: Document, final_attempt: bool) -> Document:
    provider = provider_for(document.integration)
    correction = document.kind == DocumentKind.CORRECTION
    try:
        if not document.external_uuid:
            if not document.external_task_ref:
                payload = document_payload(document)
                found = provider.find(payload, correction=correction) if document.sync_in_doubt else None
                if found:
                    logger.info("adopted invoice found after an uncertain create", extra={"document": document.pk})
                    _update(document, external_uuid=found.uuid, sync_in_doubt=False)
                else:
                    # From here until the reference is saved, a lost answer leaves us in doubt.
                    _update(document, sync_in_doubt=True)
                    try:
                        reference = provider.create(payload, correction=correction)
                    except ProviderUnavailable as err:
                        if not err.in_doubt:  # refused before processing (429, connect error): nothing was created
                            _update(document, sync_in_doubt=False)
                        raise
                    _update(document, external_task_ref=reference, sync_in_doubt=False)
            if not document.external_uuid:
                _wait_for_task(provider, document, correction)
        external = provider.get(document.external_uuid, correction=correction)
        pdf = provider.pdf(document.external_uuid, correction=correction)
    except ProviderRejected as err:
        return _fail(document, err.message, err.errors)
    except ProviderAuthError as err:
        integration = document.integration
        integration.state, integration.last_error = ConnectionState.FAILING, err.message
        integration.save(update_fields=["state", "last_error"])
        return _fail(document, err.message, {})
    except ProviderUnavailable as err:
        _update(document, sync_last_error=err.message)
        if final_attempt or document.sync_attempts >= settings.SYNC_MAX_ATTEMPTS:
            return _fail(document, f"{err.message} Nie udało się po {document.sync_attempts} próbach.", {})
        raise SyncRetry(err.message, countdown=err.retry_after) from err
    return _complete(document, external, pdf)


def _wait_for_task(provider, document: Document, correction: bool) -> None:
    delay = settings.INFAKT_POLL_SECONDS
    for _ in range(8):
        status = provider.task_status(document.external_task_ref, correction=correction)
        if status.done:
            _update(document, external_uuid=status.external_uuid)
            return
        time.sleep(delay)
        delay = min(delay * 2, 10)
    raise ProviderUnavailable("inFakt wciąż przetwarza dokument — sprawdzimy ponownie.")


def _fail(document: Document, message: str, errors: dict) -> Document:
    _update(
        document, state=DocumentState.FAILED, sync_state=SyncState.FAILED, sync_last_error=message, sync_errors=errors
    )
    logger.warning("document sync failed", extra={"document": document.pk})
    return document


def _complete(document: Document, external, pdf: bytes) -> Document:
    import hashlib

    from django.core.files.base import ContentFile

    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.state != DocumentState.ISSUING:
            return locked
        locked.number = external.number
        locked.external_number = external.number
        locked.external_uuid = external.uuid
        locked.external_id = external.id
        locked.state = DocumentState.ISSUED
        locked.sync_state = SyncState.SYNCED
        locked.sync_last_error = ""
        locked.sync_errors = {}
        if locked.external_number and external.gross_total != locked.total_gross:
            logger.warning("external total differs", extra={"document": locked.pk})
        locked.pdf.save(f"{external.number.replace('/', '_')}.pdf", ContentFile(pdf), save=False)
        locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.save()
    logger.info("document synced", extra={"document": locked.pk, "number": locked.number})
    return locked


def document_sync_retry(*, document: Document) -> Document:
    """ "Ponów" on a failed document: back to issuing; the next sync looks the invoice up before creating."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.state != DocumentState.FAILED or locked.integration_id is None:
            return locked
        locked.state = DocumentState.ISSUING
        locked.sync_state = SyncState.PENDING
        locked.sync_attempts = 0
        # the earlier attempt may have created it after all: look before creating again
        locked.sync_in_doubt = True
        locked.external_task_ref = "" if not locked.external_uuid else locked.external_task_ref
        locked.save()
        schedule_sync(locked)
    return locked


def schedule_sync(document: Document) -> None:
    from apilo.outbox import enqueue_on_commit

    from .tasks import document_sync_task

    enqueue_on_commit(document_sync_task, document.pk)
