"""A real Celery worker (Redis broker, PostgreSQL test database) sends an invoice to the fake inFakt."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounting import services
from accounting.models import Document
from tests.factories import OrderFactory, SeriesFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(redis_url, settings, tmp_path):
    from apilo.celery import app

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "INFAKT_POLL_SECONDS": "0.05",
        "INFAKT_DOUBT_RECHECK_SECONDS": "0.5",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "apilo",
            "worker",
            "-Q",
            "documents,default",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = app.conf.broker_write_url = redis_url
    app._pool, app.amqp._producer_pool = None, None  # the next .delay() connects to Redis
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield process
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        sys.stderr.write((tmp_path / "worker.log").read_text()[-3000:])  # shown by pytest on failure


def test_invoice_is_sent_to_infakt_by_a_real_celery_worker(worker, infakt_integration, fake_infakt):
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    document = services.document_issue(order=OrderFactory(), series=series)  # commits: the task goes to Redis
    assert Document.objects.get(pk=document.pk).state == "issuing"

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document.refresh_from_db()
        if document.state != "issuing":
            break
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.2)

    assert document.state == "issued", document.sync_last_error
    assert document.number == "1/" + document.issue_date.strftime("%m/%Y")
    assert len(fake_infakt.invoices) == 1


def test_a_real_worker_never_creates_twice_when_the_create_answer_is_lost_during_slow_processing(
    worker, infakt_integration, fake_infakt
):
    fake_infakt.processing_seconds = 3  # every create's answer is lost; inFakt lists the invoice 3 s later
    fake_infakt.faults = {"drop_after_create": 1.0}
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    document = services.document_issue(order=OrderFactory(), series=series)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document.refresh_from_db()
        if document.state != "issuing":
            break
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.2)

    assert document.state == "issued", document.sync_last_error
    assert len(fake_infakt.invoices) == 1
    assert [path for method, path in fake_infakt.requests if method == "POST"] == ["/api/v3/async/invoices.json"]
