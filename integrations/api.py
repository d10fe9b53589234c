"""REST API: `/api/integrations/` — the key is write-only and shown back only as its last four characters."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apilo.roles import IsAdminRole

from . import services
from .models import Integration, Provider


class IntegrationSerializer(serializers.ModelSerializer):
    provider = serializers.ChoiceField(choices=Provider.choices)
    api_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, style={"input_type": "password"}
    )
    api_key_last4 = serializers.CharField(source="key_hint", read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "provider",
            "name",
            "base_url",
            "api_key",
            "api_key_last4",
            "state",
            "last_checked_at",
            "last_error",
            "account_data",
            "created_at",
        ]
        read_only_fields = ["state", "last_checked_at", "last_error", "account_data", "created_at"]


class IntegrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IntegrationSerializer
    queryset = Integration.objects.order_by("name")
    permission_classes = [IsAdminRole]
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = None

    def perform_create(self, serializer):
        serializer.instance = services.integration_save(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = services.integration_save(
            data=dict(serializer.validated_data), integration=serializer.instance
        )

    @extend_schema(request=None, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        integration = services.integration_verify(integration=self.get_object())
        return Response(IntegrationSerializer(integration).data)
