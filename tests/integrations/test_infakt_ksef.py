"""KSeF through inFakt: a synced invoice is sent to KSeF by inFakt (asked once) and its KSeF state is read until
final, shown in the API's `"ksef"` block and on the preview like a directly sent document's."""

import re
import time

import pytest

from accounting import services
from accounting.infakt_ksef import infakt_ksef_due, infakt_ksef_process
from accounting.models import Document, InfaktKsefStatus
from integrations.ksef.fake import crc8
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

B2B = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}


@pytest.fixture
def infakt_series(infakt_integration):
    return services.series_save(data={"integration": infakt_integration}, series=SeriesFactory(name="Faktury inFakt"))


@pytest.fixture
def quick(settings, fake_infakt):
    settings.INFAKT_KSEF_POLL_SECONDS = 0.05
    settings.INFAKT_KSEF_POLL_MAX_SECONDS = 0.1
    settings.KSEF_RETRY_BASE_SECONDS = 0.01
    settings.KSEF_RETRY_MAX_SECONDS = 0.05
    settings.KSEF_EAGER_SECONDS = 3
    fake_infakt.ksef_seconds = 0.3
    return settings


def issue(series, capture) -> Document:
    with capture(execute=True):
        document = services.document_issue(order=OrderFactory(**B2B), series=series)
    document.refresh_from_db()
    return document


def ksef_sends(fake) -> list[str]:
    return [path for method, path in fake.requests if method == "POST" and path.startswith("/api/v3/ksef2/")]


def test_infakt_invoice_reaches_accepted_with_the_ksef_number_in_the_api_and_on_the_preview(
    infakt_series, fake_infakt, quick, admin_api, staff_client, django_capture_on_commit_callbacks
):
    document = issue(infakt_series, django_capture_on_commit_callbacks)

    assert document.state == "issued"
    row = InfaktKsefStatus.objects.get(document=document)
    assert row.state == "accepted" and row.service_status == "success"
    number = row.ksef_number
    assert re.fullmatch(r"5260250274-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}", number)
    assert number[-2:] == f"{crc8(number[:32].encode()):02X}"  # check digits of the number inFakt gave
    assert document.ksef_number == number
    # it went pending → sent → success in inFakt, read by polling
    statuses = [
        p for m, p in fake_infakt.requests if p.endswith(f"/ksef2/documents/{document.external_uuid}/status.json")
    ]
    assert len(statuses) >= 2

    block = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert block["state"] == "accepted" and block["number"] == number
    assert block["acquired_at"] and block["upo_available"] is False and block["errors"] == []
    assert block["verification_url"] is None

    page = staff_client.get(f"/ksiegowosc/dokumenty/{document.pk}/").content.decode()
    assert 'data-ksef-state="accepted"' in page and number in page
    assert "Przyjęty w KSeF" in page and "(przez inFakt)" in page
    assert 'id="ksef-send"' not in page  # inFakt sends, not us


def test_infakt_ksef_error_is_shown_in_polish_as_rejected(
    infakt_series, fake_infakt, quick, admin_api, staff_client, django_capture_on_commit_callbacks
):
    fake_infakt.ksef_error = "21416:Wersja dokumentu niezgodna z wersją schematu."
    document = issue(infakt_series, django_capture_on_commit_callbacks)

    row = InfaktKsefStatus.objects.get(document=document)
    assert row.state == "rejected" and row.ksef_number == ""
    block = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert block["state"] == "rejected" and block["number"] == ""
    assert block["errors"] == [
        {"code": "error", "message": "21416:Wersja dokumentu niezgodna z wersją schematu.", "details": []}
    ]
    assert "dokument nie trafił do KSeF" in block["last_error"]
    page = staff_client.get(f"/ksiegowosc/dokumenty/{document.pk}/").content.decode()
    assert 'data-ksef-state="rejected"' in page and "Odrzucony przez KSeF" in page
    assert "Dokument nie trafił do KSeF (informacja z inFakt)" in page
    assert "Wersja dokumentu niezgodna z wersją schematu." in page


def test_infakt_account_without_ksef_integration_is_rejected_with_infakts_message(
    infakt_series, fake_infakt, quick, admin_api, django_capture_on_commit_callbacks
):
    fake_infakt.ksef_integrated = False
    document = issue(infakt_series, django_capture_on_commit_callbacks)

    block = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert block["state"] == "rejected"
    assert block["errors"][0]["message"] == "Użytkownik nie jest zintegrowany z KSeF."
    assert len(ksef_sends(fake_infakt)) == 1


def test_a_lost_poll_is_picked_up_by_the_ksef_sweeper(
    infakt_series, fake_infakt, quick, django_capture_on_commit_callbacks
):
    from accounting.ksef_tasks import sweep_ksef

    quick.KSEF_EAGER_SECONDS = 0  # the task asks inFakt to send; its next poll is "lost"
    document = issue(infakt_series, django_capture_on_commit_callbacks)
    row = InfaktKsefStatus.objects.get(document=document)
    assert row.state == "sending" and row.send_requested_at is not None

    quick.KSEF_SWEEP_GRACE_SECONDS = 0
    time.sleep(0.35)
    assert infakt_ksef_due() == [document.pk]
    quick.KSEF_EAGER_SECONDS = 3
    sweep_ksef()  # eager here: polls inline until final
    row.refresh_from_db()
    assert row.state == "accepted" and row.ksef_number
    assert infakt_ksef_due() == []
    assert len(ksef_sends(fake_infakt)) == 1


def test_send_to_ksef_is_never_asked_twice(infakt_series, fake_infakt, quick, django_capture_on_commit_callbacks):
    from accounting.infakt_ksef import infakt_ksef_document_synced
    from accounting.ksef_tasks import infakt_ksef_task, sweep_ksef
    from accounting.sync import document_sync

    document = issue(infakt_series, django_capture_on_commit_callbacks)
    assert InfaktKsefStatus.objects.get(document=document).state == "accepted"

    quick.KSEF_SWEEP_GRACE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        infakt_ksef_task.apply((document.pk,))  # a duplicated delivery
        infakt_ksef_process(document_id=document.pk)
        infakt_ksef_document_synced(Document.objects.get(pk=document.pk))
        document_sync(document_id=document.pk)
        sweep_ksef()
    assert ksef_sends(fake_infakt) == [f"/api/v3/ksef2/documents/{document.external_uuid}/send.json"]
    assert fake_infakt.ksef_sends == [document.external_uuid]


def test_a_lost_answer_to_the_send_is_read_back_not_asked_again(
    infakt_series, fake_infakt, quick, django_capture_on_commit_callbacks
):
    original = fake_infakt.ksef_send

    def send_then_fail(invoice_uuid):
        original(invoice_uuid)  # inFakt takes the order, the answer is lost
        return 500, {"error": "Internal Server Error"}

    fake_infakt.ksef_send = send_then_fail
    document = issue(infakt_series, django_capture_on_commit_callbacks)

    row = InfaktKsefStatus.objects.get(document=document)
    assert row.state == "accepted" and row.ksef_number and not row.send_in_doubt
    assert fake_infakt.ksef_sends == [document.external_uuid]


def test_a_send_refused_before_reaching_infakt_is_asked_later(
    infakt_series, fake_infakt, quick, django_capture_on_commit_callbacks
):
    original = fake_infakt.ksef_send
    refusals = []

    def busy_once(invoice_uuid):
        if not refusals:
            refusals.append(invoice_uuid)
            return 429, {"error": "Przekroczono limit zapytań."}
        return original(invoice_uuid)

    fake_infakt.ksef_send = busy_once
    document = issue(infakt_series, django_capture_on_commit_callbacks)

    row = InfaktKsefStatus.objects.get(document=document)
    assert row.state == "accepted"
    assert refusals == [document.external_uuid] and fake_infakt.ksef_sends == [document.external_uuid]
