"""docker-compose.yml, proven without Docker: the web, worker, devices and beat commands run as written on this
machine against the test PostgreSQL and Redis with DEBUG=false; the web health check passes; every queue the app
routes to is consumed; beat sends the sweepers; one order goes from a status change to an e-mailed invoice through
the worker."""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection

from accounting.models import Document, EmailMessage
from automation import services
from orders import services as orders
from orders.models import Order
from tests.factories import OrderFactory, SeriesFactory, status

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
pytestmark = [pytest.mark.celery_worker]

INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[?-][^}]*)?\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_words(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    return command if isinstance(command, list) else shlex.split(command)


def consumed_queues() -> set[str]:
    queues = set()
    for name, service in SERVICES.items():
        words = command_words(name) if "command" in service else []
        if "celery" in words and "worker" in words:
            queues |= set(words[words.index("-Q") + 1].split(","))
    return queues


def test_every_queue_the_app_routes_to_is_consumed_by_a_compose_service(db):
    from apilo.celery import app
    from devices.models import Printer

    app.loader.import_default_modules()
    routed = {django_settings.CELERY_TASK_DEFAULT_QUEUE}
    routed |= {route["queue"] for route in django_settings.CELERY_TASK_ROUTES.values()}
    routed |= {task.queue for name, task in app.tasks.items() if getattr(task, "queue", None)}
    printer = Printer.objects.create(name="Kasa 1", kind="posnet", connection="socket://127.0.0.1:6666")
    routed.add(printer.queue)  # print jobs of any printer
    assert routed <= consumed_queues(), routed - consumed_queues()


def test_beat_schedules_only_tasks_the_workers_know():
    from apilo.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"automation.sweep_events", "accounting.sweep_documents", "devices.sweep_print_jobs"} <= scheduled
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)


def test_the_image_keeps_secrets_databases_media_and_git_out_and_runs_as_non_root():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".env", "*.sqlite3", "media/", ".git/", "var/", ".venv/"):
        assert pattern in ignored, pattern
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "3.11" not in dockerfile  # the image is not tied to one Python


def compose_env(service: str, overrides: dict) -> dict:
    given = {
        "POSTGRES_PASSWORD": "haslo",
        "SECRET_KEY": "production-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "sklep.example.pl",
    }
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)}
    for key, value in SERVICES[service].get("environment", {}).items():
        env[key] = INTERPOLATION.sub(lambda m: given[m.group(1)], str(value))
    env.update(overrides)
    return env


def as_here(words: list[str], folder: Path, port: int) -> list[str]:
    """The compose command with this machine's interpreter, a free port and the container's /app paths in a
    temporary folder; nothing else changed."""
    out = []
    for word in words:
        word = word.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace("/app/", f"{folder}/")
        out.append(word)
    if out[0] in ("celery", "gunicorn"):
        out = [sys.executable, "-m", *out]
    elif out[0] == "python":
        out = [sys.executable, *out[1:]]
    elif out[:2] == ["sh", "-c"]:
        script = out[2]
        script = re.sub(r"(^|&& )python ", rf"\1{sys.executable} ", script)
        script = re.sub(r"(^|&& )gunicorn ", rf"\1{sys.executable} -m gunicorn ", script)
        out = ["sh", "-c", script]
    return out


@pytest.mark.django_db(transaction=True)
def test_compose_commands_run_as_written_health_check_passes_and_an_order_is_mailed_its_invoice(
    redis_url, tmp_path, settings
):
    from apilo.celery import app

    folder = tmp_path / "app"
    (folder / "media").mkdir(parents=True)
    (folder / "var").mkdir()
    mail = tmp_path / "mail"
    mail.mkdir()
    db = connection.settings_dict
    port = free_port()
    overrides = {
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url.rsplit("/", 1)[0] + "/1",
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail),
        "SWEEP_INTERVAL_SECONDS": "2",
        "STATIC_ROOT": str(folder / "staticfiles"),
    }
    processes, logs = {}, {}
    series = SeriesFactory(name="Faktura (domyślnie)", is_default=True)
    services.task_save(
        data={
            "name": "Faktura i e-mail po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
        }
    )
    order = OrderFactory(customer_email="kupujacy@example.pl")
    previous = (app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url)
    try:
        for name in ("web", "worker", "devices", "beat"):
            env = compose_env(name, overrides)
            assert env["DEBUG"] == "false"
            logs[name] = tmp_path / f"{name}.log"
            processes[name] = subprocess.Popen(
                as_here(command_words(name), folder, port),
                cwd=ROOT,
                env=env,
                stdout=logs[name].open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # the health check, as written in the compose file, against the gunicorn the web command started
        check = SERVICES["web"]["healthcheck"]["test"][1:]
        check = as_here([w.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for w in check], folder, port)
        deadline, healthy = time.monotonic() + 180, False
        while time.monotonic() < deadline and not healthy:
            assert processes["web"].poll() is None, logs["web"].read_text()[-3000:]
            healthy = subprocess.run(check, capture_output=True, timeout=20, check=False).returncode == 0
            time.sleep(0.5)
        assert healthy, logs["web"].read_text()[-3000:]
        # DEBUG=false: a real page on plain http is redirected to https, an unknown host is refused
        page = requests.get(f"http://127.0.0.1:{port}/login/", headers={"Host": "sklep.example.pl"},
                            allow_redirects=False, timeout=10)
        assert page.status_code == 301 and page.headers["Location"].startswith("https://sklep.example.pl/")
        assert requests.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 400

        # an order shipped in the app is invoiced and e-mailed by the worker
        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.task_always_eager = False
        app.conf.broker_url = app.conf.broker_write_url = redis_url
        app._pool, app.amqp._producer_pool = None, None
        orders.order_set_status(order=Order.objects.get(pk=order.pk), status=status("Wysłane"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not EmailMessage.objects.filter(state="sent").exists():
            time.sleep(0.5)
        assert EmailMessage.objects.filter(state="sent", document__order=order).count() == 1, (
            logs["worker"].read_text()[-3000:]
        )
        assert Document.objects.filter(order=order, kind="invoice").count() == 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "automation.sweep_events" not in logs["beat"].read_text():
            time.sleep(0.5)
        assert "automation.sweep_events" in logs["beat"].read_text(), logs["beat"].read_text()[-2000:]
        assert "devices@" in logs["devices"].read_text() or processes["devices"].poll() is None
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        app.conf.task_always_eager, app.conf.broker_url, app.conf.broker_write_url = previous
        app._pool, app.amqp._producer_pool = None, None
    assert any(path.read_text(errors="replace").count("kupujacy@example.pl") for path in mail.iterdir())
