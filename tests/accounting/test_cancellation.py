"""Anuluj only for a document that never left the application; cancelled documents never go to KSeF."""

import pytest

from accounting import services
from accounting.models import Document, EmailMessage
from apilo.errors import Conflict
from devices.models import PrintJob
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
DELIVERED = "Dokument został już przekazany — wystaw korektę."


@pytest.fixture
def invoice():
    return services.document_issue(order=OrderFactory(), series=SeriesFactory())


def test_a_document_that_never_left_can_be_cancelled_and_the_order_gets_a_new_one(invoice):
    assert services.document_delivery_reasons(invoice) == []
    services.document_cancel(document=invoice, reason="Pomyłka w zamówieniu")
    invoice.refresh_from_db()
    assert invoice.state == "cancelled"
    assert services.document_issue(order=invoice.order, series=invoice.series).pk != invoice.pk


def test_cancel_of_an_e_mailed_invoice_is_refused_with_correction_hint(invoice):
    EmailMessage.objects.create(document=invoice, trigger="manual:1", recipient="a@example.pl", state="sent")
    with pytest.raises(Conflict) as err:
        services.document_cancel(document=invoice, reason="Rezygnacja")
    assert err.value.message.startswith(DELIVERED) and "e-mailem" in err.value.message
    invoice.refresh_from_db()
    assert invoice.state == "issued"


def test_a_failed_e_mail_does_not_block_cancellation(invoice):
    EmailMessage.objects.create(document=invoice, trigger="manual:1", recipient="a@example.pl", state="failed")
    assert services.document_cancel(document=invoice, reason="Rezygnacja").state == "cancelled"


def test_cancel_of_a_printed_receipt_is_refused():
    receipt = services.document_issue(
        order=OrderFactory(), series=SeriesFactory(kind="receipt", number_format="P/{nr}/{mm}/{rrrr}")
    )
    job = PrintJob.objects.get(idempotency_key=f"receipt-document-{receipt.pk}")
    PrintJob.objects.filter(pk=job.pk).update(state="done", result={"receipt_number": 17})
    with pytest.raises(Conflict) as err:
        services.document_cancel(document=receipt, reason="Klient zrezygnował")
    assert "paragon został wydrukowany" in err.value.message


def test_cancel_of_a_document_synced_to_an_accounting_service_or_sent_to_ksef_is_refused(invoice):
    Document.objects.filter(pk=invoice.pk).update(external_uuid="abc-123")
    invoice.refresh_from_db()
    assert services.document_delivery_reasons(invoice) == ["został przekazany do serwisu księgowego"]
    Document.objects.filter(pk=invoice.pk).update(external_uuid="", ksef_number="5260250274-20261130-0123456789AB-CD")
    invoice.refresh_from_db()
    assert services.document_delivery_reasons(invoice) == ["został wysłany do KSeF"]


def test_cancel_while_issuing_is_refused(invoice):
    Document.objects.filter(pk=invoice.pk).update(state="issuing")
    with pytest.raises(Conflict):
        services.document_cancel(document=invoice, reason="x")


def test_api_cancel_of_a_delivered_document_is_409_with_the_reason(staff_api, invoice):
    EmailMessage.objects.create(document=invoice, trigger="manual:1", recipient="a@example.pl", state="sent")
    response = staff_api.post(f"/api/documents/{invoice.pk}/cancel/", {"reason": "Rezygnacja"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith(DELIVERED) and body["reasons"] == ["został wysłany e-mailem do nabywcy"]


def test_cancel_page_shows_the_refusal_on_the_form(staff_client, invoice):
    EmailMessage.objects.create(document=invoice, trigger="manual:1", recipient="a@example.pl", state="sent")
    response = staff_client.post(f"/ksiegowosc/dokumenty/{invoice.pk}/anuluj/", {"reason": "Rezygnacja"})
    assert response.status_code == 400 and DELIVERED in response.content.decode()


def test_cancelled_documents_are_never_exported_to_ksef(staff_api, invoice):
    services.document_cancel(document=invoice, reason="Pomyłka")
    response = staff_api.get(f"/api/documents/{invoice.pk}/ksef/")
    assert response.status_code == 422
    assert "Anulowany" in response.json()["errors"][0]["reason"]


def test_an_invoice_the_accounting_service_refused_outright_can_be_cancelled(invoice, infakt_integration):
    Document.objects.filter(pk=invoice.pk).update(integration=infakt_integration, state="failed")
    invoice.refresh_from_db()
    assert services.document_delivery_reasons(invoice) == []
    Document.objects.filter(pk=invoice.pk).update(sync_in_doubt=True)
    invoice.refresh_from_db()
    assert services.document_delivery_reasons(invoice) == ["został przekazany do serwisu księgowego"]


def test_a_pending_or_sent_ksef_submission_blocks_cancellation(invoice, monkeypatch):
    from types import SimpleNamespace

    from accounting.services import cancellation

    monkeypatch.setattr(cancellation, "_ksef_submission", lambda document: SimpleNamespace(state="pending"))
    assert services.document_delivery_reasons(invoice) == ["czeka na wysyłkę do KSeF"]
    monkeypatch.setattr(cancellation, "_ksef_submission", lambda document: SimpleNamespace(state="accepted"))
    assert services.document_delivery_reasons(invoice) == ["został wysłany do KSeF"]
    monkeypatch.setattr(cancellation, "_ksef_submission", lambda document: SimpleNamespace(state="rejected"))
    assert services.document_delivery_reasons(invoice) == []
