"""One place where views turn typed errors (`ApplicationError`, `IllegalTransition`, …) into what a person sees.

`TypedErrorsMixin` on a class-based view:
- inside the view, `self.form_error(form, err)` puts the error on the field it names (or on the form);
- any ApplicationError the view does not handle itself becomes an error message and a redirect to
  `get_error_url()` (the same page by default) instead of a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from .errors import ApplicationError


def form_error(form, err: ApplicationError) -> None:
    """The error on the field it names when the form has that field, else on the whole form."""
    form.add_error(err.field if err.field in form.fields else None, err.message)


class TypedErrorsMixin:
    def form_error(self, form, err: ApplicationError) -> None:
        form_error(form, err)

    def get_error_url(self) -> str:
        return self.request.path

    def application_error(self, err: ApplicationError):
        messages.error(self.request, err.message)
        return redirect(self.get_error_url())

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except ApplicationError as err:
            return self.application_error(err)
