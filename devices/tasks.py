from celery import shared_task


@shared_task(name="devices.print_job", bind=True, acks_late=False, max_retries=None)
def print_job_task(self, job_id: int) -> str:
    """Not acks_late: a receipt must never be printed twice; a job left `printing` is recovered, not repeated.
    A job that waits (paper out, an open cover, its printer busy with another job) is tried again when its
    `next_try_at` comes, however long that takes: no retry cap gives up on it (the sweeper is the safety net)."""
    from django.utils import timezone

    from .models import JobState
    from .services import print_job_run

    job = print_job_run(job_id=job_id)
    if job.state == JobState.QUEUED and not self.request.is_eager:
        delay = (job.next_try_at - timezone.now()).total_seconds() if job.next_try_at else 30
        raise self.retry(countdown=max(1, min(delay, 60)), max_retries=None, queue=job.printer.queue)
    return job.state


@shared_task(name="devices.sweep_print_jobs")
def sweep_print_jobs() -> dict:
    """Beat: re-enqueue due `queued` jobs; jobs left `printing` by a dead worker → "wymaga uwagi"."""
    from .services import print_jobs_sweep

    return print_jobs_sweep()
