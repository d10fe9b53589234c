"""Printers and print jobs. Fiscal receipts are printed at most once per idempotency key: a job found in
`printing` (a crash or a lost reply mid-receipt) is never printed again; its open transaction is cancelled and a
person decides (`needs attention`)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError

from .connections import connection_problem
from .models import JobState, Printer, PrinterKind, PrintJob
from .posnet import PAYMENT_TYPES, PRINTER_STATES, PosnetDriver, PosnetError

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
    for key in ("kind", "name", "connection", "settings", "active"):
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


def print_job_run(*, job_id: int) -> PrintJob:
    """Print one job. Never prints a receipt twice: `printing` is committed before the first byte goes out."""
    with transaction.atomic():
        job = PrintJob.objects.select_for_update().select_related("printer").get(pk=job_id)
        if job.state in (JobState.DONE, JobState.NEEDS_ATTENTION, JobState.FAILED):
            return job
        recovering = job.state == JobState.PRINTING
        job.state, job.attempts = JobState.PRINTING, job.attempts + 1
        job.save(update_fields=["state", "attempts", "updated_at"])
    if job.kind == "slip":
        return _print_slip(job)
    if job.printer.kind == PrinterKind.PRINTNODE:
        # PrintNode dedupes on X-Idempotency-Key: resending after a crash is safe
        return _print_printnode(job)
    if recovering:
        return _recover(job)
    try:
        with _driver(job.printer) as driver:
            state = driver.printer_state()
            if state:
                return _set(job, JobState.QUEUED, f"Drukarka czeka: {PRINTER_STATES.get(state, state)}.")
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
                    )
                quantity = Decimal(str(line["quantity"]))
                lines.append(
                    {
                        "name": line["name"],
                        "slot": slots[rate],
                        "price": line["unit_price"],
                        "quantity": f"{quantity.normalize():f}",
                        "total": int((line["unit_price"] * quantity).quantize(Decimal(1), ROUND_HALF_UP)),
                    }
                )
            payments = [(PAYMENT_TYPES.get(kind, 6), amount) for kind, amount in job.payload["payments"]] or [
                (0, job.payload["total"])
            ]
            number = driver.receipt(
                lines=lines, nip=job.payload.get("nip", ""), payments=payments, total=job.payload["total"]
            )
    except PosnetError as err:
        # a refusal or a lost link mid-receipt: never print again automatically
        return _recover(job, reason=str(err))
    job.result = {"receipt_number": number, "printed_at": timezone.now().isoformat()}
    return _set(job, JobState.DONE, "")


def _recover(job: PrintJob, reason: str = "") -> PrintJob:
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
    return _set(job, JobState.NEEDS_ATTENTION, note + " Sprawdź wydruk i zdecyduj, czy wydrukować ponownie.")


def _set(job: PrintJob, state: str, error: str) -> PrintJob:
    job.state, job.error = state, error
    job.save(update_fields=["state", "error", "result", "updated_at"])
    return job


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


def _print_slip(job: PrintJob) -> PrintJob:
    from .escpos_print import PackingSlip, send_raw, slip_bytes

    payload = dict(job.payload)
    payload["items"] = [tuple(item) for item in payload.get("items", [])]
    try:
        send_raw(job.printer.connection, slip_bytes(PackingSlip(**payload)))
    except (OSError, ValueError) as err:
        return _set(job, JobState.FAILED, f"Nie udało się wysłać do drukarki ESC/POS: {err}")
    job.result = {"printed_at": timezone.now().isoformat()}
    return _set(job, JobState.DONE, "")


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


def _print_printnode(job: PrintJob) -> PrintJob:
    import base64

    from .models import PrintNodeAccount
    from .printnode import PrintNodeClient, PrintNodeError

    account = PrintNodeAccount.objects.first()
    if account is None:
        return _set(job, JobState.FAILED, "Brak konta PrintNode — dodaj klucz API w Urządzenia.")
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
        return _set(job, JobState.QUEUED if err.retry else JobState.FAILED, str(err))
    job.result = {"printnode_job": remote_id}
    return _set(job, JobState.DONE, "")
