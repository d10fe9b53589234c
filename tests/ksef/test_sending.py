"""Issuing on a KSeF series sends the stored FA(3) bytes exactly once, through faults, with number and UPO."""

import base64
import hashlib

import pytest
from ksef_client.utils.ksef_number import is_valid_ksef_number

from accounting import services
from accounting.ksef_send import ksef_due_submissions, ksef_submission_process
from accounting.models import KsefSubmission
from integrations.models import KsefConnection
from tests.factories import OrderFactory, SeriesFactory

from .conftest import SELLER_NIP

pytestmark = pytest.mark.django_db


@pytest.fixture
def ksef_series(ksef_connection):
    return services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())


@pytest.fixture
def correction_series(ksef_connection):
    return services.series_save(
        data={"ksef_connection": ksef_connection},
        series=SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True),
    )


def _issue(series, count=1):
    return [services.document_issue(order=OrderFactory(), series=series) for _ in range(count)]


def _drive(submission_ids, rounds=80):
    pending = list(submission_ids)
    for _ in range(rounds):
        pending = [pk for pk in pending if ksef_submission_process(submission_id=pk).retry_in is not None]
        if not pending:
            return
    raise AssertionError(f"not finished: {pending}")


def test_an_issued_invoice_is_sent_once_with_its_stored_bytes_number_and_upo(
    ksef_series, fake_ksef, admin_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (document,) = _issue(ksef_series)
    assert len(callbacks) >= 1  # the send is enqueued after commit
    submission = KsefSubmission.objects.get(document=document)
    assert submission.state == "pending" and submission.xml and submission.sha256
    body = admin_api.get(f"/api/documents/{document.pk}/").json()
    assert body["ksef"]["state"] == "pending" and body["ksef"]["number"] == ""

    _drive([submission.pk])

    submission.refresh_from_db()
    document.refresh_from_db()
    assert submission.state == "accepted" and is_valid_ksef_number(submission.ksef_number)
    assert document.ksef_number == submission.ksef_number
    (received,) = fake_ksef.accepted()
    assert received.xml == bytes(submission.xml)
    assert hashlib.sha256(received.xml).hexdigest() == submission.sha256
    assert submission.acquired_at is not None and b"Potwierdzenie" in bytes(submission.upo)
    body = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert body["state"] == "accepted" and body["number"] == submission.ksef_number and body["upo_available"]
    url = body["verification_url"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(received.xml).digest()).decode().rstrip("=")
    assert url == (f"https://qr-test.ksef.mf.gov.pl/invoice/{SELLER_NIP}/{document.issue_date:%d-%m-%Y}/{digest}")
    upo = admin_api.get(f"/api/documents/{document.pk}/ksef/upo/")
    assert upo.status_code == 200 and upo.content == bytes(submission.upo)
    assert admin_api.get(f"/api/documents/{document.pk}/ksef/").content == received.xml
    again = admin_api.post(f"/api/documents/{document.pk}/ksef/send/")
    assert again.status_code == 409
    # a duplicated task does nothing
    assert ksef_submission_process(submission_id=submission.pk).retry_in is None
    assert fake_ksef.count("POST", "/invoices") == 1


def test_a_lost_answer_after_acceptance_is_resolved_by_asking_ksef_not_by_a_second_invoice(
    ksef_series, fake_ksef, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (document,) = _issue(ksef_series)
    submission = KsefSubmission.objects.get(document=document)
    fake_ksef.fail_next("lost_answer", "/invoices")
    outcome = ksef_submission_process(submission_id=submission.pk)
    assert outcome.retry_in is not None
    submission.refresh_from_db()
    assert submission.send_started_at and not submission.invoice_reference
    _drive([submission.pk])
    submission.refresh_from_db()
    assert submission.state == "accepted" and submission.sends == 1
    assert len(fake_ksef.invoices) == 1


def test_a_resend_after_a_lost_session_is_answered_as_a_duplicate_and_takes_the_original_number(
    ksef_series, fake_ksef, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (document,) = _issue(ksef_series)
    submission = KsefSubmission.objects.get(document=document)
    fake_ksef.fail_next("lost_answer", "/invoices")
    ksef_submission_process(submission_id=submission.pk)
    # the session reference was lost too (e.g. the row was restored): the only way is to send again
    KsefSubmission.objects.filter(pk=submission.pk).update(session_reference="", send_started_at=None)
    KsefConnection.objects.update(session_reference="", session_state_encrypted="", session_valid_until=None)
    _drive([submission.pk])
    submission.refresh_from_db()
    (original,) = fake_ksef.accepted()
    assert submission.state == "accepted" and submission.ksef_number == original.ksef_number
    assert submission.upo and len(fake_ksef.accepted_for(SELLER_NIP, document.number)) == 1


def test_429_waits_as_long_as_ksef_says_and_5xx_backs_off(ksef_series, fake_ksef, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (document,) = _issue(ksef_series)
    submission = KsefSubmission.objects.get(document=document)
    fake_ksef.retry_after = 3
    fake_ksef.fail_next("429", "/invoices")
    outcome = ksef_submission_process(submission_id=submission.pk)
    assert 3 <= outcome.retry_in < 3.5
    submission.refresh_from_db()
    assert "429" in submission.last_error and submission.send_started_at is None
    assert ksef_due_submissions() == []  # not due before Retry-After
    fake_ksef.fail_next("500", "/invoices")
    assert ksef_submission_process(submission_id=submission.pk).retry_in is not None
    _drive([submission.pk])
    submission.refresh_from_db()
    assert submission.state == "accepted" and len(fake_ksef.invoices) == 1


def test_a_rejection_shows_ksefs_reasons_in_polish_and_sending_again_is_refused(
    ksef_series, fake_ksef, admin_api, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        (document,) = _issue(ksef_series)
    submission = KsefSubmission.objects.get(document=document)
    # KSeF validates against the schema and its own rules: an issue date in the future is refused
    bad = bytes(submission.xml).replace(
        f"<P_1>{document.issue_date.isoformat()}</P_1>".encode(), b"<P_1>2099-01-01</P_1>"
    )
    KsefSubmission.objects.filter(pk=submission.pk).update(xml=bad, sha256=hashlib.sha256(bad).hexdigest())
    _drive([submission.pk])
    body = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert body["state"] == "rejected"
    assert body["errors"][0]["code"] == 450 and "weryfikacji" in body["errors"][0]["message"]
    assert "P_1" in " ".join(body["errors"][0]["details"])
    refused = admin_api.post(f"/api/documents/{document.pk}/ksef/send/")
    assert refused.status_code == 409 and "korektę" in refused.json()["detail"]


def test_a_correction_waits_for_the_invoice_and_references_its_ksef_number(
    ksef_series, correction_series, fake_ksef, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (invoice,) = _issue(ksef_series)
        correction = services.document_correct(document=invoice, changes=[], reason="Zwrot", full_return=True)
    first = KsefSubmission.objects.get(document=invoice)
    second = KsefSubmission.objects.get(document=correction)
    assert not second.xml  # made only once the original has its KSeF number
    assert ksef_submission_process(submission_id=second.pk).retry_in is not None
    _drive([first.pk])
    _drive([second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.state == "accepted"
    assert f"<NrKSeFFaKorygowanej>{first.ksef_number}</NrKSeFFaKorygowanej>".encode() in bytes(second.xml)
    (received,) = [inv for inv in fake_ksef.accepted() if inv.kind == "KOR"]
    assert received.xml == bytes(second.xml)


def test_manual_connections_wait_for_the_send_button(
    ksef_connection, ksef_series, fake_ksef, admin_api, django_capture_on_commit_callbacks
):
    KsefConnection.objects.update(send_automatically=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (document,) = _issue(ksef_series)
    assert callbacks == [] or all("ksef" not in repr(c) for c in callbacks)
    submission = KsefSubmission.objects.get(document=document)
    assert ksef_due_submissions() == []
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/documents/{document.pk}/ksef/send/")
    assert response.status_code == 202
    submission.refresh_from_db()
    assert submission.state in ("accepted", "sending", "pending")
    _drive([submission.pk])
    assert admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]["state"] == "accepted"


def test_a_series_seller_nip_must_match_the_connection_and_receipts_never_go_to_ksef(ksef_connection):
    from apilo.errors import ApplicationError

    with pytest.raises(ApplicationError) as other_nip:
        services.series_save(
            data={"ksef_connection": ksef_connection, "seller_nip": "7740001454"}, series=SeriesFactory()
        )
    assert other_nip.value.field == "ksef_connection" and "NIP" in other_nip.value.message
    with pytest.raises(ApplicationError) as receipt:
        services.series_save(
            data={"ksef_connection": ksef_connection},
            series=SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}"),
        )
    assert receipt.value.field == "ksef_connection"


def test_documents_outside_ksef_say_not_applicable(admin_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (document,) = _issue(SeriesFactory())
    body = admin_api.get(f"/api/documents/{document.pk}/").json()["ksef"]
    assert body["state"] == "not_applicable"
    assert admin_api.post(f"/api/documents/{document.pk}/ksef/send/").status_code == 409
    assert admin_api.get(f"/api/documents/{document.pk}/ksef/upo/").status_code == 409


def test_an_expired_session_and_an_expired_token_are_replaced_without_a_second_invoice(
    ksef_series, fake_ksef, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        documents = _issue(ksef_series, 3)
    ids = [KsefSubmission.objects.get(document=d).pk for d in documents]
    _drive(ids[:1])
    fake_ksef.fail_next("expire_session", "/invoices")
    _drive(ids[1:2])
    fake_ksef.fail_next("expire_token", "/sessions")
    _drive(ids[2:])
    assert KsefSubmission.objects.filter(state="accepted").count() == 3
    assert len(fake_ksef.accepted()) == 3 and len(fake_ksef.invoices) == 3
    assert KsefConnection.objects.get().sessions_opened == 2


def test_the_sweeper_picks_up_lost_sends_and_closes_idle_sessions(
    ksef_series, fake_ksef, ksef_settings, django_capture_on_commit_callbacks
):
    from accounting.ksef_tasks import sweep_ksef

    ksef_settings.KSEF_SWEEP_GRACE_SECONDS = 0
    ksef_settings.KSEF_SESSION_IDLE_SECONDS = 0
    ksef_settings.KSEF_EAGER_SECONDS = 2
    with django_capture_on_commit_callbacks(execute=False):  # the enqueue is "lost"
        (document,) = _issue(ksef_series)
    submission = KsefSubmission.objects.get(document=document)
    assert ksef_due_submissions() == [submission.pk]
    sweep_ksef()  # eager here: runs the send inline, then closes the now idle session
    submission.refresh_from_db()
    assert submission.state == "accepted" and submission.upo
    connection = KsefConnection.objects.get()
    assert connection.session_reference == "" and connection.session_state_encrypted == ""
    assert fake_ksef.sessions[submission.session_reference].status in (170, 200)
