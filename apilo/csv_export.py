"""CSV for spreadsheets without formula injection: a text cell a spreadsheet would read as a formula (leading
`=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`; amounts stay numbers, negative ones included."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
# A plain amount or count ("-12.30", "1 234,50" is not one): left as it is so the spreadsheet sees a number.
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_LEADS) and not _NUMBER.match(text):
        return "'" + text
    return text


class SafeWriter:
    """`csv.writer` whose rows go through `safe_cell`."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def safe_writer(stream, **kwargs) -> SafeWriter:
    return SafeWriter(stream, **kwargs)
