"""`make run`'s embedded default holds a small shop: 16 clients at once on one SQLite file (WAL, immediate
transactions, busy timeout) with a real Celery worker and beat on the filesystem broker — no errors, every order's
automation done, numbering gapless."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.embedded_stack import EmbeddedStack

pytestmark = pytest.mark.celery_worker

ORDER = {
    "channel": "shop",
    "ordered_at": "2026-11-20T10:15:00+01:00",
    "currency": "PLN",
    "payment_method": "transfer",
    "payment_status": "paid",
    "amount_paid": "114.97",
    "wants_invoice": True,
    "customer": {"name": "Łukasz Żółtowski", "email": "l.zoltowski@example.pl"},
    "invoice_address": {
        "company_name": "Żółw Sp. z o.o.",
        "nip": "5252344078",
        "name": "Łukasz Żółtowski",
        "street": "ul. Świętokrzyska 12/4",
        "post_code": "00-916",
        "city": "Warszawa",
        "country": "PL",
    },
    "delivery_address": {"name": "Łukasz Żółtowski", "street": "ul. Świętokrzyska 12/4", "post_code": "00-916",
                         "city": "Warszawa", "country": "PL"},
    "items": [
        {"kind": "product", "name": "Kubek ceramiczny", "quantity": "2", "unit_price_gross": "49.99", "vat_rate": "23"},
        {"kind": "shipping", "name": "Kurier InPost", "quantity": "1", "unit_price_gross": "14.99", "vat_rate": "23"},
    ],
}


def client_mix(stack: EmbeddedStack, shipped_status: int, rounds: int, errors: list, shipped: list, lock):
    """One client: create an order and ship it (automation issues and e-mails the invoice), create another and
    issue its invoice by hand, look at the list."""
    api = stack.api()
    for _ in range(rounds):
        for step in ("ship", "issue"):
            body = {**ORDER, "external_id": f"EXT-{uuid.uuid4().hex[:12]}"}
            response = api.post(f"{stack.url}/api/orders/", json=body, timeout=60)
            if response.status_code != 201:
                errors.append(("create", response.status_code, response.text[:300]))
                continue
            order_id = response.json()["id"]
            if step == "ship":
                response = api.post(f"{stack.url}/api/orders/{order_id}/status/", json={"status": shipped_status},
                                    timeout=60)
                if response.status_code != 200:
                    errors.append(("status", response.status_code, response.text[:300]))
                else:
                    with lock:
                        shipped.append(order_id)
            else:
                response = api.post(f"{stack.url}/api/orders/{order_id}/documents/", json={"series": stack.series_id},
                                    timeout=60)
                if response.status_code != 201:
                    errors.append(("document", response.status_code, response.text[:300]))
        response = api.get(f"{stack.url}/api/orders/?page_size=50", timeout=60)
        if response.status_code != 200:
            errors.append(("list", response.status_code, response.text[:300]))


def test_sixteen_clients_at_once_on_the_embedded_default_get_no_errors_and_every_invoice_is_mailed(tmp_path):
    stack = EmbeddedStack(tmp_path / "shop", sweep_seconds=5, event_min_age=20)
    stack.prepare()
    try:
        stack.start_worker()
        stack.start_beat()
        stack.start_web()
        shipped_status = stack.sql("SELECT id FROM orders_orderstatus WHERE name = 'Wysłane'")[0][0]
        errors, shipped, lock = [], [], threading.Lock()
        with ThreadPoolExecutor(16) as pool:
            for _ in range(16):
                pool.submit(client_mix, stack, shipped_status, 3, errors, shipped, lock)
        assert errors == []
        assert len(shipped) == 48

        def mailed():
            return stack.sql(
                "SELECT COUNT(DISTINCT d.order_id) FROM accounting_emailmessage m "
                "JOIN accounting_document d ON d.id = m.document_id WHERE m.state = 'sent'"
            )[0][0]

        def unprocessed():
            return stack.sql(
                "SELECT COUNT(*) FROM orders_orderevent e LEFT JOIN automation_processedevent p "
                "ON p.event_id = e.id WHERE p.event_id IS NULL OR p.state = 'waiting'"
            )[0][0]

        deadline = time.monotonic() + 240
        while (mailed() < 48 or unprocessed()) and time.monotonic() < deadline:
            time.sleep(1)
        assert mailed() == 48, stack.log("worker")
        assert unprocessed() == 0, stack.log("worker")
    finally:
        stack.stop()

    per_order = stack.sql(
        "SELECT order_id, COUNT(*) FROM accounting_document WHERE kind = 'invoice' AND state != 'cancelled' "
        "GROUP BY order_id"
    )
    assert len(per_order) == 96 and {count for _, count in per_order} == {1}
    assert stack.sql("SELECT COUNT(*) FROM accounting_emailmessage")[0][0] == 48
    sequences = sorted(row[0] for row in stack.sql(
        "SELECT sequence FROM accounting_document WHERE series_id = ?", (stack.series_id,)
    ))
    assert sequences == list(range(1, 97))  # gapless, no number twice
