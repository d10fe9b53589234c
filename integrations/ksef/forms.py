from django import forms

from ..models import KsefEnvironment

QR_CHOICES = [c for c in KsefEnvironment.choices if c[0] != "custom"]


class KsefConnectionForm(forms.Form):
    name = forms.CharField(label="Nazwa", max_length=100, initial="KSeF")
    nip = forms.CharField(label="NIP sprzedawcy", max_length=20)
    environment = forms.ChoiceField(label="Środowisko", choices=KsefEnvironment.choices, initial="test")
    base_url = forms.CharField(label="Własny adres API", required=False, max_length=200)
    qr_environment = forms.ChoiceField(
        label="Środowisko kodów QR (dla własnego adresu)", choices=QR_CHOICES, required=False, initial="test"
    )
    token = forms.CharField(
        label="Token KSeF",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Token wygenerujesz w Aplikacji Podatnika KSeF z uprawnieniem do wystawiania faktur "
        "(InvoiceWrite). Przechowujemy go zaszyfrowany i nigdy nie pokazujemy.",
    )
    send_automatically = forms.BooleanField(label="Wysyłaj automatycznie po wystawieniu", required=False, initial=True)
    offline24 = forms.BooleanField(
        label="Tryb offline24",
        required=False,
        help_text="Faktury oznaczone jako offline (kod QR „OFFLINE”), wysyłane do KSeF najpóźniej następnego dnia "
        "roboczego (art. 106nda).",
    )

    offline_certificate = forms.CharField(
        label="Certyfikat KSeF typu Offline (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Dla kodu QR II (CERTYFIKAT) na fakturach offline. Zostaw puste, aby zachować zapisany.",
    )
    offline_private_key = forms.CharField(
        label="Klucz prywatny certyfikatu offline (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Przechowujemy go zaszyfrowany i nigdy nie pokazujemy.",
    )

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields[
                "token"
            ].help_text = (
                "Zostaw puste, aby zachować zapisany token. Zmiana adresu lub NIP wymaga ponownego podania tokenu."
            )
