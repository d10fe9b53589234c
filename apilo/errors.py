"""Typed domain errors and their single translation to HTTP responses and form errors."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A refusal the user can understand. `message` is Polish and fit to show; `field` names the input at fault."""

    http_status = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class Conflict(ApplicationError):
    http_status = status.HTTP_409_CONFLICT


def api_exception_handler(exc, context):
    """DRF's handler, plus ApplicationError → 4xx with `{"detail": …}` or `{field: [message]}`."""
    if isinstance(exc, ApplicationError):
        body = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        body.update(exc.extra)
        return Response(body, status=exc.http_status)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": "Brak uprawnień do tej operacji."}, status=status.HTTP_403_FORBIDDEN)
    return exception_handler(exc, context)
