"""Providers by id. "No provider configured" is a domain error, never a None."""

from __future__ import annotations

from urllib.parse import urlparse

from .infakt.provider import InfaktProvider
from .models import Integration
from .providers import ProviderNotConfigured

PROVIDERS = {InfaktProvider.id: InfaktProvider}


def provider_class(provider_id: str):
    try:
        return PROVIDERS[provider_id]
    except KeyError:
        raise ProviderNotConfigured(f"Nieznany serwis księgowy „{provider_id}”.") from None


def provider_for(integration: Integration):
    if integration is None:
        raise ProviderNotConfigured("Seria nie ma skonfigurowanej integracji księgowej.")
    return provider_class(integration.provider)(
        base_url=integration.base_url,
        api_key=integration.api_key,
        # inFakt limits requests per client IP: one window per service host, shared by every integration and by
        # the verification that runs before an integration is first saved
        limiter_key=f"{integration.provider}:{urlparse(integration.base_url).netloc}",
    )
