"""REST API: series, issuing from an order, documents, PDFs, corrections, cancellation."""

from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apilo.roles import IsStaffRole, StaffReadAdminWrite
from orders.models import Order

from . import email_api, selectors, services
from .models import Document, DocumentKind, DocumentSeries, NumberReset


class SellerSerializer(serializers.Serializer):
    company_name = serializers.CharField(source="seller_company_name", max_length=200)
    company_name_2 = serializers.CharField(
        source="seller_company_name_2", max_length=200, required=False, allow_blank=True
    )
    nip = serializers.CharField(source="seller_nip", max_length=20, required=False, allow_blank=True)
    street = serializers.CharField(source="seller_street", max_length=200)
    post_code = serializers.CharField(source="seller_post_code", max_length=10)
    city = serializers.CharField(source="seller_city", max_length=100)
    country = serializers.CharField(source="seller_country", max_length=2, required=False, default="PL")
    email = serializers.EmailField(source="seller_email", required=False, allow_blank=True)
    phone = serializers.CharField(source="seller_phone", max_length=40, required=False, allow_blank=True)


class BankSerializer(serializers.Serializer):
    bank_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    account_number = serializers.CharField(source="bank_account", max_length=40, required=False, allow_blank=True)
    swift = serializers.CharField(source="bank_swift", max_length=11, required=False, allow_blank=True)


class SeriesSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    reset = serializers.ChoiceField(choices=NumberReset.choices, default=NumberReset.MONTHLY)
    seller = SellerSerializer(source="*")
    bank = BankSerializer(source="*", required=False)

    class Meta:
        model = DocumentSeries
        fields = [
            "id",
            "kind",
            "name",
            "number_format",
            "reset",
            "start_number",
            "seller",
            "bank",
            "place_of_issue",
            "payment_term_days",
            "notes",
            "exemption_basis",
            "active",
            "is_default",
            "integration",
            "external_numbering",
            "printer",
            "ksef_connection",
        ]
        read_only_fields = ["external_numbering"]
        validators = []


class LineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit = serializers.CharField()
    unit_price_net = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_price_gross = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat_rate = serializers.CharField()
    net = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    gross = serializers.DecimalField(max_digits=14, decimal_places=2)
    quantity_before = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    unit_price_gross_before = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    gross_before = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class VatRowSerializer(serializers.Serializer):
    rate = serializers.CharField()
    net = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    gross = serializers.DecimalField(max_digits=14, decimal_places=2)


class ExternalSerializer(serializers.Serializer):
    provider = serializers.CharField(source="integration.provider", allow_null=True)
    id = serializers.CharField(source="external_id")
    uuid = serializers.CharField(source="external_uuid")
    number = serializers.CharField(source="external_number")
    state = serializers.CharField(source="sync_state")
    last_error = serializers.CharField(source="sync_last_error")


class DocumentSerializer(serializers.ModelSerializer):
    lines = LineSerializer(many=True, read_only=True)
    external = serializers.SerializerMethodField()
    vat_summary = VatRowSerializer(many=True, read_only=True)
    pdf_url = serializers.SerializerMethodField()
    ksef = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "number",
            "series",
            "order",
            "order_number",
            "state",
            "issue_date",
            "sale_date",
            "due_date",
            "payment_method",
            "currency",
            "exchange_rate",
            "exchange_rate_table",
            "exchange_rate_date",
            "buyer",
            "seller",
            "lines",
            "vat_summary",
            "total_net",
            "total_vat",
            "total_gross",
            "total_vat_pln",
            "amount_in_words",
            "split_payment",
            "payment_date",
            "receipt_document",
            "corrected_document",
            "correction_reason",
            "correction_reason_code",
            "additional",
            "cancel_reason",
            "pdf_url",
            "ksef_number",
            "ksef_validation_state",
            "external",
            "warnings",
            "ksef",
            "created_at",
        ]
        read_only_fields = fields

    warnings = serializers.SerializerMethodField()

    def get_warnings(self, document) -> list[str]:
        """Late issue (art. 106i ust. 1) and anything else issuing noticed, in Polish."""
        from .services import rules

        if document.kind not in (DocumentKind.INVOICE, DocumentKind.CORRECTION):
            return []
        return rules.late_issue_warnings(document.sale_date, document.issue_date)
    def get_ksef(self, document) -> dict:
        from .ksef_send import document_ksef_block

        return document_ksef_block(document)

    @extend_schema_field(ExternalSerializer(allow_null=True))
    def get_external(self, document):
        return ExternalSerializer(document).data if document.integration_id else None

    def get_pdf_url(self, document) -> str:
        request = self.context.get("request")
        url = f"/api/documents/{document.pk}/pdf/"
        return request.build_absolute_uri(url) if request else url


class SeriesViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SeriesSerializer
    queryset = DocumentSeries.objects.order_by("kind", "name")
    permission_classes = [StaffReadAdminWrite]
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = None

    def perform_create(self, serializer):
        serializer.instance = services.series_save(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = services.series_save(data=dict(serializer.validated_data), series=serializer.instance)


class IssueSerializer(serializers.Serializer):
    series = serializers.PrimaryKeyRelatedField(
        queryset=DocumentSeries.objects.all(),
        error_messages={"does_not_exist": "Nie ma serii o id {pk_value}."},
    )
    additional = serializers.BooleanField(default=False)
    as_consumer = serializers.BooleanField(default=False)
    exchange_rate = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=Decimal("0.0001"), required=False, allow_null=True
    )
    exchange_rate_table = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    exchange_rate_date = serializers.DateField(required=False, allow_null=True, default=None)
    sale_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Data sprzedaży; domyślnie wysyłka zamówienia, inaczej zapłata (przedpłata), inaczej dziś.",
    )


class OrderDocumentsView(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(request=IssueSerializer, responses={201: DocumentSerializer})
    def post(self, request, order_id):
        order = get_object_or_404(Order, pk=order_id)
        serializer = IssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = services.document_issue(
            order=order,
            series=data["series"],
            actor=request.user,
            additional=data["additional"],
            as_consumer=data["as_consumer"],
            sale_date=data["sale_date"],
            exchange_rate=data.get("exchange_rate"),
            exchange_rate_table=data["exchange_rate_table"],
            exchange_rate_date=data["exchange_rate_date"],
        )
        return Response(DocumentSerializer(document, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request, order_id):
        get_object_or_404(Order, pk=order_id)
        documents = selectors.documents_for_order(order_id).prefetch_related("lines")
        return Response(DocumentSerializer(documents, many=True, context={"request": request}).data)


class CorrectionLineSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal(0), required=False)
    unit_price_gross = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), required=False)
    remove = serializers.BooleanField(default=False)


class CorrectionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)
    reason_code = serializers.ChoiceField(
        choices=[("mistake", "pomyłka (TypKorekty 1)"), ("other", "inna: zwrot, rabat (TypKorekty 2)")],
        default="other",
    )
    series = serializers.PrimaryKeyRelatedField(queryset=DocumentSeries.objects.all(), required=False)
    full_return = serializers.BooleanField(default=False)
    lines = CorrectionLineSerializer(many=True, required=False, default=list)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    filterset_class = selectors.DocumentFilter
    permission_classes = [IsStaffRole]

    def get_queryset(self):
        return Document.objects.select_related("series", "ksef_submission__connection").prefetch_related("lines")

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        document = self.get_object()
        response = HttpResponse(services.document_pdf(document=document), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{document.number.replace("/", "_")}.pdf"'
        return response

    @extend_schema(responses={(200, "application/xml"): bytes, 422: dict})
    @action(detail=True, methods=["get"])
    def ksef(self, request, pk=None):
        from .ksef import KsefInvalid, document_ksef_xml

        document = self.get_object()
        submission = getattr(document, "ksef_submission", None)
        if submission is not None and submission.xml:  # the bytes sent to KSeF, not a new rendering
            return HttpResponse(bytes(submission.xml), content_type="application/xml")
        try:
            xml = document_ksef_xml(document)
        except KsefInvalid as err:
            return Response(
                {
                    "detail": "Dokument nie przechodzi walidacji FA(3).",
                    "errors": [{"element": i.element, "reason": i.reason} for i in err.issues],
                },
                status=422,
            )
        return HttpResponse(xml, content_type="application/xml")

    @extend_schema(request=None, responses={202: DocumentSerializer, 409: dict})
    @action(detail=True, methods=["post"], url_path="ksef/send", url_name="ksef-send")
    def ksef_send(self, request, pk=None):
        """Send to KSeF now, or again after a fixable failure. 409 when already accepted."""
        from .ksef_send import ksef_send_now

        document = self.get_object()
        ksef_send_now(document=document)
        document = self.get_queryset().get(pk=document.pk)
        return Response(DocumentSerializer(document, context={"request": request}).data, status=202)

    @extend_schema(responses={(200, "application/xml"): bytes, 409: dict})
    @action(detail=True, methods=["get"], url_path="ksef/upo", url_name="ksef-upo")
    def ksef_upo(self, request, pk=None):
        """The UPO (KSeF's official acknowledgement) as XML."""
        from .ksef_send import document_ksef_upo

        document = self.get_object()
        response = HttpResponse(document_ksef_upo(document=document), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="UPO_{document.number.replace("/", "_")}.xml"'
        return response

    @extend_schema(request=CorrectionSerializer, responses={201: DocumentSerializer})
    @action(detail=True, methods=["post"])
    def corrections(self, request, pk=None):
        document = self.get_object()
        serializer = CorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        correction = services.document_correct(
            document=document,
            reason=data["reason"],
            series=data.get("series"),
            full_return=data["full_return"],
            changes=[services.LineChange(**line) for line in data["lines"]],
            actor=request.user,
            reason_code=data["reason_code"],
        )
        return Response(
            DocumentSerializer(correction, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=CancelSerializer, responses=DocumentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        document = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = services.document_cancel(
            document=document, reason=serializer.validated_data["reason"], actor=request.user
        )
        return Response(DocumentSerializer(document, context={"request": request}).data)

    @extend_schema(
        request=email_api.DocumentEmailSerializer,
        responses={201: email_api.EmailMessageSerializer, 409: dict, 502: dict},
    )
    @action(detail=True, methods=["post"], url_path="email")
    def email(self, request, pk=None):
        """Send the document to the buyer by hand; 409 when it was already sent unless `{"again": true}`."""
        return email_api.send(request, self.get_object())
