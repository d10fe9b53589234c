"""KSeF 2.0 on `ksef-client`: one `KsefGateway` per connection and call site.

- Access tokens are cached on the connection (encrypted) and refreshed with the refresh token; a full token
  authentication (challenge → encrypted token → status → redeem) happens only when both are gone.
- The online session is cached the same way (its AES key is in the state, so it is encrypted too) and reused
  by every worker until it expires or is closed as idle.
- Errors become three plain types the orchestrator understands: `KsefRetry` (429 with Retry-After, 5xx, network,
  timeouts: try again later; `uncertain` when a write may have happened), `KsefSessionGone` (the session cannot
  take invoices any more: open another), `KsefRejected` (KSeF said no: stop, show the Polish reasons).
This module knows nothing of documents: it takes bytes and answers plain data.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from ksef_client import KsefClient, KsefClientOptions
from ksef_client.config import KsefQrEnvironment
from ksef_client.exceptions import KsefApiError, KsefHttpError, KsefRateLimitError
from ksef_client.models import FormCode
from ksef_client.services.sessions import OnlineSessionState
from ksef_client.services.verification_link import VerificationLinkService
from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow

from apilo import crypto

from ..models import KsefConnection, KsefEnvironment

logger = logging.getLogger(__name__)

API_URLS = {
    KsefEnvironment.TEST: "https://api-test.ksef.mf.gov.pl",
    KsefEnvironment.DEMO: "https://api-demo.ksef.mf.gov.pl",
    KsefEnvironment.PRODUCTION: "https://api.ksef.mf.gov.pl",
}
QR_URLS = {
    KsefEnvironment.TEST: KsefQrEnvironment.TEST.value,
    KsefEnvironment.DEMO: KsefQrEnvironment.DEMO.value,
    KsefEnvironment.PRODUCTION: KsefQrEnvironment.PROD.value,
}
FA3 = FormCode(system_code="FA (3)", schema_version="1-0E", value="FA")
SESSION_CODES = {21173, 21180, 21155}
ERROR_TEXTS = {
    21111: "Nieprawidłowe wyzwanie uwierzytelniania.",
    21155: "Przekroczono liczbę faktur w sesji.",
    21166: "Ta faktura została już skorygowana technicznie.",
    21167: "Faktura pierwotna została przyjęta — korekta techniczna niemożliwa.",
    21173: "Sesja KSeF nie istnieje.",
    21180: "Sesja KSeF jest zamknięta lub wygasła.",
    21301: "Token KSeF został unieważniony lub tokeny już pobrano.",
    21304: "Nie znaleziono operacji uwierzytelniania.",
    21402: "Rozmiar zaszyfrowanej faktury nie zgadza się z treścią.",
    21403: "Skrót zaszyfrowanej faktury nie zgadza się z treścią.",
    21405: "Nieprawidłowe dane żądania.",
    21470: "Nieznany klucz publiczny KSeF (zmiana certyfikatów).",
}
INVOICE_STATUS_TEXTS = {
    405: "Błąd sesji KSeF.",
    410: "Brak uprawnień do wystawiania faktur w imieniu tego sprzedawcy.",
    415: "Załączniki nie są dozwolone.",
    430: "Błąd weryfikacji pliku faktury (rozmiar lub skrót).",
    435: "Nie udało się odszyfrować faktury.",
    440: "Duplikat faktury: faktura o tym numerze już jest w KSeF.",
    450: "Faktura nie przeszła weryfikacji KSeF (schemat FA(3) lub treść).",
}
AUTH_STATUS_TEXTS = {
    415: "Brak uprawnień w KSeF dla tego NIP.",
    425: "Uwierzytelnienie unieważnione.",
    450: "KSeF odrzucił token: błędny, unieważniony lub nie dla tego NIP.",
    460: "Błąd certyfikatu.",
    480: "Uwierzytelnianie zablokowane.",
}


class KsefError(Exception):
    def __init__(self, message: str, *, code: int | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or []


class KsefRetry(KsefError):
    """Try again later (after `retry_after` seconds when KSeF said so). `uncertain`: a write may have happened."""

    def __init__(self, message: str, *, retry_after: float | None = None, uncertain: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.uncertain = uncertain


class KsefSessionGone(KsefError):
    """The online session takes no more invoices (closed, expired, unknown, full)."""


class KsefRejected(KsefError):
    """KSeF refused: the request or the credentials are wrong. Not retried."""


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url(connection: KsefConnection) -> str:
    if connection.environment == KsefEnvironment.CUSTOM:
        return connection.base_url.rstrip("/")
    return API_URLS[connection.environment]


def qr_url(connection: KsefConnection) -> str:
    environment = connection.qr_environment if connection.environment == KsefEnvironment.CUSTOM else None
    return QR_URLS[environment or connection.environment]


def verification_url(connection: KsefConnection, *, issue_date: dt.date, sha256_b64: str) -> str:
    """KOD I: `{qr host}/invoice/{NIP}/{DD-MM-YYYY}/{base64url(sha256) without padding}` (ksef-client builds it)."""
    options = KsefClientOptions(base_url=api_url(connection), base_qr_url=qr_url(connection))
    return VerificationLinkService(options).build_invoice_verification_url(connection.nip, issue_date, sha256_b64)


def certificate_url(connection: KsefConnection, *, sha256_b64: str) -> str:
    """KOD II: the certificate link signed with the connection's offline certificate key (ksef-client signs it)."""
    options = KsefClientOptions(base_url=api_url(connection), base_qr_url=qr_url(connection))
    return VerificationLinkService(options).build_certificate_verification_url(
        seller_nip=connection.nip,
        context_identifier_type="Nip",
        context_identifier_value=connection.nip,
        certificate_serial=connection.offline_certificate_serial,
        invoice_hash=sha256_b64,
        private_key_pem=crypto.decrypt(connection.offline_key_encrypted),
    )


def _error_code(err: KsefApiError) -> tuple[int | None, str, list[str]]:
    response = err.exception_response
    if response and response.exception and response.exception.exception_detail_list:
        detail = response.exception.exception_detail_list[0]
        return detail.exception_code, detail.exception_description or "", list(detail.details or [])
    return None, "", []


def translate(err: Exception, *, write: bool = False) -> KsefError:
    """A ksef-client exception → KsefRetry / KsefSessionGone / KsefRejected with a Polish message."""
    if isinstance(err, KsefRateLimitError):
        return KsefRetry("KSeF ogranicza liczbę zapytań (429).", retry_after=err.retry_after, code=429)
    if isinstance(err, KsefHttpError):
        status = err.status_code
        if status == 0 or status >= 500 or status == 408:
            text = (
                "Brak odpowiedzi z KSeF (przekroczony czas lub zerwane połączenie)."
                if status == 0
                else (f"KSeF chwilowo niedostępny (HTTP {status}).")
            )
            return KsefRetry(text, retry_after=err.retry_after, uncertain=write, code=status)
        if status == 401:
            return KsefSessionGone("Token dostępowy KSeF wygasł.", code=401)
        if isinstance(err, KsefApiError):
            code, description, details = _error_code(err)
            if code in SESSION_CODES:
                return KsefSessionGone(ERROR_TEXTS.get(code, description), code=code)
            if code == 21470:
                return KsefRetry(ERROR_TEXTS[21470], retry_after=0, code=code)
            text = ERROR_TEXTS.get(code) or description or f"KSeF odrzucił żądanie (HTTP {status})."
            return KsefRejected(text, code=code or status, details=details)
        return KsefRejected(f"KSeF odrzucił żądanie (HTTP {status}).", code=status)
    if isinstance(err, TimeoutError):
        return KsefRetry("Uwierzytelnianie w KSeF trwa zbyt długo.")
    return KsefRetry(f"Nieoczekiwany błąd komunikacji z KSeF: {type(err).__name__}.", uncertain=write)


@dataclass
class InvoiceStatus:
    code: int
    description: str
    reference: str = ""
    ksef_number: str = ""
    acquired_at: dt.datetime | None = None
    invoice_hash: str = ""
    invoicing_mode: str = ""
    details: list[str] = field(default_factory=list)
    extensions: dict = field(default_factory=dict)

    @property
    def processing(self) -> bool:
        return self.code in (100, 150)

    @property
    def message(self) -> str:
        return INVOICE_STATUS_TEXTS.get(self.code, self.description)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _status(model) -> InvoiceStatus:
    status = model.status
    mode = model.invoicing_mode
    return InvoiceStatus(
        code=status.code,
        description=status.description or "",
        reference=model.reference_number,
        ksef_number=model.ksef_number or "",
        acquired_at=_parse_time(model.acquisition_date),
        invoice_hash=model.invoice_hash or "",
        invoicing_mode=getattr(mode, "value", mode) or "",
        details=list(status.details or []),
        extensions=dict(status.extensions or {}),
    )


_certificates: dict[str, tuple[float, dict]] = {}
_certificates_lock = threading.Lock()
_clients = threading.local()  # one KsefClient (HTTP connection pool, TLS context) per thread and address


def _client(base_url: str, qr: str, timeout: float) -> KsefClient:
    cache = getattr(_clients, "cache", None)
    if cache is None:
        cache = _clients.cache = {}
    key = (base_url, qr, timeout)
    if key not in cache:
        cache[key] = KsefClient(KsefClientOptions(base_url=base_url, base_qr_url=qr, timeout_seconds=timeout))
    return cache[key]


class KsefGateway:
    """Calls for one connection. Use as a context manager."""

    def __init__(self, connection: KsefConnection, *, timeout: float | None = None):
        self.connection = connection
        self.base_url = api_url(connection)
        self.client = _client(self.base_url, qr_url(connection), timeout or settings.KSEF_TIMEOUT_SECONDS)
        self.requests = 0

    def __enter__(self) -> KsefGateway:
        return self

    def __exit__(self, *exc) -> None:
        pass  # the client (and its connection pool) is kept for the next call in this thread

    # --- public keys ---------------------------------------------------------------------------------------------
    def certificate(self, usage: str, *, refresh: bool = False) -> tuple[str, str]:
        with _certificates_lock:
            cached = _certificates.get(self.base_url)
        if refresh or cached is None or cached[0] < time.monotonic():
            try:
                self.requests += 1
                items = {
                    u: self.client.security.get_public_key_certificate(u)
                    for u in ("KsefTokenEncryption", "SymmetricKeyEncryption")
                }
            except Exception as err:  # noqa: BLE001 - translated
                raise translate(err) from err
            cached = (time.monotonic() + 3600, {u: (c.certificate, c.public_key_id) for u, c in items.items()})
            with _certificates_lock:
                _certificates[self.base_url] = cached
        return cached[1][usage]

    # --- authentication ------------------------------------------------------------------------------------------
    def authenticate(self) -> tuple[str, dt.datetime, str, dt.datetime]:
        """Full token authentication → (access token, valid until, refresh token, valid until)."""
        certificate, key_id = self.certificate("KsefTokenEncryption")
        try:
            self.requests += 4
            result = AuthCoordinator(self.client.auth).authenticate_with_ksef_token(
                token=self.connection.token,
                public_certificate=certificate,
                public_key_id=key_id,
                context_identifier_type="nip",
                context_identifier_value=self.connection.nip,
                poll_interval_seconds=settings.KSEF_POLL_SECONDS,
                max_attempts=30,
            )
        except RuntimeError as err:  # a final auth status other than 200
            text = str(err)
            code = next((c for c in AUTH_STATUS_TEXTS if f" {c} " in f" {text} "), None)
            raise KsefRejected(
                AUTH_STATUS_TEXTS.get(code, "Uwierzytelnienie w KSeF nie powiodło się."), code=code
            ) from err
        except Exception as err:  # noqa: BLE001 - translated
            translated = translate(err)
            if isinstance(translated, KsefRetry) and translated.code == 21470:
                self.certificate("KsefTokenEncryption", refresh=True)
            raise translated from err
        tokens = result.tokens
        return (
            tokens.access_token.token,
            _parse_time(tokens.access_token.valid_until) or timezone.now() + dt.timedelta(minutes=10),
            tokens.refresh_token.token,
            _parse_time(tokens.refresh_token.valid_until) or timezone.now() + dt.timedelta(days=1),
        )

    def access_token(self, *, force: bool = False) -> str:
        """A valid access token: the cached one, a refreshed one, or a fresh authentication; cached encrypted."""
        connection = KsefConnection.objects.get(pk=self.connection.pk) if self.connection.pk else self.connection
        now = timezone.now()
        margin = dt.timedelta(seconds=30)
        if not force and connection.access_token_encrypted and connection.access_valid_until > now + margin:
            return crypto.decrypt(connection.access_token_encrypted)
        if connection.refresh_token_encrypted and connection.refresh_valid_until > now + margin:
            try:
                self.requests += 1
                answer = self.client.auth.refresh_access_token(crypto.decrypt(connection.refresh_token_encrypted))
            except KsefHttpError as err:
                if err.status_code not in (400, 401, 403):
                    raise translate(err) from err
            else:
                access = answer.access_token
                valid = _parse_time(access.valid_until) or now + dt.timedelta(minutes=10)
                self._store(access_token_encrypted=crypto.encrypt(access.token), access_valid_until=valid)
                return access.token
        access, access_until, refresh, refresh_until = self.authenticate()
        self._store(
            access_token_encrypted=crypto.encrypt(access),
            access_valid_until=access_until,
            refresh_token_encrypted=crypto.encrypt(refresh),
            refresh_valid_until=refresh_until,
        )
        return access

    def _store(self, **fields) -> None:
        for name, value in fields.items():
            setattr(self.connection, name, value)
        if self.connection.pk:
            KsefConnection.objects.filter(pk=self.connection.pk).update(**fields)

    def forget_tokens(self) -> None:
        self._store(access_token_encrypted="", access_valid_until=None)

    # --- sessions ------------------------------------------------------------------------------------------------
    def session(self, access_token: str) -> OnlineSessionState:
        """The connection's open online session, or a new one (one at a time per connection, under a row lock)."""
        now = timezone.now()
        with transaction.atomic():
            connection = KsefConnection.objects.select_for_update().get(pk=self.connection.pk)
            if (
                connection.session_state_encrypted
                and connection.session_valid_until
                and connection.session_valid_until > now + dt.timedelta(minutes=5)
            ):
                KsefConnection.objects.filter(pk=connection.pk).update(session_last_used_at=now)
                return OnlineSessionState.from_json(crypto.decrypt(connection.session_state_encrypted))
            certificate, key_id = self.certificate("SymmetricKeyEncryption")
            try:
                self.requests += 1
                handle = OnlineSessionWorkflow(self.client.sessions).open_session(
                    form_code=FA3, public_certificate=certificate, public_key_id=key_id, access_token=access_token
                )
            except Exception as err:  # noqa: BLE001 - translated
                raise translate(err) from err
            state = handle.get_state()
            valid = _parse_time(handle.valid_until) or now + dt.timedelta(hours=12)
            KsefConnection.objects.filter(pk=connection.pk).update(
                session_reference=state.reference_number,
                session_state_encrypted=crypto.encrypt(state.to_json()),
                session_valid_until=valid,
                session_last_used_at=now,
                sessions_opened=connection.sessions_opened + 1,
            )
            return state

    def drop_session(self, reference: str) -> None:
        """Forget the cached session (it is closed, expired or full); the next send opens another."""
        KsefConnection.objects.filter(pk=self.connection.pk, session_reference=reference).update(
            session_reference="", session_state_encrypted="", session_valid_until=None
        )

    def close_session(self, reference: str, access_token: str) -> None:
        self.drop_session(reference)
        try:
            self.requests += 1
            self.client.sessions.close_online_session(reference, access_token)
        except Exception as err:  # noqa: BLE001 - translated
            translated = translate(err)
            if not isinstance(translated, KsefSessionGone):
                raise translated from err

    # --- invoices ------------------------------------------------------------------------------------------------
    def send(self, state: OnlineSessionState, xml: bytes, access_token: str, *, offline: bool = False) -> str:
        """Sends the exact bytes; returns the invoice reference number."""
        handle = OnlineSessionWorkflow(self.client.sessions).resume_session(state, access_token=access_token)
        try:
            self.requests += 1
            return handle.send_invoice(xml, offline_mode=offline or None).reference_number
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err, write=True) from err

    def status(self, session_reference: str, invoice_reference: str, access_token: str) -> InvoiceStatus:
        try:
            self.requests += 1
            model = self.client.sessions.get_session_invoice_status(
                session_reference, invoice_reference, access_token=access_token
            )
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err) from err
        return _status(model)

    def find_by_hash(self, session_reference: str, invoice_hash: str, access_token: str) -> InvoiceStatus | None:
        """After a lost answer: the session's invoice with this SHA-256 (Base64), if KSeF received it."""
        token = None
        while True:
            try:
                self.requests += 1
                page = self.client.sessions.get_session_invoices(
                    session_reference, page_size=1000, continuation_token=token, access_token=access_token
                )
            except Exception as err:  # noqa: BLE001 - translated
                raise translate(err) from err
            for model in page.invoices:
                if model.invoice_hash == invoice_hash:
                    return _status(model)
            token = page.continuation_token
            if not token:
                return None

    def upo(self, session_reference: str, access_token: str, *, invoice_reference: str = "", ksef_number: str = ""):
        try:
            self.requests += 1
            if invoice_reference:
                return self.client.sessions.get_session_invoice_upo_by_ref(
                    session_reference, invoice_reference, access_token=access_token
                )
            return self.client.sessions.get_session_invoice_upo_by_ksef(
                session_reference, ksef_number, access_token=access_token
            )
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err) from err


def connection_verify(connection: KsefConnection) -> None:
    """Authenticates with the connection's token (a fresh authentication, not a cached token). Raises KsefError."""
    with KsefGateway(connection) as gateway:
        access, access_until, refresh, refresh_until = gateway.authenticate()
        gateway._store(
            access_token_encrypted=crypto.encrypt(access),
            access_valid_until=access_until,
            refresh_token_encrypted=crypto.encrypt(refresh),
            refresh_valid_until=refresh_until,
        )
