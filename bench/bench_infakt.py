"""Issue 4: N invoices through the fake inFakt on real Celery workers, rate limiter at inFakt's real limits.

Prints the total time against the theoretical minimum the limits allow (150 writes and 300 reads per 60 s), the
requests sent per invoice and the 429s received (must be zero).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from accounting import services
from accounting.models import Document, DocumentState
from bench.bench_documents import SELLER
from integrations.infakt.fake import FakeInfakt
from integrations.services import integration_save
from orders.demo import seed_orders
from orders.models import Order

ROOT = Path(__file__).resolve().parent.parent


def run(args):
    count = args.infakt_invoices
    fake = FakeInfakt(api_key="bench-infakt-key-0001", enforce_limits=True)
    fake.start()
    integration = integration_save(
        data={"provider": "infakt", "name": f"bench {time.time()}", "api_key": fake.api_key, "base_url": fake.base_url}
    )
    series = services.series_save(
        data={
            **SELLER,
            "kind": "invoice",
            "name": f"Bench inFakt {time.time()}",
            "number_format": f"BI{int(time.time())}/{{nr}}",
            "reset": "never",
            "integration": integration,
        }
    )
    seed_orders(count + 500, start=700_001, seed=11)
    orders = list(
        Order.objects.filter(external_id__startswith="DEMO-", currency="PLN")
        .exclude(documents__kind="invoice")
        .exclude(items__vat_rate="zw")
        .distinct()[:count]
    )
    env = {**os.environ, "INFAKT_POLL_SECONDS": "1.0", "LOG_LEVEL": "WARNING"}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "apilo",
                "worker",
                "-Q",
                "documents",
                "--concurrency",
                "8",
                "--pool",
                "threads",
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{i}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
        )
        for i in range(2)
    ]
    fake.requests.clear()
    reads_before = writes_before = 0
    start = time.perf_counter()
    try:
        ids = [services.document_issue(order=order, series=series, as_consumer=True).pk for order in orders]
        while True:
            pending = Document.objects.filter(pk__in=ids, state=DocumentState.ISSUING).count()
            if not pending:
                break
            time.sleep(2)
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        fake.stop()
    issued = Document.objects.filter(pk__in=ids, state=DocumentState.ISSUED).count()
    writes = sum(1 for method, _ in fake.requests if method == "POST") - writes_before
    reads = sum(1 for method, _ in fake.requests if method == "GET") - reads_before
    write_limit, read_limit = settings.INFAKT_WRITE_LIMIT_PER_MINUTE, settings.INFAKT_READ_LIMIT_PER_MINUTE
    # The first window's worth goes out at once; every further `limit` requests need another 60 s.
    minimum = max(0, (writes - write_limit) / write_limit * 60, (reads - read_limit) / read_limit * 60)
    in_fake = len(fake.invoices)
    print(
        f"{len(ids)} invoices through the fake inFakt on 2 Celery workers (8 threads each): {issued} issued, "
        f"{in_fake} invoices in the fake (duplicates: {in_fake - issued})"
    )
    print(
        f"total {elapsed:.0f} s; theoretical minimum at {write_limit} writes + {read_limit} reads per 60 s: "
        f"{minimum:.0f} s; ratio {elapsed / minimum if minimum else 0:.2f}×"
    )
    print(
        f"requests per invoice: {writes / len(ids):.2f} writes + {reads / len(ids):.2f} reads; "
        f"429s from the limit: {fake.limit_429}"
    )
