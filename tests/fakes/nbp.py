"""A stateful fake of the NBP Web API (table A rates) for `responses`.

Follows the documented behaviour: `/exchangerates/rates/a/{code}/{start}/{end}/` returns the published tables in the
range, 404 "Brak danych" when none (weekends, holidays), 400 for malformed dates. Faults can be injected:
`fail_with = 503` answers every request with that status; `unreachable = True` raises a connection error.
"""

import json
import re
from datetime import date
from decimal import Decimal

import requests
import responses

BASE = "https://api.nbp.pl/api/"
PATTERN = re.compile(r"/exchangerates/rates/a/(?P<code>[a-z]{3})/(?P<start>[^/]+)/(?P<end>[^/]+)/?$")


class FakeNbp:
    def __init__(self, mock: responses.RequestsMock):
        self.rates: dict[tuple[str, date], tuple[Decimal, str]] = {}
        self.requests: list[str] = []
        self.fail_with: int | None = None
        self.unreachable = False
        mock.add_callback(
            responses.GET, re.compile(re.escape(BASE) + r"exchangerates/rates/a/.*"), callback=self._answer
        )

    def publish(self, code: str, day: date, mid: str, number: str | None = None):
        self.rates[(code.upper(), day)] = (Decimal(mid), number or f"{len(self.rates) + 1:03d}/A/NBP/{day.year}")

    def _answer(self, request):
        self.requests.append(request.url)
        if self.unreachable:
            raise requests.ConnectionError("NBP unreachable (fake)")
        if self.fail_with:
            return self.fail_with, {}, "Service Unavailable"
        match = PATTERN.search(request.path_url.split("?")[0])
        if not match:
            return 400, {}, "400 BadRequest - Błędny zakres dat / Invalid date range"
        try:
            start, end = date.fromisoformat(match["start"]), date.fromisoformat(match["end"])
        except ValueError:
            return 400, {}, "400 BadRequest - Błędny zakres dat / Invalid date range"
        code = match["code"].upper()
        found = sorted((d, r) for (c, d), r in self.rates.items() if c == code and start <= d <= end)
        if not found:
            return 404, {}, "404 NotFound - Not Found - Brak danych"
        body = {
            "table": "A",
            "currency": code.lower(),
            "code": code,
            "rates": [{"no": no, "effectiveDate": d.isoformat(), "mid": float(mid)} for d, (mid, no) in found],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)
