"""Sending invoices and corrections to KSeF 2.0, exactly once.

Issuing a document in a series linked to a KSeF connection creates a `KsefSubmission` in the issuing transaction
(the row is the outbox) holding the FA(3) bytes, made once: they are what is sent, hashed and printed. A task on
the `ksef` queue then walks the submission forward, one step at a time, each step committed before the next call:

    pending ──(session, send_started_at committed)──> send ──(invoice reference committed)──> poll ──> accepted
                                                                                               └──> rejected

- A lost answer after the send (timeout, dropped connection, 5xx) leaves `send_started_at` without a reference;
  the next step asks KSeF for the session's invoices and finds ours by its SHA-256. Only when KSeF has no such
  invoice is it sent again — and even then KSeF's duplicate key (seller NIP + RodzajFaktury + P_2) answers 440 with
  the original KSeF number, which is taken as ours. A second invoice is never created.
- 429 honours Retry-After; 5xx and timeouts back off exponentially; after `KSEF_OFFLINE_AFTER_SECONDS` of failure
  the document is marked offline with its legal deadline and keeps being retried until KSeF is back.
- A rejection (4xx status with codes) stops with KSeF's reasons in Polish; a correction or a new invoice is the
  way out. A correction of an invoice that is not yet in KSeF waits for its KSeF number (NrKSeFFaKorygowanej).
- One worker at a time per submission (a lease with an expiry); a retried or duplicated task does nothing twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import random
import socket
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict
from integrations.ksef.client import (
    InvoiceStatus,
    KsefError,
    KsefGateway,
    KsefRejected,
    KsefRetry,
    KsefSessionGone,
    certificate_url,
    verification_url,
)
from integrations.models import KsefConnectionState

from .models import Document, DocumentKind, DocumentState, KsefState, KsefSubmission

logger = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"
ACTIVE = (KsefState.PENDING, KsefState.SENDING, KsefState.OFFLINE)


# --- creating ------------------------------------------------------------------------------------------------------


def ksef_applicable(document: Document) -> bool:
    series = document.series
    return (
        document.kind in (DocumentKind.INVOICE, DocumentKind.CORRECTION)
        and series.ksef_connection_id is not None
        and not series.integration_id
    )


def ksef_series_check(series) -> None:
    """Series → KSeF connection rules (called by `series_save`): invoices and corrections only, not with inFakt
    (inFakt sends its own invoices to KSeF), and the seller's NIP must be the connection's."""
    connection = series.ksef_connection
    if connection is None:
        return
    if series.kind not in (DocumentKind.INVOICE, DocumentKind.CORRECTION):
        raise ApplicationError(
            "Do KSeF trafiają tylko faktury i faktury korygujące — paragonów i pro form nie łączy się z KSeF.",
            field="ksef_connection",
        )
    if series.integration_id:
        raise ApplicationError(
            "Seria połączona z inFakt wysyła faktury do KSeF przez inFakt — usuń połączenie z KSeF albo z inFakt.",
            field="ksef_connection",
        )
    if series.seller_nip != connection.nip:
        raise ApplicationError(
            f"NIP sprzedawcy serii ({series.seller_nip or 'brak'}) różni się od NIP połączenia z KSeF "
            f"({connection.nip}).",
            field="ksef_connection",
        )


def _waits_for_original(document: Document) -> bool:
    """A correction of an invoice on its way to KSeF waits for the original's KSeF number."""
    if document.kind != DocumentKind.CORRECTION or not document.corrected_document_id:
        return False
    original = KsefSubmission.objects.filter(document_id=document.corrected_document_id).first()
    return original is not None and original.state != KsefState.ACCEPTED


def _make_xml(submission: KsefSubmission) -> None:
    """The FA(3) bytes, made once. Invalid XML (schema or arithmetic) is a local rejection with the issues."""
    from .ksef import KsefInvalid, document_ksef_xml

    document = Document.objects.select_related("corrected_document").get(pk=submission.document_id)
    try:
        xml = document_ksef_xml(document)
    except KsefInvalid as err:
        submission.state = KsefState.REJECTED
        submission.errors = [
            {"code": "FA3", "message": f"{issue.element}: {issue.reason}", "details": []} for issue in err.issues
        ]
        submission.last_error = "Dokument nie przechodzi walidacji FA(3) — nie został wysłany do KSeF."
        return
    except Exception:  # a generator failure must not undo the issuing: recorded, retried with "Wyślij do KSeF"
        logger.exception("FA(3) generation failed", extra={"document": document.pk})
        submission.state = KsefState.REJECTED
        submission.errors = [{"code": "FA3", "message": "Nie udało się utworzyć pliku FA(3).", "details": []}]
        submission.last_error = "Nie udało się utworzyć pliku FA(3) — dokument nie został wysłany do KSeF."
        return
    submission.xml = xml
    submission.sha256 = hashlib.sha256(xml).hexdigest()


def ksef_document_issued(document: Document) -> KsefSubmission | None:
    """Called at the end of the issuing transaction (invoice or correction). Records the submission and, when
    the connection sends automatically, enqueues the send after commit."""
    if not ksef_applicable(document):
        return None
    submission, created = KsefSubmission.objects.get_or_create(
        document=document, defaults={"connection_id": document.series.ksef_connection_id}
    )
    if not created:
        return submission
    if not _waits_for_original(document):
        _make_xml(submission)
    if submission.connection.offline24 and submission.state == KsefState.PENDING:
        # the seller's choice (art. 106nda): issued offline, sent with offlineMode by the next working day
        submission.state = KsefState.OFFLINE
        submission.offline_since = timezone.now()
        submission.offline_deadline = _next_working_day(document.issue_date)
    submission.save()
    if submission.state != KsefState.REJECTED and submission.connection.send_automatically:
        _enqueue(submission.pk)
    return submission


def _enqueue(submission_id: int, countdown: float | None = None) -> None:
    from apilo.outbox import enqueue_on_commit

    from .ksef_tasks import ksef_send_task

    options = {"countdown": countdown} if countdown else {}
    enqueue_on_commit(ksef_send_task, submission_id, **options)


def ksef_send_now(*, document: Document) -> KsefSubmission:
    """ "Wyślij do KSeF": send now, or again after a fixable failure (connection, token, outage). 409 when the
    document is already in KSeF, was rejected by KSeF (a correction or a new invoice is the way out), or does not
    go to KSeF at all."""
    submission = KsefSubmission.objects.filter(document=document).first()
    if submission is None:
        if document.state != DocumentState.ISSUED or not ksef_applicable(document):
            raise Conflict("Ten dokument nie trafia do KSeF (seria bez połączenia z KSeF lub rodzaj dokumentu).")
        with transaction.atomic():
            submission = ksef_document_issued(document)
    with transaction.atomic():
        locked = KsefSubmission.objects.select_for_update().get(pk=submission.pk)
        if locked.state == KsefState.ACCEPTED:
            raise Conflict(f"Dokument jest już w KSeF (numer {locked.ksef_number}).")
        if locked.state == KsefState.REJECTED:
            if locked.sends:
                raise Conflict("KSeF odrzucił ten dokument — wystaw korektę lub nową fakturę z poprawionymi danymi.")
            _make_xml(locked)  # rejected locally (FA(3) invalid): check again
            if not locked.xml:
                locked.save()
                raise ApplicationError(locked.last_error, extra={"errors": locked.errors})
            locked.state, locked.errors, locked.last_error = KsefState.PENDING, [], ""
        locked.next_attempt_at = None
        locked.requested_at = timezone.now()
        locked.save()
        _enqueue(locked.pk)
    return locked


# --- processing ----------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    state: str
    retry_in: float | None = None  # seconds until the next step, None when nothing is left to do


def _save(submission: KsefSubmission, **fields) -> None:
    """Commit one step (outside any transaction: every step is durable before the next call)."""
    for name, value in fields.items():
        setattr(submission, name, value)
    fields["updated_at"] = timezone.now()
    KsefSubmission.objects.filter(pk=submission.pk).update(**fields)


def _acquire(submission_id: int) -> bool:
    now = timezone.now()
    until = now + dt.timedelta(seconds=settings.KSEF_LEASE_SECONDS)
    return bool(
        KsefSubmission.objects.filter(pk=submission_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=WORKER, lease_until=until)
    )


def _release(submission_id: int) -> None:
    KsefSubmission.objects.filter(pk=submission_id, lease_owner=WORKER).update(lease_owner="", lease_until=None)


def ksef_submission_process(*, submission_id: int, scheduled: bool = False) -> Outcome:
    """One run of the state machine for one submission. Safe to call any number of times, concurrently.

    `scheduled` (tasks): a run that finds another worker on it, or comes before the submission's next attempt, is
    a duplicate delivery — it does nothing and schedules nothing, so duplicates never multiply."""
    if scheduled:
        due = KsefSubmission.objects.filter(pk=submission_id).values_list("next_attempt_at", flat=True).first()
        if due is not None and due > timezone.now() + dt.timedelta(seconds=0.2):
            return Outcome("early")
    if not _acquire(submission_id):
        return Outcome("busy", retry_in=None if scheduled else settings.KSEF_RETRY_BASE_SECONDS)
    try:
        submission = KsefSubmission.objects.select_related("connection", "document").get(pk=submission_id)
        outcome = _run(submission)
    finally:
        _release(submission_id)
    if outcome.retry_in is not None:
        _save(submission, next_attempt_at=timezone.now() + dt.timedelta(seconds=outcome.retry_in))
    return outcome


def _backoff(submission: KsefSubmission, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(float(retry_after), 0.0) + random.uniform(0, 0.05)
    base = settings.KSEF_RETRY_BASE_SECONDS * 2 ** min(submission.attempts, 12)
    return min(base, settings.KSEF_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


def _next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _run(submission: KsefSubmission) -> Outcome:
    if submission.state == KsefState.REJECTED:
        return Outcome(submission.state)
    if submission.state == KsefState.ACCEPTED:
        if not submission.upo:
            with KsefGateway(submission.connection) as gateway:
                try:
                    _fetch_upo(gateway, submission)
                except KsefError as err:
                    return _retry(submission, err)
        return Outcome(submission.state)
    if not submission.xml:
        if _waits_for_original(submission.document):
            _save(submission, last_error="Czeka na numer KSeF faktury korygowanej.")
            return Outcome(submission.state, retry_in=max(settings.KSEF_RETRY_BASE_SECONDS * 5, 1.0))
        _make_xml(submission)
        _save(
            submission,
            xml=submission.xml,
            sha256=submission.sha256,
            state=submission.state,
            errors=submission.errors,
            last_error=submission.last_error,
        )
        if submission.state == KsefState.REJECTED:
            return Outcome(submission.state)
    with KsefGateway(submission.connection) as gateway:
        try:
            outcome = _advance(gateway, submission)
        except KsefSessionGone as err:
            if err.code == 401:
                gateway.forget_tokens()
            elif submission.session_reference:
                gateway.drop_session(submission.session_reference)
            return _retry(submission, err, retry_after=0)
        except KsefRetry as err:
            return _retry(submission, err, retry_after=err.retry_after)
        except KsefRejected as err:
            if err.code in (403, 415, 425, 450, 460, 480, None) or err.code in range(21300, 21400):
                # the connection's credentials, not the document: keep trying, slowly; the admin sees why
                type(submission.connection).objects.filter(pk=submission.connection_id).update(
                    state=KsefConnectionState.FAILING, last_error=err.message[:500]
                )
                return _retry(submission, err)
            _reject(submission, [{"code": err.code, "message": err.message, "details": err.details}])
            return Outcome(submission.state)
        finally:
            _save(submission, attempts=submission.attempts + 1)
    return outcome


def _retry(submission: KsefSubmission, err: KsefError, retry_after: float | None = None) -> Outcome:
    delay = _backoff(submission, retry_after)
    now = timezone.now()
    fields = {"last_error": err.message[:500], "next_attempt_at": now + dt.timedelta(seconds=delay)}
    failing_for = (now - submission.created_at).total_seconds()
    if (
        submission.state != KsefState.OFFLINE
        and not submission.invoice_reference
        and isinstance(err, KsefRetry)
        and failing_for > settings.KSEF_OFFLINE_AFTER_SECONDS
    ):
        fields.update(
            state=KsefState.OFFLINE,
            offline_since=now,
            offline_deadline=_next_working_day(timezone.localdate()),
        )
    _save(submission, **fields)
    logger.info("KSeF send postponed", extra={"submission": submission.pk, "delay": round(delay, 2)})
    return Outcome(submission.state, retry_in=delay)


def _reject(submission: KsefSubmission, errors: list[dict]) -> None:
    _save(
        submission,
        state=KsefState.REJECTED,
        errors=errors,
        last_error="Odrzucony przez KSeF: " + "; ".join(e["message"] for e in errors)[:450],
        next_attempt_at=None,
    )
    logger.warning("KSeF rejected a document", extra={"document": submission.document_id})


def _hash_b64(submission: KsefSubmission) -> str:
    return base64.b64encode(bytes.fromhex(submission.sha256)).decode("ascii")


def _advance(gateway: KsefGateway, submission: KsefSubmission) -> Outcome:
    token = gateway.access_token()
    status: InvoiceStatus | None = None
    if submission.invoice_reference:
        status = gateway.status(submission.session_reference, submission.invoice_reference, token)
    elif submission.send_started_at and submission.session_reference:
        # the answer to our send was lost: did KSeF receive it?
        status = gateway.find_by_hash(submission.session_reference, _hash_b64(submission), token)
        if status is not None:
            _save(submission, invoice_reference=status.reference)
        else:
            _save(submission, send_started_at=None)
    if status is None:
        state = gateway.session(token)
        _save(
            submission,
            session_reference=state.reference_number,
            send_started_at=timezone.now(),
            sends=submission.sends + 1,
            state=KsefState.SENDING if submission.state != KsefState.OFFLINE else KsefState.OFFLINE,
        )
        try:
            reference = gateway.send(state, bytes(submission.xml), token, offline=submission.state == KsefState.OFFLINE)
        except KsefSessionGone:
            _save(submission, send_started_at=None)  # refused synchronously: certainly not received
            raise
        except KsefRetry as err:
            if not err.uncertain:
                _save(submission, send_started_at=None)
            raise
        _save(submission, invoice_reference=reference)
        status = gateway.status(submission.session_reference, reference, token)
    for _ in range(5):
        if not status.processing:
            break
        time.sleep(settings.KSEF_POLL_SECONDS)
        status = gateway.status(submission.session_reference, submission.invoice_reference, token)
    return _conclude(gateway, submission, status)


def _conclude(gateway: KsefGateway, submission: KsefSubmission, status: InvoiceStatus) -> Outcome:
    if status.processing:
        _save(submission, last_error="")
        return Outcome(submission.state, retry_in=settings.KSEF_POLL_SECONDS)
    if status.code == 200:
        _accept(submission, status.ksef_number, status.acquired_at, status.invoicing_mode)
        _fetch_upo(gateway, submission)
        return Outcome(submission.state)
    if status.code == 440 and status.extensions.get("originalKsefNumber"):
        # KSeF already has this invoice (same seller NIP, kind and number): that one is ours.
        number = status.extensions["originalKsefNumber"]
        original_session = status.extensions.get("originalSessionReferenceNumber") or ""
        _save(submission, session_reference=original_session or submission.session_reference, invoice_reference="")
        _accept(submission, number, None, "")
        _fetch_upo(gateway, submission)
        return Outcome(submission.state)
    if status.code in (500, 550):
        # KSeF lost it on its side: send again (a duplicate is impossible, see above)
        _save(submission, invoice_reference="", send_started_at=None)
        raise KsefRetry(f"KSeF nie przetworzył faktury (kod {status.code}); ponowimy wysyłkę.")
    _reject(submission, [{"code": status.code, "message": status.message, "details": status.details}])
    return Outcome(submission.state)


def _accept(submission: KsefSubmission, number: str, acquired_at, mode: str) -> None:
    with transaction.atomic():
        _save(
            submission,
            state=KsefState.ACCEPTED,
            ksef_number=number,
            acquired_at=acquired_at,
            invoicing_mode=mode,
            errors=[],
            last_error="",
            next_attempt_at=None,
        )
        Document.objects.filter(pk=submission.document_id).update(ksef_number=number)
    logger.info("KSeF accepted a document", extra={"document": submission.document_id})
    _refresh_pdf(submission)
    waiting = KsefSubmission.objects.filter(
        document__corrected_document_id=submission.document_id, state__in=ACTIVE
    ).values_list("pk", flat=True)
    for pk in waiting:
        _enqueue(pk)


def _refresh_pdf(submission: KsefSubmission) -> None:
    """A PDF rendered before the KSeF number existed (KOD I labelled OFFLINE) is rendered once more with the
    number; the stored file is replaced and its hash updated."""
    if submission.pdf_refreshed:
        return
    document = Document.objects.get(pk=submission.document_id)
    if not document.pdf:
        return
    from django.core.files.base import ContentFile

    from .pdf import render_pdf

    try:
        content = render_pdf(document)
    except Exception:  # a rendering problem must not undo the acceptance; the old PDF stays
        logger.exception("re-rendering the PDF after KSeF acceptance failed", extra={"document": document.pk})
        return
    document.pdf.save(f"{document.number.replace('/', '_')}.pdf", ContentFile(content), save=False)
    document.pdf_sha256 = hashlib.sha256(content).hexdigest()
    document.save(update_fields=["pdf", "pdf_sha256"])
    _save(submission, pdf_refreshed=True)


def _fetch_upo(gateway: KsefGateway, submission: KsefSubmission) -> None:
    token = gateway.access_token()
    upo = gateway.upo(
        submission.session_reference,
        token,
        invoice_reference=submission.invoice_reference,
        ksef_number="" if submission.invoice_reference else submission.ksef_number,
    )
    fields = {"upo": upo}
    if submission.acquired_at is None:
        fields["acquired_at"] = _upo_acquired_at(upo)
    _save(submission, **fields)
    Document.objects.filter(pk=submission.document_id).update(ksef_upo=upo.decode("utf-8", "replace"))


def _upo_acquired_at(upo: bytes):
    from lxml import etree

    try:
        root = etree.fromstring(upo)
    except etree.XMLSyntaxError:
        return None
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.endswith("DataNadaniaNumeruKSeF") and element.text:
            try:
                return dt.datetime.fromisoformat(element.text.replace("Z", "+00:00"))
            except ValueError:
                return None
    return None


# --- sweeping ------------------------------------------------------------------------------------------------------


def ksef_due_submissions(limit: int = 500) -> list[int]:
    """Work whose enqueue or worker was lost: active (or accepted without UPO), overdue by more than
    `KSEF_SWEEP_GRACE_SECONDS` (a live task chain is never that late), not leased."""
    now = timezone.now() - dt.timedelta(seconds=settings.KSEF_SWEEP_GRACE_SECONDS)
    manual_waiting = Q(connection__send_automatically=False, requested_at__isnull=True, sends=0)
    return list(
        KsefSubmission.objects.filter(Q(state__in=ACTIVE) | Q(state=KsefState.ACCEPTED, upo=b""))
        .filter(Q(next_attempt_at__isnull=True, updated_at__lte=now) | Q(next_attempt_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
        .exclude(manual_waiting)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def ksef_close_idle_sessions() -> int:
    """Closes online sessions nobody used for `KSEF_SESSION_IDLE_SECONDS` (KSeF then prepares their UPO)."""
    from integrations.models import KsefConnection

    cutoff = timezone.now() - dt.timedelta(seconds=settings.KSEF_SESSION_IDLE_SECONDS)
    closed = 0
    for connection in KsefConnection.objects.exclude(session_reference="").filter(session_last_used_at__lt=cutoff):
        with KsefGateway(connection) as gateway:
            try:
                gateway.close_session(connection.session_reference, gateway.access_token())
            except KsefError:
                logger.info("closing an idle KSeF session failed", extra={"ksef_connection": connection.pk})
                continue
        closed += 1
    return closed


# --- reading -------------------------------------------------------------------------------------------------------


def document_ksef_block(document: Document) -> dict:
    """The document's `"ksef"` JSON block."""
    submission = getattr(document, "ksef_submission", None) if document.pk else None
    if submission is None and document.pk:
        from .infakt_ksef import infakt_ksef_block

        via_infakt = getattr(document, "infakt_ksef", None)
        if via_infakt is not None:
            return infakt_ksef_block(via_infakt)
    if submission is None:
        return {
            "state": KsefState.NOT_APPLICABLE.value,
            "number": "",
            "acquired_at": None,
            "upo_available": False,
            "errors": [],
            "verification_url": "",
        }
    return {
        "state": submission.state,
        "number": submission.ksef_number,
        "acquired_at": submission.acquired_at.isoformat() if submission.acquired_at else None,
        "upo_available": bool(submission.upo),
        "errors": submission.errors,
        "verification_url": submission_verification_url(submission),
        "offline_deadline": submission.offline_deadline.isoformat() if submission.offline_deadline else None,
        "last_error": submission.last_error,
    }


def submission_verification_url(submission: KsefSubmission) -> str:
    """KOD I: built from the seller's NIP, the issue date and the SHA-256 of the exact bytes sent."""
    if not submission.sha256:
        return ""
    return verification_url(
        submission.connection, issue_date=submission.document.issue_date, sha256_b64=_hash_b64(submission)
    )


def document_ksef_upo(*, document: Document) -> bytes:
    submission = getattr(document, "ksef_submission", None)
    if submission is None or not submission.upo:
        raise Conflict("UPO nie jest jeszcze dostępne — dokument nie został przyjęty w KSeF.")
    return bytes(submission.upo)


def document_ksef_qr(document: Document) -> dict | None:
    """KOD I for the PDF and the preview: `{"url", "label", "png", "data_uri"}` — the verification link of the
    exact bytes sent, labelled with the KSeF number, or "OFFLINE" while there is none. None outside KSeF."""
    submission = getattr(document, "ksef_submission", None) if document.pk else None
    if submission is None or not submission.sha256:
        return None
    from ksef_client.services.qr import add_label_to_qr, generate_qr_png

    url = submission_verification_url(submission)
    label = submission.ksef_number if submission.state == KsefState.ACCEPTED else "OFFLINE"
    png = add_label_to_qr(generate_qr_png(url, box_size=6, border=4), label, font_size=14)
    qr = {
        "url": url,
        "label": label,
        "png": png,
        "data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "certificate": None,
    }
    offline = submission.state == KsefState.OFFLINE or submission.invoicing_mode == "Offline"
    if offline and submission.connection.offline_certificate_serial:
        # KOD II: the issuer, proven with the KSeF certificate of type Offline
        link = certificate_url(submission.connection, sha256_b64=_hash_b64(submission))
        second = add_label_to_qr(generate_qr_png(link, box_size=4, border=4), "CERTYFIKAT", font_size=14)
        qr["certificate"] = {
            "url": link,
            "label": "CERTYFIKAT",
            "png": second,
            "data_uri": "data:image/png;base64," + base64.b64encode(second).decode("ascii"),
        }
    return qr
