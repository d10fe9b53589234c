"""`POST /api/documents/{id}/email/`: a person sends the document to the buyer (the action lives on
DocumentViewSet; its body and answer are described here to keep accounting/api.py small)."""

from rest_framework import serializers, status
from rest_framework.response import Response

from . import emails
from .models import Document, EmailMessage, EmailTemplate


class DocumentEmailSerializer(serializers.Serializer):
    template = serializers.PrimaryKeyRelatedField(
        queryset=EmailTemplate.objects.all(),
        required=False,
        allow_null=True,
        help_text="Szablon e-mail (domyślnie: szablon domyślny).",
    )
    again = serializers.BooleanField(
        required=False, default=False, help_text="Wyślij ponownie dokument, który już został wysłany."
    )


class EmailMessageSerializer(serializers.ModelSerializer):
    """One logged message (the answer of the e-mail action, and the order card's list in the API)."""

    document_number = serializers.CharField(source="document.number", read_only=True)
    sent_by = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "document",
            "document_number",
            "template",
            "trigger",
            "recipient",
            "subject",
            "state",
            "error",
            "attempts",
            "sent_by",
            "created_at",
            "sent_at",
        ]


def send(request, document: Document) -> Response:
    """201 and the message; 409 (field `again`) when the document was already sent and `again` is not true;
    502 when the mail server failed (the message is logged as failed and may be sent again)."""
    serializer = DocumentEmailSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    message = emails.document_send_by_hand(
        document=document,
        actor=request.user,
        template=serializer.validated_data.get("template"),
        again=serializer.validated_data["again"],
    )
    return Response(EmailMessageSerializer(message).data, status=status.HTTP_201_CREATED)
