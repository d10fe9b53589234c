"""Thin Celery tasks of automation (queue `default`)."""

from celery import shared_task

from .models import RunState


@shared_task(name="automation.process_event", bind=True, acks_late=True, max_retries=20)
def process_event_task(self, event_id: int) -> int:
    """Idempotent by construction (TaskRun unique per task and event; idempotent actions), hence acks_late."""
    from .services import event_process

    runs = event_process(event_id=event_id)
    if any(run.state == RunState.WAITING for run in runs) and not self.request.is_eager:
        raise self.retry(countdown=min(5 * 2**self.request.retries, 300))
    return len(runs)


@shared_task(name="automation.sweep_events")
def sweep_events_task() -> int:
    """Beat: enqueue again the order events whose delivery was lost (broker down, process died, worker died)."""
    from .sweeper import sweep_events

    return sweep_events()
