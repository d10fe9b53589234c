"""Issue 5: N orders moved to Wysłane with a task that issues an invoice and e-mails it with the PDF, on 2 worker
processes; beside it, the same 2 processes rendering N bare WeasyPrint PDFs of the same invoices (the floor)."""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.db import connection

from accounting.models import Document, DocumentLine
from automation import services
from automation.models import ProcessedEvent
from bench.bench_documents import _bare_html, _series
from orders import services as orders
from orders.demo import seed_orders
from orders.models import BulkStatusChange, Order, OrderStatus

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _bare_pdfs(htmls):
    from weasyprint import HTML

    for html in htmls:
        HTML(string=html).write_pdf()
    return len(htmls)


def run(args):
    count = args.automation_orders
    shipped = OrderStatus.objects.get(name="Wysłane")
    seed_orders(int(count * 1.5), start=500_001, seed=5)
    order_ids = list(
        Order.objects.filter(external_id__startswith="DEMO-", currency="PLN")
        .exclude(status=shipped)
        .exclude(items__vat_rate="zw")
        .exclude(documents__isnull=False)
        .values_list("pk", flat=True)
        .distinct()[:count]
    )
    series = _series(f"Bench — automat {time.time():.0f}", f"A{int(time.time())}/{{nr}}")
    task = services.task_save(
        data={
            "name": f"Bench {time.time()}",
            "event": {"type": "status_changed", "to_status": shipped.pk},
            "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
        }
    )
    mail_dir = tempfile.mkdtemp(prefix="bench-mail-")
    env = {**os.environ, "EMAIL_URL": "filemail://", "EMAIL_FILE_PATH": mail_dir, "LOG_LEVEL": "WARNING"}
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
                "default,documents,email",
                "--pool",
                "solo",
                "-n",
                f"auto{i}@%h",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier",
                "4",
            ],
            cwd=ROOT,
            env=env,
        )
        for i in range(2)
    ]
    try:
        time.sleep(3)
        start = time.perf_counter()
        result = orders.order_bulk_set_status(order_ids=order_ids, status=shipped)
        event_ids = BulkStatusChange.objects.get(pk=result["bulk"]).event_ids
        while ProcessedEvent.objects.filter(event_id__in=event_ids).count() < len(event_ids):
            time.sleep(2)
        elapsed = time.perf_counter() - start
        peaks = [_peak_rss_mb(w.pid) for w in workers]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    documents = Document.objects.filter(series=series)
    sent = sum(p.read_text(errors="replace").count("X-Document:") for p in Path(mail_dir).iterdir())
    print(
        f"{len(order_ids)} orders → Wysłane, task: issue invoice + e-mail with PDF, 2 worker processes: "
        f"{elapsed:.0f} s; {documents.count() / elapsed:.1f} invoices/s, {sent / elapsed:.1f} e-mails/s "
        f"({documents.count()} invoices, {sent} e-mails); peak worker memory {max(peaks):.0f} MB "
        f"({', '.join(f'{p:.0f}' for p in peaks)} MB)"
    )

    lines_by_doc = {}
    for line in DocumentLine.objects.filter(document__series=series).order_by("document_id", "position"):
        lines_by_doc.setdefault(line.document_id, []).append(line)
    htmls = [_bare_html(lines) for lines in lines_by_doc.values()]
    connection.close()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        rendered = sum(pool.map(_bare_pdfs, [htmls[0::2], htmls[1::2]]))
    floor = time.perf_counter() - start
    print(
        f"floor: the same 2 processes rendering {rendered} bare WeasyPrint PDFs of the same invoices: {floor:.0f} s "
        f"({rendered / floor:.1f} PDF/s); ratio {elapsed / floor:.2f}×"
    )
    task.delete()
