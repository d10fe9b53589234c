"""Thin Celery tasks: ids in, re-read the row, call one service."""

import random

from celery import shared_task

from .sync import SyncRetry, document_sync, documents_sweep


@shared_task(name="accounting.document_sync", queue="documents", bind=True, acks_late=True, max_retries=12)
def document_sync_task(self, document_id: int) -> str:
    """Idempotent by construction (every step is recorded before the next), hence acks_late."""
    try:
        document = document_sync(document_id=document_id, final_attempt=self.request.retries >= self.max_retries)
    except SyncRetry as retry:
        if self.request.is_eager:
            # In-process mode (no broker): retry inline after a short pause, bounded like the worker.
            return _retry_inline(document_id)
        countdown = retry.countdown if retry.countdown is not None else min(2**self.request.retries, 60)
        # While a create's outcome is unknown the sync only looks; those retries end with the doubt window (the
        # sync then moves the document to "wymaga uwagi"), not after a count.
        max_retries = self.request.retries + 1 if retry.in_doubt else self.max_retries
        raise self.retry(countdown=countdown + random.uniform(0, 1), max_retries=max_retries) from retry
    return document.state


def _retry_inline(document_id: int) -> str:
    import time

    from django.conf import settings

    attempts = settings.SYNC_MAX_ATTEMPTS
    for attempt in range(attempts):
        time.sleep(min(settings.SYNC_RETRY_BASE_SECONDS * 2**attempt, 2) + random.uniform(0, 0.05))
        try:
            return document_sync(document_id=document_id, final_attempt=attempt == attempts - 1).state
        except SyncRetry:
            continue
    return "issuing"  # still in doubt: the documents sweeper resumes it


@shared_task(name="accounting.sweep_documents", queue="documents")
def sweep_documents() -> int:
    """Beat: re-enqueue documents left `issuing` with no live lease (safe to run any number of times, at once)."""
    return len(documents_sweep())


from . import ksef_tasks  # noqa: E402, F401 - registers the KSeF tasks (queue `ksef`) with the worker
