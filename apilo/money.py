"""Money helpers. Decimal only; round half up to the grosz."""

from decimal import ROUND_HALF_UP, Decimal

GROSZ = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(GROSZ, rounding=ROUND_HALF_UP)


def to_grosze(value: Decimal) -> int:
    return int(round_money(value) * 100)
