from django import forms

from .models import DocumentSeries

SELLER_FIELDS = [
    "seller_company_name",
    "seller_company_name_2",
    "seller_nip",
    "seller_street",
    "seller_post_code",
    "seller_city",
    "seller_country",
    "seller_email",
    "seller_phone",
]
BANK_FIELDS = ["bank_name", "bank_account", "bank_swift"]
DEFAULTS_FIELDS = ["place_of_issue", "payment_term_days", "notes", "exemption_basis"]
NUMBERING_FIELDS = ["name", "number_format", "reset", "start_number"]


class SeriesForm(forms.ModelForm):
    """Field checks come from the model; series_save checks the rest (format, uniqueness) and saves."""

    class Meta:
        model = DocumentSeries
        fields = [
            *NUMBERING_FIELDS,
            *SELLER_FIELDS,
            *BANK_FIELDS,
            *DEFAULTS_FIELDS,
            "active",
            "is_default",
            "printer",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 2}),
            "number_format": forms.TextInput(attrs={"data-preview": "number"}),
        }
        help_texts = {
            "number_format": "Znaczniki: {nr} kolejny numer, {dd} dzień, {mm} miesiąc, {rrrr} rok, {rr} rok "
            "dwucyfrowo. Np. FV/{nr}/{mm}/{rrrr}.",
            "seller_company_name_2": "Druga linia nazwy, jeśli nazwa firmy jest długa.",
        }

    def __init__(self, *args, kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        from devices.models import Printer

        self.kind = kind or self.instance.kind
        self.fields["printer"].queryset = Printer.objects.filter(kind="posnet")
        self.fields["printer"].help_text = "Seria paragonów musi mieć drukarkę fiskalną (aktywna seria)."

    def sections(self):
        sections = [
            ("Numeracja", [self[f] for f in NUMBERING_FIELDS]),
            ("Sprzedawca", [self[f] for f in SELLER_FIELDS]),
            ("Konto bankowe", [self[f] for f in BANK_FIELDS]),
            ("Ustawienia dokumentu", [self[f] for f in DEFAULTS_FIELDS] + [self["active"], self["is_default"]]),
        ]
        if self.kind == "receipt":
            sections.append(("Drukarka fiskalna", [self["printer"]]))
        return sections


class SeriesIntegrationForm(SeriesForm):
    """After the first save: Integracja zewnętrzna (choose the accounting service)."""

    confirm_mismatch = forms.BooleanField(label="Zapisz mimo różnic z danymi w serwisie", required=False)

    class Meta(SeriesForm.Meta):
        fields = [*SeriesForm.Meta.fields, "integration", "ksef_connection"]
        help_texts = {
            **SeriesForm.Meta.help_texts,
            "integration": "inFakt sam numeruje faktury: numer dokumentu zawsze pochodzi z inFakt.",
        }

    def sections(self):
        sections = [*super().sections(), ("Integracja zewnętrzna", [self["integration"], self["confirm_mismatch"]])]
        if self.instance.kind in ("invoice", "correction"):
            sections.append(("KSeF", [self["ksef_connection"]]))
        return sections


class SetupForm(forms.ModelForm):
    """ "Rozpocznij konfigurację": the seller and bank data shared by the four default series."""

    class Meta:
        model = DocumentSeries
        fields = [*SELLER_FIELDS, *BANK_FIELDS, "place_of_issue", "payment_term_days"]

    def sections(self):
        return [
            ("Sprzedawca", [self[f] for f in SELLER_FIELDS]),
            ("Konto bankowe", [self[f] for f in BANK_FIELDS]),
            ("Ustawienia dokumentu", [self["place_of_issue"], self["payment_term_days"]]),
        ]

    def clean_seller_nip(self):
        nip = self.cleaned_data.get("seller_nip")
        if not nip:
            raise forms.ValidationError("Podaj NIP sprzedawcy — bez niego nie można wystawiać faktur.")
        return nip


class IssueForm(forms.Form):
    series = forms.ModelChoiceField(
        queryset=DocumentSeries.objects.filter(active=True),
        error_messages={"invalid_choice": "Wybrana seria nie istnieje lub jest nieaktywna."},
    )
    additional = forms.BooleanField(required=False)
    as_consumer = forms.BooleanField(required=False)
    exchange_rate = forms.DecimalField(
        required=False, max_digits=10, decimal_places=4, min_value=0.0001, label="Kurs waluty (ręcznie)"
    )
    exchange_rate_table = forms.CharField(required=False, max_length=30, label="Numer tabeli NBP")
    exchange_rate_date = forms.DateField(required=False, label="Data tabeli NBP")
    sale_date = forms.DateField(required=False, label="Data sprzedaży")


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Powód anulowania", max_length=255, error_messages={"required": "Podaj powód anulowania."}
    )


class CorrectionForm(forms.Form):
    reason = forms.CharField(
        label="Przyczyna korekty", max_length=255, error_messages={"required": "Podaj przyczynę korekty."}
    )
    reason_code = forms.ChoiceField(
        label="Rodzaj przyczyny",
        choices=[
            ("other", "Inna — zwrot, rabat, zmiana ceny (skutek w dacie korekty)"),
            ("mistake", "Pomyłka — błąd na fakturze (skutek w dacie faktury pierwotnej)"),
        ],
        initial="other",
        required=False,
    )
    series = forms.ModelChoiceField(label="Seria korekt", queryset=DocumentSeries.objects.none(), empty_label=None)
    full_return = forms.BooleanField(label="Zwrot całości (wszystkie ilości na 0)", required=False)

    def clean_reason_code(self):
        return self.cleaned_data.get("reason_code") or "other"

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = DocumentSeries.objects.filter(kind="correction", active=True)
        default = self.fields["series"].queryset.filter(is_default=True).first()
        if default:
            self.fields["series"].initial = default.pk
        self.line_rows = []
        for line in lines:
            qty = forms.DecimalField(
                min_value=0,
                max_digits=12,
                decimal_places=3,
                initial=line.quantity.normalize(),
                label=f"Ilość poz. {line.position}",
            )
            price = forms.DecimalField(
                min_value=0,
                max_digits=14,
                decimal_places=2,
                initial=line.unit_price_gross,
                label=f"Cena brutto poz. {line.position}",
            )
            remove = forms.BooleanField(required=False, label=f"Usuń poz. {line.position}")
            self.fields[f"qty_{line.position}"] = qty
            self.fields[f"price_{line.position}"] = price
            self.fields[f"remove_{line.position}"] = remove
            self.line_rows.append(
                (line, self[f"qty_{line.position}"], self[f"price_{line.position}"], self[f"remove_{line.position}"])
            )
