from decimal import Decimal

import pytest
from django.core import mail

from accounting.models import Document, EmailMessage
from apilo.errors import ApplicationError
from automation import services
from automation.models import AutomaticTask, TaskRun
from orders import services as orders
from orders.models import OrderEvent
from tests.factories import OrderFactory, SeriesFactory, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def series():
    return SeriesFactory(name="Faktura (domyślnie)", is_default=True)


def invoice_on_shipped(series, **extra):
    data = {
        "name": "Faktura po wysyłce",
        "active": True,
        "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
        "conditions": [],
        "actions": [{"type": "issue_document", "series": series.pk}, {"type": "send_document", "kind": "invoice"}],
    }
    data.update(extra)
    return services.task_save(data=data)


def ship(order, capture):
    with capture(execute=True):
        orders.order_set_status(order=order, status=status("Wysłane"))


def test_status_change_issues_the_invoice_and_emails_it_with_the_pdf(series, django_capture_on_commit_callbacks):
    invoice_on_shipped(series)
    order = OrderFactory(customer_email="kupujacy@example.pl")
    ship(order, django_capture_on_commit_callbacks)

    document = Document.objects.get(order=order)
    assert document.kind == "invoice" and document.state == "issued"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kupujacy@example.pl"]
    assert document.number in message.subject and order.number in message.subject
    assert message.attachments[0][0].endswith(".pdf") and message.attachments[0][1].startswith(b"%PDF")
    run = TaskRun.objects.get()
    assert run.state == "ok" and [r["outcome"] for r in run.results] == ["ok", "ok"]
    assert EmailMessage.objects.get().state == "sent"


def test_the_same_event_processed_again_does_nothing_twice(series, django_capture_on_commit_callbacks):
    invoice_on_shipped(series)
    order = OrderFactory()
    ship(order, django_capture_on_commit_callbacks)
    event = OrderEvent.objects.get(order=order, kind="status_changed")
    services.event_process(event_id=event.pk)
    services.event_process(event_id=event.pk)
    assert Document.objects.filter(order=order).count() == 1
    assert len(mail.outbox) == 1 and TaskRun.objects.count() == 1


def test_conditions_are_data_and_all_must_hold(series, django_capture_on_commit_callbacks):
    invoice_on_shipped(
        series,
        conditions=[
            {"field": "buyer_has_nip", "op": "is", "value": True},
            {"field": "channel", "op": "in", "value": ["allegro"]},
            {"field": "total", "op": "between", "value": ["100", "200"]},
        ],
    )
    company = OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078")
    consumer = OrderFactory()
    amazon = OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078", channel="amazon")
    for order in (company, consumer, amazon):
        ship(order, django_capture_on_commit_callbacks)
    assert list(Document.objects.values_list("order", flat=True)) == [company.pk]


def test_missing_buyer_email_fails_the_action_with_a_clear_message_and_ponow_retries(
    series, django_capture_on_commit_callbacks
):
    invoice_on_shipped(series)
    order = OrderFactory(customer_email="")
    ship(order, django_capture_on_commit_callbacks)
    run = TaskRun.objects.get()
    assert run.state == "failed" and run.next_action == 1
    assert "nie ma prawidłowego adresu e-mail" in run.results[-1]["message"]
    assert Document.objects.filter(order=order).count() == 1

    order.customer_email = "poprawiony@example.pl"
    order.save()
    document = Document.objects.get(order=order)
    document.buyer["email"] = "poprawiony@example.pl"
    document.save()
    run = services.run_retry(run=run)
    assert run.state == "ok" and Document.objects.filter(order=order).count() == 1  # not issued again
    assert [m.to for m in mail.outbox] == [["poprawiony@example.pl"]]


def test_an_order_that_already_has_an_invoice_is_skipped(series, django_capture_on_commit_callbacks):
    from accounting import services as accounting

    invoice_on_shipped(series)
    order = OrderFactory()
    accounting.document_issue(order=order, series=series)
    ship(order, django_capture_on_commit_callbacks)
    assert Document.objects.filter(order=order).count() == 1
    assert "Pominięto" in TaskRun.objects.get().results[0]["message"]


def test_status_change_by_an_action_chains_to_the_next_task(django_capture_on_commit_callbacks):
    services.task_save(
        data={
            "name": "Po spakowaniu: do wysłania",
            "event": {"type": "status_changed", "to_status": status("Spakowane").pk},
            "actions": [{"type": "change_status", "status": status("Do wysłania").pk}],
        }
    )
    services.task_save(
        data={
            "name": "Do wysłania: notatka",
            "event": {"type": "status_changed", "to_status": status("Do wysłania").pk},
            "actions": [{"type": "add_note", "note": "Gotowe do nadania"}],
        }
    )
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_set_status(order=order, status=status("Spakowane"))
    order.refresh_from_db()
    assert order.status.name == "Do wysłania" and "Gotowe do nadania" in order.notes
    assert TaskRun.objects.count() == 2


def test_a_loop_of_tasks_cannot_run_away(django_capture_on_commit_callbacks):
    a, b = status("W realizacji"), status("Do wysłania")
    services.task_save(
        data={
            "name": "A",
            "event": {"type": "status_changed", "to_status": a.pk},
            "actions": [{"type": "change_status", "status": b.pk}],
        }
    )
    services.task_save(
        data={
            "name": "B",
            "event": {"type": "status_changed", "to_status": b.pk},
            "actions": [{"type": "change_status", "status": a.pk}],
        }
    )
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_set_status(order=order, status=a)
    # A fires (→ B), B fires (→ A), then A may not fire again in the same chain
    assert TaskRun.objects.count() == 2
    assert OrderEvent.objects.filter(order=order, kind="status_changed").count() == 3


def test_inactive_or_broken_tasks_do_not_run(series, django_capture_on_commit_callbacks):
    inactive = invoice_on_shipped(series)
    AutomaticTask.objects.filter(pk=inactive.pk).update(active=False)
    order = OrderFactory()
    ship(order, django_capture_on_commit_callbacks)
    assert not TaskRun.objects.exists()

    AutomaticTask.objects.filter(pk=inactive.pk).update(active=True)
    series.delete()
    order2 = OrderFactory()
    ship(order2, django_capture_on_commit_callbacks)
    inactive.refresh_from_db()
    assert not TaskRun.objects.exists()
    assert "seria dokumentów została usunięta" in inactive.broken_reason


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"event": {"type": "status_changed"}}, "event"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "issue_document", "series": 999999}]}, "actions.0"),
        ({"conditions": [{"field": "eval", "op": "is", "value": "__import__('os')"}]}, "conditions.0"),
        ({"conditions": [{"field": "total", "op": "between", "value": ["500", "100"]}]}, "conditions.0"),
    ],
)
def test_invalid_tasks_are_refused_naming_the_part(series, data, field):
    base = {
        "name": "X",
        "event": {"type": "status_changed", "to_status": status("Wysłane").pk},
        "actions": [{"type": "issue_document", "series": series.pk}],
    }
    with pytest.raises(ApplicationError) as err:
        services.task_save(data={**base, **data})
    assert err.value.field == field
    assert not AutomaticTask.objects.exists()


def test_payment_status_event(django_capture_on_commit_callbacks):
    receipt = SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")
    services.task_save(
        data={
            "name": "Paragon po opłaceniu",
            "event": {"type": "payment_status_changed", "payment_status": "paid"},
            "actions": [{"type": "issue_document", "series": receipt.pk}],
        }
    )
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_update(order=order, data={"payment_status": "paid", "amount_paid": Decimal("114.97")})
    assert Document.objects.get(order=order).kind == "receipt"


def test_duplicate_makes_an_inactive_copy(series):
    task = invoice_on_shipped(series)
    copy = services.task_duplicate(task=task)
    assert copy.name.endswith("(kopia)") and not copy.active and copy.actions.count() == 2


def test_bulk_status_change_progress_counts_waiting_done_and_failed(
    series, staff_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    invoice_on_shipped(series)
    good = [OrderFactory() for _ in range(3)]
    no_email = OrderFactory(customer_email="")
    ids = [o.pk for o in good] + [no_email.pk]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = orders.order_bulk_set_status(order_ids=ids, status=status("Wysłane"))
    url = reverse("orders:bulk_progress", args=[result["bulk"]])
    assert staff_client.get(url, {"format": "json"}).json() == {"total": 4, "waiting": 4, "done": 0, "failed": 0}
    for callback in callbacks:
        callback()
    assert staff_client.get(url, {"format": "json"}).json() == {"total": 4, "waiting": 0, "done": 3, "failed": 1}
    page = staff_client.get(url).content.decode()
    assert "Zmiana statusu na „Wysłane”" in page and 'id="bulk-failed">1<' in page
