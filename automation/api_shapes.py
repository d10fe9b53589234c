"""The shapes of an automatic task's event, conditions and actions in the API: typed, so the OpenAPI schema says
what is valid and a body of the wrong shape is a 400 naming the field (the service checks the rest)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounting.models import DocumentKind
from orders.models import PaymentStatus

from .models import ActionType, EventType
from .services import CONDITION_FIELDS

CONDITION_OPS = sorted({op for ops, _label in CONDITION_FIELDS.values() for op in ops})


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    to_status = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="id statusu (wymagany przy status_changed)"
    )
    from_status = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    payment_status = serializers.ChoiceField(
        choices=PaymentStatus.choices,
        required=False,
        allow_null=True,
        help_text="wymagany przy payment_status_changed",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "boolean", "description": "buyer_has_nip, wants_invoice (op: is)"},
            {"type": "string", "enum": list(DocumentKind.values), "description": "has_document (op: is, is_not)"},
            {
                "type": "array",
                "minItems": 1,
                "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "description": "listy (op: in, not_in): kanały, metody i statusy płatności, kraje, id statusów; "
                'total (op: between): ["od", "do"]',
            },
        ]
    }
)
class ConditionValueField(serializers.JSONField):
    pass


class ConditionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=list(CONDITION_FIELDS))
    op = serializers.ChoiceField(choices=CONDITION_OPS)
    value = ConditionValueField()


class ActionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ActionType.choices)
    series = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="issue_document, print_receipt"
    )
    kind = serializers.ChoiceField(
        choices=DocumentKind.choices, required=False, allow_null=True, help_text="send_document, print_document"
    )
    template = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="send_document (puste: szablon domyślny)"
    )
    status = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="change_status")
    note = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=500, help_text="add_note"
    )
    printer = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="print_document, print_label"
    )
