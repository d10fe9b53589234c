"""The embedded default as `make run` starts it, in a temporary folder: one SQLite file (WAL), the filesystem broker,
a Celery worker, Celery beat (the sweepers) and gunicorn. Used by the embedded-default tests and the benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]

SETUP = """
from rest_framework.authtoken.models import Token
from django.contrib.auth import get_user_model
from accounting.models import DocumentSeries
from automation import services
from orders.models import OrderStatus
user = get_user_model().objects.get(username="admin")
print("TOKEN", Token.objects.get_or_create(user=user)[0].key)
invoice = DocumentSeries.objects.get(kind="invoice", is_default=True, integration__isnull=True)
print("SERIES", invoice.pk)
services.task_save(data={
    "name": "Faktura i e-mail po wysyłce",
    "event": {"type": "status_changed", "to_status": OrderStatus.objects.get(name="Wysłane").pk},
    "actions": [{"type": "issue_document", "series": invoice.pk}, {"type": "send_document", "kind": "invoice"}],
})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedStack:
    def __init__(
        self,
        folder: Path,
        *,
        sweep_seconds: float = 5,
        event_min_age: int = 5,
        database_url: str = "",
        broker_url: str = "",
    ):
        """`database_url` / `broker_url` replace SQLite / the filesystem broker (the PostgreSQL + Redis stack)."""
        self.folder = Path(folder)
        self.embedded = not database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mail = self.folder / "mail"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")},
            "DATABASE_URL": database_url or f"sqlite:///{self.folder / 'db.sqlite3'}",
            "CELERY_BROKER_URL": broker_url or "fsqueue://",
            "CELERY_BROKER_FOLDER": str(self.folder / "broker"),
            "CELERY_BROKER_POLLING_SECONDS": "0.1",
            "MEDIA_ROOT": str(self.folder / "media"),
            "EMAIL_URL": "filemail://",
            "EMAIL_FILE_PATH": str(self.mail),
            "DEBUG": "true",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "SWEEP_INTERVAL_SECONDS": str(sweep_seconds),
            "SWEEP_EVENT_MIN_AGE_SECONDS": str(event_min_age),
            "SWEEP_MIN_AGE_SECONDS": str(event_min_age),
            "DEMO_INFAKT_URL": "",
        }
        self.token = ""
        self.series_id = 0

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result.stdout

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.mail.mkdir(exist_ok=True)
        self.manage("migrate", "--noinput")
        self.manage("seed_demo", "--orders", "0")
        out = self.manage("shell", "-c", SETUP)
        for line in out.splitlines():
            if line.startswith("TOKEN "):
                self.token = line.split()[1]
            if line.startswith("SERIES "):
                self.series_id = int(line.split()[1])

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "a")  # noqa: SIM115 - the process owns it until it exits
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_worker(self, concurrency: int = 4) -> None:
        """As `make run` starts it: a thread pool (kombu's virtual transports feed a prefork pool slowly); on Redis
        as docker-compose starts it (prefork)."""
        pool = ["--pool", "threads", "--concurrency", str(concurrency)] if self.embedded else ["--concurrency", "2"]
        self._spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "apilo", "worker", "-Q", "default,documents,email,devices,ksef",
             *pool, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [sys.executable, "-m", "celery", "-A", "apilo", "beat", "--loglevel", "WARNING",
             "--schedule", str(self.folder / "celerybeat-schedule")],
        )

    def start_web(self, workers: int = 2, threads: int = 8) -> None:
        self._spawn(
            "web",
            [sys.executable, "-m", "gunicorn", "apilo.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "120"],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start: " + self.log("web"))

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.processes):
            process = self.processes.pop(key, None)
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def api(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """A read of the stack's database (`?` placeholders)."""
        if self.embedded:
            import sqlite3

            with sqlite3.connect(self.folder / "db.sqlite3", timeout=30) as db:
                return db.execute(query, params).fetchall()
        import psycopg2

        with psycopg2.connect(self.env["DATABASE_URL"]) as db, db.cursor() as cursor:
            cursor.execute(query.replace("?", "%s"), params)
            return cursor.fetchall()
