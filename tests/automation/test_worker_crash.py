"""Real Redis, real Celery worker killed with SIGKILL mid-way: nothing lost, nothing duplicated."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounting.models import Document, EmailMessage
from automation import services
from automation.models import TaskRun
from orders import services as orders
from tests.factories import OrderFactory, SeriesFactory, status

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def start_worker(env, log_path):
    log = open(log_path, "a")  # noqa: SIM115 - the process owns it until it exits
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "apilo",
            "worker",
            "-Q",
            "default,documents,email",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--prefetch-multiplier",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_200_orders_shipped_worker_killed_midway_each_gets_one_invoice_and_one_email(redis_url, settings, tmp_path):
    from apilo.celery import app

    series = SeriesFactory(name="Faktura (domyślnie)", is_default=True)
    services.task_save(
        data={
            "name": "Faktura po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
        }
    )
    order_ids = [OrderFactory(customer_email=f"klient{i}@example.pl").pk for i in range(200)]
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = app.conf.broker_write_url = redis_url
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    log_path = tmp_path / "worker.log"
    workers = []
    try:
        orders.order_bulk_set_status(order_ids=order_ids, status=status("Wysłane"))  # 200 events → 200 tasks
        workers.append(start_worker(env, log_path))
        assert wait_for(lambda: TaskRun.objects.filter(state="ok").count() >= 40, 120), log_path.read_text()[-2000:]
        workers[0].send_signal(signal.SIGKILL)  # in the middle of the work, without warning
        workers[0].wait(timeout=10)
        done_at_kill = TaskRun.objects.filter(state="ok").count()
        assert done_at_kill < 200
        workers.append(start_worker(env, log_path))
        finished = wait_for(lambda: TaskRun.objects.filter(state="ok").count() == 200, 240)
        assert finished, (
            TaskRun.objects.exclude(state="ok").values_list("state", "results")[:5],
            log_path.read_text()[-3000:],
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None

    for order_id in order_ids:
        assert Document.objects.filter(order_id=order_id, kind="invoice").count() == 1
        assert EmailMessage.objects.filter(document__order_id=order_id, state="sent").count() == 1
    assert EmailMessage.objects.count() == 200
    # the messages that left (the file backend may append two to one file): one per order
    sent = "".join(path.read_text(errors="replace") for path in mail_dir.iterdir())
    documents = [line.split(":", 1)[1].strip() for line in sent.splitlines() if line.startswith("X-Document:")]
    assert len(documents) == 200 and len(set(documents)) == 200
    assert TaskRun.objects.filter(state="ok").count() == 200
