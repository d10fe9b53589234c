from django.db import models

from apilo import crypto


class PrinterKind(models.TextChoices):
    POSNET = "posnet", "Drukarka fiskalna (Posnet)"
    ESCPOS = "escpos", "Drukarka ESC/POS"
    PRINTNODE = "printnode", "PrintNode"


class Printer(models.Model):
    kind = models.CharField("rodzaj", max_length=10, choices=PrinterKind.choices)
    name = models.CharField("nazwa", max_length=100)
    connection = models.CharField(
        "połączenie",
        max_length=200,
        help_text="Adres pyserial: /dev/ttyUSB0, socket://192.168.1.50:6666 albo rfc2217://…; dla PrintNode: id "
        "drukarki.",
    )
    settings = models.JSONField("ustawienia", default=dict, blank=True)
    active = models.BooleanField("aktywna", default=True)
    last_status = models.CharField("ostatni stan", max_length=300, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    vat_slots = models.JSONField("stawki VAT drukarki", default=dict, blank=True)
    dedicated_queue = models.BooleanField(
        "własna kolejka",
        default=False,
        help_text="Dla drukarki podłączonej do innego komputera: zlecenia trafiają do kolejki printer-<id>, którą "
        "obsługuje worker uruchomiony na tamtym komputerze.",
    )
    # The printer lease: who prints on it now and until when. Taken and released with one atomic UPDATE each, never
    # a transaction held open while printing (see devices/services.py).
    busy_until = models.DateTimeField(null=True, blank=True, editable=False)
    busy_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "drukarka"
        verbose_name_plural = "drukarki"

    def __str__(self):
        return self.name

    @property
    def queue(self) -> str:
        """The Celery queue of this printer's jobs: `devices` (any worker; the printer lease serialises printing),
        or `printer-<id>` for a printer plugged into another machine whose own worker consumes that queue."""
        return f"printer-{self.pk}" if self.dedicated_queue else "devices"


class JobState(models.TextChoices):
    """Moves between these states are listed once, in `devices/states.py`."""

    QUEUED = "queued", "W kolejce"
    PRINTING = "printing", "Drukowanie"
    DONE = "done", "Wydrukowano"
    FAILED = "failed", "Błąd"
    NEEDS_ATTENTION = "attention", "Wymaga uwagi"


class PrintJob(models.Model):
    printer = models.ForeignKey(Printer, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=20)  # receipt, document, label
    idempotency_key = models.CharField(max_length=120, unique=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)  # a waiting job (paper out, printer busy) tries then
    lease_token = models.CharField(max_length=32, blank=True)  # the printer lease it was printed under
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_try_at"], name="printjob_state_next_try")]

    def __str__(self):
        return self.idempotency_key


class PrintNodeAccount(crypto.EncryptedApiKey, models.Model):
    """The PrintNode account: API key encrypted at rest, shown masked; computers and printers read from the API."""

    name = models.CharField("nazwa", max_length=100, default="PrintNode")
    # Empty: settings.PRINTNODE_API_URL. Changing it requires the key again (apilo.endpoints).
    base_url = models.CharField("adres API", max_length=200, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    key_hint = models.CharField(max_length=8, blank=True, editable=False)
    state = models.CharField("stan", max_length=20, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    computers = models.JSONField(default=list, blank=True)
    printers = models.JSONField(default=list, blank=True)
    default_label_printer = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="domyślna drukarka etykiet",
    )
    default_document_printer = models.ForeignKey(
        Printer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="domyślna drukarka dokumentów",
    )

    def __str__(self):
        return self.name
