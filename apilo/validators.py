"""Field validators with Polish messages, built on python-stdnum."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from stdnum import ean as stdnum_ean
from stdnum.pl import nip as stdnum_nip

# ISO 4217 codes a Polish shop meets; NBP table A publishes these.
CURRENCIES = [
    "PLN",
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "CZK",
    "SEK",
    "NOK",
    "DKK",
    "HUF",
    "RON",
    "BGN",
    "UAH",
    "CAD",
    "AUD",
    "JPY",
    "CNY",
    "TRY",
    "ISK",
    "ILS",
    "MXN",
    "BRL",
    "INR",
    "KRW",
    "ZAR",
    "SGD",
    "HKD",
    "NZD",
    "THB",
    "PHP",
    "IDR",
    "MYR",
    "CLP",
]


def normalize_nip(value: str) -> str:
    return stdnum_nip.compact(value or "").removeprefix("PL")


def validate_nip(value: str) -> None:
    if not value:
        return
    if not stdnum_nip.is_valid(normalize_nip(value)):
        raise ValidationError("Nieprawidłowy NIP: zła długość lub suma kontrolna.", code="invalid_nip")


def validate_ean(value: str) -> None:
    if not value:
        return
    if not stdnum_ean.is_valid(value):
        raise ValidationError("Nieprawidłowy kod EAN: zła długość lub cyfra kontrolna.", code="invalid_ean")


def validate_currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError(f"Nieznana waluta „{value}” (wymagany kod ISO 4217, np. PLN, EUR).", code="currency")


def validate_positive(value: Decimal) -> None:
    if value is not None and value <= 0:
        raise ValidationError("Ilość musi być większa od zera.", code="not_positive")


def validate_not_negative(value: Decimal) -> None:
    if value is not None and value < 0:
        raise ValidationError("Cena nie może być ujemna.", code="negative")


def validate_two_decimals(value: Decimal) -> None:
    if value is not None and value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValidationError("Kwota może mieć najwyżej 2 miejsca po przecinku.", code="decimals")


def normalize_account(value: str) -> str:
    """ "PL61 1090 1014 …" or 26 digits (NRB) → IBAN without spaces."""
    compact = "".join((value or "").split()).replace("-", "").upper()
    if compact.isdigit() and len(compact) == 26:
        compact = "PL" + compact
    return compact


def validate_bank_account(value: str) -> None:
    from stdnum import iban

    if not value:
        return
    if not iban.is_valid(normalize_account(value)):
        raise ValidationError(
            "Nieprawidłowy numer konta: podaj 26 cyfr NRB albo IBAN (np. PL61 1090 1014 0000 0712 1981 2874); "
            "suma kontrolna się nie zgadza.",
            code="invalid_account",
        )


def validate_swift(value: str) -> None:
    from stdnum import bic

    if value and not bic.is_valid(value):
        raise ValidationError("Nieprawidłowy kod SWIFT/BIC: 8 lub 11 znaków, np. WBKPPLPP.", code="invalid_swift")
