"""Non-trivial reads of orders: the filtered list, tab counts, the order card."""

from __future__ import annotations

import hashlib

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from apilo.validators import normalize_nip

from .models import Channel, Order, OrderEvent, OrderStatus, PaymentStatus

SORTS = {
    "-ordered_at": ("-ordered_at", "-id"),
    "ordered_at": ("ordered_at", "id"),
    "-total": ("-total_gross", "-id"),
    "total": ("total_gross", "id"),
    "number": ("number",),
    "-number": ("-number",),
    "customer": ("customer_name", "id"),
}
SORT_LABELS = {
    "-ordered_at": "Najnowsze",
    "ordered_at": "Najstarsze",
    "-total": "Wartość malejąco",
    "total": "Wartość rosnąco",
    "number": "Numer rosnąco",
    "-number": "Numer malejąco",
    "customer": "Klient A–Z",
}


def order_search(queryset: QuerySet[Order], text: str) -> QuerySet[Order]:
    """Number, external id, customer name, e-mail, company or NIP (with or without dashes)."""
    text = text.strip()
    if not text:
        return queryset
    condition = (
        Q(number__iexact=text)
        | Q(external_id__iexact=text)
        | Q(customer_name__icontains=text)
        | Q(customer_email__icontains=text)
        | Q(invoice_company_name__icontains=text)
        | Q(invoice_name__icontains=text)
    )
    nip = normalize_nip(text)
    if nip.isdigit() and len(nip) >= 6:
        condition |= Q(invoice_nip__startswith=nip)
    return queryset.filter(condition)


class OrderFilter(django_filters.FilterSet):
    """The order list's filters, shared by the web list and `GET /api/orders/`."""

    q = django_filters.CharFilter(label="Szukaj", method="filter_q")
    status = django_filters.ModelChoiceFilter(label="Status", queryset=OrderStatus.objects.all())
    channel = django_filters.ChoiceFilter(label="Kanał", choices=Channel.choices, empty_label="Wszystkie")
    payment_status = django_filters.ChoiceFilter(
        label="Płatność", choices=PaymentStatus.choices, empty_label="Wszystkie"
    )
    date_from = django_filters.DateFilter(
        label="Data od",
        field_name="ordered_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label="Data do",
        field_name="ordered_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    external_id = django_filters.CharFilter(label="Numer zewnętrzny")
    sort = django_filters.ChoiceFilter(
        label="Sortuj", choices=list(SORT_LABELS.items()), method="filter_sort", empty_label=None
    )

    class Meta:
        model = Order
        fields = ["q", "status", "channel", "payment_status", "date_from", "date_to", "external_id", "sort"]

    def filter_q(self, queryset, name, value):
        return order_search(queryset, value)

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*SORTS.get(value, SORTS["-ordered_at"]))


def order_list(params, *, base: QuerySet[Order] | None = None) -> OrderFilter:
    queryset = (base if base is not None else Order.objects.all()).select_related("status")
    return OrderFilter(params, queryset=queryset)


ORDERS_VERSION_KEY = "orders:version"
TAB_COUNTS_TTL = 600


def order_counts_invalidate() -> None:
    """Called after every committed order change: cached tab counts of every filter become stale at once."""
    try:
        cache.incr(ORDERS_VERSION_KEY)
    except ValueError:
        cache.set(ORDERS_VERSION_KEY, 1, None)


def status_tab_counts(queryset: QuerySet[Order], *, cache_key: str = "") -> tuple[list[OrderStatus], int]:
    """Every active status (and any inactive one still holding orders) with its order count.

    Counting 100,000 orders per status costs tens of milliseconds on every page view, so counts are cached per
    filter until the next order change (`order_counts_invalidate`); with `cache_key` empty they are computed.
    """
    key = None
    if cache_key:
        version = cache.get_or_set(ORDERS_VERSION_KEY, 1, None)
        key = f"orders:tabs:{version}:{hashlib.sha256(cache_key.encode()).hexdigest()[:32]}"
    counts = cache.get(key) if key else None
    if counts is None:
        counts = dict(queryset.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        if key:
            cache.set(key, counts, TAB_COUNTS_TTL)
    statuses = [s for s in OrderStatus.objects.order_by("position", "id") if s.is_active or counts.get(s.pk)]
    for status in statuses:
        status.order_count = counts.get(status.pk, 0)
    return statuses, sum(counts.values())


def order_card_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("status", "created_by").prefetch_related("items")


def order_history(order: Order) -> QuerySet[OrderEvent]:
    return order.events.select_related("actor", "from_status", "to_status").order_by("-created_at", "-id")
