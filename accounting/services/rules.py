"""The legal rules an issued document follows: date of sale, payment date, VAT treatment by transaction,
split payment. Small pure functions, shared by issuing, corrections, the PDF and the FA(3) export."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from stdnum.eu import vat as eu_vat

from apilo.money import round_money
from orders.models import Order, OrderEvent, OrderEventKind, PaymentStatus, normalize_vat_id

from .errors import Unprocessable

SPLIT_PAYMENT_THRESHOLD = Decimal("15000.00")
MAX_SALE_DATE_AFTER_ISSUE_DAYS = 60  # art. 106i ust. 7: an invoice no earlier than 60 days before the sale
EU_COUNTRIES = {code.upper() for code in eu_vat.MEMBER_STATES} - {"XI"}
PAID = (PaymentStatus.PAID, PaymentStatus.OVERPAID)

# --- date of sale (art. 19a, 106e ust. 1 pkt 6) ---------------------------------------------------------------


def order_shipped_on(order: Order) -> date | None:
    """The day the order first entered a status marked "oznacza wysyłkę"."""
    event = (
        OrderEvent.objects.filter(order=order, kind=OrderEventKind.STATUS_CHANGED, to_status__marks_shipment=True)
        .order_by("created_at", "id")
        .first()
    )
    return timezone.localtime(event.created_at).date() if event else None


def order_paid_on(order: Order) -> date | None:
    """The day the order was paid: the first change of its payment status to paid (for a partly paid order: to
    partly paid); an order that came in already paid was paid when it was placed. None when nothing is paid."""
    if order.amount_paid <= 0 and order.payment_status not in PAID:
        return None
    targets = PAID if order.payment_status in PAID else (PaymentStatus.PARTIAL, *PAID)
    for event in OrderEvent.objects.filter(order=order, kind=OrderEventKind.PAYMENT_STATUS_CHANGED).order_by(
        "created_at", "id"
    ):
        if (event.payload or {}).get("to") in targets:
            return timezone.localtime(event.created_at).date()
    return timezone.localtime(order.ordered_at).date()


def default_sale_date(order: Order, issue_date: date) -> date:
    """Shipment (the first status marked "oznacza wysyłkę"), else the payment of a prepaid order, else the issue
    date. Cash on delivery is not prepaid: its sale is the shipment."""
    shipped = order_shipped_on(order)
    if shipped:
        return shipped
    if order.payment_method != "cod" and order.payment_status in PAID:
        paid = order_paid_on(order)
        if paid:
            return paid
    return issue_date


def sale_date_warnings(sale_date: date, issue_date: date) -> list[str]:
    """Refuses a sale date more than 60 days after the issue date; returns the late-issue warning (art. 106i ust. 1:
    by the 15th of the month following the sale)."""
    if sale_date > issue_date + timedelta(days=MAX_SALE_DATE_AFTER_ISSUE_DAYS):
        raise Unprocessable(
            f"Data sprzedaży {sale_date:%d.%m.%Y} jest o więcej niż {MAX_SALE_DATE_AFTER_ISSUE_DAYS} dni późniejsza "
            f"od daty wystawienia — fakturę można wystawić najwcześniej 60 dni przed sprzedażą (art. 106i ust. 7).",
            field="sale_date",
        )
    return late_issue_warnings(sale_date, issue_date)


def late_issue_warnings(sale_date: date, issue_date: date) -> list[str]:
    deadline = late_issue_deadline(sale_date)
    if issue_date > deadline:
        return [
            f"Faktura wystawiona po terminie: dla sprzedaży z {sale_date:%d.%m.%Y} termin upłynął "
            f"{deadline:%d.%m.%Y} (art. 106i ust. 1)."
        ]
    return []


def late_issue_deadline(sale_date: date) -> date:
    """The 15th of the month following the month of the sale."""
    year, month = (sale_date.year + 1, 1) if sale_date.month == 12 else (sale_date.year, sale_date.month + 1)
    return date(year, month, 15)


# --- VAT treatment by transaction ---------------------------------------------------------------------------

DOMESTIC, EU_BUSINESS, OUTSIDE_EU = "domestic", "eu_business", "outside_eu"


def buyer_vat_id(buyer: dict) -> str:
    """The buyer's EU VAT number, if valid and from another EU country than Poland."""
    vat_id = normalize_vat_id(buyer.get("vat_id", ""))
    if not vat_id or vat_id.startswith("PL") or not eu_vat.is_valid(vat_id):
        return ""
    return vat_id


def transaction_kind(buyer: dict) -> str:
    """domestic, eu_business (a buyer in another EU country with a valid EU VAT number) or outside_eu."""
    country = (buyer.get("country") or "PL").upper()
    if country == "PL":
        return DOMESTIC
    if country not in EU_COUNTRIES:
        return OUTSIDE_EU
    return EU_BUSINESS if buyer_vat_id(buyer) else DOMESTIC


def rate_code(rate: str, kind: str) -> str:
    """Our rate → the FA(3) P_12 code: 0 → 0 WDT / 0 EX / 0 KR, np → np II / np I, oo → oo."""
    if rate == "0":
        return {EU_BUSINESS: "0 WDT", OUTSIDE_EU: "0 EX"}.get(kind, "0 KR")
    if rate == "np":
        return "np II" if kind == EU_BUSINESS else "np I"
    return rate


RATE_LABELS = {
    "0 WDT": "0% WDT",
    "0 EX": "0% eksport",
    "0 KR": "0%",
    "np I": "np.",
    "np II": "np. (odwrotne obciążenie)",
    "oo": "oo (odwrotne obciążenie)",
}


def reverse_charge(rates, kind: str) -> bool:
    """The buyer accounts for the VAT: domestic reverse charge (oo) or services to an EU business (np II)."""
    return any(rate == "oo" or (rate == "np" and kind == EU_BUSINESS) for rate in rates)


def split_payment_applies(*, buyer_is_company: bool, kind: str, lines, total_gross, exchange_rate) -> bool:
    """Mechanizm podzielonej płatności: a company buyer, an annex-15 item, over 15 000 PLN gross (the PLN gross
    rounded to the grosz), and never a 0 % / np foreign sale."""
    if not buyer_is_company or not any(line.annex15 for line in lines):
        return False
    if kind != DOMESTIC and all(line.vat_rate in ("0", "np") for line in lines if line.annex15):
        return False
    total_pln = round_money(total_gross * (exchange_rate or 1))
    return total_pln > SPLIT_PAYMENT_THRESHOLD


def missing_address(buyer: dict) -> list[tuple[str, str]]:
    """A VAT invoice names the buyer's address (art. 106e ust. 1 pkt 3): what is missing, (key, Polish label)."""
    labels = {"street": "ulica", "post_code": "kod pocztowy", "city": "miejscowość"}
    return [(key, label) for key, label in labels.items() if not (buyer.get(key) or "").strip()]
