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


def _writable_paths(serializer, prefix: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """model/service field name → the path of the request field that carries it, e.g.
    `bank_account` → ("bank", "account_number") for a nested `bank` serializer with `source="*"`."""
    from rest_framework import serializers

    paths: dict[str, tuple[str, ...]] = {}
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        path = (*prefix, name)
        if isinstance(field, serializers.Serializer) and field.source == "*":
            for source, sub_path in _writable_paths(field, path).items():
                paths.setdefault(source, sub_path)
            continue
        paths.setdefault(name if field.source in (None, "*") else field.source, path)
    return paths


def client_field_path(view, field: str) -> tuple[str, ...]:
    """The path of `field` as the client sent it to `view` (its serializer's nesting), or `(field,)`."""
    serializer = None
    try:
        if hasattr(view, "get_serializer"):
            serializer = view.get_serializer()
        elif getattr(view, "serializer_class", None) is not None:
            serializer = view.serializer_class()
    except Exception:  # noqa: BLE001 — naming the field must never turn a 4xx into a 500
        serializer = None
    if serializer is None or not hasattr(serializer, "fields"):
        return (field,)
    try:
        paths = _writable_paths(serializer)
    except Exception:  # noqa: BLE001
        return (field,)
    if field in paths:
        return paths[field]
    return (field,)


def _nested(path: tuple[str, ...], message: str) -> dict:
    body: dict = {path[-1]: [message]}
    for key in reversed(path[:-1]):
        body = {key: body}
    return body


def api_exception_handler(exc, context):
    """DRF's handler, plus ApplicationError → 4xx with `{"detail": …}` or `{field: [message]}`, the field named by
    the request's own path and nested like DRF's validation errors (`{"bank": {"account_number": [...]}}`)."""
    if isinstance(exc, ApplicationError):
        if exc.field:
            body = _nested(client_field_path(context.get("view"), exc.field), exc.message)
        else:
            body = {"detail": exc.message}
        body.update(exc.extra)
        return Response(body, status=exc.http_status)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": "Brak uprawnień do tej operacji."}, status=status.HTTP_403_FORBIDDEN)
    return exception_handler(exc, context)
