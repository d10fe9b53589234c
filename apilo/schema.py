"""The OpenAPI schema says what the API really sends: a blank-allowed string with a format (e-mail, URL) may be
"", and a choice backed by a model field with blank=True may be "" too."""

from drf_spectacular import openapi
from rest_framework import serializers


def _model_field_allows_blank(field) -> bool:
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    if model is None or not isinstance(field.source, str) or "." in field.source:
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except Exception:  # noqa: BLE001 — not a model field (property, method): nothing to add
        return False


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(result, dict):
            return result
        if isinstance(field, serializers.CharField) and field.allow_blank and result.get("format"):
            return {"anyOf": [result, {"type": "string", "maxLength": 0}]}
        if (
            isinstance(field, serializers.ChoiceField)
            and "enum" in result
            and "" not in result["enum"]
            and (field.allow_blank or _model_field_allows_blank(field))
        ):
            result["enum"] = [*result["enum"], ""]
        return result
