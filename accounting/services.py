"""Every state change of series and documents. The only writers of accounting rows."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict
from apilo.money import round_money, to_grosze
from apilo.validators import normalize_account, normalize_nip
from orders.models import Order, OrderEventKind, VatRate
from orders.services import order_event_record

from . import nbp, numbering, vat
from .ksef_send import ksef_document_issued, ksef_series_check
from .models import (
    DEFAULT_FORMATS,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentSeries,
    DocumentState,
    SyncState,
)
from .sync import schedule_sync

logger = logging.getLogger(__name__)

SPLIT_PAYMENT_THRESHOLD = Decimal("15000.00")


class DocumentAlreadyIssued(Conflict):
    def __init__(self, document: Document):
        super().__init__(
            f"Dla tego zamówienia istnieje już dokument {document.get_kind_display().lower()} {document.number}.",
            extra={"document": document.pk, "number": document.number},
        )
        self.document = document


class SeriesMisconfigured(ApplicationError):
    pass


class OrderNotInvoiceable(ApplicationError):
    pass


# --- series ------------------------------------------------------------------------------------------------

SERIES_FIELDS = (
    "kind",
    "name",
    "number_format",
    "reset",
    "start_number",
    "seller_company_name",
    "seller_company_name_2",
    "seller_nip",
    "seller_street",
    "seller_post_code",
    "seller_city",
    "seller_country",
    "seller_email",
    "seller_phone",
    "bank_name",
    "bank_account",
    "bank_swift",
    "place_of_issue",
    "payment_term_days",
    "notes",
    "exemption_basis",
    "active",
    "is_default",
    "integration",
    "external_numbering",
    "printer",
    "ksef_connection",
)


def _raise_first(err: ValidationError):
    if hasattr(err, "error_dict"):
        field, errors = next(iter(err.error_dict.items()))
        raise ApplicationError(errors[0].messages[0], field=field) from err
    raise ApplicationError(err.messages[0]) from err


@transaction.atomic
def series_save(*, data: dict, series: DocumentSeries | None = None) -> DocumentSeries:
    """Create or change a series. Validates NIP, account, SWIFT and the number format; keeps one default per kind.
    Changing the format never renumbers documents already issued."""
    unknown = set(data) - set(SERIES_FIELDS)
    if unknown:
        raise ApplicationError("Nieznane pole serii.", field=sorted(unknown)[0])
    series = series or DocumentSeries()
    if series.pk and "kind" in data and data["kind"] != series.kind and series.documents.exists():
        raise ApplicationError("Nie można zmienić rodzaju serii, która ma dokumenty.", field="kind")
    for name, value in data.items():
        setattr(series, name, value)
    series.seller_nip = normalize_nip(series.seller_nip)
    series.bank_account = normalize_account(series.bank_account) if series.bank_account else ""
    series.bank_swift = (series.bank_swift or "").strip().upper()
    series.seller_country = (series.seller_country or "PL").upper()
    if series.printer_id:
        if series.kind != DocumentKind.RECEIPT:
            raise ApplicationError("Drukarkę fiskalną przypisuje się tylko do serii paragonów.", field="printer")
        if series.printer.kind != "posnet":
            raise ApplicationError("Paragony drukuje drukarka fiskalna (Posnet).", field="printer")
    if series.integration_id:
        if series.kind == DocumentKind.RECEIPT:
            raise ApplicationError(
                "inFakt nie obsługuje paragonów — serii paragonów nie można połączyć z inFakt.", field="integration"
            )
        # inFakt numbers invoices itself: for inFakt the number always comes from the service.
        series.external_numbering = True
    ksef_series_check(series)
    problems = numbering.format_problems(series.number_format, series.reset)
    if problems:
        raise ApplicationError(problems[0], field="number_format")
    clash = DocumentSeries.objects.filter(number_format=series.number_format).exclude(pk=series.pk).first()
    if clash:
        raise ApplicationError(
            f"Seria „{clash.name}” używa już formatu {series.number_format} — numery by się powtarzały.",
            field="number_format",
        )
    if series.is_default:  # rolled back with everything else if validation below fails
        DocumentSeries.objects.filter(kind=series.kind, is_default=True).exclude(pk=series.pk).update(is_default=False)
    try:
        series.full_clean()
    except ValidationError as err:
        _raise_first(err)
    series.save()
    return series


def series_delete(*, series: DocumentSeries) -> None:
    if series.documents.exists():
        raise Conflict("Seria ma wystawione dokumenty — można ją tylko dezaktywować.")
    series.counters.all().delete()
    series.delete()


DEFAULT_SERIES_NAMES = {
    DocumentKind.INVOICE: "Faktura (domyślnie)",
    DocumentKind.CORRECTION: "Faktura korygująca (domyślnie)",
    DocumentKind.RECEIPT: "Paragon (domyślnie)",
    DocumentKind.PROFORMA: "Faktura pro forma (domyślnie)",
}


@transaction.atomic
def series_setup_defaults(*, seller: dict) -> list[DocumentSeries]:
    """ "Rozpocznij konfigurację": the four default series sharing the seller and bank data. Only once."""
    if DocumentSeries.objects.exists():
        raise Conflict("Konfiguracja została już rozpoczęta — dodaj kolejne serie przyciskiem Dodaj.")
    return [
        series_save(
            data={
                **seller,
                "kind": kind,
                "name": name,
                "number_format": DEFAULT_FORMATS[kind],
                "reset": "monthly",
                "is_default": True,
            }
        )
        for kind, name in DEFAULT_SERIES_NAMES.items()
    ]


# --- issuing -------------------------------------------------------------------------------------------------


@dataclass
class LineInput:
    position: int
    name: str
    sku: str
    ean: str
    unit: str
    quantity: Decimal
    unit_price_gross: Decimal
    vat_rate: str
    annex15: bool


def _lines_from_order(order: Order) -> list[LineInput]:
    return [
        LineInput(
            position=i,
            name=item.name,
            sku=item.sku,
            ean=item.ean,
            unit=item.unit,
            quantity=item.quantity,
            unit_price_gross=item.unit_price_gross,
            vat_rate=item.vat_rate,
            annex15=item.annex15,
        )
        for i, item in enumerate(order.items.all(), start=1)
    ]


def _check_series_can_issue(series: DocumentSeries) -> None:
    if not series.active:
        raise SeriesMisconfigured(f"Seria „{series.name}” jest nieaktywna.", field="series")
    if not series.seller_nip:
        raise SeriesMisconfigured(
            f"Seria „{series.name}” nie ma NIP sprzedawcy — uzupełnij go w Administracja > Księgowość konfiguracja.",
            field="series",
        )


def _check_lines(lines: list[LineInput], series: DocumentSeries) -> None:
    if not lines:
        raise OrderNotInvoiceable("Zamówienie nie ma pozycji — nie można wystawić dokumentu.", field="items")
    for line in lines:
        if line.quantity is None or line.quantity <= 0:
            raise OrderNotInvoiceable(
                f"Pozycja „{line.name}” ma ilość {line.quantity} — ilość musi być większa od zera.", field="items"
            )
        if line.unit_price_gross < 0:
            raise OrderNotInvoiceable(f"Pozycja „{line.name}” ma ujemną cenę.", field="items")
        if line.vat_rate not in VatRate.values:
            raise OrderNotInvoiceable(f"Pozycja „{line.name}” ma nieznaną stawkę VAT {line.vat_rate}.", field="items")
        if line.vat_rate == VatRate.ZW and not series.exemption_basis:
            raise OrderNotInvoiceable(
                f"Pozycja „{line.name}” ma stawkę „zw” — uzupełnij podstawę zwolnienia z VAT w serii „{series.name}”.",
                field="series",
            )


def _buyer_from_order(order: Order, *, as_consumer: bool) -> tuple[dict, bool]:
    is_company = order.buyer_is_company and not as_consumer
    nip = normalize_nip(order.invoice_nip)
    if is_company and order.invoice_country == "PL":
        from stdnum.pl import nip as stdnum_nip

        if not nip or not stdnum_nip.is_valid(nip):
            raise OrderNotInvoiceable(
                "Nabywca jest firmą, ale zamówienie nie ma prawidłowego NIP. Popraw NIP w zamówieniu albo wystaw "
                "fakturę na osobę prywatną.",
                field="invoice_nip",
            )
    name = order.invoice_company_name if is_company else (order.invoice_name or order.customer_name)
    return {
        "company_name": order.invoice_company_name if is_company else "",
        "name": name or order.customer_name,
        "person": order.invoice_name,
        "nip": nip if is_company else "",
        "street": order.invoice_street,
        "post_code": order.invoice_post_code,
        "city": order.invoice_city,
        "country": order.invoice_country,
        "email": order.customer_email,
    }, is_company


def _live_document(order: Order, kind: str) -> Document | None:
    return Document.objects.filter(order=order, kind=kind).exclude(state=DocumentState.CANCELLED).order_by("id").first()


def _rate_for(currency: str, sale_date: date, manual_rate: Decimal | None):
    if currency == "PLN":
        return None
    if manual_rate is not None:
        return nbp.rate_manual(currency, sale_date, manual_rate)
    return nbp.rate_for_sale_date(currency, sale_date)


def _build_lines(lines: list[LineInput]) -> list[DocumentLine]:
    built = []
    for line in lines:
        amounts = vat.line_amounts(line.quantity, line.unit_price_gross, line.vat_rate)
        built.append(
            DocumentLine(
                position=line.position,
                name=line.name,
                sku=line.sku,
                ean=line.ean,
                unit=line.unit,
                quantity=line.quantity,
                unit_price_gross=line.unit_price_gross,
                unit_price_net=amounts.unit_price_net,
                vat_rate=line.vat_rate,
                net=amounts.net,
                vat=amounts.vat,
                gross=amounts.gross,
                annex15=line.annex15,
            )
        )
    return built


def _fill_totals(document: Document, summary: list[dict]) -> None:
    summary = vat.summary_with_pln(summary, document.exchange_rate)
    document.vat_summary = vat.summary_to_json(summary)
    document.total_net, document.total_vat, document.total_gross = vat.totals(summary)
    if document.exchange_rate is not None:
        document.total_vat_pln = sum((row["vat_pln"] for row in summary), Decimal("0.00"))
    document.amount_in_words = vat.amount_in_words(document.total_gross, document.currency)


def document_issue(
    *,
    order: Order,
    series: DocumentSeries,
    actor=None,
    additional: bool = False,
    as_consumer: bool = False,
    issue_date: date | None = None,
    sale_date: date | None = None,
    exchange_rate: Decimal | None = None,
) -> Document:
    """Issue a faktura, paragon or pro forma for an order in `series`.

    Refusals (ApplicationError, Polish message) write nothing and consume no number. An existing live document
    of the same kind raises DocumentAlreadyIssued unless `additional` is set explicitly (the user confirmed it).
    Foreign currency needs the NBP rate, fetched here before the transaction (or `exchange_rate` typed by hand).
    """
    if series.kind == DocumentKind.CORRECTION:
        raise ApplicationError("Korektę wystawia się z dokumentu (Koryguj), nie z zamówienia.", field="series")
    _check_series_can_issue(series)
    existing = _live_document(order, series.kind)
    if existing and not additional:
        raise DocumentAlreadyIssued(existing)
    order = Order.objects.prefetch_related("items").get(pk=order.pk)
    lines = _lines_from_order(order)
    _check_lines(lines, series)
    buyer, buyer_is_company = _buyer_from_order(order, as_consumer=as_consumer)
    today = timezone.localdate()
    issue_date = issue_date or today
    sale_date = sale_date or min(timezone.localtime(order.ordered_at).date(), issue_date)
    rate = _rate_for(order.currency, sale_date, exchange_rate)

    built_lines = _build_lines(lines)
    summary = vat.vat_summary((line.vat_rate, line.gross) for line in built_lines)
    document = Document(
        kind=series.kind,
        series=series,
        order=order,
        additional=bool(existing) and additional,
        issue_date=issue_date,
        sale_date=sale_date,
        due_date=issue_date + timedelta(days=series.payment_term_days),
        payment_method=order.payment_method,
        amount_paid=order.amount_paid,
        place_of_issue=series.place_of_issue,
        currency=order.currency,
        seller=series.seller_snapshot(),
        buyer=buyer,
        buyer_is_company=buyer_is_company,
        order_number=order.number,
        notes=series.notes,
        exemption_basis=series.exemption_basis if any(line.vat_rate == VatRate.ZW for line in lines) else "",
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if series.kind == DocumentKind.INVOICE:
        # An invoice to an order that already has a receipt is a "faktura do paragonu" (FA(3) FP=1).
        document.issued_to_receipt = _live_document(order, DocumentKind.RECEIPT) is not None
    if rate is not None:
        document.exchange_rate = rate.mid
        document.exchange_rate_table = rate.table_no
        document.exchange_rate_date = rate.effective_date
    _fill_totals(document, summary)
    total_pln = document.total_gross * (document.exchange_rate or 1)
    document.split_payment = (
        document.kind != DocumentKind.RECEIPT
        and buyer_is_company
        and total_pln > SPLIT_PAYMENT_THRESHOLD
        and any(line.annex15 for line in lines)
    )
    try:
        with transaction.atomic():
            # The order row lock serialises issuing for one order: a double click waits, then finds the first.
            Order.objects.select_for_update().filter(pk=order.pk).first()
            existing = _live_document(order, series.kind)
            if existing and not additional:
                raise DocumentAlreadyIssued(existing)
            document.additional = bool(existing)
            if series.integration_id:
                # Numbered by the accounting service: the row exists (issuing) before any call goes out.
                document.integration_id = series.integration_id
                document.state, document.sync_state = DocumentState.ISSUING, SyncState.PENDING
            else:
                document.number, document.period, document.sequence = _allocate(series, issue_date)
            document.save()
            if document.integration_id:
                schedule_sync(document)
            for line in built_lines:
                line.document = document
            DocumentLine.objects.bulk_create(built_lines)
            if document.kind == DocumentKind.RECEIPT and series.printer_id:
                _receipt_print(document, series.printer)
            ksef_document_issued(document)
            order_event_record(
                order=order,
                kind=OrderEventKind.DOCUMENT_ISSUED,
                actor=actor,
                payload={
                    "document": document.pk,
                    "number": document.number,
                    "kind": document.kind,
                    "additional": document.additional,
                },
            )
    except IntegrityError:
        existing = _live_document(order, series.kind)
        if existing and not additional:
            raise DocumentAlreadyIssued(existing) from None
        raise
    logger.info("document issued", extra={"document": document.number, "order": order.number})
    return document


RECEIPT_PAYMENTS = {"cash": "cash", "cod": "cash", "card": "card", "transfer": "transfer", "online": "transfer"}


def _receipt_print(document: Document, printer) -> None:
    """A fiscal receipt for the document: one print job per document (its idempotency key), printed after commit
    by the printer's own queue."""
    from devices import services as devices

    lines = [
        devices.ReceiptLine(
            name=line.name,
            quantity=f"{line.quantity.normalize():f}",
            unit_price=to_grosze(line.unit_price_gross),
            vat_rate=line.vat_rate,
        )
        for line in document.lines.all()
    ]
    total = to_grosze(document.total_gross)
    payload = devices.ReceiptPayload(
        lines=lines,
        total=total,
        nip=document.buyer.get("nip", ""),
        payments=[(RECEIPT_PAYMENTS.get(document.payment_method, "other"), total)],
    )
    job, created = devices.print_job_enqueue(
        printer=printer, kind="receipt", key=f"receipt-document-{document.pk}", payload=devices.receipt_payload(payload)
    )
    if created:
        devices.schedule(job)


def _allocate(series: DocumentSeries, day: date) -> tuple[str, str, int]:
    # Locks the series' counter; a number already taken in this series (after a format or reset change) is skipped,
    # so a number is never issued twice.
    while True:
        number, period, sequence = numbering.number_allocate(series=series, day=day)
        if not Document.objects.filter(series=series, number=number).exists():
            return number, period, sequence


# --- corrections and cancellation --------------------------------------------------------------------------


def document_current_lines(document: Document) -> dict[int, LineInput]:
    """What the document says now: an invoice's lines with every earlier correction in its chain applied."""
    if document.kind == DocumentKind.CORRECTION and document.corrected_document_id:
        state = document_current_lines(document.corrected_document)
    else:
        state = {}
    for line in document.lines.all():
        state[line.position] = LineInput(
            position=line.position,
            name=line.name,
            sku=line.sku,
            ean=line.ean,
            unit=line.unit,
            quantity=line.quantity,
            unit_price_gross=line.unit_price_gross,
            vat_rate=line.vat_rate,
            annex15=line.annex15,
        )
    return state


@dataclass
class LineChange:
    position: int
    quantity: Decimal | None = None
    unit_price_gross: Decimal | None = None
    remove: bool = False


def document_correct(
    *,
    document: Document,
    changes: list[LineChange],
    reason: str,
    actor=None,
    series: DocumentSeries | None = None,
    full_return: bool = False,
    issue_date: date | None = None,
    reason_code: str = "other",
) -> Document:
    """Issue a correction (faktura korygująca) of an invoice or of an earlier correction.

    Lines carry before and after values; the totals are the per-rate differences and may be negative."""
    document = Document.objects.select_related("order", "corrected_document").get(pk=document.pk)
    if document.kind not in (DocumentKind.INVOICE, DocumentKind.CORRECTION):
        raise ApplicationError("Korygować można fakturę albo fakturę korygującą.")
    if document.state != DocumentState.ISSUED:
        raise ApplicationError("Korygować można tylko wystawiony dokument (nie anulowany ani w trakcie).")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Podaj przyczynę korekty.", field="reason")
    series = series or DocumentSeries.objects.filter(kind=DocumentKind.CORRECTION, active=True, is_default=True).first()
    if series is None or series.kind != DocumentKind.CORRECTION:
        raise SeriesMisconfigured(
            "Brak aktywnej serii faktur korygujących — dodaj ją w Księgowość konfiguracja.", field="series"
        )
    _check_series_can_issue(series)

    before = document_current_lines(document)
    after = {pos: LineInput(**vars(line)) for pos, line in before.items()}
    if full_return:
        for line in after.values():
            line.quantity = Decimal("0")
    for change in changes:
        if change.position not in after:
            raise ApplicationError(f"Dokument nie ma pozycji nr {change.position}.", field="lines")
        line = after[change.position]
        if change.remove:
            line.quantity = Decimal("0")
            continue
        if change.quantity is not None:
            if change.quantity < 0:
                raise ApplicationError(f"Pozycja {change.position}: ilość nie może być ujemna.", field="lines")
            line.quantity = change.quantity
        if change.unit_price_gross is not None:
            if change.unit_price_gross < 0 or round_money(change.unit_price_gross) != change.unit_price_gross:
                raise ApplicationError(
                    f"Pozycja {change.position}: cena musi być nieujemna, z najwyżej 2 miejscami po przecinku.",
                    field="lines",
                )
            line.unit_price_gross = change.unit_price_gross
    changed = [
        pos
        for pos in sorted(after)
        if (after[pos].quantity, after[pos].unit_price_gross) != (before[pos].quantity, before[pos].unit_price_gross)
    ]
    if not changed:
        raise ApplicationError(
            "Korekta nic nie zmienia — zmień ilość lub cenę co najmniej jednej pozycji.", field="lines"
        )

    def summary_of(state):
        return vat.vat_summary(
            (line.vat_rate, vat.line_amounts(line.quantity, line.unit_price_gross, line.vat_rate).gross)
            for line in state.values()
        )

    difference = vat.summary_difference(summary_of(after), summary_of(before))
    original = document
    correction = Document(
        kind=DocumentKind.CORRECTION,
        series=series,
        order=original.order,
        corrected_document=original,
        correction_reason=reason,
        correction_reason_code=reason_code if reason_code in ("mistake", "other") else "other",
        issue_date=issue_date or timezone.localdate(),
        sale_date=original.sale_date,
        due_date=(issue_date or timezone.localdate()) + timedelta(days=series.payment_term_days),
        payment_method=original.payment_method,
        place_of_issue=series.place_of_issue or original.place_of_issue,
        currency=original.currency,
        exchange_rate=original.exchange_rate,
        exchange_rate_table=original.exchange_rate_table,
        exchange_rate_date=original.exchange_rate_date,
        seller=original.seller,
        buyer=original.buyer,
        buyer_is_company=original.buyer_is_company,
        order_number=original.order_number,
        exemption_basis=original.exemption_basis,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _fill_totals(correction, difference)
    lines = []
    for pos in changed:
        b, a = before[pos], after[pos]
        amounts_before = vat.line_amounts(b.quantity, b.unit_price_gross, b.vat_rate)
        amounts_after = vat.line_amounts(a.quantity, a.unit_price_gross, a.vat_rate)
        lines.append(
            DocumentLine(
                position=pos,
                name=a.name,
                sku=a.sku,
                ean=a.ean,
                unit=a.unit,
                vat_rate=a.vat_rate,
                annex15=a.annex15,
                quantity=a.quantity,
                unit_price_gross=a.unit_price_gross,
                unit_price_net=amounts_after.unit_price_net,
                net=amounts_after.net,
                vat=amounts_after.vat,
                gross=amounts_after.gross,
                quantity_before=b.quantity,
                unit_price_gross_before=b.unit_price_gross,
                unit_price_net_before=amounts_before.unit_price_net,
                net_before=amounts_before.net,
                vat_before=amounts_before.vat,
                gross_before=amounts_before.gross,
            )
        )
    with transaction.atomic():
        Document.objects.select_for_update().filter(pk=original.pk).first()
        if original.integration_id:
            # An invoice that lives in an accounting service is corrected there too (its corrective endpoint).
            correction.integration_id = original.integration_id
            correction.state, correction.sync_state = DocumentState.ISSUING, SyncState.PENDING
        else:
            correction.number, correction.period, correction.sequence = _allocate(series, correction.issue_date)
        correction.save()
        if correction.integration_id:
            schedule_sync(correction)
        for line in lines:
            line.document = correction
        DocumentLine.objects.bulk_create(lines)
        ksef_document_issued(correction)
        if original.order_id:
            order_event_record(
                order=original.order,
                kind=OrderEventKind.DOCUMENT_ISSUED,
                actor=actor,
                payload={
                    "document": correction.pk,
                    "number": correction.number,
                    "kind": correction.kind,
                    "corrects": original.number,
                },
            )
    logger.info("correction issued", extra={"document": correction.number, "corrects": original.number})
    return correction


@transaction.atomic
def document_cancel(*, document: Document, reason: str, actor=None) -> Document:
    """Record a cancellation. The number stays used and the document stays listed; nothing is deleted."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.state == DocumentState.CANCELLED:
        raise Conflict("Dokument jest już anulowany.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Podaj powód anulowania.", field="reason")
    if document.corrections.exclude(state=DocumentState.CANCELLED).exists():
        raise Conflict("Dokument ma korekty — najpierw anuluj korekty albo wystaw kolejną korektę.")
    document.state = DocumentState.CANCELLED
    document.cancelled_at = timezone.now()
    document.cancelled_by = actor if getattr(actor, "is_authenticated", False) else None
    document.cancel_reason = reason
    document.save(update_fields=["state", "cancelled_at", "cancelled_by", "cancel_reason"])
    return document


# --- PDF -----------------------------------------------------------------------------------------------------


def document_pdf(*, document: Document) -> bytes:
    """The document's PDF: rendered once, stored with its SHA-256, served from storage afterwards."""
    if document.pdf:
        with document.pdf.open("rb") as handle:
            return handle.read()
    if document.integration_id:
        raise Conflict("PDF tego dokumentu pochodzi z serwisu księgowego i będzie dostępny po nadaniu numeru.")
    from .pdf import render_pdf

    content = render_pdf(document)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.pdf:  # rendered meanwhile by another request: keep the first
            document.pdf, document.pdf_sha256 = locked.pdf, locked.pdf_sha256
            with locked.pdf.open("rb") as handle:
                return handle.read()
        filename = f"{document.number.replace('/', '_')}.pdf"
        locked.pdf.save(filename, ContentFile(content), save=False)
        locked.pdf_sha256 = hashlib.sha256(content).hexdigest()
        locked.save(update_fields=["pdf", "pdf_sha256"])
        document.pdf, document.pdf_sha256 = locked.pdf, locked.pdf_sha256
    return content


# --- series ↔ accounting-service account --------------------------------------------------------------------


def _norm(value: str) -> str:
    return " ".join((value or "").replace(",", " ").split()).casefold()


def series_account_mismatches(*, series_data: dict, integration) -> list[str]:
    """Field-by-field differences between the series' Sprzedawca / Konto bankowe and the service's account data,
    in Polish, for the admin to see before saving. Empty when everything agrees."""
    account = integration.account_data or {}
    if not account:
        return ["Brak danych konta z serwisu — sprawdź połączenie w Konfiguracja faktur."]
    problems = []
    pairs = [
        ("Nazwa firmy", "seller_company_name", "company_name"),
        ("NIP", "seller_nip", "nip"),
        ("Ulica", "seller_street", "street"),
        ("Kod pocztowy", "seller_post_code", "post_code"),
        ("Miejscowość", "seller_city", "city"),
    ]
    for label, ours, theirs in pairs:
        a, b = series_data.get(ours, ""), account.get(theirs, "")
        if ours == "seller_nip":
            a, b = normalize_nip(a), normalize_nip(b)
        if _norm(a) != _norm(b):
            problems.append(f"{label}: w serii „{a or '—'}”, w {integration.get_provider_display()} „{b or '—'}”.")
    banks = account.get("bank_accounts") or []
    ours_account = normalize_account(series_data.get("bank_account", "")) if series_data.get("bank_account") else ""
    match = next((b for b in banks if normalize_account(b.get("account_number", "")) == ours_account), None)
    if ours_account and match is None:
        known = ", ".join(b.get("account_number", "") for b in banks) or "brak kont"
        problems.append(
            f"Numer konta {ours_account} nie występuje w {integration.get_provider_display()} "
            f"({known}) — inFakt odrzuci przelew na niezweryfikowane konto."
        )
    elif match:
        if _norm(match.get("bank_name", "")) != _norm(series_data.get("bank_name", "")):
            problems.append(
                f"Bank: w serii „{series_data.get('bank_name') or '—'}”, w serwisie „{match.get('bank_name') or '—'}”."
            )
        if (match.get("swift") or "").upper() != (series_data.get("bank_swift") or "").upper():
            problems.append(
                f"SWIFT: w serii „{series_data.get('bank_swift') or '—'}”, w serwisie „{match.get('swift') or '—'}”."
            )
    if series_data.get("seller_company_name_2"):
        problems.append(
            "Pole „Nazwa c.d.” jest wypełnione — inFakt go nie przyjmuje; na fakturze z inFakt "
            "będzie tylko nazwa firmy z inFakt."
        )
    return problems
