"""Corrections (faktury korygujące) of the current state of an invoice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apilo.errors import ApplicationError, Conflict
from apilo.money import round_money
from orders.models import OrderEventKind
from orders.services import order_event_record

from .. import vat
from ..ksef_send import ksef_document_issued
from ..models import Document, DocumentKind, DocumentLine, DocumentSeries, DocumentState, SyncState
from ..sync import schedule_sync
from .errors import SeriesMisconfigured
from .issuing import LineInput, _allocate, _check_series_can_issue, _fill_totals

logger = logging.getLogger(__name__)


def document_chain_root(document: Document) -> Document:
    """The invoice at the start of a chain of corrections."""
    while document.kind == DocumentKind.CORRECTION and document.corrected_document_id:
        document = document.corrected_document
    return document


def document_chain(document: Document) -> list[Document]:
    """Every correction of the chain `document` belongs to (the root invoice's corrections, their corrections, …),
    in issue order, cancelled ones included."""
    root = document_chain_root(document)
    found, frontier = [], [root.pk]
    while frontier:
        level = list(Document.objects.filter(corrected_document_id__in=frontier).order_by("id"))
        found.extend(level)
        frontier = [doc.pk for doc in level]
    return sorted(found, key=lambda doc: doc.pk)


def _line_input(line: DocumentLine) -> LineInput:
    return LineInput(
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


def _state_as_of(document: Document, upto_id: int | None) -> dict[int, LineInput]:
    root = document_chain_root(document)
    state = {line.position: _line_input(line) for line in root.lines.all()}
    for correction in document_chain(root):
        if correction.state == DocumentState.CANCELLED or (upto_id is not None and correction.pk > upto_id):
            continue
        for line in correction.lines.all():
            state[line.position] = _line_input(line)
    return state


def document_current_lines(document: Document) -> dict[int, LineInput]:
    """What the chain says as of `document`: the root invoice with every live correction of its chain issued up to
    and including `document` applied, in issue order. For a correction's `corrected_document` (always the newest
    live document of the chain when the correction was issued) this is exactly the correction's "before"."""
    return _state_as_of(document, document.pk)


def document_chain_current_lines(document: Document) -> dict[int, LineInput]:
    """The invoice as it stands now: the root with every live correction of the chain applied, in issue order."""
    return _state_as_of(document, None)


def document_chain_head(document: Document) -> Document:
    """The newest live document of the chain: what a new correction corrects."""
    live = [doc for doc in document_chain(document) if doc.state != DocumentState.CANCELLED]
    return live[-1] if live else document_chain_root(document)


@dataclass
class LineChange:
    position: int
    quantity: Decimal | None = None
    unit_price_gross: Decimal | None = None
    remove: bool = False


REASON_CODES = ("mistake", "other")  # FA(3) TypKorekty 1 (effect at the original's date) / 2 (at the correction's)


def _apply_changes(before: dict[int, LineInput], changes: list[LineChange], full_return: bool) -> dict:
    """The state after the correction. Nothing can go below zero: quantities and prices are ≥ 0, so every line's
    value is too; a full return sets exactly what is left to zero."""
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
    return after


def _summary_of(state: dict[int, LineInput]) -> list[dict]:
    return vat.vat_summary(
        (line.vat_rate, vat.line_amounts(line.quantity, line.unit_price_gross, line.vat_rate).gross)
        for line in state.values()
    )


def _correction_line(before: LineInput, after: LineInput) -> DocumentLine:
    amounts_before = vat.line_amounts(before.quantity, before.unit_price_gross, before.vat_rate)
    amounts_after = vat.line_amounts(after.quantity, after.unit_price_gross, after.vat_rate)
    return DocumentLine(
        position=after.position,
        name=after.name,
        sku=after.sku,
        ean=after.ean,
        unit=after.unit,
        vat_rate=after.vat_rate,
        annex15=after.annex15,
        quantity=after.quantity,
        unit_price_gross=after.unit_price_gross,
        unit_price_net=amounts_after.unit_price_net,
        net=amounts_after.net,
        vat=amounts_after.vat,
        gross=amounts_after.gross,
        quantity_before=before.quantity,
        unit_price_gross_before=before.unit_price_gross,
        unit_price_net_before=amounts_before.unit_price_net,
        net_before=amounts_before.net,
        vat_before=amounts_before.vat,
        gross_before=amounts_before.gross,
    )


def _correction_series(series: DocumentSeries | None) -> DocumentSeries:
    series = series or DocumentSeries.objects.filter(kind=DocumentKind.CORRECTION, active=True, is_default=True).first()
    if series is None or series.kind != DocumentKind.CORRECTION:
        raise SeriesMisconfigured(
            "Brak aktywnej serii faktur korygujących — dodaj ją w Księgowość konfiguracja.", field="series"
        )
    _check_series_can_issue(series)
    return series


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
    """Issue a correction (faktura korygująca) of the invoice's CURRENT state.

    Koryguj on the invoice or on any of its corrections corrects the invoice as it stands after every live
    correction so far (the correction points at the newest live document of the chain). Lines carry before and
    after values; the totals are the per-rate differences and may be negative."""
    document = Document.objects.select_related("order", "corrected_document").get(pk=document.pk)
    if document.kind not in (DocumentKind.INVOICE, DocumentKind.CORRECTION):
        raise ApplicationError("Korygować można fakturę albo fakturę korygującą.")
    root = document_chain_root(document)
    if root.state != DocumentState.ISSUED:
        raise ApplicationError("Korygować można tylko wystawiony dokument (nie anulowany ani w trakcie).")
    head = document_chain_head(document)
    if head.state != DocumentState.ISSUED:
        raise ApplicationError(
            f"Poprzednia korekta ({head}) nie jest jeszcze wystawiona — poczekaj na nią albo ją anuluj."
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Podaj przyczynę korekty.", field="reason")
    if reason_code not in REASON_CODES:
        raise ApplicationError("Rodzaj przyczyny to „mistake” (pomyłka) albo „other” (inna).", field="reason_code")
    series = _correction_series(series)

    before = document_chain_current_lines(head)
    after = _apply_changes(before, changes, full_return)
    changed = [
        pos
        for pos in sorted(after)
        if (after[pos].quantity, after[pos].unit_price_gross) != (before[pos].quantity, before[pos].unit_price_gross)
    ]
    if not changed:
        raise ApplicationError(
            "Korekta nic nie zmienia — zmień ilość lub cenę co najmniej jednej pozycji.", field="lines"
        )
    issue_date = issue_date or timezone.localdate()
    correction = Document(
        kind=DocumentKind.CORRECTION,
        series=series,
        order=root.order,
        corrected_document=head,
        correction_reason=reason,
        correction_reason_code=reason_code,
        issue_date=issue_date,
        sale_date=root.sale_date,
        due_date=issue_date + timedelta(days=series.payment_term_days),
        payment_method=root.payment_method,
        place_of_issue=series.place_of_issue or root.place_of_issue,
        currency=root.currency,
        exchange_rate=root.exchange_rate,
        exchange_rate_table=root.exchange_rate_table,
        exchange_rate_date=root.exchange_rate_date,
        seller=root.seller,
        buyer=root.buyer,
        buyer_is_company=root.buyer_is_company,
        order_number=root.order_number,
        exemption_basis=root.exemption_basis,
        # A correction of a split-payment invoice is itself under the split-payment mechanism (art. 108a ust. 5).
        split_payment=root.split_payment,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _copy_transaction_fields(correction, root)
    _fill_totals(correction, vat.summary_difference(_summary_of(after), _summary_of(before)))
    lines = [_correction_line(before[pos], after[pos]) for pos in changed]
    with transaction.atomic():
        Document.objects.select_for_update().filter(pk=root.pk).first()
        if document_chain_head(root).pk != head.pk:  # another correction was issued meanwhile
            raise Conflict("Faktura została w międzyczasie skorygowana — odśwież stronę i skoryguj stan bieżący.")
        if root.integration_id:
            # An invoice that lives in an accounting service is corrected there too (its corrective endpoint).
            correction.integration_id = root.integration_id
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
        if root.order_id:
            order_event_record(
                order=root.order,
                kind=OrderEventKind.DOCUMENT_ISSUED,
                actor=actor,
                payload={
                    "document": correction.pk,
                    "number": correction.number,
                    "kind": correction.kind,
                    "corrects": head.number,
                },
            )
    logger.info("correction issued", extra={"document": correction.number, "corrects": head.number})
    return correction


def _copy_transaction_fields(correction: Document, root: Document) -> None:
    """Fields that describe the transaction (not the correction) follow the original invoice."""
    for name in ("vat_treatment", "buyer_vat_id"):
        if hasattr(root, name):
            setattr(correction, name, getattr(root, name))
