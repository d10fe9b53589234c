from celery import shared_task


@shared_task(name="devices.print_job", bind=True, acks_late=False, max_retries=120)
def print_job_task(self, job_id: int) -> str:
    """Not acks_late: a receipt must never be printed twice; a job left `printing` is recovered, not repeated.
    A job waiting for paper or a closed cover is tried again every 30 s."""
    from .models import JobState
    from .services import print_job_run

    job = print_job_run(job_id=job_id)
    if job.state == JobState.QUEUED and not self.request.is_eager:
        raise self.retry(countdown=30)
    return job.state
