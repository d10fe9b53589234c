"""Reads: the document list's filters, the context shared by the preview and the PDF."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apilo.validators import normalize_nip
from orders.models import PaymentMethod, VatRate

from . import vat
from .models import Document, DocumentKind, DocumentSeries, DocumentState, KsefState

RATE_LABELS = dict(VatRate.choices)
DOCUMENT_SORTS = {
    "-issue_date": ("-issue_date", "-id"),
    "issue_date": ("issue_date", "id"),
    "number": ("number", "id"),
    "-number": ("-number", "-id"),
    "-total": ("-total_gross", "-id"),
    "total": ("total_gross", "id"),
}
DOCUMENT_SORT_LABELS = {
    "-issue_date": "Najnowsze",
    "issue_date": "Najstarsze",
    "number": "Numer rosnąco",
    "-number": "Numer malejąco",
    "-total": "Wartość malejąco",
    "total": "Wartość rosnąco",
}


class DocumentFilter(django_filters.FilterSet):
    """Księgowość > Dokumenty filters, shared with `GET /api/documents/`."""

    q = django_filters.CharFilter(label="Szukaj", method="filter_q")
    kind = django_filters.ChoiceFilter(label="Rodzaj", choices=DocumentKind.choices, empty_label="Wszystkie")
    series = django_filters.ModelChoiceFilter(
        label="Seria", queryset=DocumentSeries.objects.all(), empty_label="Wszystkie"
    )
    state = django_filters.ChoiceFilter(label="Stan", choices=DocumentState.choices, empty_label="Wszystkie")
    date_from = django_filters.DateFilter(
        label="Wystawiono od",
        field_name="issue_date",
        lookup_expr="gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label="Wystawiono do",
        field_name="issue_date",
        lookup_expr="lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    number = django_filters.CharFilter(label="Numer", field_name="number", lookup_expr="icontains")
    ksef_state = django_filters.ChoiceFilter(
        label="Stan KSeF", choices=KsefState.choices, empty_label="Wszystkie", method="filter_ksef_state"
    )
    order_number = django_filters.CharFilter(label="Numer zamówienia", field_name="order_number", lookup_expr="iexact")
    buyer = django_filters.CharFilter(label="Nabywca lub NIP", method="filter_buyer")
    order = django_filters.NumberFilter(field_name="order_id", widget=forms.HiddenInput)
    sort = django_filters.ChoiceFilter(
        label="Sortuj", choices=list(DOCUMENT_SORT_LABELS.items()), method="filter_sort", empty_label=None
    )

    class Meta:
        model = Document
        fields = [
            "q",
            "kind",
            "series",
            "state",
            "date_from",
            "date_to",
            "number",
            "ksef_state",
            "order_number",
            "buyer",
            "order",
            "sort",
        ]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q(number__icontains=value) | Q(order_number__iexact=value) | Q(buyer__name__icontains=value)
        nip = normalize_nip(value)
        if nip.isdigit() and len(nip) >= 6:
            condition |= Q(buyer__nip__startswith=nip)
        return queryset.filter(condition)

    def filter_ksef_state(self, queryset, name, value):
        if value == KsefState.NOT_APPLICABLE:
            return queryset.filter(ksef_submission__isnull=True)
        return queryset.filter(ksef_submission__state=value)

    def filter_buyer(self, queryset, name, value):
        nip = normalize_nip(value)
        if nip.isdigit() and len(nip) == 10:
            return queryset.filter(buyer__nip=nip)
        return queryset.filter(buyer__name__icontains=value.strip())

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*DOCUMENT_SORTS.get(value, DOCUMENT_SORTS["-issue_date"]))


def document_list(params) -> DocumentFilter:
    return DocumentFilter(params, queryset=Document.objects.select_related("series"))


def document_context(document: Document) -> dict:
    """Everything the preview and the PDF show, computed once (templates only display)."""
    from .services import rules
    from .services.corrections import document_chain_root

    kind = rules.transaction_kind(document.buyer)

    def label(rate):
        code = rules.rate_code(rate, kind)
        return rules.RATE_LABELS.get(code, RATE_LABELS.get(rate, rate))

    summary = vat.summary_from_json(document.vat_summary)
    for row in summary:
        row["label"] = label(row["rate"])
    lines = list(document.lines.all())
    for line in lines:
        line.rate_label = label(line.vat_rate)
    corrected = document.corrected_document
    original = document_chain_root(corrected) if corrected else None
    is_receipt = document.kind == DocumentKind.RECEIPT
    vat_id = rules.buyer_vat_id(document.buyer)
    seller_nip = document.seller.get("nip", "")
    return {
        "pdf_title": "Dokument niefiskalny — kopia paragonu" if is_receipt else document.title,
        "original": original if original and original.pk != corrected.pk else None,
        "receipt": document.receipt_document,
        "reverse_charge": rules.reverse_charge({line.vat_rate for line in lines}, kind),
        # Intra-EU (WDT, np II): both parties' EU VAT numbers, the seller's with the PL prefix.
        "eu_vat_ids": {"seller": f"PL{seller_nip}", "buyer": vat_id} if kind == rules.EU_BUSINESS else None,
        "export": kind == rules.OUTSIDE_EU,
        "late_issue": rules.late_issue_warnings(document.sale_date, document.issue_date)
        if document.kind in (DocumentKind.INVOICE, DocumentKind.CORRECTION)
        else [],
        "document": document,
        "lines": lines,
        "summary": summary,
        "is_correction": document.kind == DocumentKind.CORRECTION,
        "is_proforma": document.kind == DocumentKind.PROFORMA,
        "is_receipt": is_receipt,
        "corrected": corrected,
        "payment_method_label": dict(PaymentMethod.choices).get(document.payment_method, document.payment_method),
        "foreign": document.currency != "PLN",
        "amount_due": max(document.total_gross - document.amount_paid, 0) if document.total_gross > 0 else 0,
    }


def documents_for_order(order_id: int) -> QuerySet[Document]:
    return Document.objects.filter(order_id=order_id).select_related("series").order_by("-created_at")
