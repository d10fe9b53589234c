"""REST API: `/api/printers/` (+ test), `/api/print-jobs/`."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apilo.roles import IsAdminRole

from . import services
from .connections import connection_problem
from .models import Printer, PrinterKind, PrintJob, PrintNodeAccount


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


class PrintNodeAccountSerializer(serializers.ModelSerializer):
    api_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, style={"input_type": "password"}
    )
    api_key_last4 = serializers.CharField(source="key_hint", read_only=True)
    base_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Puste: PRINTNODE_API_URL. Zmiana adresu wymaga ponownego podania klucza; https:// poza localhost.",
    )
    default_label_printer = serializers.PrimaryKeyRelatedField(
        queryset=Printer.objects.filter(kind=PrinterKind.PRINTNODE), required=False, allow_null=True
    )
    default_document_printer = serializers.PrimaryKeyRelatedField(
        queryset=Printer.objects.filter(kind=PrinterKind.PRINTNODE), required=False, allow_null=True
    )

    class Meta:
        model = PrintNodeAccount
        fields = [
            "name",
            "base_url",
            "api_key",
            "api_key_last4",
            "state",
            "last_error",
            "computers",
            "printers",
            "default_label_printer",
            "default_document_printer",
        ]
        read_only_fields = ["name", "state", "last_error", "computers", "printers"]


class PrintNodeAccountView(APIView):
    """`/api/printnode/`: the one PrintNode account. The key is write-only; changing `base_url` needs it again."""

    permission_classes = [IsAdminRole]
    serializer_class = PrintNodeAccountSerializer

    @extend_schema(responses=PrintNodeAccountSerializer)
    def get(self, request):
        return Response(PrintNodeAccountSerializer(PrintNodeAccount.objects.first() or PrintNodeAccount()).data)

    @extend_schema(request=PrintNodeAccountSerializer, responses=PrintNodeAccountSerializer)
    def patch(self, request):
        serializer = PrintNodeAccountSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = services.printnode_connect(
            api_key=data.get("api_key", ""), base_url=data.get("base_url"), account=PrintNodeAccount.objects.first()
        )
        changed = [field for field in ("default_label_printer", "default_document_printer") if field in data]
        for field in changed:
            setattr(account, field, data[field])
        if changed:
            account.save(update_fields=changed)
        return Response(PrintNodeAccountSerializer(account).data)
