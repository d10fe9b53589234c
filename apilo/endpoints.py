"""Where a stored API key may be sent: a service URL must be https unless it is a loopback address (a local fake
or tunnel), and changing the URL of a connection that has a key requires the key again, so a stored key never
goes to a host the person who typed it did not choose."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from .errors import ApplicationError

HTTPS_REQUIRED = (
    "Adres API musi zaczynać się od https:// — zwykłe http jest dozwolone tylko dla adresu lokalnego "
    "(localhost, 127.0.0.1, ::1)."
)
KEY_AGAIN = "Zmieniono adres API: podaj ponownie klucz API, aby zapisany klucz nie trafił pod nowy adres."


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_url(url: str | None) -> str:
    return (url or "").strip().rstrip("/")


def url_problem(url: str) -> str | None:
    """None when `url` may carry an API key; otherwise the Polish reason."""
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        return "Podaj prawidłowy adres API (https://…)."
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "Adres API nie może zawierać loginu ani hasła — klucz podaj w polu klucza."
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        return HTTPS_REQUIRED
    return None


def check_service_url(url: str | None, *, field: str = "base_url") -> str:
    """The normalised URL, or ApplicationError on `field`."""
    url = normalize_url(url)
    problem = url_problem(url)
    if problem:
        raise ApplicationError(problem, field=field)
    return url


def check_api_key_text(key: str, *, field: str = "api_key") -> str:
    """A key travels in an HTTP header: printable ASCII only (a pasted key with a stray character is refused
    here, not by the HTTP library at send time)."""
    key = (key or "").strip()
    if key and not (key.isascii() and key.isprintable()):
        raise ApplicationError(
            "Klucz API może zawierać tylko litery, cyfry i znaki ASCII — skopiuj go ponownie.", field=field
        )
    return key


def check_key_for_url_change(*, old_url: str, new_url: str, new_key: str, has_stored_key: bool, field="api_key"):
    """Refuse to keep a stored key when the URL it would be sent to changes without the key being typed again."""
    if has_stored_key and not (new_key or "").strip() and normalize_url(old_url) != normalize_url(new_url):
        raise ApplicationError(KEY_AGAIN, field=field)
