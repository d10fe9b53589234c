"""Issuing a faktura, paragon or pro forma from an order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo.errors import ApplicationError
from apilo.validators import normalize_nip
from orders.models import Order, OrderEventKind, VatRate, normalize_vat_id
from orders.services import order_event_record

from .. import nbp, numbering, vat
from ..ksef_send import ksef_document_issued
from ..models import Document, DocumentKind, DocumentLine, DocumentSeries, DocumentState, SyncState
from ..sync import schedule_sync
from . import rules
from .errors import DocumentAlreadyIssued, OrderNotInvoiceable, SeriesMisconfigured
from .receipts import _receipt_print, check_receipt_can_issue, receipt_for_invoice

logger = logging.getLogger(__name__)


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


def _buyer_from_order(order: Order, *, as_consumer: bool, kind: str) -> tuple[dict, bool]:
    is_company = order.buyer_is_company and not as_consumer
    nip = normalize_nip(order.invoice_nip)
    vat_id = normalize_vat_id(order.invoice_vat_id) if is_company else ""
    if is_company and order.invoice_country == "PL":
        from stdnum.pl import nip as stdnum_nip

        if not nip or not stdnum_nip.is_valid(nip):
            raise OrderNotInvoiceable(
                "Nabywca jest firmą, ale zamówienie nie ma prawidłowego NIP. Popraw NIP w zamówieniu albo wystaw "
                "fakturę na osobę prywatną.",
                field="invoice_nip",
            )
    name = order.invoice_company_name if is_company else (order.invoice_name or order.customer_name)
    buyer = {
        "company_name": order.invoice_company_name if is_company else "",
        "name": name or order.customer_name,
        "person": order.invoice_name,
        "nip": nip if is_company else "",
        "vat_id": vat_id,
        "street": order.invoice_street,
        "post_code": order.invoice_post_code,
        "city": order.invoice_city,
        "country": order.invoice_country,
        "email": order.customer_email,
    }
    if kind == DocumentKind.INVOICE:
        missing = rules.missing_address(buyer)
        if missing:
            raise OrderNotInvoiceable(
                f"Faktura VAT wymaga adresu nabywcy — w zamówieniu brakuje: {', '.join(lab for _, lab in missing)}. "
                "Uzupełnij adres do faktury.",
                field=f"invoice_{missing[0][0]}",
            )
    return buyer, is_company


def _live_document(order: Order, kind: str) -> Document | None:
    return Document.objects.filter(order=order, kind=kind).exclude(state=DocumentState.CANCELLED).order_by("id").first()


def _rate_for(currency: str, sale_date: date, manual: dict):
    if currency == "PLN":
        return None
    if manual.get("exchange_rate") is not None:
        return nbp.rate_manual(
            currency,
            sale_date,
            manual["exchange_rate"],
            manual.get("exchange_rate_table", ""),
            manual.get("exchange_rate_date"),
        )
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
    exchange_rate_table: str = "",
    exchange_rate_date: date | None = None,
) -> Document:
    """Issue a faktura, paragon or pro forma for an order in `series`.

    Refusals (ApplicationError, Polish message) write nothing and consume no number. An existing live document
    of the same kind raises DocumentAlreadyIssued unless `additional` is set explicitly (the user confirmed it).
    The date of sale defaults to the shipment, else the payment of a prepaid order, else the issue date; the NBP
    rate (fetched here before the transaction, or typed by hand with its table) follows the date of sale.
    The returned document carries `warnings` (e.g. a late issue) for the form and the API to show.
    """
    if series.kind == DocumentKind.CORRECTION:
        raise ApplicationError("Korektę wystawia się z dokumentu (Koryguj), nie z zamówienia.", field="series")
    _check_series_can_issue(series)
    existing = _live_document(order, series.kind)
    if existing and not additional:
        raise DocumentAlreadyIssued(existing)
    order = Order.objects.prefetch_related("items").get(pk=order.pk)
    if series.kind == DocumentKind.RECEIPT:
        check_receipt_can_issue(series, order)  # a fiscal printer, PLN
    lines = _lines_from_order(order)
    _check_lines(lines, series)
    buyer, buyer_is_company = _buyer_from_order(order, as_consumer=as_consumer, kind=series.kind)
    receipt = None
    if series.kind == DocumentKind.INVOICE:  # faktura do paragonu: art. 106b ust. 5
        receipt = receipt_for_invoice(order, buyer=buyer, buyer_is_company=buyer_is_company)
    issue_date = issue_date or timezone.localdate()
    sale_date = sale_date or rules.default_sale_date(order, issue_date)
    warnings = rules.sale_date_warnings(sale_date, issue_date)  # refuses > 60 days ahead, warns when late
    manual = {"exchange_rate": exchange_rate, "exchange_rate_table": exchange_rate_table}
    rate = _rate_for(order.currency, sale_date, {**manual, "exchange_rate_date": exchange_rate_date})

    document = Document(
        kind=series.kind,
        series=series,
        order=order,
        issue_date=issue_date,
        sale_date=sale_date,
        due_date=issue_date + timedelta(days=series.payment_term_days),
        payment_method=order.payment_method,
        amount_paid=order.amount_paid,
        payment_date=rules.order_paid_on(order) if order.amount_paid > 0 else None,
        place_of_issue=series.place_of_issue,
        currency=order.currency,
        seller=series.seller_snapshot(),
        buyer=buyer,
        buyer_is_company=buyer_is_company,
        order_number=order.number,
        notes=series.notes,
        exemption_basis=series.exemption_basis if any(line.vat_rate == VatRate.ZW for line in lines) else "",
        receipt_document=receipt,
        issued_to_receipt=receipt is not None,  # FA(3) FP=1
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if rate is not None:
        document.exchange_rate = rate.mid
        document.exchange_rate_table = rate.table_no
        document.exchange_rate_date = rate.effective_date
    built_lines = _build_lines(lines)
    _fill_totals(document, vat.vat_summary((line.vat_rate, line.gross) for line in built_lines))
    document.split_payment = document.kind != DocumentKind.RECEIPT and rules.split_payment_applies(
        buyer_is_company=buyer_is_company,
        kind=rules.transaction_kind(buyer),
        lines=lines,
        total_gross=document.total_gross,
        exchange_rate=document.exchange_rate,
    )
    _save_issued(document, built_lines, additional=additional, actor=actor)
    logger.info("document issued", extra={"document": document.number, "order": order.number})
    document.warnings = warnings
    return document


def _save_issued(document: Document, built_lines: list[DocumentLine], *, additional: bool, actor) -> None:
    """Number (or hand to the accounting service), save with its lines, queue the fiscal print, record the event —
    in one transaction under the order's row lock, so a double click finds the first document."""
    order, series = document.order, document.series
    try:
        with transaction.atomic():
            Order.objects.select_for_update().filter(pk=order.pk).first()
            existing = _live_document(order, series.kind)
            if existing and not additional:
                raise DocumentAlreadyIssued(existing)
            document.additional = bool(existing)
            if series.integration_id:
                # Numbered by the accounting service: the row exists (issuing) before any call goes out.
                document.integration_id = series.integration_id
                document.state, document.sync_state = DocumentState.ISSUING, SyncState.PENDING  # a new row
            else:
                document.number, document.period, document.sequence = _allocate(series, document.issue_date)
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


def _allocate(series: DocumentSeries, day: date) -> tuple[str, str, int]:
    # Locks the series' counter; a number already taken in this series (after a format or reset change) is skipped,
    # so a number is never issued twice.
    while True:
        number, period, sequence = numbering.number_allocate(series=series, day=day)
        if not Document.objects.filter(series=series, number=number).exists():
            return number, period, sequence
