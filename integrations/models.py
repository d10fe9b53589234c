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
