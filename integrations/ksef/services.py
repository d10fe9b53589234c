"""Writes of KSeF connections: save (token encrypted, verified by authenticating), verify."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from apilo import crypto
from apilo.errors import ApplicationError
from apilo.validators import normalize_nip, validate_nip

from ..models import KsefConnection, KsefConnectionState, KsefEnvironment
from .client import KsefError, connection_verify, is_loopback

logger = logging.getLogger(__name__)
QR_ENVIRONMENTS = {KsefEnvironment.TEST, KsefEnvironment.DEMO, KsefEnvironment.PRODUCTION}


def ksef_connection_verify(*, connection: KsefConnection) -> KsefConnection:
    """Authenticates with the stored token; records the state and the last error (Polish)."""
    try:
        connection_verify(connection)
    except KsefError as err:
        connection.state = KsefConnectionState.FAILING
        connection.last_error = err.message[:500]
        logger.warning("KSeF verification failed", extra={"ksef_connection": connection.pk, "code": err.code})
    else:
        connection.state = KsefConnectionState.OK
        connection.last_error = ""
    connection.last_checked_at = timezone.now()
    if connection.pk:
        KsefConnection.objects.filter(pk=connection.pk).update(
            state=connection.state, last_error=connection.last_error, last_checked_at=connection.last_checked_at
        )
    return connection


def _forget_cache(connection: KsefConnection) -> None:
    for name in ("access_token_encrypted", "refresh_token_encrypted", "session_state_encrypted", "session_reference"):
        setattr(connection, name, "")
    connection.access_valid_until = connection.refresh_valid_until = connection.session_valid_until = None


def _set_offline_certificate(connection: KsefConnection, certificate_pem: str, key_pem: str) -> None:
    """A KSeF certificate of type Offline and its private key (PEM): checked to belong together, stored encrypted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not certificate_pem.strip() or not key_pem.strip():
        raise ApplicationError(
            "Podaj certyfikat offline i jego klucz prywatny (oba w formacie PEM).", field="offline_certificate"
        )
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.strip().encode())
    except ValueError as err:
        raise ApplicationError(
            "Certyfikat offline nie jest poprawnym plikiem PEM.", field="offline_certificate"
        ) from err
    try:
        key = serialization.load_pem_private_key(key_pem.strip().encode(), password=None)
    except (ValueError, TypeError) as err:
        raise ApplicationError(
            "Klucz prywatny nie jest poprawnym, niezaszyfrowanym plikiem PEM.", field="offline_private_key"
        ) from err
    if not (
        (isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048)
        or (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1")
    ):
        raise ApplicationError("Klucz musi być RSA (min. 2048 bitów) lub ECDSA P-256.", field="offline_private_key")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise ApplicationError("Klucz prywatny nie pasuje do certyfikatu offline.", field="offline_private_key")
    connection.offline_certificate_encrypted = crypto.encrypt(certificate_pem.strip())
    connection.offline_key_encrypted = crypto.encrypt(key_pem.strip())
    connection.offline_certificate_serial = f"{certificate.serial_number:X}"


def ksef_connection_save(*, data: dict, connection: KsefConnection | None = None) -> KsefConnection:
    """Create or change a connection. Errors name the field; nothing is saved then. A new token, or a changed
    address (which requires the token again), is verified by authenticating before the connection is saved."""
    connection = connection or KsefConnection()
    creating = connection.pk is None
    old_url = (connection.environment, connection.base_url) if not creating else None
    if "name" in data:
        connection.name = (data["name"] or "").strip()
    if not connection.name:
        raise ApplicationError("Podaj nazwę połączenia.", field="name")
    if "nip" in data:
        nip = normalize_nip(data["nip"] or "")
        if not nip:
            raise ApplicationError("Podaj NIP sprzedawcy.", field="nip")
        try:
            validate_nip(nip)
        except ValidationError as err:
            raise ApplicationError(err.messages[0], field="nip") from err
        if not creating and nip != connection.nip and connection.series.exists():
            raise ApplicationError(
                "Połączenie jest przypisane do serii z innym NIP sprzedawcy — najpierw zmień serie.", field="nip"
            )
        if not creating and nip != connection.nip and not data.get("token"):
            raise ApplicationError("Zmiana NIP wymaga ponownego podania tokenu KSeF.", field="token")
        connection.nip = nip
    if not connection.nip:
        raise ApplicationError("Podaj NIP sprzedawcy.", field="nip")
    if "environment" in data:
        if data["environment"] not in KsefEnvironment.values:
            raise ApplicationError("Wybierz środowisko: test, demo, production lub custom.", field="environment")
        connection.environment = data["environment"]
    if "base_url" in data:
        connection.base_url = (data["base_url"] or "").strip().rstrip("/")
    if connection.environment == KsefEnvironment.CUSTOM:
        try:
            URLValidator(schemes=["https", "http"])(connection.base_url)
        except ValidationError as err:
            raise ApplicationError("Podaj prawidłowy adres API KSeF.", field="base_url") from err
        if not connection.base_url.startswith("https://") and not is_loopback(connection.base_url):
            raise ApplicationError(
                "Adres API KSeF musi zaczynać się od https:// (http tylko dla adresu lokalnego).", field="base_url"
            )
    else:
        connection.base_url = ""
    if "qr_environment" in data and data["qr_environment"]:
        if data["qr_environment"] not in QR_ENVIRONMENTS:
            raise ApplicationError("Wybierz środowisko kodów QR: test, demo lub production.", field="qr_environment")
        connection.qr_environment = data["qr_environment"]
    if connection.environment != KsefEnvironment.CUSTOM:
        connection.qr_environment = connection.environment
    if "send_automatically" in data:
        connection.send_automatically = bool(data["send_automatically"])
    if "offline24" in data:
        connection.offline24 = bool(data["offline24"])
    if data.get("offline_certificate") or data.get("offline_private_key"):
        _set_offline_certificate(
            connection, data.get("offline_certificate") or "", data.get("offline_private_key") or ""
        )
    token = (data.get("token") or "").strip()
    url_changed = old_url is not None and old_url != (connection.environment, connection.base_url)
    if url_changed and not token:
        raise ApplicationError("Zmiana adresu KSeF wymaga ponownego podania tokenu KSeF.", field="token")
    if token:
        if len(token) < 20:
            raise ApplicationError(
                "Token KSeF jest za krótki — skopiuj cały token z Aplikacji Podatnika KSeF.", field="token"
            )
        connection.token = token
        _forget_cache(connection)
    elif not connection.credentials_encrypted:
        raise ApplicationError("Podaj token KSeF.", field="token")
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as err:
        raise ApplicationError("Połączenie z KSeF dla tego NIP już istnieje.", field="nip") from err
    if token or creating:
        ksef_connection_verify(connection=connection)
    return connection
