"""Thin Celery tasks for KSeF (queue `ksef`): ids in, one service call, the next step scheduled by countdown."""

import time

from celery import shared_task
from django.conf import settings

from .infakt_ksef import infakt_ksef_due, infakt_ksef_process
from .ksef_send import ksef_close_idle_sessions, ksef_due_submissions, ksef_submission_process


def _step(task, step, pk: int) -> str:
    """Run one step; schedule the next by countdown (in-process mode: a few quick steps inline, then the sweeper
    takes over)."""
    outcome = step(pk)
    if outcome.retry_in is None:
        return outcome.state
    if task.request.is_eager:
        deadline = time.monotonic() + settings.KSEF_EAGER_SECONDS
        while outcome.retry_in is not None and time.monotonic() + outcome.retry_in < deadline:
            time.sleep(outcome.retry_in)
            outcome = step(pk)
        return outcome.state
    task.apply_async((pk,), countdown=outcome.retry_in)
    return outcome.state


@shared_task(name="accounting.ksef_send", queue="ksef", bind=True, acks_late=True, ignore_result=True)
def ksef_send_task(self, submission_id: int) -> str:
    """Idempotent (every step is recorded before the next call; a lease keeps one worker per submission)."""
    return _step(self, lambda pk: ksef_submission_process(submission_id=pk, scheduled=True), submission_id)


@shared_task(name="accounting.sweep_ksef", queue="ksef", ignore_result=True)
def sweep_ksef() -> int:
    """Beat: re-enqueue due KSeF work whose enqueue or worker was lost; close idle online sessions."""
    due = ksef_due_submissions()
    for pk in due:
        ksef_send_task.apply_async((pk,))
    via_infakt = infakt_ksef_due()
    for document_id in via_infakt:
        infakt_ksef_task.apply_async((document_id,))
    ksef_close_idle_sessions()
    return len(due) + len(via_infakt)


@shared_task(name="accounting.infakt_ksef", queue="ksef", bind=True, acks_late=True, ignore_result=True)
def infakt_ksef_task(self, document_id: int) -> str:
    """KSeF through inFakt: ask inFakt once to send, then read the status until final (idempotent, leased)."""
    return _step(self, lambda pk: infakt_ksef_process(document_id=pk, scheduled=True), document_id)
