"""Document numbers: formats with {nr} {dd} {mm} {rrrr} {rr}, periods, and the gapless locked counter."""

from __future__ import annotations

import re
from datetime import date

from .models import DocumentSeries, NumberCounter, NumberReset

TOKENS = ("{nr}", "{dd}", "{mm}", "{rrrr}", "{rr}")
_TOKEN_RE = re.compile(r"\{[^}]*\}")


def format_problems(number_format: str, reset: str) -> list[str]:
    """Why a format cannot be used (Polish), or [] when it is fine."""
    problems = []
    unknown = [t for t in _TOKEN_RE.findall(number_format) if t not in TOKENS]
    if unknown:
        problems.append(f"Nieznany znacznik {unknown[0]}; dozwolone: {' '.join(TOKENS)}.")
    if number_format.count("{nr}") != 1:
        problems.append("Format musi zawierać dokładnie jeden znacznik {nr} (kolejny numer).")
    has_year = "{rrrr}" in number_format or "{rr}" in number_format
    if reset == NumberReset.MONTHLY and not ("{mm}" in number_format and has_year):
        problems.append(
            "Przy numeracji zerowanej co miesiąc format musi zawierać {mm} oraz {rrrr} lub {rr}, "
            "inaczej numery powtórzą się w kolejnych miesiącach."
        )
    if reset == NumberReset.YEARLY and not has_year:
        problems.append(
            "Przy numeracji zerowanej co rok format musi zawierać {rrrr} lub {rr}, "
            "inaczej numery powtórzą się w kolejnych latach."
        )
    return problems


def period_of(reset: str, day: date) -> str:
    if reset == NumberReset.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if reset == NumberReset.YEARLY:
        return f"{day.year:04d}"
    return ""


def render_number(number_format: str, sequence: int, day: date) -> str:
    return (
        number_format.replace("{nr}", str(sequence))
        .replace("{dd}", f"{day.day:02d}")
        .replace("{mm}", f"{day.month:02d}")
        .replace("{rrrr}", f"{day.year:04d}")
        .replace("{rr}", f"{day.year % 100:02d}")
    )


def next_number_preview(series: DocumentSeries, day: date) -> str:
    """The number the next document would get (no lock, nothing reserved): for the form's preview."""
    period = period_of(series.reset, day)
    last = NumberCounter.objects.filter(series=series, period=period).values_list("last", flat=True).first() or 0
    return render_number(series.number_format, max(last + 1, series.start_number), day)


def number_allocate(*, series: DocumentSeries, day: date) -> tuple[str, str, int]:
    """Reserve the next number of `series` for a document dated `day`. Must run inside the transaction that
    creates the document: the counter row stays locked until it commits, and a rollback returns the number.
    Returns (number, period, sequence)."""
    period = period_of(series.reset, day)
    NumberCounter.objects.bulk_create([NumberCounter(series=series, period=period)], ignore_conflicts=True)
    counter = NumberCounter.objects.select_for_update().get(series=series, period=period)
    sequence = max(counter.last + 1, series.start_number)
    counter.last = sequence
    counter.save(update_fields=["last"])
    return render_number(series.number_format, sequence, day), period, sequence
