"""inFakt exactly once at the edges: lost answers while inFakt is still processing, the doubt window, the sync lease,
errors of any kind, the documents sweeper, and what inFakt reads back (payloads, VAT check)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounting import services, sync
from accounting.models import Document
from accounting.sync import LeaseLost, SyncRetry, document_sync, document_sync_retry, take_lease
from accounting.tasks import sweep_documents
from integrations import ratelimit
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

B2B = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def infakt_series(infakt_integration):
    return services.series_save(data={"integration": infakt_integration}, series=SeriesFactory(name="Faktury inFakt"))


def issue_unsent(order, series, capture):
    """Issue the document; its sync task is not run (as if the enqueue were lost or not yet picked up)."""
    with capture(execute=False):
        return services.document_issue(order=order, series=series)


def creates(fake):
    return [path for method, path in fake.requests if method == "POST" and "/async/" in path]


def sync_until_settled(pk, traveller, steps=40):
    """Run the sync as the worker would: after a retry, wait (on the test clock) as long as it asked."""
    document = None
    for _ in range(steps):
        try:
            document = document_sync(document_id=pk)
        except SyncRetry as retry:
            traveller.shift(retry.countdown or 1)
            continue
        if document.state != "issuing":
            return document
    return Document.objects.get(pk=pk)


# --- never a second invoice ---------------------------------------------------------------------------------
def test_lost_create_answer_while_infakt_takes_30_s_to_process_makes_exactly_one_invoice(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    fake_infakt.processing_seconds = 30
    with time_machine.travel(START, tick=True) as traveller:
        document = issue_unsent(OrderFactory(**B2B), infakt_series, django_capture_on_commit_callbacks)
        fake_infakt.faults = {"drop_after_create": 1.0}
        with pytest.raises(SyncRetry) as retry:
            document_sync(document_id=document.pk)  # the create went out, its answer was lost
        fake_infakt.faults = {}
        assert retry.value.in_doubt
        # the retry a second later finds nothing yet (inFakt is still processing) and must not create again
        with pytest.raises(SyncRetry):
            document_sync(document_id=document.pk)
        assert len(creates(fake_infakt)) == 1
        traveller.shift(retry.value.countdown)
        document = sync_until_settled(document.pk, traveller)

    assert document.state == "issued" and document.number == "1/11/2026"
    assert len(fake_infakt.invoices) == 1 and len(creates(fake_infakt)) == 1
    assert document.external_uuid in fake_infakt.invoices


def test_invoice_still_not_found_after_the_doubt_window_waits_for_a_person_and_ponow_adopts_it(
    infakt_series, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.INFAKT_DOUBT_WINDOW_SECONDS = 600
    fake_infakt.processing_seconds = 900  # inFakt's queue is slower than our window
    with time_machine.travel(START, tick=True) as traveller:
        document = issue_unsent(OrderFactory(**B2B), infakt_series, django_capture_on_commit_callbacks)
        fake_infakt.faults = {"drop_after_create": 1.0}
        with pytest.raises(SyncRetry):
            document_sync(document_id=document.pk)
        fake_infakt.faults = {}
        document = sync_until_settled(document.pk, traveller)

        assert document.state == "attention"
        assert "Sprawdź w inFakt, czy faktura powstała, i ponów." in document.sync_last_error
        assert len(creates(fake_infakt)) == 1

        traveller.shift(400)  # inFakt has processed it meanwhile; a person presses Ponów
        with django_capture_on_commit_callbacks(execute=True):
            document_sync_retry(document=document)
    document.refresh_from_db()
    assert document.state == "issued"
    assert len(fake_infakt.invoices) == 1 and len(creates(fake_infakt)) == 1


def test_ponow_after_the_window_creates_once_when_the_invoice_really_is_absent(
    infakt_series, fake_infakt, settings, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=True) as traveller:
        document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
        fake_infakt.faults = {"500": 1.0}  # the create met a 500: was it processed? unknown
        with pytest.raises(SyncRetry):
            document_sync(document_id=document.pk)
        fake_infakt.faults = {}
        document = sync_until_settled(document.pk, traveller)
        assert document.state == "attention" and fake_infakt.invoices == {}
        with django_capture_on_commit_callbacks(execute=True):
            document_sync_retry(document=document)
    document.refresh_from_db()
    assert document.state == "issued" and len(fake_infakt.invoices) == 1


def test_an_unknown_task_reference_is_looked_up_never_treated_as_failed(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    fake_infakt.processing_seconds = 3600
    with pytest.raises(SyncRetry):
        document_sync(document_id=document.pk)  # created, still processing after our polls
    fake_infakt.tasks.clear()  # inFakt forgot the task
    with pytest.raises(SyncRetry) as retry:
        document_sync(document_id=document.pk)
    document.refresh_from_db()
    assert retry.value.in_doubt and document.state == "issuing" and document.sync_in_doubt
    assert len(creates(fake_infakt)) == 1


# --- the lease ------------------------------------------------------------------------------------------------
def test_a_worker_whose_lease_was_taken_over_never_clears_the_new_owners_lease(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    first = take_lease(document.pk)
    assert take_lease(document.pk) is None  # held
    # the first worker blocks past its lease without renewing it; a second one takes over
    Document.objects.filter(pk=document.pk).update(sync_lease_until=timezone.now() - timedelta(seconds=1))
    second = take_lease(document.pk)
    assert second is not None

    first.release()
    document.refresh_from_db()
    assert document.sync_lease_owner == second.token and document.sync_lease_until > timezone.now()
    with pytest.raises(LeaseLost):
        first.renew(force=True)
    second.release()
    document.refresh_from_db()
    assert document.sync_lease_owner == "" and document.sync_lease_until is None


def test_a_worker_that_lost_its_lease_before_the_create_does_not_create(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    original = sync.document_payload
    taken_over = {}

    def blocked_past_the_lease(doc):
        Document.objects.filter(pk=doc.pk).update(sync_lease_until=timezone.now() - timedelta(seconds=1))
        taken_over["lease"] = take_lease(doc.pk)
        return original(doc)

    monkeypatch.setattr(sync, "document_payload", blocked_past_the_lease)
    document = document_sync(document_id=document.pk)
    assert creates(fake_infakt) == []
    assert document.state == "issuing" and document.sync_lease_owner == taken_over["lease"].token


def test_the_lease_is_renewed_while_the_rate_limiter_makes_the_sync_wait(
    infakt_series, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMIT_REDIS_URL = ""
    settings.CELERY_BROKER_URL = ""
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    lease = take_lease(document.pk)
    soon = timezone.now() + timedelta(seconds=1)
    Document.objects.filter(pk=document.pk).update(sync_lease_until=soon)
    lease._renewed = float("-inf")
    with ratelimit.while_waiting(lease.renew):
        ratelimit.acquire("test:lease-renewal", limit=1, window=0.3)
        ratelimit.acquire("test:lease-renewal", limit=1, window=0.3)  # waits ~0.3 s
    document.refresh_from_db()
    assert document.sync_lease_until > timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS - 30)
    assert document.sync_lease_owner == lease.token


# --- any error ends visibly -------------------------------------------------------------------------------------
def _fail_nth_limiter_call(monkeypatch, n, error):
    real = ratelimit.acquire
    calls = {"n": 0}

    def acquire(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(ratelimit, "acquire", acquire)


def test_a_rate_limiter_timeout_mid_sync_is_retried_and_the_document_is_issued_once(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    _fail_nth_limiter_call(monkeypatch, 2, TimeoutError("rate limit infakt:write: no slot within 3600 s"))
    with pytest.raises(SyncRetry):
        document_sync(document_id=document.pk)  # created; the status poll found no limiter slot
    document.refresh_from_db()
    assert document.state == "issuing" and "Limit zapytań do inFakt" in document.sync_last_error
    assert document.sync_lease_owner == ""  # released, not left to expire
    document = document_sync(document_id=document.pk)
    assert document.state == "issued" and len(creates(fake_infakt)) == 1


def test_a_rate_limiter_timeout_on_the_last_attempt_ends_in_attention_not_stuck_issuing(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    _fail_nth_limiter_call(monkeypatch, 2, TimeoutError("rate limit: no slot"))
    document = document_sync(document_id=document.pk, final_attempt=True)
    assert document.state == "attention"  # the invoice may exist in inFakt: a person checks first
    assert "Sprawdź w inFakt" in document.sync_last_error


def test_a_redis_error_before_any_create_ends_failed_on_the_last_attempt(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    import redis

    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    _fail_nth_limiter_call(monkeypatch, 1, redis.ConnectionError("Connection refused"))
    document = document_sync(document_id=document.pk, final_attempt=True)
    assert document.state == "failed" and "Redis" in document.sync_last_error
    assert creates(fake_infakt) == []


def test_a_missing_key_in_infakts_answer_never_leaves_the_document_issuing(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    public = fake_infakt.public
    monkeypatch.setattr(fake_infakt, "public", lambda inv: {k: v for k, v in public(inv).items() if k != "uuid"})
    with pytest.raises(SyncRetry):
        document_sync(document_id=document.pk)
    document.refresh_from_db()
    assert document.state == "issuing" and "KeyError" in document.sync_last_error
    document = document_sync(document_id=document.pk, final_attempt=True)
    assert document.state == "attention"
    monkeypatch.setattr(fake_infakt, "public", public)
    with django_capture_on_commit_callbacks(execute=True):
        document_sync_retry(document=document)
    document.refresh_from_db()
    assert document.state == "issued" and len(creates(fake_infakt)) == 1


def test_a_document_cancelled_during_the_sync_keeps_infakts_number(
    infakt_series, fake_infakt, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.infakt.provider import InfaktProvider

    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    pdf = InfaktProvider.pdf

    def cancelled_meanwhile(self, uuid, **kwargs):
        Document.objects.filter(pk=document.pk).update(state="cancelled")
        return pdf(self, uuid, **kwargs)

    monkeypatch.setattr(InfaktProvider, "pdf", cancelled_meanwhile)
    document = document_sync(document_id=document.pk)
    assert document.state == "cancelled"
    assert document.external_number == fake_infakt.invoices[document.external_uuid]["number"] != ""
    assert document.external_uuid in fake_infakt.invoices
    assert document.external_number in document.sync_last_error


# --- the sweeper -------------------------------------------------------------------------------------------------
def test_sweeper_resumes_an_orphaned_issuing_document_exactly_once(
    infakt_series, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.SWEEP_MIN_AGE_SECONDS = 120
    orphan = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)  # its enqueue was lost
    fresh = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    leased = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    old = timezone.now() - timedelta(seconds=300)
    Document.objects.filter(pk__in=[orphan.pk, leased.pk]).update(created_at=old)
    assert take_lease(leased.pk) is not None  # a live worker holds it

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_documents() == 1
        assert sweep_documents() == 0  # a second (or concurrent) sweep finds it claimed
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    orphan.refresh_from_db()
    assert orphan.state == "issued"
    assert len(fake_infakt.invoices_with_notes(f"[ref D{orphan.pk}]")) == 1
    assert Document.objects.get(pk=fresh.pk).state == "issuing"  # too young: its task may still be on the way
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_documents() == 0
    assert len(creates(fake_infakt)) == 1


# --- payloads and the VAT check -----------------------------------------------------------------------------------
def test_correction_reaches_infakt_with_the_invoices_client_id_and_both_reasons(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.document_issue(order=OrderFactory(**B2B), series=infakt_series)
    invoice.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        correction = services.document_correct(
            document=invoice,
            reason="Błędna cena kubka",
            reason_code="mistake",
            changes=[services.LineChange(position=1, unit_price_gross=Decimal("45.00"))],
        )
    correction.refresh_from_db()
    assert correction.state == "issued", correction.sync_last_error
    path, body = [(p, b) for p, b in fake_infakt.bodies if p.endswith("/async/corrective_invoices.json")][0]
    sent = body["corrective_invoice"]
    assert sent["client_id"] == fake_infakt.invoices[invoice.external_uuid]["client_id"]
    assert sent["correction_reason"] == "mistake"
    assert "Przyczyna korekty: Błędna cena kubka" in sent["notes"]
    assert all(isinstance(s["unit_net_price"], int) for s in sent["services"])
    assert [(s["group"], s["correction"]) for s in sent["services"]][:2] == [("1", False), ("1", True)]


def test_correction_is_refused_by_the_fake_without_client_id(fake_infakt):
    errors = fake_infakt.validate(
        {
            "currency": "PLN",
            "payment_method": "transfer",
            "services": [
                {"name": "K", "tax_symbol": "23", "quantity": 1, "unit_net_price": 100, "group": "1"},
            ],
            "correction_reason": "other",
        },
        correction=True,
    )
    assert errors["client_id"] == ["client_id required"]


def test_zw_lines_go_to_infakt_with_the_exemption_basis(
    infakt_integration, fake_infakt, django_capture_on_commit_callbacks
):
    series = services.series_save(
        data={"integration": infakt_integration, "exemption_basis": "art. 43 ust. 1 pkt 29 lit. a ustawy o VAT"},
        series=SeriesFactory(),
    )
    order = OrderFactory(
        items=[
            {"name": "Kurs zawodowy", "quantity": Decimal(1), "unit_price_gross": Decimal("500.00"), "vat_rate": "zw"}
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_issue(order=order, series=series)
    document.refresh_from_db()
    assert document.state == "issued", document.sync_last_error
    assert fake_infakt.invoices[document.external_uuid]["vat_exemption_reason"] == 29


def test_zw_basis_unknown_to_infakt_fails_with_a_clear_message_and_nothing_created(
    infakt_integration, fake_infakt, django_capture_on_commit_callbacks
):
    series = services.series_save(
        data={"integration": infakt_integration, "exemption_basis": "art. 999 ustawy o VAT"}, series=SeriesFactory()
    )
    order = OrderFactory(
        items=[{"name": "Kurs", "quantity": Decimal(1), "unit_price_gross": Decimal("500.00"), "vat_rate": "zw"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_issue(order=order, series=series)
    document.refresh_from_db()
    assert document.state == "failed" and "art. 999" in document.sync_last_error
    assert creates(fake_infakt) == []


def test_invoice_to_a_receipt_carries_the_receipt_number_and_not_income(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    document = issue_unsent(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    receipt = Document(number="PAR/7/11/2026")
    document.receipt_document = receipt
    payload = sync.document_payload(document)
    assert payload.receipt_number == "PAR/7/11/2026"
    from integrations.infakt.provider import invoice_body

    invoice = invoice_body(payload)["invoice"]
    assert invoice["receipt_number"] == "PAR/7/11/2026" and invoice["not_income"] is True


def test_vat_computed_differently_by_infakt_puts_the_document_in_attention_with_both_figures(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    fake_infakt.vat_rounding = "per_line"
    item = {"name": "Zakładka", "quantity": Decimal(1), "unit_price_gross": Decimal("9.99"), "vat_rate": "23"}
    order = OrderFactory(items=[dict(item), dict(item), dict(item)])
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_issue(order=order, series=infakt_series)
    document.refresh_from_db()
    assert document.state == "attention"
    assert "VAT 23%: inFakt 5,61 PLN, u nas 5,60 PLN" in document.sync_last_error
    assert document.number == document.external_number and document.pdf  # inFakt's document is kept
