"""E-mail templates: a fixed set of placeholders validated on save, rendering without format specs, the default
template from the start, and the templates API (admins write, staff read, a used template is not deleted)."""

import html
import importlib

import pytest
from django.apps import apps
from django.core import mail
from django.urls import reverse

from accounting import emails
from accounting import services as accounting
from accounting.models import EmailTemplate
from automation import services
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db

BAD = [
    ("Dzień dobry {nieznane}", "{nieznane}"),
    ("Kwota: {kwota", "„{”"),
    ("Kwota: kwota}", "„}”"),
    ("Kwota: {kwota:>9}", "{kwota:>9}"),
    ("Kwota: {kwota:>999999999}", "{kwota:>999999999}"),
    ("Kwota: {kwota!r}", "{kwota!r}"),
    ("{numer_dokumentu.__class__}", "{numer_dokumentu.__class__}"),
]


@pytest.mark.parametrize(("body", "named"), BAD)
def test_template_form_refuses_a_bad_placeholder_naming_it(admin_client, body, named):
    response = admin_client.post(
        reverse("automation:template_create"), {"name": "Zły", "subject": "Faktura {numer_dokumentu}", "body": body}
    )
    assert response.status_code == 400
    assert named in html.unescape(response.content.decode())
    assert not EmailTemplate.objects.filter(name="Zły").exists()


@pytest.mark.parametrize(("body", "named"), BAD)
def test_templates_api_refuses_a_bad_placeholder_naming_it(admin_api, body, named):
    response = admin_api.post(
        "/api/email-templates/", {"name": "Zły", "subject": "Faktura", "body": body}, format="json"
    )
    assert response.status_code == 400
    assert named in response.json()["body"][0]
    assert not EmailTemplate.objects.filter(name="Zły").exists()


def test_a_bad_subject_is_named_under_subject(admin_api):
    response = admin_api.post(
        "/api/email-templates/", {"name": "Zły", "subject": "Faktura {numer}", "body": "x"}, format="json"
    )
    assert response.status_code == 400 and "{numer}" in response.json()["subject"][0]


def test_rendering_substitutes_only_known_placeholders_and_keeps_escaped_braces():
    template = emails.template_save(
        data={"name": "Klamry", "subject": "{{ważne}} {numer_dokumentu}", "body": "Kwota {kwota} {{kwota}}"}
    )
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    subject, body = emails.render(template, document)
    assert subject == f"{{ważne}} {document.number}"
    assert body == f"Kwota {document.total_gross} {document.currency} {{kwota}}"


def test_a_template_saved_before_validation_fails_at_send_with_a_message_not_a_500(staff_api):
    legacy = EmailTemplate.objects.create(name="Stary", subject="Faktura {numer_dokumentu", body="x")
    document = accounting.document_issue(order=OrderFactory(), series=SeriesFactory())
    response = staff_api.post(f"/api/documents/{document.pk}/email/", {"template": legacy.pk}, format="json")
    assert response.status_code == 400 and "„{”" in response.json()["template"][0]
    assert mail.outbox == []


def test_fresh_database_lists_the_default_template(staff_api):
    """The data migration creates it; nobody has opened a page."""
    migration = importlib.import_module("accounting.migrations.0009_default_email_template")
    EmailTemplate.objects.all().delete()  # as in a database migrated from scratch, before the migration ran
    migration.create_default(apps, None)
    migration.create_default(apps, None)  # running twice changes nothing
    body = staff_api.get("/api/email-templates/").json()
    assert [(t["name"], t["is_default"]) for t in body] == [("Faktura dla kupującego", True)]
    assert "{numer_dokumentu}" in body[0]["subject"]
    assert emails.template_problems(body[0]["subject"]) == [] and emails.template_problems(body[0]["body"]) == []


def test_default_template_exists_after_migrations():
    """In a database just migrated (pytest-django's test database) the default template is already there."""
    if not EmailTemplate.objects.exists():
        pytest.skip("a transactional test flushed the database before this one")
    assert EmailTemplate.objects.filter(is_default=True, name="Faktura dla kupującego").exists()


def test_templates_api_admins_write_staff_read(admin_api, staff_api):
    created = admin_api.post(
        "/api/email-templates/",
        {"name": "Paragon", "subject": "Paragon {numer_dokumentu}", "body": "Dziękujemy, {nabywca}!"},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert staff_api.get(f"/api/email-templates/{pk}/").json()["name"] == "Paragon"
    assert staff_api.patch(f"/api/email-templates/{pk}/", {"name": "X"}, format="json").status_code == 403
    assert staff_api.post("/api/email-templates/", {"name": "Y", "subject": "s", "body": "b"}).status_code == 403
    assert staff_api.delete(f"/api/email-templates/{pk}/").status_code == 403

    changed = admin_api.patch(f"/api/email-templates/{pk}/", {"is_default": True}, format="json")
    assert changed.status_code == 200 and changed.json()["is_default"] is True
    assert list(EmailTemplate.objects.filter(is_default=True).values_list("pk", flat=True)) == [pk]
    duplicate = admin_api.post("/api/email-templates/", {"name": "Paragon", "subject": "s", "body": "b"}, format="json")
    assert duplicate.status_code == 400 and "już istnieje" in duplicate.json()["name"][0]
    assert admin_api.delete(f"/api/email-templates/{pk}/").status_code == 204


def test_templates_api_can_set_up_a_task_end_to_end(admin_api):
    template = admin_api.post(
        "/api/email-templates/", {"name": "Krótki", "subject": "{numer_dokumentu}", "body": "PDF"}, format="json"
    ).json()
    series = SeriesFactory()
    task = admin_api.post(
        "/api/automatic-tasks/",
        {
            "name": "Faktura po wysyłce",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [
                {"type": "issue_document", "series": series.pk},
                {"type": "send_document", "kind": "invoice", "template": template["id"]},
            ],
        },
        format="json",
    )
    assert task.status_code == 201 and task.json()["actions"][1]["template"] == template["id"]


def used_template():
    template = emails.template_save(data={"name": "Używany", "subject": "{numer_dokumentu}", "body": "PDF"})
    task = services.task_save(
        data={
            "name": "Wyślij fakturę",
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": [{"type": "send_document", "kind": "invoice", "template": template.pk}],
        }
    )
    return template, task


def test_templates_api_refuses_to_delete_a_template_used_by_a_task_naming_it(admin_api):
    template, task = used_template()
    response = admin_api.delete(f"/api/email-templates/{template.pk}/")
    assert response.status_code == 409
    assert "„Wyślij fakturę”" in response.json()["template"][0]
    assert response.json()["tasks"] == [{"id": task.pk, "name": "Wyślij fakturę"}]
    assert EmailTemplate.objects.filter(pk=template.pk).exists()


def test_template_page_refuses_to_delete_a_used_template_and_deletes_an_unused_one(admin_client):
    template, task = used_template()
    confirm = admin_client.get(reverse("automation:template_delete", args=[template.pk])).content.decode()
    assert "Wyślij fakturę" in confirm and "Tak, usuń" not in confirm
    response = admin_client.post(reverse("automation:template_delete", args=[template.pk]), follow=True)
    assert "używany przez zadania automatyczne" in response.content.decode()
    assert EmailTemplate.objects.filter(pk=template.pk).exists()

    task.delete()
    admin_client.post(reverse("automation:template_delete", args=[template.pk]))
    assert not EmailTemplate.objects.filter(pk=template.pk).exists()


def test_staff_cannot_open_the_template_pages(staff_client):
    template = emails.template_save(data={"name": "T", "subject": "s", "body": "b"})
    assert staff_client.get(reverse("automation:template_delete", args=[template.pk])).status_code in (302, 403)
    assert staff_client.post(reverse("automation:template_delete", args=[template.pk])).status_code in (302, 403)
    assert EmailTemplate.objects.filter(pk=template.pk).exists()
