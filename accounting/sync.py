"""Sending documents to an accounting service (inFakt), exactly once.

The local document (state `issuing`) exists before any call. Before the create goes out the document is marked "in
doubt" (with the time); the task reference is saved the moment inFakt returns it. After a create whose outcome is
unknown (timeout, lost answer, 5xx, an unknown task) nothing is created again: the sync looks the invoice up by the
marker it carries (`[ref D<id>]` in its notes, the order number in `transaction_terms`), with backoff, until
`INFAKT_DOUBT_WINDOW_SECONDS` have passed, then stops in "wymaga uwagi" for a person. **Ponów** from there looks
once more and only then may create.

One worker at a time: a lease with an owner token, renewed while the sync waits (rate limiter, polling), cleared
only by its owner. Every exception ends in a visible state: retried (still `issuing`, the error recorded) or, past
the bound, `failed` (nothing can exist in the service) or `attention` (something may). State moves go through the
document state table.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations import ratelimit
from integrations.models import ConnectionState
from integrations.providers import (
    ExternalInvoice,
    InvoiceLine,
    InvoicePayload,
    Party,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
    TaskRejected,
)
from integrations.registry import provider_for

from .models import Document, DocumentKind, DocumentState, SyncState
from .states import DOCUMENT_STATES

logger = logging.getLogger(__name__)

DOUBT_MESSAGE = "Sprawdź w inFakt, czy faktura powstała, i ponów."


# --- the payload -----------------------------------------------------------------------------------------------
def _correction_lines(document: Document) -> list[InvoiceLine]:
    """Every line of the corrected document as a before/after pair: the changed ones as the correction stored
    them, the others unchanged (as the corrected document stands now)."""
    from .services import document_current_lines
    from .vat import line_amounts

    changed = {line.position: line for line in document.lines.all()}
    current = document_current_lines(document.corrected_document)
    lines = []
    for position in sorted(set(current) | set(changed)):
        line = changed.get(position)
        if line is not None and line.quantity_before is not None:
            lines.append(
                InvoiceLine(
                    name=line.name,
                    unit=line.unit,
                    vat_rate=line.vat_rate,
                    quantity=line.quantity,
                    gross_total=line.gross,
                    unit_price_gross=line.unit_price_gross,
                    unit_price_net=line.unit_price_net,
                    quantity_before=line.quantity_before,
                    gross_total_before=line.gross_before,
                    unit_price_net_before=line.unit_price_net_before,
                )
            )
            continue
        old = current[position]
        amounts = line_amounts(old.quantity, old.unit_price_gross, old.vat_rate)
        lines.append(
            InvoiceLine(
                name=old.name,
                unit=old.unit,
                vat_rate=old.vat_rate,
                quantity=old.quantity,
                gross_total=amounts.gross,
                unit_price_gross=old.unit_price_gross,
                unit_price_net=amounts.unit_price_net,
                quantity_before=old.quantity,
                gross_total_before=amounts.gross,
                unit_price_net_before=amounts.unit_price_net,
            )
        )
    return lines


def _receipt_number(document: Document) -> str:
    """The receipt an invoice (or the invoice a correction) was issued to. Expects `Document.receipt_document`
    (a link to the receipt); until it exists, the order's live receipt of an invoice marked `issued_to_receipt`."""
    target = document.corrected_document if document.kind == DocumentKind.CORRECTION else document
    if target is None:
        return ""
    receipt = getattr(target, "receipt_document", None)
    if receipt is None and target.issued_to_receipt and target.order_id:
        receipt = (
            Document.objects.filter(order_id=target.order_id, kind=DocumentKind.RECEIPT)
            .exclude(state=DocumentState.CANCELLED)
            .order_by("pk")
            .first()
        )
    return (receipt.number or "") if receipt is not None else ""


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
                unit_price_net=line.unit_price_net,
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
        corrected_sale_date=corrected.sale_date if corrected else None,
        corrected_is_correction=bool(corrected and corrected.kind == DocumentKind.CORRECTION),
        correction_reason=(document.correction_reason_code or "other") if correction else "",
        correction_reason_text=document.correction_reason if correction else "",
        exemption_basis=document.exemption_basis,
        receipt_number=_receipt_number(document),
    )


# --- the lease ---------------------------------------------------------------------------------------------------
class SyncRetry(Exception):
    """Not done yet (the service is processing, or failed in a way worth retrying). `in_doubt`: a create's
    outcome is unknown and the sync is looking for it; such retries are bounded by the doubt window, not a count."""

    def __init__(self, reason: str, countdown: float | None = None, *, in_doubt: bool = False):
        super().__init__(reason)
        self.countdown = countdown
        self.in_doubt = in_doubt


class LeaseLost(Exception):
    """Another worker holds the document now (our lease expired and was taken): stop, touch nothing."""


def lease_seconds() -> int:
    return settings.SYNC_LEASE_SECONDS


class Lease:
    """One worker's hold on one document. Renewed while the worker waits; only its owner renews or clears it."""

    def __init__(self, document_id: int, token: str):
        self.document_id = document_id
        self.token = token
        self._renewed = time.monotonic()

    def _mine(self):
        return Document.objects.filter(pk=self.document_id, sync_lease_owner=self.token)

    def renew(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._renewed < max(lease_seconds() / 10, 1):
            return
        if not self._mine().update(sync_lease_until=timezone.now() + timedelta(seconds=lease_seconds())):
            raise LeaseLost(f"document {self.document_id}")
        self._renewed = time.monotonic()

    def write(self, document: Document, **fields) -> None:
        """Record fields only while we still hold the lease (the step before a create)."""
        if not self._mine().update(**fields):
            raise LeaseLost(f"document {self.document_id}")
        for name, value in fields.items():
            setattr(document, name, value)

    def release(self, *, reserve_seconds: float | None = None) -> None:
        """Clear our lease (never another worker's). `reserve_seconds`: a retry is scheduled that far ahead, so
        the sweeper leaves the document alone until then (any worker may still take it: it has no owner)."""
        until = timezone.now() + timedelta(seconds=reserve_seconds) if reserve_seconds else None
        self._mine().update(sync_lease_until=until, sync_lease_owner="")


def take_lease(document_id: int) -> Lease | None:
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = (
        Document.objects.filter(pk=document_id, state=DocumentState.ISSUING)
        .exclude(sync_state=SyncState.SYNCED)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now) | Q(sync_lease_owner=""))
        .update(
            sync_lease_until=now + timedelta(seconds=lease_seconds()),
            sync_lease_owner=token,
            sync_attempts=F("sync_attempts") + 1,
        )
    )
    return Lease(document_id, token) if taken else None


# --- the sync --------------------------------------------------------------------------------------------------
def _update(document: Document, **fields) -> None:
    for name, value in fields.items():
        setattr(document, name, value)
    Document.objects.filter(pk=document.pk).update(**fields)


def document_sync(*, document_id: int, final_attempt: bool = False) -> Document:
    """Advance one document towards `issued` in its accounting service. Safe to call any number of times,
    from any number of workers: a lease lets one work on a document at a time, and every step is committed
    before the next call out."""
    lease = take_lease(document_id)
    if lease is None:
        document = Document.objects.get(pk=document_id)
        if document.state != DocumentState.ISSUING or document.sync_state == SyncState.SYNCED:
            return document
        raise SyncRetry("Inny proces wysyła już ten dokument.", countdown=5)
    reserve = None
    try:
        document = Document.objects.select_related("integration", "corrected_document").get(pk=document_id)
        with ratelimit.while_waiting(lease.renew):
            return _sync(document, lease, final_attempt)
    except SyncRetry as retry:
        reserve = (retry.countdown or 0) + 60
        raise
    except LeaseLost:
        logger.warning("sync lease lost to another worker", extra={"document": document_id})
        lease = None
        return Document.objects.get(pk=document_id)
    finally:
        if lease is not None:
            lease.release(reserve_seconds=reserve)


def _may_exist(document: Document) -> bool:
    """Could the service hold this document already (so that creating it again could make a second one)?"""
    return bool(document.sync_in_doubt or document.external_task_ref or document.external_uuid)


def _sync(document: Document, lease: Lease, final_attempt: bool) -> Document:
    correction = document.kind == DocumentKind.CORRECTION
    try:
        provider = provider_for(document.integration)
        if not document.external_uuid and document.external_task_ref:
            _wait_for_task(provider, document, lease, correction)
        if not document.external_uuid and not document.external_task_ref:
            payload = document_payload(document)
            prepare = getattr(provider, "prepare", None)
            if prepare is not None:
                payload = prepare(payload, correction=correction)
            if document.sync_in_doubt:
                found = provider.find(payload, correction=correction)
                if found:
                    logger.info("adopted a document found after an uncertain create", extra={"document": document.pk})
                    # progress: the attempts spent looking do not count against what is left to do
                    lease.write(
                        document, external_uuid=found.uuid, sync_in_doubt=False, sync_doubt_since=None, sync_attempts=0
                    )
                elif document.sync_doubt_since is not None:
                    return _still_in_doubt(document)
                # else a person checked inFakt and asked again (Ponów): looked once more, now it may be created
            if not document.external_uuid:
                _create(provider, payload, document, lease, correction)
                _wait_for_task(provider, document, lease, correction)
            if not document.external_uuid:  # the task turned out unknown: look for it again later
                return _still_in_doubt(document)
        external = provider.get(document.external_uuid, correction=correction)
        pdf = provider.pdf(document.external_uuid, correction=correction)
        return _complete(document, external, pdf)
    except (SyncRetry, LeaseLost):
        raise
    except ProviderRejected as err:
        return _give_up(document, err.message, err.errors)
    except ProviderAuthError as err:
        integration = document.integration
        integration.state, integration.last_error = ConnectionState.FAILING, err.message
        integration.save(update_fields=["state", "last_error"])
        return _give_up(document, err.message, {})
    except ProviderUnavailable as err:
        return _retry_or_give_up(document, err.message, err.retry_after, final_attempt)
    except TimeoutError as err:  # the shared rate limiter found no slot in time
        logger.warning("rate limiter timeout during sync", extra={"document": document.pk})
        return _retry_or_give_up(
            document, f"Limit zapytań do inFakt — brak wolnego terminu ({err}).", None, final_attempt
        )
    except Exception as err:  # Redis down, a missing key in an answer, …: never leave the document stuck
        logger.exception("unexpected error during sync", extra={"document": document.pk})
        message = f"Nieoczekiwany błąd podczas wysyłania do inFakt ({type(err).__name__})."
        return _retry_or_give_up(document, message, None, final_attempt)


def _create(provider, payload: InvoicePayload, document: Document, lease: Lease, correction: bool) -> None:
    # From here until the reference is saved, a lost answer leaves us in doubt: recorded before the call, and
    # only while we still hold the lease (so two workers can never both create).
    lease.write(document, sync_in_doubt=True, sync_doubt_since=timezone.now())
    try:
        reference = provider.create(payload, correction=correction)
    except ProviderUnavailable as err:
        if not err.in_doubt:  # refused before processing (429, connect error): nothing was created
            _update(document, sync_in_doubt=False, sync_doubt_since=None)
        raise
    except (ProviderRejected, ProviderAuthError):  # 4xx: nothing was created
        _update(document, sync_in_doubt=False, sync_doubt_since=None)
        raise
    _update(document, external_task_ref=reference, sync_in_doubt=False, sync_doubt_since=None)


def _doubt_window_left(document: Document) -> float:
    elapsed = (timezone.now() - document.sync_doubt_since).total_seconds()
    return settings.INFAKT_DOUBT_WINDOW_SECONDS - elapsed


def _doubt_countdown(document: Document) -> float:
    """Backoff while in doubt: wait about as long as we have been in doubt (so the pauses double), at least the
    first recheck pause, at most 2 minutes, and not past the end of the window."""
    elapsed = (timezone.now() - document.sync_doubt_since).total_seconds()
    pause = min(max(elapsed, settings.INFAKT_DOUBT_RECHECK_SECONDS), 120.0)
    return max(min(pause, _doubt_window_left(document) + 1), 1.0)


def _still_in_doubt(document: Document) -> Document:
    """Not found (yet). Within the window: look again later, never create. After it: a person decides."""
    if _doubt_window_left(document) > 0:
        message = "Nie wiadomo jeszcze, czy inFakt utworzył dokument — sprawdzamy ponownie, nic nie tworzymy."
        _update(document, sync_last_error=message)
        raise SyncRetry(message, countdown=_doubt_countdown(document), in_doubt=True)
    minutes = round(settings.INFAKT_DOUBT_WINDOW_SECONDS / 60)
    return _attention(document, f"inFakt nie potwierdził dokumentu przez {minutes} min. {DOUBT_MESSAGE}")


def _retry_or_give_up(document: Document, message: str, countdown: float | None, final_attempt: bool) -> Document:
    """A transient error: retry (the error recorded, still `issuing`), or after the bound give up visibly."""
    document.refresh_from_db(fields=["sync_in_doubt", "sync_doubt_since", "external_task_ref", "external_uuid"])
    _update(document, sync_last_error=message)
    if document.sync_in_doubt and document.sync_doubt_since is not None and _doubt_window_left(document) > 0:
        raise SyncRetry(message, countdown=_doubt_countdown(document), in_doubt=True)
    if final_attempt or document.sync_attempts >= settings.SYNC_MAX_ATTEMPTS:
        return _give_up(document, f"{message} Nie udało się po {document.sync_attempts} próbach.", {})
    raise SyncRetry(message, countdown=countdown)


def _wait_for_task(provider, document: Document, lease: Lease, correction: bool) -> None:
    delay = settings.INFAKT_POLL_SECONDS
    for _ in range(8):
        try:
            status = provider.task_status(document.external_task_ref, correction=correction)
        except TaskRejected:
            # processed and refused: nothing exists in the service, so a fixed document may be sent again
            _update(document, external_task_ref="", sync_in_doubt=False, sync_doubt_since=None)
            raise
        if status.done:
            _update(document, external_uuid=status.external_uuid)
            return
        if status.unknown:
            # inFakt does not know the task (any more): whether it made the invoice is unknown — look for it
            logger.warning("unknown task reference, looking the document up", extra={"document": document.pk})
            _update(
                document,
                external_task_ref="",
                sync_in_doubt=True,
                sync_doubt_since=document.sync_doubt_since or timezone.now(),
            )
            return
        ratelimit.waiting()
        time.sleep(delay)
        delay = min(delay * 2, 10)
    raise ProviderUnavailable("inFakt wciąż przetwarza dokument — sprawdzimy ponownie.")


# --- outcomes ----------------------------------------------------------------------------------------------------
def _move(document: Document, target: str, **fields) -> Document:
    """A state move through the table, under a row lock; returns the fresh row."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.state != target:
            DOCUMENT_STATES.move(locked, target)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=["state", *fields])
    return locked


def _give_up(document: Document, message: str, errors: dict) -> Document:
    """The bound is reached or the service refused: `failed` when nothing can exist in the service (Ponów may
    create), `attention` when something may (a person checks first)."""
    document.refresh_from_db(fields=["sync_in_doubt", "external_task_ref", "external_uuid"])
    if _may_exist(document):
        return _attention(document, f"{message} {DOUBT_MESSAGE}", errors)
    logger.warning("document sync failed", extra={"document": document.pk})
    return _move(
        document,
        DocumentState.FAILED,
        sync_state=SyncState.FAILED,
        sync_last_error=message,
        sync_errors=errors,
    )


def _attention(document: Document, message: str, errors: dict | None = None) -> Document:
    logger.warning("document needs attention", extra={"document": document.pk})
    return _move(
        document,
        DocumentState.ATTENTION,
        sync_state=SyncState.FAILED,
        sync_last_error=message,
        sync_errors=errors or {},
    )


def _money(value: Decimal, currency: str) -> str:
    return f"{value:.2f}".replace(".", ",") + f" {currency}"


def _rate_label(rate: str) -> str:
    return f"{rate}%" if rate.isdigit() else rate


def figures_difference(document: Document, external: ExternalInvoice) -> str:
    """Our VAT per rate and total against the service's; "" when they agree, else both figures, in Polish."""
    from .vat import RATE_ORDER

    currency = document.currency
    differences = []
    ours = {row["rate"]: Decimal(str(row["vat"])) for row in document.vat_summary or []}
    if external.vat_by_rate is not None:
        theirs = external.vat_by_rate
        for rate in sorted(set(ours) | set(theirs), key=lambda r: RATE_ORDER.index(r) if r in RATE_ORDER else 99):
            a, b = theirs.get(rate, Decimal("0.00")), ours.get(rate, Decimal("0.00"))
            if a != b:
                differences.append(
                    f"VAT {_rate_label(rate)}: inFakt {_money(a, currency)}, u nas {_money(b, currency)}"
                )
    elif external.vat_total is not None and external.vat_total != document.total_vat:
        differences.append(
            f"VAT razem: inFakt {_money(external.vat_total, currency)}, u nas {_money(document.total_vat, currency)}"
        )
    if external.gross_total != document.total_gross:
        differences.append(
            f"brutto: inFakt {_money(external.gross_total, currency)}, u nas {_money(document.total_gross, currency)}"
        )
    if not differences:
        return ""
    return (
        "Kwoty w inFakt różnią się od naszych — "
        + "; ".join(differences)
        + ". Sprawdź dokument w inFakt i zdecyduj (korekta)."
    )


def _complete(document: Document, external: ExternalInvoice, pdf: bytes) -> Document:
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        locked.external_number = external.number
        locked.external_uuid = external.uuid
        locked.external_id = external.id
        locked.sync_state = SyncState.SYNCED
        locked.sync_in_doubt, locked.sync_doubt_since = False, None
        difference = figures_difference(locked, external)
        target = DocumentState.ATTENTION if difference else DocumentState.ISSUED
        if locked.state == target or DOCUMENT_STATES.allowed(locked.state, target):
            if locked.state != target:
                DOCUMENT_STATES.move(locked, target)
            locked.number = external.number
            locked.sync_last_error = difference
            locked.sync_errors = {}
            if pdf:
                locked.pdf.save(f"{external.number.replace('/', '_')}.pdf", ContentFile(pdf), save=False)
                locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        else:
            # e.g. cancelled meanwhile: inFakt's document exists all the same — keep its number and say so
            locked.sync_last_error = (
                f"inFakt wystawił dokument {external.number}, a dokument ma tu stan „{locked.get_state_display()}” "
                "— sprawdź go w inFakt i w razie potrzeby wystaw korektę."
            )
            logger.error("service created a document for a document no longer issuing", extra={"document": locked.pk})
        locked.save()
        if locked.state == DocumentState.ISSUED:
            from .infakt_ksef import infakt_ksef_document_synced

            infakt_ksef_document_synced(locked)  # KSeF through inFakt: asked after commit, once
    if difference:
        logger.warning("service figures differ", extra={"document": locked.pk})
    logger.info("document synced", extra={"document": locked.pk, "number": locked.number})
    return locked


# --- Ponów, scheduling, the sweeper -----------------------------------------------------------------------------
def document_sync_retry(*, document: Document) -> Document:
    """ "Ponów" on a failed or attention document: back to issuing. The next sync polls a known task, else looks
    the invoice up once more before it may create (a person has checked inFakt)."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.state not in (DocumentState.FAILED, DocumentState.ATTENTION) or locked.integration_id is None:
            return locked
        DOCUMENT_STATES.move(locked, DocumentState.ISSUING)
        locked.sync_state = SyncState.PENDING
        locked.sync_attempts = 0
        # look before creating again; no doubt window: a person decided
        locked.sync_in_doubt = not locked.external_uuid
        locked.sync_doubt_since = None
        locked.sync_lease_until, locked.sync_lease_owner = None, ""
        locked.save()
        schedule_sync(locked)
    return locked


def schedule_sync(document: Document) -> None:
    from apilo.outbox import enqueue_on_commit

    from .tasks import document_sync_task

    enqueue_on_commit(document_sync_task, document.pk)


def documents_sweep() -> list[int]:
    """Re-enqueue documents left `issuing` with no live lease, older than `SWEEP_MIN_AGE_SECONDS` (a lost
    enqueue, a worker that died mid-sync). Each is claimed with a conditional update that reserves it for that
    long, so any number of sweepers, run at once or again and again, enqueue it once per period."""
    from apilo.outbox import enqueue_on_commit

    from .tasks import document_sync_task

    now = timezone.now()
    min_age = timedelta(seconds=settings.SWEEP_MIN_AGE_SECONDS)
    orphaned = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    candidates = list(
        Document.objects.filter(orphaned, state=DocumentState.ISSUING, integration__isnull=False)
        .exclude(sync_state=SyncState.SYNCED)
        .filter(created_at__lt=now - min_age)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    swept = []
    for pk in candidates:
        claimed = (
            Document.objects.filter(orphaned, pk=pk, state=DocumentState.ISSUING)
            .exclude(sync_state=SyncState.SYNCED)
            .update(sync_lease_until=now + min_age, sync_lease_owner="")
        )
        if claimed:
            swept.append(pk)
            enqueue_on_commit(document_sync_task, pk)
    if swept:
        logger.info("sweeper resumed documents", extra={"documents": swept})
    return swept
