"""KSeF for documents issued through inFakt: inFakt builds the FA(3) XML and holds the KSeF session; we ask it once to
send a synced invoice or correction and read its KSeF status until final (reference: inFakt API §11).

    pending ──(send asked: `send_requested_at` committed before the call)──> sending ──(status polled)──> accepted
                                                                                                     └──> rejected

- Asked once: the ask is claimed with a conditional update before the call. Only when its answer was lost
  (timeout, 5xx) and inFakt then reports no KSeF data for the document is it asked again — inFakt itself refuses a
  second send of a sent document (422), so this can never send twice.
- Polled on the `ksef` queue with growing intervals (`INFAKT_KSEF_POLL_SECONDS` doubling up to
  `INFAKT_KSEF_POLL_MAX_SECONDS`); the KSeF sweeper (`accounting.sweep_ksef`) picks up anything not final whose
  task was lost.
- success + number → accepted (`Document.ksef_number` set too); error/rejected → rejected with inFakt's description.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.providers import (
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ServiceKsefStatus,
)
from integrations.registry import provider_for

from .models import Document, DocumentKind, InfaktKsefStatus, KsefState

logger = logging.getLogger(__name__)
FINAL = (KsefState.ACCEPTED, KsefState.REJECTED)


def _poll_base() -> float:
    return float(getattr(settings, "INFAKT_KSEF_POLL_SECONDS", 30.0))


def _poll_max() -> float:
    return float(getattr(settings, "INFAKT_KSEF_POLL_MAX_SECONDS", 600.0))


def infakt_ksef_applicable(document: Document) -> bool:
    integration = document.integration
    return (
        document.kind in (DocumentKind.INVOICE, DocumentKind.CORRECTION)
        and integration is not None
        and integration.provider == "infakt"
        and bool(document.external_uuid)
    )


def infakt_ksef_document_synced(document: Document) -> InfaktKsefStatus | None:
    """Called by the sync when a document reached `issued` in inFakt (inside its transaction): records the KSeF
    state and enqueues the send after commit — once per document."""
    if not infakt_ksef_applicable(document):
        return None
    row, created = InfaktKsefStatus.objects.get_or_create(document=document)
    if created:
        _enqueue(document.pk)
    return row


def _enqueue(document_id: int, countdown: float | None = None) -> None:
    from apilo.outbox import enqueue_on_commit

    from .ksef_tasks import infakt_ksef_task

    options = {"countdown": countdown} if countdown else {}
    enqueue_on_commit(infakt_ksef_task, document_id, **options)


class Outcome:
    def __init__(self, state: str, retry_in: float | None = None):
        self.state, self.retry_in = state, retry_in


def _save(row: InfaktKsefStatus, **fields) -> None:
    for name, value in fields.items():
        setattr(row, name, value)
    fields["updated_at"] = timezone.now()
    InfaktKsefStatus.objects.filter(pk=row.pk).update(**fields)


def infakt_ksef_process(*, document_id: int, scheduled: bool = False) -> Outcome:
    """One step for one document: ask inFakt to send (once), or read its KSeF status. Safe to repeat, concurrently
    (a lease keeps one worker per document; a scheduled run before the next attempt is a duplicate and does
    nothing)."""
    now = timezone.now()
    row = InfaktKsefStatus.objects.filter(document_id=document_id).first()
    if row is None or row.state in FINAL:
        return Outcome(row.state if row else KsefState.NOT_APPLICABLE)
    if scheduled and row.next_attempt_at is not None and row.next_attempt_at > now + dt.timedelta(seconds=0.2):
        return Outcome("early")
    until = now + dt.timedelta(seconds=settings.KSEF_LEASE_SECONDS)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if not InfaktKsefStatus.objects.filter(free, pk=row.pk).update(lease_until=until):
        return Outcome("busy")
    try:
        row = InfaktKsefStatus.objects.select_related("document__integration").get(pk=row.pk)
        outcome = _run(row)
    finally:
        InfaktKsefStatus.objects.filter(pk=row.pk).update(lease_until=None)
    if outcome.retry_in is not None:
        _save(row, next_attempt_at=timezone.now() + dt.timedelta(seconds=outcome.retry_in))
    else:
        _save(row, next_attempt_at=None)
    return outcome


def _run(row: InfaktKsefStatus) -> Outcome:
    document = row.document
    _save(row, attempts=row.attempts + 1)
    try:
        provider = provider_for(document.integration)
        if row.send_requested_at is None:
            status = _send(provider, row, first=True)
        else:
            status = provider.ksef_status(document.external_uuid)
            if row.send_in_doubt and status.sent:  # the lost answer's ask did reach inFakt
                _save(row, send_in_doubt=False)
            elif row.send_in_doubt:
                # the ask's answer was lost and it never reached inFakt: ask now (inFakt refuses a second send)
                status = _send(provider, row, first=False)
    except ProviderUnavailable as err:
        return _retry(row, err.message, err.retry_after)
    except ProviderAuthError as err:
        return _retry(row, err.message, None)
    except ProviderRejected as err:
        return _reject(row, _message(err), code="inFakt")
    except ProviderError as err:
        return _retry(row, err.message, None)
    return _apply(row, status)


def _send(provider, row: InfaktKsefStatus, *, first: bool) -> ServiceKsefStatus:
    before = {"send_requested_at": row.send_requested_at, "send_in_doubt": row.send_in_doubt}
    claim = InfaktKsefStatus.objects.filter(pk=row.pk)
    claim = claim.filter(send_requested_at__isnull=True) if first else claim.filter(send_in_doubt=True)
    now = timezone.now()
    if not claim.update(send_requested_at=now, send_in_doubt=True, state=KsefState.SENDING, updated_at=now):
        # another run asked meanwhile: only read
        return provider.ksef_status(row.document.external_uuid)
    row.send_requested_at, row.send_in_doubt, row.state = now, True, KsefState.SENDING
    try:
        status = provider.ksef_send(row.document.external_uuid)
    except ProviderUnavailable as err:
        if not err.in_doubt:  # refused before inFakt processed it (429, no connection): nothing was asked
            _save(row, **before)
        raise
    except ProviderRejected:
        _save(row, send_in_doubt=False)
        raise
    _save(row, send_in_doubt=False)
    logger.info("asked inFakt to send a document to KSeF", extra={"document": row.document_id})
    return status


def _message(err: ProviderRejected) -> str:
    texts = [
        str(m)
        for messages in (err.errors or {}).values()
        for m in (messages if isinstance(messages, list) else [messages])
    ]
    return "; ".join(texts) or err.message


def _retry(row: InfaktKsefStatus, message: str, retry_after: float | None) -> Outcome:
    if retry_after is not None:
        delay = max(float(retry_after), 0.0) + random.uniform(0, 0.05)
    else:
        delay = min(settings.KSEF_RETRY_BASE_SECONDS * 2 ** min(row.attempts, 12), settings.KSEF_RETRY_MAX_SECONDS)
        delay *= random.uniform(0.8, 1.2)
    _save(row, last_error=f"inFakt (KSeF): {message}"[:500])
    return Outcome(row.state, retry_in=delay)


def _reject(row: InfaktKsefStatus, description: str, *, code: str) -> Outcome:
    description = description or "Faktura nie może zostać wysłana do KSeF."
    _save(
        row,
        state=KsefState.REJECTED,
        service_status=code,
        errors=[{"code": code, "message": description, "details": []}],
        last_error=f"inFakt: dokument nie trafił do KSeF — {description}"[:500],
    )
    logger.warning("inFakt reports the document not in KSeF", extra={"document": row.document_id})
    return Outcome(row.state)


def _apply(row: InfaktKsefStatus, status: ServiceKsefStatus) -> Outcome:
    if status.status == "success" and status.ksef_number:
        acquired = status.finished_at or timezone.now()
        _save(
            row,
            state=KsefState.ACCEPTED,
            service_status=status.status,
            ksef_number=status.ksef_number,
            acquired_at=acquired,
            errors=[],
            last_error="",
        )
        Document.objects.filter(pk=row.document_id).update(ksef_number=status.ksef_number)
        logger.info("inFakt document accepted in KSeF", extra={"document": row.document_id})
        return Outcome(row.state)
    if status.status in ("error", "rejected"):
        return _reject(row, status.description, code=status.status)
    # pending, sent, no data yet, or a status we do not know: not final, read again later
    _save(row, state=KsefState.SENDING, service_status=status.status[:32], last_error="")
    delay = min(_poll_base() * 2 ** min(max(row.attempts - 1, 0), 10), _poll_max())
    return Outcome(row.state, retry_in=delay)


def infakt_ksef_due(limit: int = 500) -> list[int]:
    """Documents not final in KSeF whose task was lost (overdue by more than `KSEF_SWEEP_GRACE_SECONDS`), not
    leased."""
    now = timezone.now()
    late = now - dt.timedelta(seconds=settings.KSEF_SWEEP_GRACE_SECONDS)
    return list(
        InfaktKsefStatus.objects.exclude(state__in=FINAL)
        .filter(Q(next_attempt_at__isnull=True, updated_at__lte=late) | Q(next_attempt_at__lte=late))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("created_at")
        .values_list("document_id", flat=True)[:limit]
    )


def infakt_ksef_block(row: InfaktKsefStatus) -> dict:
    """The document's `"ksef"` JSON block, in the shape of a direct KSeF submission's."""
    return {
        "state": row.state,
        "number": row.ksef_number,
        "acquired_at": row.acquired_at.isoformat() if row.acquired_at else None,
        "upo_available": False,
        "errors": row.errors,
        "verification_url": None,  # inFakt's API gives no verification link, and we do not hold the XML bytes
        "offline_deadline": None,
        "last_error": row.last_error,
        "via": "infakt",
    }
