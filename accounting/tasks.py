"""Thin Celery tasks: ids in, re-read the row, call one service."""

import random

from celery import shared_task

from .sync import SyncRetry, document_sync


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
        raise self.retry(countdown=countdown + random.uniform(0, 1)) from retry
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
    return "issuing"


from . import ksef_tasks  # noqa: E402, F401 - registers the KSeF tasks (queue `ksef`) with the worker
