"""Writes of integrations: save (the key encrypted, verified against the service), verify."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.utils import timezone

from apilo.endpoints import check_api_key_text, check_key_for_url_change, check_service_url
from apilo.errors import ApplicationError

from .models import ConnectionState, Integration
from .providers import ProviderError
from .registry import provider_class, provider_for

logger = logging.getLogger(__name__)


def integration_verify(*, integration: Integration) -> Integration:
    """Ask the service who we are; store the account's company and bank data and the connection state."""
    try:
        account = provider_for(integration).verify()
    except ProviderError as err:
        integration.state = ConnectionState.FAILING
        integration.last_error = err.message[:500]
        logger.warning("integration verification failed", extra={"integration": integration.pk})
    else:
        integration.state = ConnectionState.OK
        integration.last_error = ""
        integration.account_data = asdict(account)
    integration.last_checked_at = timezone.now()
    if integration.pk:
        integration.save(update_fields=["state", "last_error", "account_data", "last_checked_at"])
    return integration


def integration_save(*, data: dict, integration: Integration | None = None) -> Integration:
    """Create or change an integration. A new key is encrypted and verified on save; the key is never returned."""
    integration = integration or Integration()
    provider_id = data.get("provider", integration.provider)
    provider_class(provider_id)
    integration.provider = provider_id
    if "name" in data:
        integration.name = (data["name"] or "").strip()
    if not integration.name:
        raise ApplicationError("Podaj nazwę integracji.", field="name")
    api_key = check_api_key_text(data.get("api_key") or "")
    if "base_url" in data:
        new_url = check_service_url(data["base_url"], field="base_url")
        check_key_for_url_change(
            old_url=integration.base_url,
            new_url=new_url,
            new_key=api_key,
            has_stored_key=bool(integration.pk and integration.credentials_encrypted),
        )
        integration.base_url = new_url
    else:
        check_service_url(integration.base_url, field="base_url")
    if api_key:
        if len(api_key) < 8:
            raise ApplicationError("Klucz API jest za krótki — skopiuj cały klucz z inFakt.", field="api_key")
        integration.api_key = api_key
    elif not integration.credentials_encrypted:
        raise ApplicationError("Podaj klucz API.", field="api_key")
    integration_verify(integration=integration)
    integration.save()
    return integration
