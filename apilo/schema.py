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


# What DRF's CharField refuses in a request: a NUL character anywhere; when blank is not allowed, only whitespace.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _request_string_rules(field, result: dict) -> dict:
    """Tighten a request field's schema to what the serializer accepts, so generated valid data is accepted."""
    if isinstance(field, serializers.DecimalField) and result.get("type") == "string":
        whole = (field.max_digits - field.decimal_places) if field.max_digits is not None else 15
        negative = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        result["pattern"] = rf"^{negative}[0-9]{{1,{max(whole, 1)}}}(?:\.[0-9]{{1,{field.decimal_places}}})?$"
        if field.min_value is not None and field.min_value > 0:
            result["not"] = {"pattern": r"^[0.]*$"}
    elif (
        type(field) in (serializers.CharField, serializers.RegexField)
        and "pattern" not in result
        and "enum" not in result
        and not result.get("format")
    ):
        result["pattern"] = NO_NUL if field.allow_blank else NOT_BLANK
    return result


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(result, dict):
            return result
        if direction == "request" and not field.read_only:
            result = _request_string_rules(field, result)
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
