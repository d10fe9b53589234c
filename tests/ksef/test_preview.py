"""The document preview shows the KSeF state, number, UPO download, the send button and KOD I."""

import base64
import hashlib

import pytest

from accounting import services
from accounting.ksef_send import ksef_submission_process
from accounting.models import KsefSubmission
from integrations.models import KsefConnection
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def test_the_preview_shows_state_number_upo_and_qr_and_sends_on_request(
    ksef_connection, fake_ksef, staff_client, django_capture_on_commit_callbacks
):
    KsefConnection.objects.update(send_automatically=False)
    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    url = f"/ksiegowosc/dokumenty/{document.pk}/"
    page = staff_client.get(url).content.decode()
    assert "Oczekuje na wysłanie" in page and "Wyślij do KSeF" in page and "data:image/png;base64," in page
    assert "OFFLINE" in page
    with django_capture_on_commit_callbacks(execute=False):
        sent = staff_client.post(f"/ksiegowosc/dokumenty/{document.pk}/ksef/wyslij/", follow=True)
    assert "czeka na wysłanie do KSeF" in sent.content.decode()
    submission = KsefSubmission.objects.get(document=document)
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    submission.refresh_from_db()
    page = staff_client.get(url).content.decode()
    assert "Przyjęty w KSeF" in page and submission.ksef_number in page and "Pobierz UPO" in page
    assert "Wyślij do KSeF" not in page
    upo = staff_client.get(f"/ksiegowosc/dokumenty/{document.pk}/ksef/upo.xml")
    assert upo.status_code == 200 and upo.content == bytes(submission.upo)


def test_documents_filter_by_ksef_state_and_the_register_lists_ksef_numbers(
    ksef_connection, fake_ksef, staff_client, staff_api, django_capture_on_commit_callbacks
):
    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        sent, waiting = (services.document_issue(order=OrderFactory(), series=series) for _ in range(2))
        local = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    submission = KsefSubmission.objects.get(document=sent)
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    submission.refresh_from_db()
    ids = lambda state: [d["id"] for d in staff_api.get(f"/api/documents/?ksef_state={state}").json()["results"]]  # noqa: E731
    assert ids("accepted") == [sent.pk]
    assert ids("pending") == [waiting.pk]
    assert ids("not_applicable") == [local.pk]
    listing = staff_client.get("/ksiegowosc/dokumenty/?ksef_state=accepted").content.decode()
    assert "Stan KSeF" in listing and sent.number in listing and waiting.number not in listing
    register = staff_client.get("/ksiegowosc/dokumenty/rejestr.csv?ksef_state=accepted").content.decode("utf-8-sig")
    assert "Numer KSeF" in register.splitlines()[0] and submission.ksef_number in register


def test_a_stored_pdf_is_rendered_once_more_when_the_ksef_number_arrives(
    ksef_connection, fake_ksef, django_capture_on_commit_callbacks
):
    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    services.document_pdf(document=document)
    document.refresh_from_db()
    first_hash = document.pdf_sha256
    submission = KsefSubmission.objects.get(document=document)
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    document.refresh_from_db()
    submission.refresh_from_db()
    assert submission.pdf_refreshed and first_hash
    with document.pdf.open("rb") as handle:  # the stored file was replaced and its hash follows it
        assert hashlib.sha256(handle.read()).hexdigest() == document.pdf_sha256


def test_the_pdf_carries_kod_i_with_the_ksef_number_under_it(ksef_connection, fake_ksef, tmp_path):
    import subprocess

    series = services.series_save(data={"ksef_connection": ksef_connection}, series=SeriesFactory())
    document = services.document_issue(order=OrderFactory(), series=series)
    submission = KsefSubmission.objects.get(document=document)
    while ksef_submission_process(submission_id=submission.pk).retry_in is not None:
        pass
    submission.refresh_from_db()
    document.refresh_from_db()
    pdf = services.document_pdf(document=document)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert submission.ksef_number in text
    (tmp_path / "f.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "f.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(str(p) for p in tmp_path.glob("page*.png"))
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", *pages], capture_output=True, text=True).stdout
    digest = base64.urlsafe_b64encode(hashlib.sha256(fake_ksef.accepted()[0].xml).digest()).decode().rstrip("=")
    assert decoded.strip().endswith(f"/invoice/5260250274/{document.issue_date:%d-%m-%Y}/{digest}")
