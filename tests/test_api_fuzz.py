"""Issue 12 point 7: schemathesis against a live server, every operation of /api/schema/, a bounded number of
generated requests each (fixed seed: the same cases on every run), as an administrator. No answer may be a 5xx,
and every documented answer must match the schema."""

import os
import socket

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import OrderFactory, SeriesFactory, UserFactory

# Generated requests per operation: ~2 min for the whole run on 2 idle cores (FUZZ_MAX_EXAMPLES=200 for a long hunt).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))


@pytest.fixture
def _no_dns(monkeypatch):
    """Generated URLs name random hosts: resolve none of them (no internet, no waiting on DNS)."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host in ("localhost", "127.0.0.1", "::1") or str(host).startswith("127."):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "no DNS in tests")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def fuzz_data(transactional_db):
    from accounting import services as accounting_services
    from automation import services as automation_services
    from devices.models import Printer
    from orders.models import OrderStatus

    admin = UserFactory(username="fuzz-admin", role="admin")
    token, _ = Token.objects.get_or_create(user=admin)
    series = SeriesFactory(is_default=True)
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    # numbers outside the service's own AL… sequence, which POST /api/orders/ allocates from
    order = OrderFactory(number="FUZZ000001", invoice_nip="5252344078", invoice_company_name="Żółw Sp. z o.o.")
    document = accounting_services.document_issue(order=order, series=series)
    OrderFactory(number="FUZZ000002")
    task = automation_services.task_save(
        data={"name": "Notatka", "event": {"type": "order_created"}, "actions": [{"type": "add_note", "note": "Hej"}]}
    )
    printer = Printer.objects.create(kind="posnet", name="Kasa", connection="socket://127.0.0.1:1")
    KNOWN_IDS.clear()
    KNOWN_IDS.update(
        {
            "/api/orders/": order.pk,
            "/api/documents/": document.pk,
            "/api/series/": series.pk,
            "/api/automatic-tasks/": task.pk,
            "/api/printers/": printer.pk,
            "/api/order-statuses/": OrderStatus.objects.order_by("pk").values_list("pk", flat=True).first(),
        }
    )
    return {"token": token.key}


@pytest.fixture
def api_schema(live_server, fuzz_data, _no_dns):
    return schemathesis.from_uri(
        f"{live_server.url}/api/schema/",
        headers={"Authorization": f"Token {fuzz_data['token']}"},
        base_url=f"{live_server.url}",
    )


schema = schemathesis.from_pytest_fixture("api_schema")
# Ids of the objects `fuzz_data` made: half of the generated paths use them, so retrieve, update, cancel,
# corrections, runs… work on real rows instead of answering 404 to every random id.
KNOWN_IDS: dict[str, int] = {}


def _known_id(path: str):
    return next((pk for prefix, pk in KNOWN_IDS.items() if path.startswith(prefix)), None)


@schema.hook("before_generate_path_parameters")
def _real_ids_half_of_the_time(context, strategy):
    path = context.operation.path

    def with_real_ids(params):
        pk = _known_id(path)
        if pk is None or not isinstance(params, dict):
            return params
        return {name: (pk if name in ("id", "order_id") else value) for name, value in params.items()}

    return st.one_of(strategy, strategy.map(with_real_ids))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db(transaction=True)
def test_api_fuzzing_finds_no_server_error_and_answers_match_the_schema(case, fuzz_data):
    case.call_and_validate(
        headers={"Authorization": f"Token {fuzz_data['token']}"},
        checks=(not_a_server_error, response_schema_conformance),
        timeout=30,
    )
