"""VAT arithmetic for gross-priced shops (art. 106e ust. 7–8): Decimal only, half up to the grosz.

Per line: gross = round(quantity × unit gross). Per rate: VAT = round(Σ gross × r / (100 + r)), net = gross − VAT.
The document total is the sum of the per-rate totals, always.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from num2words import num2words

from apilo.money import round_money
from orders.models import VatRate

ZERO = Decimal("0.00")
RATE_ORDER = ["23", "8", "5", "0", "zw", "np", "oo"]


def rate_percent(rate: str) -> Decimal:
    return VatRate.percent(rate)


@dataclass(frozen=True)
class LineAmounts:
    unit_price_net: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


def line_amounts(quantity: Decimal, unit_price_gross: Decimal, rate: str) -> LineAmounts:
    percent = rate_percent(rate)
    gross = round_money(quantity * unit_price_gross)
    vat = round_money(gross * percent / (100 + percent))
    unit_net = round_money(unit_price_gross * 100 / (100 + percent))
    return LineAmounts(unit_price_net=unit_net, net=gross - vat, vat=vat, gross=gross)


def vat_summary(lines: Iterable[tuple[str, Decimal]]) -> list[dict]:
    """[(rate, line gross)] → per-rate rows {rate, net, vat, gross} in the customary rate order."""
    gross_by_rate: dict[str, Decimal] = {}
    for rate, gross in lines:
        gross_by_rate[rate] = gross_by_rate.get(rate, ZERO) + gross
    rows = []
    for rate in sorted(gross_by_rate, key=RATE_ORDER.index):
        gross = gross_by_rate[rate]
        percent = rate_percent(rate)
        vat = round_money(gross * percent / (100 + percent))
        rows.append({"rate": rate, "net": gross - vat, "vat": vat, "gross": gross})
    return rows


def summary_difference(after: list[dict], before: list[dict]) -> list[dict]:
    """Per-rate differences after − before (a correction's totals); rows where nothing changed are left out."""
    index_after = {row["rate"]: row for row in after}
    index_before = {row["rate"]: row for row in before}
    rows = []
    for rate in sorted(set(index_after) | set(index_before), key=RATE_ORDER.index):
        a = index_after.get(rate, {"net": ZERO, "vat": ZERO, "gross": ZERO})
        b = index_before.get(rate, {"net": ZERO, "vat": ZERO, "gross": ZERO})
        row = {"rate": rate, **{k: a[k] - b[k] for k in ("net", "vat", "gross")}}
        if any(row[k] for k in ("net", "vat", "gross")):
            rows.append(row)
    return rows


def totals(summary: list[dict]) -> tuple[Decimal, Decimal, Decimal]:
    net = sum((row["net"] for row in summary), ZERO)
    vat = sum((row["vat"] for row in summary), ZERO)
    gross = sum((row["gross"] for row in summary), ZERO)
    return net, vat, gross


def summary_with_pln(summary: list[dict], exchange_rate: Decimal | None) -> list[dict]:
    """Adds `vat_pln` per rate for foreign-currency documents (art. 106e ust. 11)."""
    if exchange_rate is None:
        return summary
    return [{**row, "vat_pln": round_money(row["vat"] * exchange_rate)} for row in summary]


def summary_to_json(summary: list[dict]) -> list[dict]:
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in summary]


def summary_from_json(rows: list[dict]) -> list[dict]:
    return [{k: (Decimal(v) if k != "rate" else v) for k, v in row.items()} for row in rows]


def amount_in_words(amount: Decimal, currency: str) -> str:
    """E.g. "dwa tysiące pięćdziesiąt jeden złotych, trzydzieści siedem groszy"; unknown currencies: words + code."""
    try:
        return num2words(amount, lang="pl", to="currency", currency=currency)
    except NotImplementedError:
        whole = int(abs(amount))
        cents = int((abs(amount) - whole) * 100)
        sign = "minus " if amount < 0 else ""
        return f"{sign}{num2words(whole, lang='pl')} {currency} {cents:02d}/100"
