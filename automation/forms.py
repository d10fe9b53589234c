"""The task form: the event, the conditions (as fields, stored as data) and an ordered formset of actions."""

from django import forms

from accounting.models import DocumentKind, DocumentSeries, EmailTemplate
from devices.models import Printer
from orders.models import Channel, OrderStatus, PaymentMethod, PaymentStatus

from .models import ActionType, EventType

TRI = [("", "bez znaczenia"), ("yes", "tak"), ("no", "nie")]


class TaskForm(forms.Form):
    name = forms.CharField(label="Nazwa", max_length=150)
    active = forms.BooleanField(label="Aktywne", required=False, initial=True)
    event_type = forms.ChoiceField(label="Zdarzenie", choices=EventType.choices)
    to_status = forms.ModelChoiceField(label="Na status", queryset=OrderStatus.objects.all(), required=False)
    from_status = forms.ModelChoiceField(
        label="Ze statusu (opcjonalnie)", queryset=OrderStatus.objects.all(), required=False
    )
    payment_status = forms.ChoiceField(
        label="Status płatności", choices=[("", "—"), *PaymentStatus.choices], required=False
    )
    # conditions (all must hold)
    channel = forms.MultipleChoiceField(
        label="Kanał sprzedaży", choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    payment_method = forms.MultipleChoiceField(
        label="Metoda płatności", choices=PaymentMethod.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    payment_status_is = forms.MultipleChoiceField(
        label="Status płatności zamówienia",
        choices=PaymentStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    invoice_country = forms.CharField(label="Kraj (dane do faktury), np. PL, DE", required=False)
    delivery_country = forms.CharField(label="Kraj dostawy, np. PL", required=False)
    buyer_has_nip = forms.ChoiceField(label="Kupujący ma prawidłowy NIP", choices=TRI, required=False)
    wants_invoice = forms.ChoiceField(label="Kupujący chce fakturę", choices=TRI, required=False)
    total_min = forms.DecimalField(label="Wartość od", required=False, decimal_places=2, min_value=0)
    total_max = forms.DecimalField(label="Wartość do", required=False, decimal_places=2, min_value=0)
    current_status = forms.ModelMultipleChoiceField(
        label="Obecny status", queryset=OrderStatus.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    has_document = forms.ChoiceField(
        label="Ma dokument rodzaju", choices=[("", "—"), *DocumentKind.choices], required=False
    )
    has_not_document = forms.ChoiceField(
        label="Nie ma dokumentu rodzaju", choices=[("", "—"), *DocumentKind.choices], required=False
    )

    def to_data(self, actions: list[dict]) -> dict:
        d = self.cleaned_data
        conditions = []
        for field, key in (
            ("channel", "channel"),
            ("payment_method", "payment_method"),
            ("payment_status", "payment_status_is"),
        ):
            if d[key]:
                conditions.append({"field": field, "op": "in", "value": list(d[key])})
        for field in ("invoice_country", "delivery_country"):
            codes = [c.strip().upper() for c in (d[field] or "").replace(";", ",").split(",") if c.strip()]
            if codes:
                conditions.append({"field": field, "op": "in", "value": codes})
        for field in ("buyer_has_nip", "wants_invoice"):
            if d[field]:
                conditions.append({"field": field, "op": "is", "value": d[field] == "yes"})
        if d["total_min"] is not None or d["total_max"] is not None:
            conditions.append(
                {
                    "field": "total",
                    "op": "between",
                    "value": [str(d["total_min"] or 0), str(d["total_max"] or "99999999")],
                }
            )
        if d["current_status"]:
            conditions.append({"field": "current_status", "op": "in", "value": [s.pk for s in d["current_status"]]})
        if d["has_document"]:
            conditions.append({"field": "has_document", "op": "is", "value": d["has_document"]})
        if d["has_not_document"]:
            conditions.append({"field": "has_document", "op": "is_not", "value": d["has_not_document"]})
        return {
            "name": d["name"],
            "active": d["active"],
            "event": {
                "type": d["event_type"],
                "to_status": d["to_status"].pk if d["to_status"] else None,
                "from_status": d["from_status"].pk if d["from_status"] else None,
                "payment_status": d["payment_status"],
            },
            "conditions": conditions,
            "actions": actions,
        }

    @staticmethod
    def initial_from(task) -> dict:
        initial = {
            "name": task.name,
            "active": task.active,
            "event_type": task.event_type,
            "to_status": task.to_status_id,
            "from_status": task.from_status_id,
            "payment_status": task.payment_status,
        }
        for condition in task.conditions:
            field, op, value = condition["field"], condition["op"], condition["value"]
            if field == "payment_status":
                initial["payment_status_is"] = value
            elif field in ("invoice_country", "delivery_country"):
                initial[field] = ", ".join(value)
            elif field in ("buyer_has_nip", "wants_invoice"):
                initial[field] = "yes" if value else "no"
            elif field == "total":
                initial["total_min"], initial["total_max"] = value
            elif field == "has_document":
                initial["has_document" if op == "is" else "has_not_document"] = value
            else:
                initial[field] = value
        return initial


class ActionForm(forms.Form):
    type = forms.ChoiceField(label="Akcja", choices=[("", "—"), *ActionType.choices], required=False)
    series = forms.ModelChoiceField(
        label="Seria", queryset=DocumentSeries.objects.exclude(kind="correction"), required=False
    )
    kind = forms.ChoiceField(label="Rodzaj dokumentu", choices=[("", "—"), *DocumentKind.choices], required=False)
    template = forms.ModelChoiceField(label="Szablon e-mail", queryset=EmailTemplate.objects.all(), required=False)
    status = forms.ModelChoiceField(label="Status", queryset=OrderStatus.objects.all(), required=False)
    note = forms.CharField(label="Notatka", required=False, max_length=500)
    # every printer: a task that prints on a printer switched off for now keeps it when edited
    printer = forms.ModelChoiceField(label="Drukarka", queryset=Printer.objects.all(), required=False)

    def as_action(self) -> dict | None:
        d = self.cleaned_data
        if not d.get("type") or d.get("DELETE"):
            return None
        return {
            "type": d["type"],
            "series": d["series"].pk if d["series"] else None,
            "kind": d["kind"],
            "template": d["template"].pk if d["template"] else None,
            "status": d["status"].pk if d["status"] else None,
            "note": d["note"],
            "printer": d["printer"].pk if d["printer"] else None,
        }


ActionFormSet = forms.formset_factory(ActionForm, extra=2, can_order=True, can_delete=True)


class EmailTemplateForm(forms.Form):
    """Placeholders from the fixed set only: an unknown one, a format spec or a stray brace is an error naming it."""

    name = forms.CharField(label="Nazwa", max_length=100)
    subject = forms.CharField(label="Temat", max_length=200)
    body = forms.CharField(label="Treść", widget=forms.Textarea(attrs={"rows": 10}))
    is_default = forms.BooleanField(label="Domyślny dla faktur", required=False)

    def _placeholders(self, field):
        from accounting.emails import template_problems

        value = self.cleaned_data[field]
        problems = template_problems(value)
        if problems:
            raise forms.ValidationError(problems)
        return value

    def clean_subject(self):
        return self._placeholders("subject")

    def clean_body(self):
        return self._placeholders("body")
