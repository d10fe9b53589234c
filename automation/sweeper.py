"""The order-event sweeper: the `OrderEvent` row is the outbox of automation.

An event is enqueued after its transaction commits. If the broker was down at that moment, the process died
between commit and enqueue, or a worker died with the task, the event stays without a `ProcessedEvent` marker (the
engine writes it when it has finished with the event). Beat runs `sweep_events` every `SWEEP_INTERVAL_SECONDS`;
it enqueues again every event older than `SWEEP_EVENT_MIN_AGE_SECONDS` that has no marker (or is still marked
waiting), with a backoff per event so a long queue is not flooded with copies. Processing is idempotent (a
`TaskRun` is unique per task and event, each action checks what it already did), so a copy that races the
original delivery does nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from orders.models import OrderEvent

from .models import EventRedelivery, ProcessedEvent, RunState

logger = logging.getLogger(__name__)

HORIZON = timedelta(days=7)  # older events are history, not work
BATCH = 500


def events_to_sweep(*, now=None, limit: int = BATCH) -> list[int]:
    """Ids of events the engine has not finished with, old enough that their delivery was lost."""
    now = now or timezone.now()
    min_age = timedelta(seconds=settings.SWEEP_EVENT_MIN_AGE_SECONDS)
    finished = ProcessedEvent.objects.filter(event=OuterRef("pk")).exclude(state=RunState.WAITING)
    waiting_recently = ProcessedEvent.objects.filter(
        event=OuterRef("pk"), state=RunState.WAITING, updated_at__gt=now - min_age * 5
    )
    redelivered_recently = EventRedelivery.objects.filter(event=OuterRef("pk"), next_at__gt=now)
    return list(
        OrderEvent.objects.filter(created_at__lt=now - min_age, created_at__gt=now - HORIZON)
        .filter(~Exists(finished), ~Exists(waiting_recently), ~Exists(redelivered_recently))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def _note_redelivery(event_id: int, now) -> int:
    """Record one more redelivery and when the next may happen (doubling, at most an hour apart)."""
    base = settings.SWEEP_EVENT_MIN_AGE_SECONDS
    with transaction.atomic():
        updated = EventRedelivery.objects.filter(event_id=event_id).update(count=F("count") + 1, last_at=now)
        if not updated:
            try:
                with transaction.atomic():
                    EventRedelivery.objects.create(event_id=event_id, count=1, last_at=now, next_at=now)
            except IntegrityError:
                EventRedelivery.objects.filter(event_id=event_id).update(count=F("count") + 1, last_at=now)
        row = EventRedelivery.objects.get(event_id=event_id)
        row.next_at = now + timedelta(seconds=min(base * 2 ** min(row.count, 10), 3600))
        row.save(update_fields=["next_at"])
    return row.count


def sweep_events(*, now=None) -> int:
    """Enqueue again the events whose delivery was lost; returns how many. Safe to run concurrently."""
    from .tasks import process_event_task

    now = now or timezone.now()
    swept = 0
    for event_id in events_to_sweep(now=now):
        count = _note_redelivery(event_id, now)
        try:
            process_event_task.apply_async((event_id,))
        except Exception:  # broker still down: try again at the next sweep
            logger.warning("sweeper could not enqueue an event", extra={"event": event_id}, exc_info=True)
            EventRedelivery.objects.filter(event_id=event_id).update(next_at=now)
            break
        swept += 1
        logger.info("order event enqueued again by the sweeper", extra={"event": event_id, "redelivery": count})
    return swept

