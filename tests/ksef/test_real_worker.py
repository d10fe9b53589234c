"""200 invoices and 20 corrections through the fake KSeF with 30 % injected faults (lost answers after acceptance
included), sent by a real Celery worker (Redis broker, PostgreSQL): each accepted exactly once, numbers and UPOs
stored, corrections referencing the right KSeF numbers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounting import services
from accounting.ksef_tasks import sweep_ksef
from accounting.models import Document, KsefSubmission
from tests.factories import OrderFactory, SeriesFactory

from .test_faults_and_offline import FAULTS, assert_each_accepted_exactly_once

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ksef_worker(redis_url, settings, tmp_path):
    from apilo.celery import app

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "KSEF_POLL_SECONDS": "0.02",
        "KSEF_TIMEOUT_SECONDS": "0.5",
        "KSEF_RETRY_BASE_SECONDS": "0.05",
        "KSEF_RETRY_MAX_SECONDS": "0.5",
        "KSEF_LEASE_SECONDS": "20",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["KSEF_SWEEP_GRACE_SECONDS"] = "3"
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "apilo",
        "worker",
        "-Q",
        "ksef",
        "--pool",
        "solo",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    # two workers (the benchmark's set-up), each a separate process
    processes = [
        subprocess.Popen([*command, "-n", f"ksef{i}@%h"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for i in range(2)
    ]
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = app.conf.broker_write_url = redis_url
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield processes
    finally:
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        sys.stderr.write((tmp_path / "worker.log").read_text()[-3000:])


def test_200_invoices_and_20_corrections_with_30_percent_faults_on_a_real_worker_are_each_accepted_once(
    ksef_connection, fake_ksef, ksef_worker
):
    fake_ksef.slow_seconds = 0.8
    fake_ksef.retry_after = 0
    invoices_series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    services.series_save(
        data={"ksef_connection": ksef_connection},
        series=SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True),
    )
    fake_ksef.faults = dict(FAULTS)
    invoices = [services.document_issue(order=OrderFactory(), series=invoices_series) for _ in range(200)]
    corrections = [
        services.document_correct(document=invoice, changes=[], reason="Zwrot", full_return=True)
        for invoice in invoices[::10]
    ]
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        left = KsefSubmission.objects.exclude(state="accepted").count() + KsefSubmission.objects.filter(upo=b"").count()
        if not left:
            break
        if any(process.poll() is not None for process in ksef_worker):
            pytest.fail("the worker died")
        time.sleep(3)
        sweep_ksef.delay()  # beat's job: picks up anything whose enqueue was lost
    fake_ksef.faults = {}
    assert KsefSubmission.objects.exclude(state="accepted").count() == 0
    assert fake_ksef.faults_served.get("lost_answer", 0) > 5 and fake_ksef.faults_served.get("timeout", 0) > 5
    documents = list(Document.objects.filter(pk__in=[d.pk for d in invoices + corrections]))
    assert len(documents) == 220
    assert_each_accepted_exactly_once(fake_ksef, documents)
