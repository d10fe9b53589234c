import pytest
from django.urls import reverse

from devices import services
from devices.fake_printnode import FakePrintNode
from devices.models import Printer, PrintNodeAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    printnode = FakePrintNode()
    settings.PRINTNODE_API_URL = printnode.start()
    yield printnode
    printnode.stop()


def test_admin_connects_printnode_key_encrypted_masked_and_printers_listed(admin_client, fake):
    response = admin_client.post(reverse("devices:printnode"), {"api_key": fake.api_key}, follow=True)
    page = response.content.decode()
    account = PrintNodeAccount.objects.get()
    assert "PrintNode połączony: 2 drukarek" in page and "••••0042" in page and fake.api_key not in page
    assert fake.api_key not in account.credentials_encrypted and account.api_key == fake.api_key
    assert sorted(Printer.objects.filter(kind="printnode").values_list("connection", flat=True)) == ["101", "102"]
    assert "MAGAZYN-PC" in page


def test_wrong_key_is_reported(admin_client, fake):
    admin_client.post(reverse("devices:printnode"), {"api_key": "zly-klucz"})
    assert PrintNodeAccount.objects.get().state == "failing"


def test_document_pdf_goes_to_printnode_once_with_an_idempotency_key(fake):
    services.printnode_connect(api_key=fake.api_key)
    printer = Printer.objects.get(connection="102")
    job, _ = services.printnode_enqueue(
        printer=printer,
        kind="document",
        key="doc-7",
        title="FV/1/11/2026",
        content=b"%PDF-1.4 test",
        content_type="pdf_base64",
    )
    job = services.print_job_run(job_id=job.pk)
    assert job.state == "done" and job.result["printnode_job"] == 4001
    assert fake.jobs[0]["content"] == b"%PDF-1.4 test" and fake.jobs[0]["printerId"] == 102
    assert services.print_job_run(job_id=job.pk).state == "done" and len(fake.jobs) == 1


def test_429_keeps_the_job_queued_with_the_reason(fake):
    services.printnode_connect(api_key=fake.api_key)
    fake.fail_429 = 1.0
    job, _ = services.printnode_enqueue(
        printer=Printer.objects.get(connection="101"),
        kind="label",
        key="label-1",
        title="Etykieta",
        content=b"^XA^XZ",
        content_type="raw_base64",
    )
    job = services.print_job_run(job_id=job.pk)
    assert job.state == "queued" and "429" in job.error
    fake.fail_429 = 0
    assert services.print_job_run(job_id=job.pk).state == "done"
    assert fake.jobs[0]["contentType"] == "raw_base64"
