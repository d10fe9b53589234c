"""Issue 10: the same 16-client mix on the embedded default (SQLite WAL + filesystem broker, threads worker) and on
PostgreSQL + Redis (prefork worker), side by side: requests/s, p50/p95, errors (must be 0 on both), the time until
every shipped order's invoice is e-mailed, and the embedded / PostgreSQL throughput ratio."""

import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2

from tests.embedded_stack import EmbeddedStack
from tests.test_embedded_default import ORDER

CLIENTS = 16


def _client(stack, shipped_status, rounds, latencies, errors, lock):
    api = stack.api()

    def call(method, path, body=None):
        started = time.perf_counter()
        response = api.request(method, f"{stack.url}{path}", json=body, timeout=120)
        with lock:
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors.append((path, response.status_code, response.text[:200]))
        return response

    for _ in range(rounds):
        for step in ("ship", "issue"):
            created = call("POST", "/api/orders/", {**ORDER, "external_id": f"B-{uuid.uuid4().hex[:12]}"})
            if created.status_code != 201:
                continue
            order_id = created.json()["id"]
            if step == "ship":
                call("POST", f"/api/orders/{order_id}/status/", {"status": shipped_status})
            else:
                call("POST", f"/api/orders/{order_id}/documents/", {"series": stack.series_id})
        call("GET", "/api/orders/?page_size=50")


def _run(stack: EmbeddedStack, rounds: int) -> dict:
    stack.prepare()
    try:
        stack.start_worker()
        stack.start_beat()
        stack.start_web()
        shipped_status = stack.sql("SELECT id FROM orders_orderstatus WHERE name = 'Wysłane'")[0][0]
        latencies, errors, lock = [], [], threading.Lock()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(CLIENTS):
                pool.submit(_client, stack, shipped_status, rounds, latencies, errors, lock)
        elapsed = time.perf_counter() - started
        shipped = CLIENTS * rounds
        query = (
            "SELECT COUNT(DISTINCT d.order_id) FROM accounting_emailmessage m "
            "JOIN accounting_document d ON d.id = m.document_id WHERE m.state = 'sent'"
        )
        while stack.sql(query)[0][0] < shipped and time.perf_counter() - started < 1800:
            time.sleep(0.5)
        automation_done = time.perf_counter() - started
        mailed = stack.sql(query)[0][0]
    finally:
        stack.stop()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "errors": len(errors),
        "mailed": f"{mailed}/{shipped}",
        "automation_s": automation_done,
    }


def run(args):
    rounds = getattr(args, "mix_rounds", 10)
    folder = Path(tempfile.mkdtemp(prefix="bench-mix-"))
    embedded = _run(EmbeddedStack(folder / "embedded", sweep_seconds=30, event_min_age=120), rounds)
    print("embedded:", embedded, flush=True)
    admin_url = os.environ["DATABASE_URL"]
    name = f"bench_mix_{uuid.uuid4().hex[:6]}"
    db = psycopg2.connect(admin_url)
    db.autocommit = True  # CREATE DATABASE cannot run in a transaction block
    db.cursor().execute(f"CREATE DATABASE {name}")
    db.close()
    database_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    postgres = _run(
        EmbeddedStack(
            folder / "postgres",
            sweep_seconds=30,
            event_min_age=120,
            database_url=database_url,
            broker_url=os.environ["CELERY_BROKER_URL"],
        ),
        rounds,
    )
    print("postgres:", postgres, flush=True)
    print(f"{CLIENTS} clients × {rounds} rounds (create+ship, create+issue, list): 5 requests per round")
    header = ("stack", "req", "req/s", "p50 ms", "p95 ms", "errors", "mailed", "done s")
    print("{:<34} {:>5} {:>7} {:>8} {:>8} {:>6} {:>9} {:>7}".format(*header))
    for label, r in (("embedded (SQLite WAL + fsqueue)", embedded), ("PostgreSQL + Redis", postgres)):
        print(
            f"{label:<34} {r['requests']:>5} {r['rps']:>7.1f} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['errors']:>6} "
            f"{r['mailed']:>9} {r['automation_s']:>7.1f}"
        )
    print(f"throughput ratio embedded / PostgreSQL: {embedded['rps'] / postgres['rps']:.2f}×")
