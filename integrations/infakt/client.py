"""inFakt REST API v3 client: timeouts on every call, no redirects for writes, typed errors, no key in logs."""

from __future__ import annotations

import logging
import time

import redis
import requests
from django.conf import settings

from integrations import ratelimit
from integrations.providers import ProviderAuthError, ProviderNotFound, ProviderRejected, ProviderUnavailable

logger = logging.getLogger(__name__)

AUTH_MESSAGES = {
    401: "inFakt odrzucił klucz API (401): klucz jest nieprawidłowy, wygasł albo nie ma wymaganych uprawnień "
    "(api:invoices:read, api:invoices:write).",
    402: "inFakt: przekroczony limit dokumentów w abonamencie albo abonament bez dostępu do API (402).",
    403: "inFakt: operacja niedozwolona w abonamencie albo adres IP zablokowany (403).",
}


class InfaktClient:
    def __init__(self, *, base_url: str, api_key: str, limiter_key: str = "infakt", timeout: float | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.limiter_key = limiter_key
        self.timeout = timeout or getattr(settings, "INFAKT_TIMEOUT_SECONDS", 15.0)
        self.session = requests.Session()
        self.session.headers.update({"X-inFakt-ApiKey": api_key, "Accept": "application/json"})

    def _limit(self, write: bool) -> None:
        # A window a little longer than inFakt's 60 s keeps us under its limit despite clock and network skew.
        window = settings.INFAKT_RATE_WINDOW_SECONDS
        if write:
            ratelimit.acquire(
                f"{self.limiter_key}:write", limit=settings.INFAKT_WRITE_LIMIT_PER_MINUTE, window=window, max_wait=3600
            )
        else:
            ratelimit.acquire(
                f"{self.limiter_key}:read", limit=settings.INFAKT_READ_LIMIT_PER_MINUTE, window=window, max_wait=3600
            )

    def request(self, method: str, path: str, *, json=None, params=None, raw: bool = False):
        write = method != "GET"
        try:
            self._limit(write)
        except TimeoutError as err:  # nothing was sent: not in doubt
            raise ProviderUnavailable("Limit zapytań do inFakt — brak wolnego terminu, ponowimy.") from err
        except redis.RedisError as err:
            logger.warning("rate limiter unavailable", extra={"path": path})
            raise ProviderUnavailable("Ogranicznik zapytań (Redis) jest niedostępny — ponowimy.") from err
        url = f"{self.base_url}{path}"
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, json=json, params=params, timeout=self.timeout, allow_redirects=not write
            )
        except requests.ConnectTimeout as err:
            logger.warning("infakt connect timeout", extra={"path": path})
            raise ProviderUnavailable("inFakt nie odpowiada (przekroczony czas połączenia).") from err
        except requests.Timeout as err:
            logger.warning("infakt timeout", extra={"path": path, "write": write})
            raise ProviderUnavailable("inFakt nie odpowiedział na czas.", in_doubt=write) from err
        except requests.ConnectionError as err:
            logger.warning("infakt connection error", extra={"path": path, "write": write})
            raise ProviderUnavailable("Brak połączenia z inFakt.", in_doubt=write) from err
        logger.info(
            "infakt %s %s -> %s",
            method,
            path,
            response.status_code,
            extra={"elapsed_ms": round((time.monotonic() - started) * 1000)},
        )
        status = response.status_code
        if status in AUTH_MESSAGES:
            raise ProviderAuthError(AUTH_MESSAGES[status])
        if status in (429, 503):
            retry_after = response.headers.get("Retry-After")
            raise ProviderUnavailable(
                "inFakt ogranicza liczbę zapytań — ponowimy za chwilę.",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if status >= 500:
            raise ProviderUnavailable(f"Błąd serwera inFakt ({status}).", in_doubt=write)
        if status == 422:
            body = _json(response)
            errors = (
                body.get("errors")
                or body.get("invoice_errors")
                or ({"base": [body["error"]]} if "error" in body else {})
            )
            raise ProviderRejected(_errors_text(errors) or "inFakt odrzucił dane dokumentu (422).", errors=errors)
        if status == 404:
            raise ProviderNotFound(
                "inFakt: nie znaleziono zasobu (404).",
                errors={"base": [_json(response).get("error", "Nie znaleziono.")]},
            )
        if status >= 400:
            raise ProviderRejected(f"inFakt odrzucił żądanie ({status}).", errors=_json(response).get("errors") or {})
        return response.content if raw else _json(response)

    def get(self, path, **params):
        return self.request("GET", path, params=params or None)

    def post(self, path, body):
        return self.request("POST", path, json=body)


def _json(response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {}


def _errors_text(errors: dict) -> str:
    parts = []
    for field, messages in (errors or {}).items():
        if isinstance(messages, str):
            messages = [messages]
        parts.append(f"{field}: {'; '.join(str(m) for m in messages)}")
    return "inFakt odrzucił dokument — " + " | ".join(parts) if parts else ""
