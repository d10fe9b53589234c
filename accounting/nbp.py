"""NBP exchange rates (table A, mid): fetched and cached before a document is issued, never while rendering.

Rule (art. 31a): the mid rate of the last business day before the sale date. We ask NBP for the ten days before
it and take the last published table, which covers weekends and holidays.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.core.cache import cache

from apilo.errors import ApplicationError

from .models import ExchangeRate

logger = logging.getLogger(__name__)


RESOLVED_TTL_SECONDS = 30 * 24 * 3600


class RateUnavailable(ApplicationError):
    pass


def _fetch_range(currency: str, start: date, end: date) -> list[dict]:
    url = f"{settings.NBP_API_URL.rstrip('/')}/exchangerates/rates/a/{currency.lower()}/{start}/{end}/"
    try:
        response = requests.get(
            url, params={"format": "json"}, timeout=settings.NBP_TIMEOUT_SECONDS, headers={"Accept": "application/json"}
        )
    except requests.RequestException as err:
        logger.warning("NBP unreachable", extra={"currency": currency, "error": str(err)})
        raise RateUnavailable(
            "Nie udało się połączyć z NBP, aby pobrać kurs waluty. Wpisz kurs ręcznie.", field="exchange_rate"
        ) from err
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        logger.warning("NBP error", extra={"currency": currency, "status": response.status_code})
        raise RateUnavailable(
            f"NBP odpowiedział błędem {response.status_code}. Wpisz kurs ręcznie.", field="exchange_rate"
        )
    return response.json().get("rates", [])


def rate_for_sale_date(currency: str, sale_date: date) -> ExchangeRate:
    """The NBP table A mid rate for a document with this sale date; cached in ExchangeRate."""
    day_before = sale_date - timedelta(days=1)
    lookup_key = f"nbp:resolved:{currency}:{sale_date.isoformat()}"
    resolved_pk = cache.get(lookup_key)
    cached = ExchangeRate.objects.filter(pk=resolved_pk).first() if resolved_pk else None
    if cached is None:
        cached = ExchangeRate.objects.filter(currency=currency, effective_date=day_before, manual=False).first()
    if cached:
        return cached
    rates = _fetch_range(currency, sale_date - timedelta(days=10), day_before)
    if not rates:
        raise RateUnavailable(
            f"NBP nie opublikował kursu {currency} w dniach przed {sale_date:%d.%m.%Y}. Wpisz kurs ręcznie.",
            field="exchange_rate",
        )
    saved = None
    for item in rates:
        saved, _ = ExchangeRate.objects.update_or_create(
            currency=currency,
            effective_date=date.fromisoformat(item["effectiveDate"]),
            defaults={"mid": Decimal(str(item["mid"])), "table_no": item.get("no", ""), "manual": False},
        )
    # The last table before a past date never changes: remember which one answers this sale date.
    cache.set(lookup_key, saved.pk, RESOLVED_TTL_SECONDS)
    return saved


def is_business_day(day: date) -> bool:
    """A day NBP publishes tables: Monday to Friday, not a Polish public holiday."""
    import holidays

    return day.weekday() < 5 and day not in holidays.Poland(years=day.year)


def rate_manual(currency: str, sale_date: date, mid: Decimal, table_no: str = "", table_date: date | None = None):
    """A rate typed by the user when NBP cannot be reached (not cached for other documents). It names its NBP table
    and the table's date, a business day before the sale date (art. 31a) — never a date we invent."""
    if mid is None or mid <= 0:
        raise ApplicationError("Kurs musi być liczbą większą od zera.", field="exchange_rate")
    table_no = (table_no or "").strip()
    if not table_no:
        raise ApplicationError(
            "Podaj numer tabeli NBP wpisanego kursu, np. 231/A/NBP/2026.", field="exchange_rate_table"
        )
    if table_date is None:
        raise ApplicationError("Podaj datę tabeli NBP wpisanego kursu.", field="exchange_rate_date")
    if not is_business_day(table_date):
        raise ApplicationError(
            f"{table_date:%d.%m.%Y} nie jest dniem roboczym — NBP nie publikuje wtedy tabel.",
            field="exchange_rate_date",
        )
    if table_date >= sale_date:
        raise ApplicationError(
            f"Kurs przelicza się według tabeli z ostatniego dnia roboczego przed datą sprzedaży "
            f"({sale_date:%d.%m.%Y}) — data tabeli musi być wcześniejsza.",
            field="exchange_rate_date",
        )
    return ExchangeRate(currency=currency, effective_date=table_date, mid=mid, table_no=table_no, manual=True)
