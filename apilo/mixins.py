"""One place where views turn typed errors (`ApplicationError`, `IllegalTransition`, …) into what a person sees.

`TypedErrorsMixin` on a class-based view:
- inside the view, `self.form_error(form, err)` puts the error on the field it names (or on the form);
- any ApplicationError the view does not handle itself becomes an error message and a redirect to
  `get_error_url()` (the same page for a GET, the sending page for a POST) instead of a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import ApplicationError


def form_error(form, err: ApplicationError) -> None:
    """The error on the field it names when the form has that field, else on the whole form."""
    form.add_error(err.field if err.field in form.fields else None, err.message)


class TypedErrorsMixin:
    def form_error(self, form, err: ApplicationError) -> None:
        form_error(form, err)

    def get_error_url(self) -> str:
        """Where to show the message: the same page for a GET, the page the form was sent from (same host only)
        for anything else, so a POST-only URL is never the target."""
        request = self.request
        if request.method == "GET":
            return request.path
        referer = request.META.get("HTTP_REFERER", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return referer
        return "/"

    def application_error(self, err: ApplicationError):
        messages.error(self.request, err.message)
        return redirect(self.get_error_url())

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except ApplicationError as err:
            return self.application_error(err)
