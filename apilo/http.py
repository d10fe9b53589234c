"""Small HTTP helpers shared by the apps' views."""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_redirect(request, target: str | None, fallback: str, *args, **kwargs):
    """Redirect to a user-supplied `target` (a `next` field, …) only when it stays on this site; otherwise to
    `fallback` (a URL name or path, resolved like `redirect()`)."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback, *args, **kwargs)
