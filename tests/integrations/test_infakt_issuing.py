from datetime import date
from decimal import Decimal

import pytest
import time_machine

from accounting import services
from accounting.models import Document
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

B2B = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}


@pytest.fixture
def infakt_series(infakt_integration):
    return services.series_save(data={"integration": infakt_integration}, series=SeriesFactory(name="Faktury inFakt"))


def issue(order, series, capture):
    with capture(execute=True):
        document = services.document_issue(order=order, series=series)
    document.refresh_from_db()
    return document


def test_invoice_issued_through_infakt_gets_the_infakt_number_and_pdf(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    with time_machine.travel(date(2026, 11, 25), tick=True):
        document = issue(OrderFactory(**B2B), infakt_series, django_capture_on_commit_callbacks)

    assert document.state == "issued" and document.sync_state == "synced"
    assert document.number == document.external_number == "1/11/2026"
    assert document.external_uuid in fake_infakt.invoices
    assert document.pdf.read().startswith(b"%PDF")
    sent = fake_infakt.invoices[document.external_uuid]
    assert sent["gross_price"] == 11497 and sent["currency"] == "PLN"
    assert sent["client_tax_code"] == "5252344078"


def test_series_linked_to_infakt_always_takes_the_number_from_infakt(infakt_series):
    assert infakt_series.external_numbering


def test_receipt_series_cannot_be_linked_to_infakt(infakt_integration):
    from apilo.errors import ApplicationError

    with pytest.raises(ApplicationError) as err:
        services.series_save(
            data={"integration": infakt_integration},
            series=SeriesFactory(kind="receipt", number_format="P/{nr}/{mm}/{rrrr}"),
        )
    assert "paragon" in err.value.message


def test_rejected_invoice_is_failed_with_infakt_field_errors(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    order = OrderFactory(payment_method="transfer")
    original = fake_infakt.validate
    fake_infakt.validate = lambda data, correction: {"payment_method": ["Proszę wybrać odpowiedni sposób płatności."]}
    document = issue(order, infakt_series, django_capture_on_commit_callbacks)
    fake_infakt.validate = original
    assert document.state == "failed"
    assert "Proszę wybrać odpowiedni sposób płatności." in document.sync_last_error
    assert document.sync_errors == {"payment_method": ["Proszę wybrać odpowiedni sposób płatności."]}


def test_wrong_key_marks_the_integration_failing(infakt_series, fake_infakt, django_capture_on_commit_callbacks):
    fake_infakt.api_key = "another-key-entirely"
    document = issue(OrderFactory(), infakt_series, django_capture_on_commit_callbacks)
    infakt_series.integration.refresh_from_db()
    assert document.state == "failed" and "401" in document.sync_last_error
    assert infakt_series.integration.state == "failing"


def test_lost_answer_after_create_is_adopted_not_duplicated(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    fake_infakt.faults = {"drop_after_create": 1.0}
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = services.document_issue(order=order, series=infakt_series)
    from accounting.sync import SyncRetry, document_sync

    with pytest.raises(SyncRetry):
        document_sync(document_id=document.pk)  # create sent, answer lost
    fake_infakt.faults = {}
    document = document_sync(document_id=document.pk)
    assert document.state == "issued"
    assert len(fake_infakt.invoices) == 1
    assert callbacks  # the task was scheduled after commit


def test_correction_round_trip_through_infakt(infakt_series, fake_infakt, django_capture_on_commit_callbacks):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    with time_machine.travel(date(2026, 11, 25), tick=True):
        invoice = issue(OrderFactory(**B2B), infakt_series, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            correction = services.document_correct(
                document=invoice,
                reason="Zwrot 1 szt.",
                reason_code="other",
                changes=[services.LineChange(position=1, quantity=Decimal(1))],
            )
    correction.refresh_from_db()
    assert correction.state == "issued" and correction.number == "1/KOR/11/2026"
    sent = fake_infakt.invoices[correction.external_uuid]
    assert sent["corrected_invoice_uuid"] == invoice.external_uuid
    assert sent["gross_price"] == -4999
    pairs = [(s["group"], s["correction"], s["quantity"], s["gross_price"]) for s in sent["services"]]
    assert pairs == [("1", False, 2.0, 9998), ("1", True, 1.0, 4999), ("2", False, 1.0, 1499), ("2", True, 1.0, 1499)]


def test_infakt_invoice_local_document_exists_before_any_call(
    infakt_series, fake_infakt, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=infakt_series)
    assert Document.objects.get(pk=document.pk).state == "issuing"
    assert fake_infakt.requests == [("GET", "/api/v3/account/details.json"), ("GET", "/api/v3/bank_accounts.json")]
