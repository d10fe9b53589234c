"""REST API: `/api/ksef-connections/` (admins). The token is write-only and shown back only as its last four."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apilo.roles import IsAdminRole

from ..models import KsefConnection, KsefEnvironment
from . import services


class KsefConnectionSerializer(serializers.ModelSerializer):
    environment = serializers.ChoiceField(choices=KsefEnvironment.choices, required=False)
    base_url = serializers.CharField(required=False, allow_blank=True, max_length=200)
    qr_environment = serializers.ChoiceField(
        choices=[c for c in KsefEnvironment.choices if c[0] != "custom"], required=False
    )
    nip = serializers.CharField(max_length=20)
    token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=500, style={"input_type": "password"}
    )
    token_last4 = serializers.CharField(source="key_hint", read_only=True)
    offline_certificate = serializers.CharField(write_only=True, required=False, allow_blank=True)
    offline_private_key = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = KsefConnection
        fields = [
            "id",
            "name",
            "nip",
            "environment",
            "base_url",
            "qr_environment",
            "token",
            "token_last4",
            "send_automatically",
            "offline24",
            "offline_certificate",
            "offline_private_key",
            "offline_certificate_serial",
            "state",
            "last_error",
            "last_checked_at",
        ]
        read_only_fields = ["state", "last_error", "last_checked_at", "offline_certificate_serial"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.environment != KsefEnvironment.CUSTOM:
            from .client import api_url

            data["base_url"] = api_url(instance)
        return data


class KsefConnectionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = KsefConnectionSerializer
    queryset = KsefConnection.objects.order_by("name")
    permission_classes = [IsAdminRole]
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = None

    def perform_create(self, serializer):
        serializer.instance = services.ksef_connection_save(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = services.ksef_connection_save(
            data=dict(serializer.validated_data), connection=serializer.instance
        )

    @extend_schema(request=None, responses=KsefConnectionSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        connection = services.ksef_connection_verify(connection=self.get_object())
        return Response(KsefConnectionSerializer(connection).data)
