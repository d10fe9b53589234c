from django import forms
from django.utils import timezone

from .models import Order, OrderItem, OrderStatus


class OrderForm(forms.ModelForm):
    ordered_at = forms.DateTimeField(
        label="Data zamówienia",
        initial=timezone.now,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = Order
        fields = [
            "channel",
            "external_id",
            "ordered_at",
            "currency",
            "payment_method",
            "payment_status",
            "amount_paid",
            "wants_invoice",
            "customer_name",
            "customer_email",
            "customer_phone",
            "invoice_company_name",
            "invoice_nip",
            "invoice_vat_id",
            "invoice_name",
            "invoice_street",
            "invoice_post_code",
            "invoice_city",
            "invoice_country",
            "delivery_company_name",
            "delivery_name",
            "delivery_street",
            "delivery_post_code",
            "delivery_city",
            "delivery_country",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class OrderItemForm(forms.ModelForm):
    class Meta:
        model = OrderItem
        fields = ["kind", "name", "sku", "ean", "quantity", "unit", "unit_price_gross", "vat_rate", "annex15"]


OrderItemFormSet = forms.inlineformset_factory(
    Order,
    OrderItem,
    form=OrderItemForm,
    extra=3,
    can_delete=False,
    min_num=1,
    validate_min=True,
)


class StatusChangeForm(forms.Form):
    status = forms.ModelChoiceField(
        label="Zmień status", queryset=OrderStatus.objects.filter(is_active=True), empty_label=None
    )


class BulkStatusForm(forms.Form):
    status = forms.ModelChoiceField(
        label="Zmień status zaznaczonych",
        queryset=OrderStatus.objects.filter(is_active=True),
        empty_label="— wybierz status —",
        error_messages={"required": "Wybierz status, na który zmienić zamówienia."},
    )
    ids = forms.CharField(required=False)
    select_all = forms.BooleanField(required=False)
    query = forms.CharField(required=False)

    def clean(self):
        data = super().clean()
        ids = [int(x) for x in (data.get("ids") or "").split(",") if x.strip().isdigit()]
        data["id_list"] = ids
        if not data.get("select_all") and not ids:
            raise forms.ValidationError("Zaznacz co najmniej jedno zamówienie.")
        return data


class OrderStatusForm(forms.ModelForm):
    class Meta:
        model = OrderStatus
        fields = ["name", "colour", "is_active", "marks_shipment"]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}
