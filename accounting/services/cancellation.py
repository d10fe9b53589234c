"""Cancellation: only of a document that never left the application (art. 108: one sale, one live invoice).

Anything delivered (e-mailed, printed on the fiscal printer, synced to an accounting service, sent to KSeF) is
fixed by a correction instead. The reasons are collected by one function so that new channels add a line there.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict

from ..models import Document, DocumentState, EmailState
from ..states import DOCUMENT_STATES

DELIVERED_MESSAGE = "Dokument został już przekazany — wystaw korektę."
# Fields a KSeF sender may add to Document; any of them set means the document went (or is going) to KSeF.
KSEF_SUBMISSION_FIELDS = ("ksef_number", "ksef_reference_number", "ksef_session_reference", "ksef_submitted_at")
KSEF_SUBMISSION_RELATIONS = ("ksef_submission", "ksefsubmission", "submission")
# Print-job states in which the fiscal printer may have printed the receipt.
PRINTED_JOB_STATES = ("printing", "done", "attention")


def document_delivery_reasons(document: Document) -> list[str]:
    """Why the document can no longer be cancelled: every way it has left the application, in Polish.
    Empty when it never left."""
    from devices.models import PrintJob

    reasons = []
    if document.state == DocumentState.ISSUING:
        reasons.append("dokument jest w trakcie wystawiania w serwisie zewnętrznym")
    if document.emails.filter(state__in=[EmailState.SENT, EmailState.SENDING]).exists():
        reasons.append("został wysłany e-mailem do nabywcy")
    job = PrintJob.objects.filter(idempotency_key=f"receipt-document-{document.pk}").first()
    if job is not None and (job.state in PRINTED_JOB_STATES or (job.result or {}).get("receipt_number")):
        reasons.append("paragon został wydrukowany na drukarce fiskalnej")
    if _reached_accounting_service(document):
        reasons.append("został przekazany do serwisu księgowego")
    if any(getattr(document, field, None) for field in KSEF_SUBMISSION_FIELDS):
        reasons.append("został wysłany do KSeF")
    else:
        submission = _ksef_submission(document)
        if submission is not None and getattr(submission, "state", "") not in ("", "rejected"):
            reasons.append(
                "czeka na wysyłkę do KSeF"
                if getattr(submission, "state", "") == "pending"
                else "został wysłany do KSeF"
            )
    return reasons


def _ksef_submission(document: Document):
    """The KSeF sending record (a one-to-one model the KSeF sender adds), if the document has one."""
    from django.core.exceptions import ObjectDoesNotExist

    for name in KSEF_SUBMISSION_RELATIONS:
        try:
            related = getattr(document, name, None)
        except ObjectDoesNotExist:
            related = None
        if related is not None:
            return related
    return None


def _reached_accounting_service(document: Document) -> bool:
    """Synced, being synced, or possibly created there. Only a document the service refused outright (failed, with
    no trace of it in the service and no doubt) never reached it."""
    if document.external_uuid or document.external_id or document.external_task_ref:
        return True
    if document.sync_in_doubt or getattr(document, "sync_doubt_since", None):
        return True
    return bool(document.integration_id) and document.state != DocumentState.FAILED


@transaction.atomic
def document_cancel(*, document: Document, reason: str, actor=None) -> Document:
    """Record a cancellation. The number stays used and the document stays listed; nothing is deleted."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.state == DocumentState.CANCELLED:
        raise Conflict("Dokument jest już anulowany.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Podaj powód anulowania.", field="reason")
    delivered = document_delivery_reasons(document)
    if delivered:
        raise Conflict(f"{DELIVERED_MESSAGE} Powód: {'; '.join(delivered)}.", extra={"reasons": delivered})
    if document.corrections.exclude(state=DocumentState.CANCELLED).exists():
        raise Conflict("Dokument ma korekty — najpierw anuluj korekty albo wystaw kolejną korektę.")
    if document.kind == "receipt":
        from devices.services import print_job_cancel

        # a receipt still waiting in the printer's queue never prints (a printing or printed one raises Conflict)
        print_job_cancel(key=f"receipt-document-{document.pk}", reason=reason)
    fields = DOCUMENT_STATES.move(document, DocumentState.CANCELLED)
    document.cancelled_at = timezone.now()
    document.cancelled_by = actor if getattr(actor, "is_authenticated", False) else None
    document.cancel_reason = reason
    document.save(update_fields=[*fields, "cancelled_at", "cancelled_by", "cancel_reason"])
    return document
