"""Enqueueing work after commit, robustly.

The database row is the outbox: whatever must happen after a commit (an order event's automation, a document's
sync, a print job, a KSeF send) is already recorded by the transaction, and a beat sweeper picks up anything whose
enqueue was lost. Enqueueing is therefore best effort, and one failing enqueue (broker down) must never drop the
callbacks registered after it nor fail the request: `robust=True` and a log line, nothing more.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, using: str | None = None, **options) -> None:
    """After the current transaction commits, `task.apply_async(args, **options)`; never raises. Outside a
    transaction it runs at once (Django's on_commit semantics)."""

    def send():
        try:
            task.apply_async(args, **options)
        except Exception:  # broker unreachable, serialisation, …: the sweeper re-enqueues from the row
            logger.warning("enqueue failed, left for the sweeper", extra={"task": task.name}, exc_info=True)

    transaction.on_commit(send, using=using, robust=True)


def call_on_commit(func, *, using: str | None = None) -> None:
    """`transaction.on_commit(func, robust=True)`: an exception in `func` is logged, the other callbacks still
    run."""
    transaction.on_commit(func, using=using, robust=True)
