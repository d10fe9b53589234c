"""REST API for orders: `/api/orders/`, `/api/orders/{id}/status/`, `/api/order-statuses/`."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apilo.validators import validate_currency, validate_ean, validate_nip

from . import selectors, services
from .models import (
    Channel,
    ItemKind,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    VatRate,
    validate_eu_vat_id,
)


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(source="customer_name", max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(source="customer_email", required=False, allow_blank=True)
    phone = serializers.CharField(source="customer_phone", max_length=40, required=False, allow_blank=True)
    login = serializers.CharField(source="customer_login", max_length=100, required=False, allow_blank=True)


def _address_serializer(prefix: str, fields: tuple[str, ...]):
    lengths = {"company_name": 200, "nip": 20, "vat_id": 20, "name": 200, "street": 200, "post_code": 20, "city": 100}
    attrs = {}
    for name in fields:
        if name == "country":
            attrs[name] = serializers.RegexField(
                r"^[A-Z]{2}$",
                source=f"{prefix}_country",
                required=False,
                default="PL",
                error_messages={"invalid": "Kod kraju: dwie wielkie litery ISO 3166, np. PL, DE."},
            )
        else:
            attrs[name] = serializers.CharField(
                source=f"{prefix}_{name}",
                max_length=lengths[name],
                required=False,
                allow_blank=True,
                validators={"nip": [validate_nip], "vat_id": [validate_eu_vat_id]}.get(name, []),
            )
    return type(f"{prefix.title()}AddressSerializer", (serializers.Serializer,), attrs)


InvoiceAddressSerializer = _address_serializer("invoice", Order.ADDRESS_FIELDS)
DeliveryAddressSerializer = _address_serializer("delivery", Order.DELIVERY_FIELDS)


class OrderItemSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ItemKind.choices, default=ItemKind.PRODUCT)
    ean = serializers.CharField(max_length=14, required=False, allow_blank=True, validators=[validate_ean])
    vat_rate = serializers.ChoiceField(choices=VatRate.choices)
    quantity = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        error_messages={"min_value": "Ilość musi być większa od zera."},
    )
    unit_price_gross = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), error_messages={"min_value": "Cena nie może być ujemna."}
    )
    gross = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "kind",
            "name",
            "sku",
            "ean",
            "quantity",
            "unit",
            "unit_price_gross",
            "vat_rate",
            "annex15",
            "gross",
        ]
        read_only_fields = ["id"]


class OrderSerializer(serializers.ModelSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    currency = serializers.CharField(max_length=3, default="PLN", validators=[validate_currency])
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, default=PaymentStatus.NONE)
    amount_paid = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        default=Decimal("0.00"),
        error_messages={"min_value": "Kwota nie może być ujemna."},
    )
    customer = CustomerSerializer(source="*", required=False)
    invoice_address = InvoiceAddressSerializer(source="*", required=False)
    delivery_address = DeliveryAddressSerializer(source="*", required=False)
    items = OrderItemSerializer(many=True, allow_empty=False)
    status_name = serializers.CharField(source="status.name", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "channel",
            "external_id",
            "status",
            "status_name",
            "ordered_at",
            "currency",
            "payment_method",
            "payment_status",
            "amount_paid",
            "wants_invoice",
            "customer",
            "invoice_address",
            "delivery_address",
            "items",
            "notes",
            "total_gross",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "number", "status", "total_gross", "created_at", "updated_at"]
        # A resent (channel, external id) is not an error: the service returns the existing order with 200.
        validators = []

    def validate_currency(self, value):
        return value.upper()

    def validate_items(self, value):
        if not value:
            raise serializers.ValidationError("Zamówienie musi mieć co najmniej jedną pozycję.")
        return value


class OrderUpdateSerializer(OrderSerializer):
    """PATCH: the order's data; items, channel and external id are fixed once the order exists."""

    class Meta(OrderSerializer.Meta):
        read_only_fields = [
            *OrderSerializer.Meta.read_only_fields,
            "channel",
            "external_id",
            "ordered_at",
            "currency",
            "items",
        ]


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.PrimaryKeyRelatedField(
        queryset=OrderStatus.objects.all(),
        error_messages={
            "does_not_exist": "Nie ma statusu o id {pk_value}.",
            "incorrect_type": "Podaj id statusu (liczba).",
        },
    )


class OrderStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderStatus
        fields = ["id", "name", "colour", "position", "is_active", "marks_shipment"]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    filterset_class = selectors.OrderFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Order.objects.select_related("status").prefetch_related("items")

    @extend_schema(responses={200: OrderSerializer, 201: OrderSerializer})
    def create(self, request):
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = [dict(item) for item in data.pop("items")]
        order, created = services.order_create(fields=data, items=items, actor=request.user)
        order = self.get_queryset().get(pk=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=OrderUpdateSerializer, responses=OrderSerializer)
    def partial_update(self, request, pk=None):
        order = get_object_or_404(Order, pk=pk)
        serializer = OrderUpdateSerializer(order, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.order_update(order=order, data=dict(serializer.validated_data), actor=request.user)
        return Response(OrderSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(
        request=StatusChangeSerializer,
        responses={
            200: inline_serializer("StatusChanged", {"changed": serializers.BooleanField(), "order": OrderSerializer()})
        },
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        order = get_object_or_404(Order, pk=pk)
        serializer = StatusChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.order_set_status(order=order, status=serializer.validated_data["status"], actor=request.user)
        return Response({"changed": event is not None, "order": OrderSerializer(self.get_queryset().get(pk=pk)).data})


class OrderStatusViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrderStatusSerializer
    queryset = OrderStatus.objects.order_by("position", "id")
    pagination_class = None
