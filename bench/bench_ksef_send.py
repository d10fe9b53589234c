"""Issue 13: N invoices sent to the fake KSeF by 2 Celery workers, against the fake's own floor.

Invoices are issued first (their sends wait in Redis), then two workers start; the time runs until every
invoice is accepted with its UPO. The floor is the same N sends made directly with ksef-client in one thread (one
authentication, one session; send, poll until 200, fetch the UPO), no app around them. Prints invoices/s, requests
per invoice, sessions opened, and the ratio to the floor.
"""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from ksef_client import KsefClient, KsefClientOptions
from ksef_client.models import FormCode
from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow

from accounting import services
from accounting.models import KsefSubmission
from bench.bench_documents import SELLER
from integrations.ksef.fake import FakeKsef
from integrations.ksef.services import ksef_connection_save
from integrations.models import KsefConnection
from orders.demo import seed_orders
from orders.models import Order

ROOT = Path(__file__).resolve().parent.parent


def _floor(fake: FakeKsef, xmls: list[bytes], nip: str) -> float:
    start = time.perf_counter()
    with KsefClient(KsefClientOptions(base_url=fake.base_url)) as client:
        cert = client.security.get_public_key_certificate("KsefTokenEncryption")
        auth = AuthCoordinator(client.auth).authenticate_with_ksef_token(
            token=fake.token_for(nip),
            public_certificate=cert.certificate,
            public_key_id=cert.public_key_id,
            context_identifier_type="nip",
            context_identifier_value=nip,
            poll_interval_seconds=0.01,
        )
        key = client.security.get_public_key_certificate("SymmetricKeyEncryption")
        handle = OnlineSessionWorkflow(client.sessions).open_session(
            form_code=FormCode(system_code="FA (3)", schema_version="1-0E", value="FA"),
            public_certificate=key.certificate,
            public_key_id=key.public_key_id,
            access_token=auth.access_token,
        )
        for xml in xmls:
            reference = handle.send_invoice(xml).reference_number
            while handle.get_invoice_status(reference).status.code in (100, 150):
                time.sleep(0.02)
            handle.get_invoice_upo_by_ref(reference)
    return time.perf_counter() - start


def run(args):
    count = args.ksef_send_invoices
    fake = FakeKsef(processing_polls=1)
    fake.start()
    nip = SELLER["seller_nip"]
    connection = KsefConnection.objects.filter(nip=nip).first()
    data = {
        "name": "Bench KSeF",
        "nip": nip,
        "environment": "custom",
        "base_url": fake.base_url,
        "qr_environment": "test",
        "token": fake.token_for(nip),
    }
    connection = ksef_connection_save(data=data, connection=connection)
    stamp = int(time.time())
    series = services.series_save(
        data={
            **SELLER,
            "kind": "invoice",
            "name": f"Bench KSeF {stamp}",
            "number_format": f"BK{stamp}/{{nr}}",
            "reset": "never",
            "ksef_connection": connection,
        }
    )
    seed_orders(count + 500, start=800_001, seed=13)
    orders = list(
        Order.objects.filter(external_id__startswith="DEMO-", currency="PLN")
        .exclude(documents__kind="invoice")
        .exclude(items__vat_rate="zw")
        .distinct()[:count]
    )
    ids = [services.document_issue(order=order, series=series, as_consumer=True).pk for order in orders]
    requests_before, sessions_before = len(fake.requests), len(fake.sessions)
    env = {**os.environ, "KSEF_POLL_SECONDS": "0.02", "LOG_LEVEL": "WARNING"}
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
                "ksef",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "-n",
                f"benchksef{i}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
        )
        for i in range(2)
    ]
    start = time.perf_counter()
    try:
        while KsefSubmission.objects.filter(document_id__in=ids).exclude(state="accepted", upo__gt=b"").exists():
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    requests = len(fake.requests) - requests_before
    sessions = len(fake.sessions) - sessions_before
    accepted = KsefSubmission.objects.filter(document_id__in=ids, state="accepted").count()
    xmls = [
        bytes(x).replace(b"<P_2>BK", b"<P_2>FLOOR-BK")
        for x in KsefSubmission.objects.filter(document_id__in=ids).values_list("xml", flat=True)
    ]
    floor = _floor(fake, xmls, nip)
    fake.stop()
    print(f"{len(ids)} invoices sent to the fake KSeF by 2 Celery workers (solo pool): {accepted} accepted")
    print(
        f"app: {elapsed:.1f} s = {len(ids) / elapsed:.1f} invoices/s; {requests / len(ids):.2f} requests per invoice; "
        f"{sessions} online session(s) opened"
    )
    print(
        f"floor (ksef-client directly, one thread, one session): {floor:.1f} s = {len(ids) / floor:.1f} invoices/s; "
        f"ratio app/floor {elapsed / floor:.2f}× ({dt.date.today()})"
    )
