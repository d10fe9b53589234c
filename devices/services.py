"""Printers and print jobs. Fiscal receipts are printed at most once per idempotency key: a job found in
`printing` (a crash or a lost reply mid-receipt) is never printed again; its open transaction is cancelled and a
person decides (`needs attention`)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict

from .connections import connection_problem
from .models import JobState, Printer, PrinterKind, PrintJob
from .posnet import PAYMENT_TYPES, PRINTER_STATES, FiscalReceipt, FrameError, PosnetDriver, PosnetError, ReceiptError
from .states import PRINT_JOB_STATES

logger = logging.getLogger(__name__)


@dataclass
class ReceiptLine:
    name: str
    quantity: str  # decimal string, e.g. "2" or "0.5"
    unit_price: int  # grosze
    vat_rate: str  # "23", "8", "5", "0", "zw"


@dataclass
class ReceiptPayload:
    lines: list[ReceiptLine]
    total: int  # grosze
    nip: str = ""
    payments: list[tuple[str, int]] = field(default_factory=list)  # (cash|card|transfer|…, grosze)


class PrinterError(ApplicationError):
    pass


def _driver(printer: Printer) -> PosnetDriver:
    if problem := connection_problem(printer.kind, printer.connection):  # a row saved before the rule existed
        raise PosnetError(problem)
    options = printer.settings or {}
    return PosnetDriver(
        printer.connection,
        baudrate=int(options.get("baudrate", 9600)),
        xonxoff=bool(options.get("xonxoff", False)),
        rtscts=bool(options.get("rtscts", False)),
        timeout=float(options.get("timeout", 5)),
    )


def printer_save(*, data: dict, printer: Printer | None = None) -> Printer:
    printer = printer or Printer()
    for key in ("kind", "name", "connection", "settings", "active", "dedicated_queue"):
        if key in data:
            setattr(printer, key, data[key])
    if printer.kind not in PrinterKind.values:
        raise PrinterError("Wybierz rodzaj drukarki.", field="kind")
    if not (printer.name or "").strip():
        raise PrinterError("Podaj nazwę drukarki.", field="name")
    if problem := connection_problem(printer.kind, printer.connection):
        raise PrinterError(problem, field="connection")
    if not isinstance(printer.settings, dict):
        raise PrinterError('Ustawienia muszą być obiektem JSON, np. {"baudrate": 115200}.', field="settings")
    printer.save()
    return printer


def printer_test(*, printer: Printer) -> Printer:
    """Testuj połączenie: status query and the VAT table (for a fiscal printer)."""
    printer.last_checked_at = timezone.now()
    if printer.kind != PrinterKind.POSNET:
        raise PrinterError("Test połączenia jest dostępny dla drukarek fiskalnych Posnet.")
    try:
        with _driver(printer) as driver:
            state = driver.printer_state()
            printer.vat_slots = driver.vat_slots()
        printer.last_status = "OK" if state == 0 else PRINTER_STATES.get(state, f"stan {state}")
    except PosnetError as err:
        printer.last_status = str(err)
    printer.save(update_fields=["last_status", "last_checked_at", "vat_slots"])
    return printer


def print_job_enqueue(*, printer: Printer, kind: str, key: str, payload: dict) -> tuple[PrintJob, bool]:
    """The job for `key`, created once. Returns (job, created); the caller schedules `print_job_run` after commit."""
    try:
        with transaction.atomic():
            return PrintJob.objects.create(printer=printer, kind=kind, idempotency_key=key, payload=payload), True
    except IntegrityError:
        return PrintJob.objects.get(idempotency_key=key), False


def receipt_payload(receipt: ReceiptPayload) -> dict:
    return asdict(receipt)


def _seconds(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _lease_seconds() -> int:
    return _seconds("PRINT_LEASE_SECONDS", 120)


def _lease_take(printer_id: int, token: str, now) -> bool:
    """Take the printer's lease with one atomic UPDATE (free or expired → ours). Works alike on PostgreSQL and
    SQLite; nothing stays locked while printing."""
    return bool(
        Printer.objects.filter(pk=printer_id)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lte=now))
        .update(busy_until=now + timedelta(seconds=_lease_seconds()), busy_token=token)
    )


def _lease_release(printer_id: int, token: str) -> None:
    """Only the owner clears its lease: a lease taken over by another worker after expiry is left alone."""
    Printer.objects.filter(pk=printer_id, busy_token=token).update(busy_until=None, busy_token="")


def _lease_live(job: PrintJob, now) -> bool:
    printer = Printer.objects.filter(pk=job.printer_id).values("busy_until", "busy_token").first() or {}
    return bool(
        job.lease_token
        and printer.get("busy_token") == job.lease_token
        and printer.get("busy_until")
        and printer["busy_until"] > now
    )


class _Heartbeat:
    """Renews the lease while a long receipt prints (at most every quarter of the lease)."""

    def __init__(self, printer_id: int, token: str):
        self.printer_id, self.token, self.last = printer_id, token, time.monotonic()

    def __call__(self):
        if time.monotonic() - self.last < _lease_seconds() / 4:
            return
        self.last = time.monotonic()
        Printer.objects.filter(pk=self.printer_id, busy_token=self.token).update(
            busy_until=timezone.now() + timedelta(seconds=_lease_seconds())
        )


def print_job_run(*, job_id: int) -> PrintJob:
    """Print one job. Never prints a receipt twice: `printing` is committed before the first byte goes out.

    Printing on one printer is serialised by its lease (`Printer.busy_until/busy_token`, one atomic UPDATE): a job
    finding its printer busy stays `queued` with `next_try_at` a few seconds ahead. A job found `printing` with a
    live lease is being printed by another worker (a duplicate delivery) and is left alone; without a live lease its
    worker died and it is recovered, never printed again."""
    now, token = timezone.now(), uuid.uuid4().hex
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().select_related("printer").get(pk=job_id)
        if job.state not in (JobState.QUEUED, JobState.PRINTING):
            return job
        if job.state == JobState.PRINTING and _lease_live(job, now):
            return job
        if not _lease_take(job.printer_id, token, now):
            if job.state == JobState.QUEUED:
                PRINT_JOB_STATES.move(job, JobState.QUEUED)
                job.next_try_at = now + timedelta(seconds=_seconds("PRINT_BUSY_RETRY_SECONDS", 5))
                job.error = "Drukarka drukuje inne zlecenie — wydrukujemy za chwilę."
                job.save(update_fields=["state", "next_try_at", "error", "updated_at"])
            return job
        recovering = job.state == JobState.PRINTING
        if not recovering:
            PRINT_JOB_STATES.move(job, JobState.PRINTING)
            job.attempts += 1
        job.lease_token, job.next_try_at = token, None
        job.save(update_fields=["state", "attempts", "lease_token", "next_try_at", "updated_at"])
    try:
        if job.kind == "slip":
            return _print_slip(job, token)
        if job.printer.kind == PrinterKind.PRINTNODE:
            # PrintNode dedupes on X-Idempotency-Key: resending after a crash is safe
            return _print_printnode(job, token)
        if recovering:
            return _recover(job, token)
        return _print_receipt(job, token)
    except Exception as err:  # a bug or an unexpected fault: a visible state, never a job stuck `printing`
        logger.exception("print job failed unexpectedly", extra={"job": job.pk})
        return _set(job, JobState.NEEDS_ATTENTION, f"Nieoczekiwany błąd wydruku: {err}. Sprawdź wydruk.", token=token)
    finally:
        _lease_release(job.printer_id, token)


def _wait_until():
    return timezone.now() + timedelta(seconds=_seconds("PRINT_JOB_WAIT_SECONDS", 30))


def _print_receipt(job: PrintJob, token: str) -> PrintJob:
    """The whole receipt is built and checked before `trinit`: a refusal on our side never leaves it open."""
    try:
        with _driver(job.printer) as driver:
            state = driver.printer_state()
            if state:
                return _set(
                    job,
                    JobState.QUEUED,
                    f"Drukarka czeka: {PRINTER_STATES.get(state, state)}.",
                    token=token,
                    next_try_at=_wait_until(),
                )
            slots = driver.vat_slots()
            lines = []
            for line in job.payload["lines"]:
                rate = line["vat_rate"]
                if rate not in slots:
                    return _set(
                        job,
                        JobState.FAILED,
                        f"Drukarka nie ma stawki VAT „{rate}” — paragon nie został "
                        "wydrukowany. Skonfiguruj stawkę w drukarce.",
                        token=token,
                    )
                lines.append(
                    {
                        "name": line["name"],
                        "slot": slots[rate],
                        "price": line["unit_price"],
                        "quantity": line["quantity"],
                    }
                )
            payments = [(PAYMENT_TYPES.get(kind, 6), amount) for kind, amount in job.payload.get("payments") or []]
            receipt = FiscalReceipt(
                lines=lines, nip=job.payload.get("nip", ""), payments=payments, total=job.payload["total"]
            )
            try:
                receipt.frames()
            except (ReceiptError, FrameError) as err:
                return _set(job, JobState.FAILED, f"Paragon nie został wydrukowany: {err}", token=token)
            if driver.open_transaction():
                # left open by a crashed worker (we hold the printer's lease): nothing of it was fiscalised
                try:
                    driver.cancel()
                except PosnetError as err:  # another station's transaction: wait for it, print nothing
                    return _set(
                        job,
                        JobState.QUEUED,
                        f"Drukarka ma otwartą transakcję, której nie można anulować: {err}",
                        token=token,
                        next_try_at=_wait_until(),
                    )
            try:
                number = driver.receipt(receipt, heartbeat=_Heartbeat(job.printer_id, token))
            except PosnetError as err:
                if err.command == "trinit" and err.code is not None and not err.frame_error:
                    # the printer refused to open the receipt: nothing was printed, it waits and says why
                    return _set(job, JobState.QUEUED, str(err), token=token, next_try_at=_wait_until())
                raise
    except PosnetError as err:
        # a refusal or a lost link mid-receipt: never print again automatically
        return _recover(job, token, reason=str(err))
    job.result = {"receipt_number": number, "printed_at": timezone.now().isoformat()}
    return _set(job, JobState.DONE, "", token=token)


def _recover(job: PrintJob, token: str, reason: str = "") -> PrintJob:
    """After a crash or a lost reply: cancel whatever transaction is open and hand the job to a person."""
    note = reason or "Wydruk został przerwany (awaria lub utracona odpowiedź)."
    try:
        with _driver(job.printer) as driver:
            if driver.open_transaction():
                driver.cancel()
                note += " Otwarta transakcja została anulowana."
    except PosnetError as err:
        note += f" Nie udało się sprawdzić drukarki: {err}."
    logger.warning("print job needs attention", extra={"job": job.pk})
    return _set(
        job, JobState.NEEDS_ATTENTION, note + " Sprawdź wydruk i zdecyduj, czy wydrukować ponownie.", token=token
    )


def _set(job: PrintJob, state: str, error: str, *, token: str = "", next_try_at=None) -> PrintJob:
    """Move the job through PRINT_JOB_STATES under a row lock. If it was moved meanwhile (the sweeper after a lost
    lease), the other state stays and what happened is added to its message."""
    with transaction.atomic():
        current = PrintJob.objects.select_for_update().select_related("printer").get(pk=job.pk)
        if (token and current.lease_token != token) or current.state != job.state:
            if state == JobState.DONE and current.state != JobState.DONE:
                current.result = job.result
                current.error = (current.error + " Wydruk został jednak ukończony.").strip()
                current.save(update_fields=["result", "error", "updated_at"])
            return current
        PRINT_JOB_STATES.move(current, state)
        current.error, current.result, current.next_try_at = error, job.result, next_try_at
        current.save(update_fields=["state", "error", "result", "next_try_at", "updated_at"])
    return current


def print_job_cancel(*, key: str, reason: str = "") -> PrintJob | None:
    """The document behind the job was cancelled: a job not yet printed never prints (→ failed, "anulowany").
    Returns the job (None when there is none). A job being printed or printed already cannot be stopped:
    `Conflict`, so the caller refuses the cancellation."""
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().filter(idempotency_key=key).first()
        if job is None or job.state == JobState.FAILED and job.error.startswith("Anulowany"):
            return job
        if job.state in (JobState.PRINTING, JobState.DONE):
            raise Conflict(
                "Paragon został już wydrukowany lub właśnie się drukuje — nie można go anulować.",
                extra={"print_job": job.pk, "state": job.state},
            )
        if job.state != JobState.FAILED:
            PRINT_JOB_STATES.move(job, JobState.FAILED)
        job.error = "Anulowany — dokument anulowano, wydruk nie zostanie wykonany." + (
            f" Powód: {reason.strip()}" if (reason or "").strip() else ""
        )
        job.next_try_at = None
        job.save(update_fields=["state", "error", "next_try_at", "updated_at"])
    return job


def print_job_retry(*, job: PrintJob) -> PrintJob:
    """Ponów by a person: a failed job, or one needing attention after its printout was checked, goes back to the
    queue. A printed job is never printed again (IllegalTransition)."""
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().select_related("printer").get(pk=job.pk)
        if job.state == JobState.FAILED and job.error.startswith("Anulowany"):
            raise Conflict("Dokument tego wydruku został anulowany — nie drukujemy go.")
        PRINT_JOB_STATES.move(job, JobState.QUEUED)
        job.error, job.next_try_at = "", None
        job.save(update_fields=["state", "error", "next_try_at", "updated_at"])
        schedule(job)
    return job


def print_jobs_sweep(*, now=None) -> dict:
    """The print-job sweeper (beat): re-enqueue `queued` jobs whose next try is due (their enqueue was lost, or they
    wait for paper or a closed cover: no retry cap ever gives up on them), and move jobs left `printing` by a dead
    worker (no live lease, untouched for PRINT_JOB_STALE_SECONDS) to "wymaga uwagi" — a fiscal receipt is never
    re-printed automatically."""
    now = now or timezone.now()
    grace = timedelta(seconds=_seconds("PRINT_JOB_SWEEP_GRACE_SECONDS", 15))
    stale = timedelta(seconds=_seconds("PRINT_JOB_STALE_SECONDS", 300))
    resent, attention = [], []
    due = (
        PrintJob.objects.filter(state=JobState.QUEUED)
        .filter(Q(next_try_at__lte=now) | Q(next_try_at__isnull=True, updated_at__lte=now - grace))
        .select_related("printer")
        .order_by("pk")
    )
    for job in due:
        # the next sweep leaves it alone until this delivery had its chance
        PrintJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
            next_try_at=now + timedelta(seconds=_seconds("PRINT_JOB_WAIT_SECONDS", 30))
        )
        schedule(job)
        resent.append(job.pk)
    for job in PrintJob.objects.filter(state=JobState.PRINTING, updated_at__lte=now - stale).order_by("pk"):
        with transaction.atomic():
            job = PrintJob.objects.select_for_update().get(pk=job.pk)
            if job.state != JobState.PRINTING or job.updated_at > now - stale or _lease_live(job, now):
                continue
            PRINT_JOB_STATES.move(job, JobState.NEEDS_ATTENTION)
            job.error = (
                f"Wydruk przerwany: proces drukujący przestał działać (brak aktywnej blokady drukarki od ponad "
                f"{int(stale.total_seconds())} s). Nie drukujemy ponownie automatycznie — sprawdź wydruk i zdecyduj, "
                "czy wydrukować ponownie (Ponów)."
            )
            job.save(update_fields=["state", "error", "updated_at"])
            attention.append(job.pk)
        logger.warning("print job left printing by a dead worker", extra={"job": job.pk})
    return {"resent": resent, "attention": attention}


def schedule(job: PrintJob) -> None:
    from apilo.outbox import enqueue_on_commit

    from .tasks import print_job_task

    enqueue_on_commit(print_job_task, job.pk, queue=job.printer.queue)


def slip_enqueue(*, printer: Printer, key: str, slip) -> tuple[PrintJob, bool]:
    from dataclasses import asdict

    if printer.kind != PrinterKind.ESCPOS:
        raise PrinterError("Listę kompletacyjną drukuje drukarka ESC/POS.", field="printer")
    job, created = print_job_enqueue(printer=printer, kind="slip", key=key, payload=asdict(slip))
    if created:
        schedule(job)
    return job, created


def _print_slip(job: PrintJob, token: str) -> PrintJob:
    from .escpos_print import PackingSlip, send_raw, slip_bytes

    payload = dict(job.payload)
    payload["items"] = [tuple(item) for item in payload.get("items", [])]
    try:
        send_raw(job.printer.connection, slip_bytes(PackingSlip(**payload)))
    except (OSError, ValueError) as err:
        return _set(job, JobState.FAILED, f"Nie udało się wysłać do drukarki ESC/POS: {err}", token=token)
    job.result = {"printed_at": timezone.now().isoformat()}
    return _set(job, JobState.DONE, "", token=token)


# --- PrintNode ----------------------------------------------------------------------------------------------------


def printnode_connect(*, api_key: str = "", base_url: str | None = None, account=None):
    """Save the key (encrypted), read computers and printers, create a Printer row per PrintNode printer.
    `base_url`: None keeps the stored one, "" means PRINTNODE_API_URL; changing it requires the key again."""
    from django.conf import settings

    from apilo.endpoints import check_api_key_text, check_key_for_url_change, check_service_url

    from .models import PrintNodeAccount
    from .printnode import PrintNodeClient, PrintNodeError

    account = account or PrintNodeAccount.objects.first() or PrintNodeAccount()
    api_key = check_api_key_text(api_key)
    if base_url is not None:
        new_url = check_service_url(base_url, field="base_url") if base_url.strip() else ""
        check_key_for_url_change(
            old_url=account.base_url or settings.PRINTNODE_API_URL,
            new_url=new_url or settings.PRINTNODE_API_URL,
            new_key=api_key,
            has_stored_key=bool(account.pk and account.credentials_encrypted),
        )
        account.base_url = new_url
    if api_key:
        account.api_key = api_key.strip()
    if not account.credentials_encrypted:
        raise PrinterError("Podaj klucz API PrintNode.", field="api_key")
    client = PrintNodeClient(account.api_key, account.base_url or None)
    try:
        client.whoami()
        account.computers = client.computers()
        account.printers = client.printers()
        account.state, account.last_error = "ok", ""
    except PrintNodeError as err:
        account.state, account.last_error = "failing", str(err)
    account.save()
    for remote in account.printers:
        Printer.objects.update_or_create(
            kind=PrinterKind.PRINTNODE,
            connection=str(remote["id"]),
            defaults={"name": f"{remote['name']} ({remote.get('computer', {}).get('name', 'PrintNode')})"},
        )
    return account


def printnode_enqueue(
    *, printer: Printer, kind: str, key: str, title: str, content: bytes, content_type: str
) -> tuple[PrintJob, bool]:
    """A document's PDF (pdf_base64) or a label (raw_base64) on a PrintNode printer, once per key."""
    if printer.kind != PrinterKind.PRINTNODE:
        raise PrinterError("To nie jest drukarka PrintNode.", field="printer")
    import base64

    payload = {"title": title, "content_type": content_type, "content": base64.b64encode(content).decode()}
    job, created = print_job_enqueue(printer=printer, kind=kind, key=key, payload=payload)
    if created:
        schedule(job)
    return job, created


def _print_printnode(job: PrintJob, token: str) -> PrintJob:
    import base64

    from .models import PrintNodeAccount
    from .printnode import PrintNodeClient, PrintNodeError

    account = PrintNodeAccount.objects.first()
    if account is None:
        return _set(job, JobState.FAILED, "Brak konta PrintNode — dodaj klucz API w Urządzenia.", token=token)
    try:
        remote_id = PrintNodeClient(account.api_key, account.base_url or None).print(
            printer_id=int(job.printer.connection),
            title=job.payload["title"],
            content=base64.b64decode(job.payload["content"]),
            content_type=job.payload["content_type"],
            key=job.idempotency_key,
        )
    except PrintNodeError as err:
        if err.status == 401:
            account.state, account.last_error = "failing", str(err)
            account.save(update_fields=["state", "last_error"])
        if err.retry:
            return _set(job, JobState.QUEUED, str(err), token=token, next_try_at=_wait_until())
        return _set(job, JobState.FAILED, str(err), token=token)
    job.result = {"printnode_job": remote_id}
    return _set(job, JobState.DONE, "", token=token)
