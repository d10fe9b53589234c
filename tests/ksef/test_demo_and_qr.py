"""`make run`'s demo data connects a KSeF series to the fake; KOD I follows the Ministry's check value."""

import pytest
from django.core.management import call_command
from ksef_client.config import KsefQrEnvironment

from accounting.models import DocumentSeries
from integrations.ksef.client import verification_url
from integrations.models import KsefConnection

pytestmark = pytest.mark.django_db


def test_demo_data_connects_a_ksef_series_to_the_fake(fake_ksef, ksef_settings):
    ksef_settings.DEMO_KSEF_URL = fake_ksef.base_url
    ksef_settings.DEMO_INFAKT_URL = ""
    ksef_settings.DEBUG = True  # seed_demo creates demo logins: it refuses under DEBUG=false
    call_command("seed_demo", orders=1, stdout=open("/dev/null", "w"))  # noqa: SIM115
    connection = KsefConnection.objects.get()
    assert connection.state == "ok", connection.last_error
    series = DocumentSeries.objects.get(name="Faktura KSeF (demo)")
    assert series.ksef_connection == connection
    call_command("seed_demo", orders=1, stdout=open("/dev/null", "w"))  # noqa: SIM115 - idempotent
    assert KsefConnection.objects.count() == 1


def test_kod_i_matches_the_ministry_check_value():
    connection = KsefConnection(nip="1111111111", environment="test")
    import datetime as dt

    url = verification_url(
        connection,
        issue_date=dt.date(2026, 2, 1),
        sha256_b64="lB4ozmNG8DcycYJo1/RdzUq1qCkhOtkAuuszxpOVprM=",
    )
    assert url == (
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/lB4ozmNG8DcycYJo1_RdzUq1qCkhOtkAuuszxpOVprM"
    )
    production = KsefConnection(nip="1111111111", environment="production")
    assert verification_url(production, issue_date=dt.date(2026, 2, 1), sha256_b64="A" * 43 + "=").startswith(
        KsefQrEnvironment.PROD.value
    )
    custom = KsefConnection(
        nip="1111111111", environment="custom", base_url="http://127.0.0.1:1", qr_environment="demo"
    )
    assert verification_url(custom, issue_date=dt.date(2026, 2, 1), sha256_b64="A" * 43 + "=").startswith(
        KsefQrEnvironment.DEMO.value
    )


def test_the_qr_code_image_carries_the_verification_link_and_the_label(ksef_connection, fake_ksef):
    from accounting import services
    from accounting.ksef_send import document_ksef_qr, ksef_submission_process
    from accounting.models import KsefSubmission
    from tests.factories import OrderFactory, SeriesFactory

    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    document = services.document_issue(order=OrderFactory(), series=series)
    submission = KsefSubmission.objects.get(document=document)
    KsefSubmission.objects.filter(pk=submission.pk).update(next_attempt_at=None)
    before = document_ksef_qr(type(document).objects.get(pk=document.pk))
    assert before["label"] == "OFFLINE" and before["png"].startswith(b"\x89PNG")
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    after = document_ksef_qr(type(document).objects.get(pk=document.pk))
    submission.refresh_from_db()
    assert after["label"] == submission.ksef_number and after["url"] == before["url"]
    assert after["data_uri"].startswith("data:image/png;base64,")


def test_the_qr_code_decodes_to_the_link_whose_hash_is_sha256_of_the_xml_ksef_received(
    ksef_connection, fake_ksef, tmp_path
):
    import base64
    import hashlib
    import subprocess

    from accounting import services
    from accounting.ksef_send import document_ksef_qr, ksef_submission_process
    from accounting.models import Document, KsefSubmission
    from tests.factories import OrderFactory, SeriesFactory

    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    document = services.document_issue(order=OrderFactory(), series=series)
    submission = KsefSubmission.objects.get(document=document)
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    qr = document_ksef_qr(Document.objects.get(pk=document.pk))
    image = tmp_path / "kod.png"
    image.write_bytes(qr["png"])
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    (received,) = fake_ksef.accepted()
    digest = base64.urlsafe_b64encode(hashlib.sha256(received.xml).digest()).decode().rstrip("=")
    assert decoded == f"https://qr-test.ksef.mf.gov.pl/invoice/5260250274/{document.issue_date:%d-%m-%Y}/{digest}"
    assert qr["label"] == received.ksef_number
