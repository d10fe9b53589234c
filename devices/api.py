"""REST API: `/api/printers/` (+ test), `/api/print-jobs/`."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apilo.roles import IsAdminRole

from . import services
from .connections import connection_problem
from .models import Printer, PrinterKind, PrintJob


class PrinterSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=PrinterKind.choices)
    settings = serializers.JSONField(required=False, default=dict)

    class Meta:
        model = Printer
        fields = [
            "id",
            "kind",
            "name",
            "connection",
            "settings",
            "active",
            "last_status",
            "last_checked_at",
            "vat_slots",
        ]
        read_only_fields = ["last_status", "last_checked_at", "vat_slots"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", ""))
        connection = attrs.get("connection", getattr(self.instance, "connection", ""))
        if problem := connection_problem(kind, connection):
            raise serializers.ValidationError({"connection": [problem]})
        return attrs


class PrinterViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PrinterSerializer
    queryset = Printer.objects.all()
    permission_classes = [IsAdminRole]
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = None

    def perform_create(self, serializer):
        serializer.instance = services.printer_save(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = services.printer_save(data=dict(serializer.validated_data), printer=serializer.instance)

    @extend_schema(request=None, responses=PrinterSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        return Response(PrinterSerializer(services.printer_test(printer=self.get_object())).data)


class PrintJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrintJob
        fields = [
            "id",
            "printer",
            "kind",
            "idempotency_key",
            "state",
            "attempts",
            "error",
            "result",
            "created_at",
            "updated_at",
        ]


class PrintJobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PrintJobSerializer
    queryset = PrintJob.objects.select_related("printer")
    permission_classes = [IsAdminRole]
    filterset_fields = ["printer", "state", "kind"]
