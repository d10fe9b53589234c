"""Through a fake KSeF with injected faults of every kind, every invoice and correction is accepted exactly once;
an outage turns sending into offline mode, and the documents catch up when KSeF is back."""

import pytest

from accounting import services
from accounting.ksef_send import ksef_due_submissions, ksef_submission_process
from accounting.models import Document, KsefSubmission
from tests.factories import OrderFactory, SeriesFactory

from .conftest import SELLER_NIP

pytestmark = pytest.mark.django_db

FAULTS = {  # 30 % of all requests
    "429": 0.05,
    "500": 0.04,
    "503": 0.03,
    "timeout": 0.04,
    "drop": 0.03,
    "lost_answer": 0.06,
    "expire_token": 0.025,
    "expire_session": 0.025,
}


@pytest.fixture
def series(ksef_connection):
    invoices = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    services.series_save(
        data={"ksef_connection": ksef_connection},
        series=SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True),
    )
    return invoices


def assert_each_accepted_exactly_once(fake_ksef, documents):
    submissions = {s.document_id: s for s in KsefSubmission.objects.filter(document__in=documents)}
    for document in documents:
        submission = submissions[document.pk]
        kind = "KOR" if document.kind == "correction" else "VAT"
        in_ksef = fake_ksef.accepted_for(SELLER_NIP, document.number, kind)
        assert len(in_ksef) == 1, (document.number, len(in_ksef))
        assert submission.state == "accepted" and submission.ksef_number == in_ksef[0].ksef_number
        assert in_ksef[0].xml == bytes(submission.xml) and submission.upo
        if document.kind == "correction":
            original = submissions[document.corrected_document_id]
            assert f"<NrKSeFFaKorygowanej>{original.ksef_number}<".encode() in bytes(submission.xml)
    assert len(fake_ksef.accepted()) == len(documents)


def test_60_invoices_and_10_corrections_with_30_percent_faults_are_each_accepted_exactly_once(
    series, fake_ksef, ksef_settings, django_capture_on_commit_callbacks
):
    ksef_settings.KSEF_TIMEOUT_SECONDS = 0.3
    fake_ksef.slow_seconds = 0.5
    fake_ksef.retry_after = 0
    with django_capture_on_commit_callbacks(execute=False):
        invoices = [services.document_issue(order=OrderFactory(), series=series) for _ in range(60)]
        corrections = [
            services.document_correct(document=invoice, changes=[], reason="Zwrot", full_return=True)
            for invoice in invoices[:10]
        ]
    fake_ksef.faults = dict(FAULTS)
    pending = list(KsefSubmission.objects.values_list("pk", flat=True))
    for _ in range(200):
        pending = [pk for pk in pending if ksef_submission_process(submission_id=pk).retry_in is not None]
        if not pending:
            break
    fake_ksef.faults = {}
    assert pending == []
    assert sum(fake_ksef.faults_served.values()) > 20 and fake_ksef.faults_served.get("lost_answer")
    assert_each_accepted_exactly_once(fake_ksef, invoices + corrections)


def test_an_outage_makes_documents_offline_with_a_deadline_and_they_catch_up_when_ksef_is_back(
    series, fake_ksef, ksef_settings, admin_api, django_capture_on_commit_callbacks
):
    ksef_settings.KSEF_OFFLINE_AFTER_SECONDS = 0
    ksef_settings.KSEF_SWEEP_GRACE_SECONDS = 0
    fake_ksef.available = False
    with django_capture_on_commit_callbacks(execute=False):
        documents = [services.document_issue(order=OrderFactory(), series=series) for _ in range(3)]
    ids = list(KsefSubmission.objects.values_list("pk", flat=True))
    for pk in ids:
        assert ksef_submission_process(submission_id=pk).retry_in is not None
    body = admin_api.get(f"/api/documents/{documents[0].pk}/").json()["ksef"]
    assert body["state"] == "offline" and body["offline_deadline"] and body["verification_url"]
    assert body["number"] == ""
    KsefSubmission.objects.update(next_attempt_at=None)
    fake_ksef.available = True
    due = ksef_due_submissions()
    assert sorted(due) == sorted(ids)
    for _ in range(20):
        due = [pk for pk in due if ksef_submission_process(submission_id=pk).retry_in is not None]
        if not due:
            break
    assert due == []
    for submission in KsefSubmission.objects.all():
        assert submission.state == "accepted" and submission.invoicing_mode == "Offline"
    assert_each_accepted_exactly_once(fake_ksef, list(Document.objects.filter(pk__in=[d.pk for d in documents])))


def test_offline24_marks_invoices_offline_with_the_next_working_day_and_sends_them_in_offline_mode(
    series, fake_ksef, admin_api, django_capture_on_commit_callbacks
):
    from integrations.models import KsefConnection

    connection = KsefConnection.objects.get()
    assert admin_api.patch(f"/api/ksef-connections/{connection.pk}/", {"offline24": True}, format="json").json()[
        "offline24"
    ]
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    submission = KsefSubmission.objects.get(document=document)
    assert submission.state == "offline" and submission.offline_deadline > document.issue_date
    assert submission.offline_deadline.weekday() < 5
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    submission.refresh_from_db()
    assert submission.state == "accepted" and submission.invoicing_mode == "Offline"


def _offline_certificate():
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sklep Bursztyn — certyfikat offline")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x01F20A5D352AE590)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, key


def test_offline_invoices_carry_kod_ii_signed_with_the_offline_certificate(
    series, fake_ksef, admin_api, django_capture_on_commit_callbacks
):
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from accounting.ksef_send import document_ksef_qr
    from integrations.models import KsefConnection

    cert_pem, key_pem, key = _offline_certificate()
    _other_cert, other_key, _ = _offline_certificate()
    connection = KsefConnection.objects.get()
    url = f"/api/ksef-connections/{connection.pk}/"
    mismatch = admin_api.patch(url, {"offline_certificate": cert_pem, "offline_private_key": other_key}, format="json")
    assert mismatch.status_code == 400 and "offline_private_key" in mismatch.json()
    saved = admin_api.patch(
        url, {"offline_certificate": cert_pem, "offline_private_key": key_pem, "offline24": True}, format="json"
    )
    assert saved.status_code == 200 and saved.json()["offline_certificate_serial"] == "1F20A5D352AE590"
    assert "BEGIN" not in saved.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    qr = document_ksef_qr(Document.objects.get(pk=document.pk))
    assert qr["label"] == "OFFLINE" and qr["certificate"]["label"] == "CERTYFIKAT"
    link = qr["certificate"]["url"]
    prefix = f"https://qr-test.ksef.mf.gov.pl/certificate/Nip/{SELLER_NIP}/{SELLER_NIP}/1F20A5D352AE590/"
    assert link.startswith(prefix)
    signed, signature = link.removeprefix("https://").rsplit("/", 1)
    key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        signed.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
