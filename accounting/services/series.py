"""Numbering series: create, change, delete, the default set, and the comparison with an accounting service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apilo.errors import ApplicationError, Conflict
from apilo.validators import normalize_account, normalize_nip

from .. import numbering
from ..ksef_send import ksef_series_check
from ..models import DEFAULT_FORMATS, DocumentKind, DocumentSeries

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
    if series.kind == DocumentKind.RECEIPT and series.active and not series.printer_id:
        raise ApplicationError(
            "Seria paragonów musi mieć drukarkę fiskalną — bez niej paragon nie trafia do kasy. Wybierz drukarkę "
            "albo zapisz serię jako nieaktywną.",
            field="printer",
        )
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
                # A receipt series prints on a fiscal printer: it becomes active once a printer is chosen.
                "active": kind != DocumentKind.RECEIPT,
            }
        )
        for kind, name in DEFAULT_SERIES_NAMES.items()
    ]


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
