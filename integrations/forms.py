from django import forms

from apilo.endpoints import normalize_url, url_problem

from .infakt.provider import ENVIRONMENTS

ENVIRONMENT_CHOICES = [
    ("production", f"Produkcja ({ENVIRONMENTS['production']})"),
    ("sandbox", f"Sandbox ({ENVIRONMENTS['sandbox']})"),
    ("custom", "Własny adres"),
]


class InfaktForm(forms.Form):
    name = forms.CharField(label="Nazwa", max_length=100, initial="Moje inFakt")
    api_key = forms.CharField(
        label="Klucz API",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Klucz wygenerujesz w inFakt: Ustawienia > Inne opcje > API, zaznaczając uprawnienia "
        "api:invoices:read i api:invoices:write. inFakt pokazuje go tylko raz.",
    )
    environment = forms.ChoiceField(label="Środowisko", choices=ENVIRONMENT_CHOICES, initial="production")
    custom_url = forms.URLField(label="Własny adres API", required=False, assume_scheme="https")

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["api_key"].help_text = "Zostaw puste, aby zachować zapisany klucz."

    def clean(self):
        data = super().clean()
        if data.get("environment") == "custom" and not data.get("custom_url"):
            self.add_error("custom_url", "Podaj adres API dla własnego środowiska.")
        elif data.get("environment") == "custom" and (problem := url_problem(normalize_url(data["custom_url"]))):
            self.add_error("custom_url", problem)
        return data

    def base_url(self) -> str:
        data = self.cleaned_data
        return data["custom_url"] if data["environment"] == "custom" else ENVIRONMENTS[data["environment"]]
