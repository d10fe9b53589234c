"""Action types come from one registry: validation, broken detection, the form, the API and the engine."""

import pytest
from django.urls import reverse

from automation import actions, services
from automation.models import ActionType, AutomaticTask, TaskAction, TaskRun
from devices.models import Printer
from orders import services as orders
from orders.models import OrderEvent
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db


def test_every_action_type_has_one_registered_class():
    assert set(actions.REGISTRY) == set(ActionType.values)
    for kind, handler in actions.REGISTRY.items():
        assert handler.type == kind


def shipped_task(*task_actions, name="Po wysyłce"):
    return services.task_save(
        data={
            "name": name,
            "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
            "actions": list(task_actions),
        }
    )


def ship(order, capture):
    with capture(execute=True):
        orders.order_set_status(order=order, status=status("Wysłane"))


@pytest.fixture
def fiscal_printer():
    return Printer.objects.create(kind="posnet", name="Kasa 1", connection="socket://127.0.0.1:9")


def test_task_whose_print_receipt_series_was_deleted_is_broken_and_does_not_run(
    fiscal_printer, django_capture_on_commit_callbacks
):
    receipts = SeriesFactory(kind="receipt", name="Paragony", number_format="PAR/{nr}", printer=fiscal_printer)
    task = shipped_task({"type": "print_receipt", "series": receipts.pk})
    assert services.task_problems(task) == ""
    receipts.delete()

    assert "seria paragonów została usunięta" in services.task_problems(task)
    ship(OrderFactory(), django_capture_on_commit_callbacks)
    assert not TaskRun.objects.exists()
    task.refresh_from_db()
    assert "seria paragonów została usunięta" in task.broken_reason


def test_task_whose_printer_was_deleted_is_broken_on_the_list_and_in_the_api(admin_client, admin_api):
    printer = Printer.objects.create(kind="escpos", name="Etykiety", connection="socket://127.0.0.1:9")
    task = shipped_task({"type": "print_label", "printer": printer.pk})
    printer.delete()
    page = admin_client.get(reverse("automation:task_list")).content.decode()
    assert "Zadanie nie działa" in page and "drukarka została usunięta" in page
    assert "drukarka została usunięta" in admin_api.get(f"/api/automatic-tasks/{task.pk}/").json()["broken_reason"]


def test_print_actions_are_validated_like_the_rest():
    label_printer = Printer.objects.create(kind="escpos", name="Etykiety", connection="socket://127.0.0.1:9")
    with pytest.raises(actions.ActionInvalid) as err:
        shipped_task({"type": "print_document", "printer": label_printer.pk, "kind": "invoice"})
    assert err.value.field == "actions.0" and "PrintNode" in err.value.message
    with pytest.raises(actions.ActionInvalid) as err:
        shipped_task({"type": "print_label", "printer": "abc"})
    assert err.value.field == "actions.0" and "wybierz drukarkę" in err.value.message
    assert not AutomaticTask.objects.exists()


def test_task_edit_form_keeps_the_printer_of_print_actions(admin_client):
    printer = Printer.objects.create(kind="escpos", name="Etykiety", connection="socket://127.0.0.1:9", active=False)
    task = shipped_task({"type": "print_label", "printer": printer.pk})
    page = admin_client.get(reverse("automation:task_edit", args=[task.pk])).content.decode()
    assert f'<option value="{printer.pk}" selected>' in page

    # the form posted back as the page shows it keeps the printer
    data = {
        "name": task.name,
        "active": "on",
        "event_type": "status_changed",
        "to_status": status("Wysłane").pk,
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "1",
        "actions-0-type": "print_label",
        "actions-0-printer": printer.pk,
        "actions-0-ORDER": "1",
    }
    response = admin_client.post(reverse("automation:task_edit", args=[task.pk]), data)
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert TaskAction.objects.get(task=task).printer_id == printer.pk


def test_api_shows_actions_as_the_registry_describes_them(admin_api):
    printer = Printer.objects.create(kind="printnode", name="Biuro", connection="101")
    task = shipped_task({"type": "print_document", "printer": printer.pk, "kind": "invoice"})
    body = admin_api.get(f"/api/automatic-tasks/{task.pk}/").json()
    assert body["actions"] == [
        {
            "type": "print_document",
            "series": None,
            "kind": "invoice",
            "template": None,
            "status": None,
            "note": None,
            "printer": printer.pk,
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_add_note_redelivered_after_a_crash_adds_one_note(monkeypatch):
    task = shipped_task({"type": "add_note", "note": "Sprawdź gratis"})
    order = OrderFactory()
    AutomaticTask.objects.filter(pk=task.pk).update(active=False)  # the status change's own delivery: nothing
    orders.order_set_status(order=order, status=status("Wysłane"))
    AutomaticTask.objects.filter(pk=task.pk).update(active=True)
    event = OrderEvent.objects.filter(order=order, kind="status_changed").latest("id")

    real_record = services._record
    crashed = []

    def crash_after_the_note(run, action, outcome, message, **kwargs):
        if outcome == "ok" and not crashed:
            crashed.append(True)
            raise SystemExit("worker killed")  # the note was written, its record not yet
        return real_record(run, action, outcome, message, **kwargs)

    monkeypatch.setattr(services, "_record", crash_after_the_note)
    with pytest.raises(SystemExit):
        services.event_process(event_id=event.pk)
    services.event_process(event_id=event.pk)  # the broker redelivers the task
    services.event_process(event_id=event.pk)  # and once more

    order.refresh_from_db()
    assert order.notes.count("Sprawdź gratis") == 1
    assert OrderEvent.objects.filter(order=order, kind="note_added").count() == 1
    assert TaskRun.objects.get(task=task).state == "ok"
