import pytest
from django.core import mail
from django.urls import reverse

from accounting import services as accounting
from accounting.models import EmailTemplate
from automation.models import AutomaticTask, TaskRun
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db


def test_popularne_creates_an_inactive_task_resolved_to_this_shop(admin_client):
    SeriesFactory(is_default=True)
    page = admin_client.get(reverse("automation:task_list")).content.decode()
    assert "Wystaw fakturę po zmianie statusu na Wysłane i wyślij ją kupującemu" in page
    response = admin_client.post(reverse("automation:popular_choose", args=["invoice-on-shipped"]), follow=True)
    task = AutomaticTask.objects.get()
    assert not task.active and task.to_status == status("Wysłane")
    assert [a.type for a in task.actions.all()] == ["issue_document", "send_document"]
    assert "Włącz" in response.content.decode()


def test_popularne_without_a_series_explains(admin_client):
    response = admin_client.post(reverse("automation:popular_choose", args=["invoice-on-shipped"]), follow=True)
    assert "Brak aktywnej serii" in response.content.decode() and not AutomaticTask.objects.exists()


def test_task_form_saves_event_conditions_and_ordered_actions(admin_client):
    series = SeriesFactory()
    response = admin_client.post(
        reverse("automation:task_create"),
        {
            "name": "Allegro: faktura i notatka",
            "active": "on",
            "event_type": "status_changed",
            "to_status": status("Wysłane").pk,
            "channel": ["allegro"],
            "buyer_has_nip": "yes",
            "total_min": "10",
            "actions-TOTAL_FORMS": "2",
            "actions-INITIAL_FORMS": "0",
            "actions-0-type": "add_note",
            "actions-0-note": "Wysłano",
            "actions-0-ORDER": "2",
            "actions-1-type": "issue_document",
            "actions-1-series": series.pk,
            "actions-1-ORDER": "1",
        },
        follow=True,
    )
    assert "Zapisano zadanie" in response.content.decode()
    task = AutomaticTask.objects.get()
    assert [a.type for a in task.actions.all()] == ["issue_document", "add_note"]
    assert {c["field"] for c in task.conditions} == {"channel", "buyer_has_nip", "total"}


def test_task_form_errors_are_shown_and_nothing_saved(admin_client):
    response = admin_client.post(
        reverse("automation:task_create"),
        {
            "name": "Bez akcji",
            "event_type": "status_changed",
            "to_status": status("Wysłane").pk,
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400 and "Dodaj co najmniej jedną akcję." in response.content.decode()
    assert not AutomaticTask.objects.exists()


def test_staff_cannot_manage_tasks(staff_client):
    assert staff_client.get(reverse("automation:task_list")).status_code == 403


def test_email_template_preview_and_unknown_placeholder(admin_client):
    url = reverse("automation:template_create")
    preview = admin_client.post(
        url, {"name": "T", "subject": "Faktura {numer_dokumentu}", "body": "Kwota: {kwota}", "preview": "1"}
    ).content.decode()
    assert "Faktura FV/17/11/2026" in preview and "Kwota: 187,97 PLN" in preview
    bad = admin_client.post(url, {"name": "T", "subject": "x", "body": "{nieznany}"})
    assert bad.status_code == 400 and "Nieznany znacznik {nieznany}" in bad.content.decode()
    admin_client.post(url, {"name": "T", "subject": "Faktura {numer_dokumentu}", "body": "Kwota: {kwota}"})
    assert EmailTemplate.objects.filter(name="T").exists()


def test_manual_send_from_the_preview_sends_once_per_click(staff_client):
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    url = reverse("accounting:document_send", args=[document.pk])
    staff_client.post(url, {"token": "abc"})
    staff_client.post(url, {"token": "abc"})  # a double click: same form, same token
    assert len(mail.outbox) == 1
    staff_client.post(url, {"token": "def"})  # a new form, but the document was sent: needs Wyślij ponownie
    assert len(mail.outbox) == 1
    staff_client.post(url, {"token": "def", "again": "1"})  # the confirmation page's form
    assert len(mail.outbox) == 2


def test_order_card_shows_runs_and_emails(staff_client, django_capture_on_commit_callbacks):
    from automation import services
    from orders import services as orders

    series = SeriesFactory()
    services.task_save(
        data={
            "name": "Faktura po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
        }
    )
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_set_status(order=order, status=status("Wysłane"))
    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Faktura po wysyłce" in page and "Wystawiono dokument" in page and "Wysłano" in page
    assert "l.zoltowski@example.pl" in page


def test_api_automatic_tasks_crud_and_runs(admin_api, django_capture_on_commit_callbacks):
    series = SeriesFactory()
    body = {
        "name": "Faktura po wysyłce",
        "active": True,
        "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
        "conditions": [{"field": "buyer_has_nip", "op": "is", "value": False}],
        "actions": [
            {"type": "issue_document", "series": series.pk},
            {"type": "send_document", "kind": "invoice", "template": None},
        ],
    }
    created = admin_api.post("/api/automatic-tasks/", body, format="json")
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    assert created.json()["actions"][1]["kind"] == "invoice"
    patched = admin_api.patch(f"/api/automatic-tasks/{task_id}/", {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    bad = admin_api.post("/api/automatic-tasks/", {**body, "actions": []}, format="json")
    assert bad.status_code == 400 and "actions" in bad.json()

    admin_api.patch(f"/api/automatic-tasks/{task_id}/", {"active": True}, format="json")
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"/api/orders/{order.pk}/status/", {"status": status("Wysłane").pk}, format="json")
    runs = admin_api.get(f"/api/automatic-tasks/{task_id}/runs/").json()
    assert len(runs) == 1 and runs[0]["state"] == "ok"
    emails = admin_api.get(f"/api/orders/{order.pk}/emails/").json()
    assert len(emails) == 1 and emails[0]["state"] == "sent"
    templates = admin_api.get("/api/email-templates/").json()
    assert templates and templates[0]["is_default"]
    assert admin_api.delete(f"/api/automatic-tasks/{task_id}/").status_code == 204
    assert TaskRun.objects.count() == 1  # runs are kept


def test_api_automatic_tasks_are_for_admins(staff_api):
    assert staff_api.get("/api/automatic-tasks/").status_code == 403


def test_the_preview_form_carries_a_send_token(staff_client):
    import re

    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    page = staff_client.get(reverse("accounting:document_detail", args=[document.pk])).content.decode()
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page)
    assert token
    url = reverse("accounting:document_send", args=[document.pk])
    staff_client.post(url, {"token": token[1]})
    staff_client.post(url, {"token": token[1]})
    assert len(mail.outbox) == 1
