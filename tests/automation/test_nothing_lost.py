"""The order-event row is the outbox: work is never lost when the broker is down at commit time, the process dies
between commit and enqueue, or a worker dies — the sweeper enqueues the event again, and it is processed once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounting.models import Document
from automation import services
from automation.models import ProcessedEvent, TaskRun
from automation.sweeper import events_to_sweep, sweep_events
from orders import services as orders
from orders.models import Order, OrderEvent
from tests.factories import OrderFactory, SeriesFactory, status

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def invoice_on_shipping_task():
    series = SeriesFactory(name="Faktura (domyślnie)", is_default=True)
    return services.task_save(
        data={
            "name": "Faktura po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "issue_document", "series": series.pk}],
        }
    )


def subprocess_env():
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return env


KILL_AFTER_COMMIT = """
import os
from django.db import transaction
from orders import services
from orders.models import Order, OrderStatus
order = Order.objects.get(pk={order_id})
with transaction.atomic():
    transaction.on_commit(lambda: os._exit(9))  # runs first: the process dies after commit, before any enqueue
    services.order_set_status(order=order, status=OrderStatus.objects.get(name="Wysłane"))
"""


def test_a_process_killed_between_commit_and_enqueue_loses_nothing_the_sweeper_processes_it_once(settings):
    invoice_on_shipping_task()
    order = OrderFactory()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", KILL_AFTER_COMMIT.format(order_id=order.pk)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 9, result.stderr[-2000:]
    event = OrderEvent.objects.get(order=order, kind="status_changed")  # committed
    assert not TaskRun.objects.exists() and not Document.objects.exists()  # …but nothing was enqueued

    settings.SWEEP_EVENT_MIN_AGE_SECONDS = 60
    assert event.pk not in events_to_sweep()  # too young: its delivery may still be on the way
    settings.SWEEP_EVENT_MIN_AGE_SECONDS = 0
    time.sleep(0.05)
    assert sweep_events() >= 1  # in-process (eager) here: enqueued and processed
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert ProcessedEvent.objects.filter(event=event, state="ok").exists()

    time.sleep(0.05)
    assert event.pk not in events_to_sweep()  # processed: never again
    sweep_events()
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert TaskRun.objects.filter(event=event).count() == 1


def test_broker_unreachable_while_20_orders_change_status_nothing_is_lost(settings, redis_url, tmp_path):
    """Requests succeed while the broker is down (the enqueue is logged and dropped); when it is back, the sweeper
    enqueues the 20 events and a real worker processes each once."""
    from apilo.celery import app
    from tests.automation.test_worker_crash import start_worker, wait_for

    invoice_on_shipping_task()
    order_ids = [OrderFactory().pk for _ in range(20)]
    dead_broker = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = app.conf.broker_write_url = dead_broker
    app._pool, app.amqp._producer_pool = None, None
    worker = None
    try:
        for order_id in order_ids:  # each commits; the enqueue after commit fails and is only logged
            orders.order_set_status(order=Order.objects.get(pk=order_id), status=status("Wysłane"))
        events = OrderEvent.objects.filter(kind="status_changed", order_id__in=order_ids)
        assert events.count() == 20
        assert not ProcessedEvent.objects.filter(event__in=events).exists()

        settings.SWEEP_EVENT_MIN_AGE_SECONDS = 0
        time.sleep(0.05)
        assert sweep_events() == 0  # broker still down: nothing enqueued, nothing marked, tried again next time

        app.conf.broker_url = app.conf.broker_write_url = redis_url  # the broker is back
        app._pool, app.amqp._producer_pool = None, None
        env = {**subprocess_env(), "CELERY_BROKER_URL": redis_url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
        worker = start_worker(env, tmp_path / "worker.log")
        time.sleep(0.05)
        assert sweep_events() >= 20
        assert wait_for(lambda: TaskRun.objects.filter(state="ok").count() == 20, 120), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None
    for order_id in order_ids:
        assert Document.objects.filter(order_id=order_id, kind="invoice").count() == 1
