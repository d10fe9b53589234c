from django.db import models

from apilo import crypto


class Provider(models.TextChoices):
    INFAKT = "infakt", "inFakt"


class ConnectionState(models.TextChoices):
    UNKNOWN = "unknown", "Nie sprawdzono"
    OK = "ok", "Połączono"
    FAILING = "failing", "Błąd połączenia"


class Integration(crypto.EncryptedApiKey, models.Model):
    """An accounting-service connection ("Konfiguracja faktur" tile). The API key is encrypted at rest."""

    provider = models.CharField("serwis", max_length=20, choices=Provider.choices)
    name = models.CharField("nazwa", max_length=100)
    base_url = models.URLField("adres API", max_length=200)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    key_hint = models.CharField("klucz (końcówka)", max_length=8, blank=True, editable=False)
    state = models.CharField(
        "stan połączenia", max_length=10, choices=ConnectionState.choices, default=ConnectionState.UNKNOWN
    )
    last_checked_at = models.DateTimeField("ostatnie sprawdzenie", null=True, blank=True)
    last_error = models.CharField("ostatni błąd", max_length=500, blank=True)
    account_data = models.JSONField("dane konta w serwisie", default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "integracja księgowa"
        verbose_name_plural = "integracje księgowe"

    def __str__(self):
        return f"{self.name} ({self.get_provider_display()})"


class KsefEnvironment(models.TextChoices):
    TEST = "test", "Testowe (api-test.ksef.mf.gov.pl)"
    DEMO = "demo", "Przedprodukcyjne (api-demo.ksef.mf.gov.pl)"
    PRODUCTION = "production", "Produkcyjne (api.ksef.mf.gov.pl)"
    CUSTOM = "custom", "Własny adres"


KsefConnectionState = ConnectionState  # the same states as an accounting-service connection


class KsefConnection(crypto.EncryptedApiKey, models.Model):
    """A KSeF 2.0 connection of one seller NIP ("Administracja > KSeF"). The KSeF token is encrypted at rest and
    shown back only as its last four characters; so are the cached access/refresh tokens and the open online
    session's AES key."""

    name = models.CharField("nazwa", max_length=100)
    nip = models.CharField("NIP sprzedawcy", max_length=10, unique=True)
    environment = models.CharField(
        "środowisko", max_length=12, choices=KsefEnvironment.choices, default=KsefEnvironment.TEST
    )
    base_url = models.URLField("adres API", max_length=200, blank=True, help_text="Tylko dla własnego adresu.")
    qr_environment = models.CharField(
        "środowisko kodów QR",
        max_length=12,
        choices=[c for c in KsefEnvironment.choices if c[0] != "custom"],
        default=KsefEnvironment.TEST,
        help_text="Dla własnego adresu: którego środowiska adres weryfikacji ma trafić do kodu QR.",
    )
    credentials_encrypted = models.TextField(blank=True, editable=False)
    key_hint = models.CharField("token (końcówka)", max_length=8, blank=True, editable=False)
    # KSeF certificate of type Offline (KOD II on offline invoices): certificate and private key, encrypted
    offline_certificate_encrypted = models.TextField(blank=True, editable=False)
    offline_key_encrypted = models.TextField(blank=True, editable=False)
    offline_certificate_serial = models.CharField("numer seryjny certyfikatu offline", max_length=64, blank=True)
    send_automatically = models.BooleanField("wysyłaj automatycznie po wystawieniu", default=True)
    offline24 = models.BooleanField(
        "tryb offline24",
        default=False,
        help_text="Faktury wystawiane w trybie offline24 (art. 106nda): oznaczone jako offline, z kodem QR "
        "„OFFLINE”, wysyłane do KSeF najpóźniej następnego dnia roboczego.",
    )
    state = models.CharField(
        "stan połączenia", max_length=10, choices=KsefConnectionState.choices, default=KsefConnectionState.UNKNOWN
    )
    last_checked_at = models.DateTimeField("ostatnie sprawdzenie", null=True, blank=True)
    last_error = models.CharField("ostatni błąd", max_length=500, blank=True)
    # cache of the KSeF side (encrypted; never shown): tokens and the open online session
    access_token_encrypted = models.TextField(blank=True, editable=False)
    access_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    session_reference = models.CharField(max_length=40, blank=True, editable=False)
    session_state_encrypted = models.TextField(blank=True, editable=False)
    session_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    session_last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    sessions_opened = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "połączenie z KSeF"
        verbose_name_plural = "połączenia z KSeF"

    def __str__(self):
        return f"{self.name} (NIP {self.nip})"

    @property
    def token(self) -> str:
        return self.api_key

    @token.setter
    def token(self, value: str) -> None:
        self.api_key = value
