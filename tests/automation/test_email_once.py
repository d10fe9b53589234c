"""E-mail at most once per task; Ponów resends after a failure; a person sends again explicitly (UI and API)."""

import smtplib

import pytest
from django.core import mail
from django.urls import reverse

from accounting import services as accounting
from accounting.models import Document, EmailMessage
from automation import services
from automation.models import TaskRun
from orders import services as orders
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return SeriesFactory(name="Faktura (domyślnie)", is_default=True)


@pytest.fixture
def task(series):
    return services.task_save(
        data={
            "name": "Faktura po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
        }
    )


def set_status(order, name, capture):
    with capture(execute=True):
        orders.order_set_status(order=order, status=status(name))


def test_shipped_then_back_to_do_wyslania_then_shipped_again_emails_the_invoice_once(
    task, django_capture_on_commit_callbacks
):
    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    set_status(order, "Do wysłania", django_capture_on_commit_callbacks)
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)

    assert TaskRun.objects.filter(task=task).count() == 2  # the event recurred, the task ran twice
    assert len(mail.outbox) == 1
    assert EmailMessage.objects.filter(state="sent").count() == 1
    second = TaskRun.objects.filter(task=task).order_by("id").last()
    assert second.state == "ok" and "wysłano już" in second.results[-1]["message"]


class FlakySMTP:
    """The first delivery fails like a mail server that drops the connection; the next ones go through."""

    def __init__(self, monkeypatch, failures=1):
        from django.core.mail.backends.locmem import EmailBackend

        self.failures = failures
        original = EmailBackend.send_messages

        def send_messages(backend, messages):
            if self.failures:
                self.failures -= 1
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            return original(backend, messages)

        monkeypatch.setattr(EmailBackend, "send_messages", send_messages)


def test_smtp_failing_once_then_ponow_sends_the_invoice(task, monkeypatch, django_capture_on_commit_callbacks):
    FlakySMTP(monkeypatch)
    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    run = TaskRun.objects.get()
    assert run.state == "failed" and "Connection unexpectedly closed" in run.results[-1]["message"]
    assert mail.outbox == []
    assert EmailMessage.objects.get().state == "failed"

    run = services.run_retry(run=run)

    assert run.state == "ok"
    assert [m.to for m in mail.outbox] == [["kupujacy@example.pl"]]
    message = EmailMessage.objects.get()  # the same logged message, sent on its second attempt
    assert message.state == "sent" and message.attempts == 2
    assert Document.objects.filter(order=order).count() == 1


def test_interrupted_sending_is_not_repeated_by_a_redelivery_only_by_ponow(task, django_capture_on_commit_callbacks):
    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    run = TaskRun.objects.get()
    # as if the worker died after recording "sending" and before the mail server answered
    EmailMessage.objects.update(state="sending", sent_at=None)
    TaskRun.objects.filter(pk=run.pk).update(state="running", next_action=1)
    mail.outbox.clear()

    run = services.run_execute(run=run)  # the redelivered task
    assert run.state == "failed" and "sprawdź, czy wiadomość dotarła" in run.results[-1]["message"]
    assert mail.outbox == [] and EmailMessage.objects.get().state == "unknown"

    run = services.run_retry(run=run)  # a person decided: send it
    assert run.state == "ok" and len(mail.outbox) == 1


def test_run_execute_holds_the_run_row_while_it_executes(task, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    run = TaskRun.objects.get()
    TaskRun.objects.filter(pk=run.pk).update(state="failed")
    with CaptureQueriesContext(connection) as queries:
        services.run_retry(run=run)
    locking = [q["sql"] for q in queries if "automation_taskrun" in q["sql"] and "FOR UPDATE" in q["sql"]]
    assert len(locking) >= 2  # run_retry's check and every step of run_execute


def test_api_email_sends_by_hand_then_409_unless_again(staff_api, staff_user):
    document = accounting.document_issue(order=OrderFactory(customer_email="a@example.pl"), series=SeriesFactory())
    url = f"/api/documents/{document.pk}/email/"

    first = staff_api.post(url, {}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["state"] == "sent" and first.json()["sent_by"] == staff_user.username

    refused = staff_api.post(url, {}, format="json")
    assert refused.status_code == 409
    assert "został już wysłany" in refused.json()["again"][0]
    assert len(mail.outbox) == 1

    again = staff_api.post(url, {"again": True}, format="json")
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert len(mail.outbox) == 2
    assert EmailMessage.objects.filter(document=document, actor=staff_user).count() == 2


def test_api_email_after_the_task_sent_it_is_409(task, staff_api, django_capture_on_commit_callbacks):
    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    document = Document.objects.get(order=order)
    assert staff_api.post(f"/api/documents/{document.pk}/email/", {}, format="json").status_code == 409
    assert len(mail.outbox) == 1


def test_api_email_with_a_chosen_template_and_bad_template_id(staff_api):
    from accounting.emails import template_save

    custom = template_save(data={"name": "Krótki", "subject": "Dokument {numer_dokumentu}", "body": "W załączniku."})
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    bad = staff_api.post(f"/api/documents/{document.pk}/email/", {"template": 999999}, format="json")
    assert bad.status_code == 400 and "template" in bad.json()
    sent = staff_api.post(f"/api/documents/{document.pk}/email/", {"template": custom.pk}, format="json")
    assert sent.status_code == 201 and mail.outbox[0].subject == f"Dokument {document.number}"


def test_api_email_needs_a_staff_role(nobody_api):
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    assert nobody_api.post(f"/api/documents/{document.pk}/email/", {}, format="json").status_code == 403
    assert mail.outbox == []


def test_api_email_when_the_mail_server_fails_is_502_and_may_be_sent_again(staff_api, monkeypatch):
    FlakySMTP(monkeypatch)
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    failed = staff_api.post(f"/api/documents/{document.pk}/email/", {}, format="json")
    assert failed.status_code == 502 and "Nie udało się wysłać" in failed.json()["detail"]
    retried = staff_api.post(f"/api/documents/{document.pk}/email/", {}, format="json")  # nothing left: no 409
    assert retried.status_code == 201 and len(mail.outbox) == 1


def test_preview_offers_wyslij_ponownie_with_confirmation_and_logs_who(staff_client, staff_user):
    document = accounting.document_issue(order=OrderFactory(customer_email="a@example.pl"), series=SeriesFactory())
    detail = reverse("accounting:document_detail", args=[document.pk])
    page = staff_client.get(detail).content.decode()
    assert "Wyślij e-mailem" in page and "Wyślij ponownie" not in page

    staff_client.post(reverse("accounting:document_send", args=[document.pk]), {"token": "t1"})
    page = staff_client.get(detail).content.decode()
    assert "Wyślij ponownie" in page and 'id="send-email"' not in page

    confirm = staff_client.get(reverse("accounting:document_send_again", args=[document.pk])).content.decode()
    assert "Wysłać ponownie" in confirm and "a@example.pl" in confirm and staff_user.get_full_name() in confirm
    assert len(mail.outbox) == 1  # the confirmation page itself sends nothing

    response = staff_client.post(
        reverse("accounting:document_send", args=[document.pk]), {"token": "t2", "again": "1"}, follow=True
    )
    assert "Wysłano" in response.content.decode()
    assert len(mail.outbox) == 2
    assert EmailMessage.objects.filter(document=document, actor=staff_user, state="sent").count() == 2


def test_api_email_without_a_buyer_address_is_400_on_email_and_logged(staff_api):
    document = accounting.document_issue(order=OrderFactory(customer_email=""), series=SeriesFactory())
    response = staff_api.post(f"/api/documents/{document.pk}/email/", {}, format="json")
    assert response.status_code == 400 and "adresu e-mail" in response.json()["email"][0]
    logged = EmailMessage.objects.get(document=document)
    assert logged.state == "failed" and logged.recipient == "" and mail.outbox == []


def test_missing_address_in_a_task_is_logged_on_the_order_card(task, staff_client, django_capture_on_commit_callbacks):
    order = OrderFactory(customer_email="")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    assert EmailMessage.objects.get().state == "failed"
    assert TaskRun.objects.get().state == "failed"


def test_order_card_shows_who_sent_each_message(staff_client, staff_user, task, django_capture_on_commit_callbacks):
    order = OrderFactory(customer_email="kupujacy@example.pl")
    set_status(order, "Wysłane", django_capture_on_commit_callbacks)
    document = Document.objects.get(order=order)
    staff_client.post(reverse("accounting:document_send", args=[document.pk]), {"token": "x", "again": "1"})
    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "zadanie automatyczne" in page and staff_user.get_full_name() in page
