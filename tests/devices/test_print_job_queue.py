"""Print jobs in production: the `devices` queue, a per-printer lease, the sweeper, paper out for minutes."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from devices import services, tasks
from devices.fake_posnet import FakePosnet
from devices.models import JobState, Printer, PrintJob

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    printer = FakePosnet()
    yield printer
    printer.stop()


@pytest.fixture
def printer(fake):
    return services.printer_save(
        data={"kind": "posnet", "name": "Kasa 1", "connection": fake.url, "settings": {"timeout": 2}}
    )


def receipt_job(printer, key="receipt-1"):
    payload = services.receipt_payload(
        services.ReceiptPayload(
            lines=[services.ReceiptLine("Kubek", "1", 4999, "23")], total=4999, payments=[("cash", 4999)]
        )
    )
    job, _ = services.print_job_enqueue(printer=printer, kind="receipt", key=key, payload=payload)
    return job


@pytest.fixture
def sent(monkeypatch):
    """Captures what would go to the broker: (job id, queue)."""
    calls = []
    monkeypatch.setattr(
        tasks.print_job_task, "apply_async", lambda args, **options: calls.append((args[0], options.get("queue")))
    )
    return calls


def test_print_jobs_go_to_the_devices_queue_unless_the_printer_has_its_own(
    printer, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = receipt_job(printer)
        services.schedule(job)
        printer.dedicated_queue = True
        printer.save()
        other = receipt_job(printer, key="receipt-2")
        services.schedule(other)
    assert sent == [(job.pk, "devices"), (other.pk, f"printer-{printer.pk}")]


def test_a_job_finding_its_printer_busy_waits_a_few_seconds_and_prints_after(printer, fake):
    Printer.objects.filter(pk=printer.pk).update(
        busy_until=timezone.now() + timedelta(seconds=60), busy_token="another-worker"
    )
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == JobState.QUEUED and "drukuje inne zlecenie" in job.error
    assert timedelta(seconds=3) <= job.next_try_at - timezone.now() <= timedelta(seconds=6)
    assert fake.frames == []
    Printer.objects.filter(pk=printer.pk).update(busy_until=None, busy_token="")
    assert services.print_job_run(job_id=job.pk).state == JobState.DONE
    assert len(fake.journal) == 1
    assert Printer.objects.filter(pk=printer.pk, busy_token="", busy_until=None).exists()  # released


def test_an_expired_lease_of_a_dead_worker_does_not_block_the_printer(printer, fake):
    Printer.objects.filter(pk=printer.pk).update(
        busy_until=timezone.now() - timedelta(seconds=1), busy_token="dead-worker"
    )
    assert services.print_job_run(job_id=receipt_job(printer).pk).state == JobState.DONE


def test_only_the_owner_releases_the_printer_lease(printer):
    now = timezone.now()
    assert services._lease_take(printer.pk, "first", now)
    assert not services._lease_take(printer.pk, "second", now)
    services._lease_release(printer.pk, "second")
    assert Printer.objects.get(pk=printer.pk).busy_token == "first"
    services._lease_release(printer.pk, "first")
    assert services._lease_take(printer.pk, "second", now)


def test_a_duplicate_delivery_while_the_job_prints_leaves_it_alone(printer, fake):
    job = receipt_job(printer)
    Printer.objects.filter(pk=printer.pk).update(
        busy_until=timezone.now() + timedelta(seconds=60), busy_token="printing-now"
    )
    PrintJob.objects.filter(pk=job.pk).update(state=JobState.PRINTING, lease_token="printing-now")
    assert services.print_job_run(job_id=job.pk).state == JobState.PRINTING
    assert fake.frames == []  # neither printed again nor "recovered" under the printing worker's feet


def test_paper_out_for_three_minutes_the_job_prints_once_when_paper_returns(
    printer, fake, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False) as clock:
        fake.state = 5  # paper out
        job = receipt_job(printer)
        with django_capture_on_commit_callbacks(execute=True):
            services.schedule(job)
        job.refresh_from_db()
        assert job.state == JobState.QUEUED and "brak papieru" in job.error
        for _ in range(6):  # three minutes: the sweeper every 30 s tries again, nothing gives up
            clock.shift(30)
            with django_capture_on_commit_callbacks(execute=True):
                services.print_jobs_sweep()
            job.refresh_from_db()
            assert job.state == JobState.QUEUED and fake.journal == []
        fake.state = 0  # paper back
        clock.shift(30)
        with django_capture_on_commit_callbacks(execute=True):
            services.print_jobs_sweep()
        job.refresh_from_db()
        assert job.state == JobState.DONE and len(fake.journal) == 1
        for _ in range(3):
            clock.shift(60)
            with django_capture_on_commit_callbacks(execute=True):
                services.print_jobs_sweep()
        assert len(fake.journal) == 1


def test_the_print_task_retries_a_waiting_job_when_its_next_try_is_due_without_a_cap(printer, fake, monkeypatch):
    fake.state = 5
    job = receipt_job(printer)
    retried = []

    class Retry(Exception):
        pass

    def retry(**options):
        retried.append(options)
        return Retry()

    monkeypatch.setattr(tasks.print_job_task, "retry", retry)
    tasks.print_job_task.push_request(is_eager=False)
    try:
        with pytest.raises(Retry):
            tasks.print_job_task.run(job.pk)
    finally:
        tasks.print_job_task.pop_request()
    assert tasks.print_job_task.max_retries is None
    assert retried[0]["max_retries"] is None and 25 <= retried[0]["countdown"] <= 30


def test_the_sweeper_resends_a_job_whose_enqueue_was_lost(printer, fake, sent, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False) as clock, django_capture_on_commit_callbacks(execute=True):
        job = receipt_job(printer)  # the broker was down: nothing was sent
        assert services.print_jobs_sweep()["resent"] == []  # too fresh: its own enqueue may still come
        clock.shift(20)
        assert services.print_jobs_sweep()["resent"] == [job.pk]
        assert services.print_jobs_sweep()["resent"] == []  # not again before that delivery had its chance
    assert sent == [(job.pk, "devices")]


def test_a_job_left_printing_by_a_dead_worker_goes_to_attention_and_is_never_printed_again(printer, fake, sent):
    with time_machine.travel(T0, tick=False) as clock:
        job = receipt_job(printer)
        PrintJob.objects.filter(pk=job.pk).update(state=JobState.PRINTING, lease_token="dead", updated_at=T0)
        clock.shift(299)
        assert services.print_jobs_sweep()["attention"] == []  # not stale yet
        clock.shift(2)
        assert services.print_jobs_sweep()["attention"] == [job.pk]
        job.refresh_from_db()
        assert job.state == JobState.NEEDS_ATTENTION and "przestał działać" in job.error
        assert "Nie drukujemy ponownie automatycznie" in job.error
        clock.shift(600)
        assert services.print_jobs_sweep() == {"resent": [], "attention": []}
    assert sent == [] and fake.frames == []


def test_a_long_print_with_a_live_lease_is_not_taken_for_a_dead_worker(printer, settings):
    settings.PRINT_JOB_STALE_SECONDS = 60
    with time_machine.travel(T0, tick=False) as clock:
        job = receipt_job(printer)
        PrintJob.objects.filter(pk=job.pk).update(state=JobState.PRINTING, lease_token="alive", updated_at=T0)
        clock.shift(120)
        Printer.objects.filter(pk=printer.pk).update(
            busy_until=timezone.now() + timedelta(seconds=60), busy_token="alive"
        )
        assert services.print_jobs_sweep()["attention"] == []
    job.refresh_from_db()
    assert job.state == JobState.PRINTING


def test_a_job_needing_attention_is_printed_again_from_the_devices_page_but_a_printed_one_never(
    printer, fake, admin_client, staff_user, django_capture_on_commit_callbacks
):
    from django.test import Client
    from django.urls import reverse

    staff_client = Client()
    staff_client.force_login(staff_user)

    fake.drop_after_lines = 1
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == JobState.NEEDS_ATTENTION
    fake.drop_after_lines = None
    page = admin_client.get(reverse("devices:list")).content.decode()
    assert "Ponów" in page and "czy paragon na pewno nie został wydrukowany" in page
    assert staff_client.post(reverse("devices:job_retry", args=[job.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("devices:job_retry", args=[job.pk]), follow=True)
    assert "wróciło do kolejki" in response.content.decode()
    job.refresh_from_db()
    assert job.state == JobState.DONE and len(fake.journal) == 1
    again = admin_client.post(reverse("devices:job_retry", args=[job.pk]), follow=True).content.decode()
    assert "nie drukujemy drugi raz" in again and len(fake.journal) == 1


def test_a_printer_on_another_computer_gets_its_own_queue_from_the_form(admin_client, fake):
    from django.urls import reverse

    admin_client.post(
        reverse("devices:create"),
        {
            "kind": "posnet",
            "name": "Kasa w sklepie",
            "connection": fake.url,
            "baudrate": "9600",
            "flow": "none",
            "active": "on",
            "dedicated_queue": "on",
        },
    )
    printer = Printer.objects.get(name="Kasa w sklepie")
    assert printer.dedicated_queue and printer.queue == f"printer-{printer.pk}"
    form = admin_client.get(reverse("devices:edit", args=[printer.pk])).content.decode()
    assert re.search(r'<input[^>]*name="dedicated_queue"[^>]*checked', form)


@pytest.mark.django_db(transaction=True)
def test_two_workers_printing_on_one_printer_take_turns_and_both_receipts_print_once(printer, fake):
    import threading

    from django.db import connection

    fake.delay = 0.05  # a slow printer: the two receipts would overlap without the lease
    jobs = [receipt_job(printer, key=f"receipt-{n}") for n in range(2)]
    states = {}

    def worker(job):
        try:
            states[job.pk] = services.print_job_run(job_id=job.pk).state
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(states.values()) == [JobState.DONE, JobState.QUEUED]  # the second found the printer busy
    waiting = next(pk for pk, state in states.items() if state == JobState.QUEUED)
    assert "drukuje inne zlecenie" in PrintJob.objects.get(pk=waiting).error
    assert services.print_job_run(job_id=waiting).state == JobState.DONE  # its retry a few seconds later
    assert len(fake.journal) == 2 and fake.interleaved == 0


def test_a_printer_refusing_to_open_the_receipt_makes_the_job_wait_and_say_why(printer, fake):
    fake.refuse_trinit = 383  # brak raportu dobowego: nothing opened, nothing printed
    job = services.print_job_run(job_id=receipt_job(printer).pk)
    assert job.state == JobState.QUEUED and "brak raportu dobowego" in job.error and job.next_try_at
    assert fake.open is None and fake.journal == []
    fake.refuse_trinit = None
    assert services.print_job_run(job_id=job.pk).state == JobState.DONE and len(fake.journal) == 1


def test_a_long_receipt_renews_the_printer_lease_while_it_prints(printer, fake, settings, monkeypatch):
    settings.PRINT_LEASE_SECONDS = 1  # renewed at most every quarter of it
    fake.delay = 0.1
    renewals = []
    real_call = services._Heartbeat.__call__

    def counting(self):
        before = Printer.objects.get(pk=self.printer_id).busy_until
        real_call(self)
        if Printer.objects.get(pk=self.printer_id).busy_until != before:
            renewals.append(before)

    monkeypatch.setattr(services._Heartbeat, "__call__", counting)
    payload = services.receipt_payload(
        services.ReceiptPayload(
            lines=[services.ReceiptLine(f"Pozycja {n}", "1", 100, "23") for n in range(8)], total=800
        )
    )
    job, _ = services.print_job_enqueue(printer=printer, kind="receipt", key="long", payload=payload)
    assert services.print_job_run(job_id=job.pk).state == JobState.DONE
    assert len(renewals) >= 2
    assert Printer.objects.filter(pk=printer.pk, busy_token="").exists()
