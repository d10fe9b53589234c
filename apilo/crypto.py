"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with FIELD_ENCRYPTION_KEY. Values are never logged."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set: secrets cannot be stored.")
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise ImproperlyConfigured("A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY changed?") from err


class EncryptedApiKey:
    """For models with `credentials_encrypted` and `key_hint` fields: the key is stored encrypted, read back
    decrypted, and shown only as its last four characters."""

    @property
    def api_key(self) -> str:
        return decrypt(self.credentials_encrypted)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.credentials_encrypted = encrypt(value)
        self.key_hint = value[-4:]

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_hint}" if self.key_hint else ""
