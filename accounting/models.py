from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apilo.validators import validate_bank_account, validate_currency, validate_nip, validate_swift
from integrations.models import Integration, KsefConnection
from orders.models import Order, PaymentMethod, VatRate


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Faktura"
    CORRECTION = "correction", "Faktura korygująca"
    RECEIPT = "receipt", "Paragon"
    PROFORMA = "proforma", "Faktura pro forma"


class NumberReset(models.TextChoices):
    MONTHLY = "monthly", "co miesiąc"
    YEARLY = "yearly", "co rok"
    NEVER = "never", "nigdy (numeracja ciągła)"


DEFAULT_FORMATS = {
    DocumentKind.INVOICE: "FV/{nr}/{mm}/{rrrr}",
    DocumentKind.CORRECTION: "FK/{nr}/{mm}/{rrrr}",
    DocumentKind.RECEIPT: "PAR/{nr}/{mm}/{rrrr}",
    DocumentKind.PROFORMA: "PRO/{nr}/{mm}/{rrrr}",
}


class DocumentSeries(models.Model):
    """A numbering series with the seller's and bank data ("Księgowość konfiguracja")."""

    kind = models.CharField("rodzaj", max_length=12, choices=DocumentKind.choices)
    name = models.CharField("nazwa", max_length=120)
    number_format = models.CharField("format numeru", max_length=60, default="FV/{nr}/{mm}/{rrrr}")
    reset = models.CharField(
        "zerowanie numeracji", max_length=10, choices=NumberReset.choices, default=NumberReset.MONTHLY
    )
    start_number = models.PositiveIntegerField("numer początkowy", default=1)

    seller_company_name = models.CharField("nazwa firmy", max_length=200)
    seller_company_name_2 = models.CharField("nazwa c.d.", max_length=200, blank=True)
    seller_nip = models.CharField("NIP", max_length=20, blank=True, validators=[validate_nip])
    seller_street = models.CharField("ulica i numer", max_length=200)
    seller_post_code = models.CharField("kod pocztowy", max_length=10)
    seller_city = models.CharField("miejscowość", max_length=100)
    seller_country = models.CharField("kraj", max_length=2, default="PL")
    seller_email = models.EmailField("e-mail", blank=True)
    seller_phone = models.CharField("telefon", max_length=40, blank=True)

    bank_name = models.CharField("bank", max_length=120, blank=True)
    bank_account = models.CharField("numer konta", max_length=40, blank=True, validators=[validate_bank_account])
    bank_swift = models.CharField("SWIFT", max_length=11, blank=True, validators=[validate_swift])

    place_of_issue = models.CharField("miejsce wystawienia", max_length=100, blank=True)
    payment_term_days = models.PositiveSmallIntegerField("termin płatności (dni)", default=7)
    notes = models.TextField("uwagi na dokumencie", blank=True)
    exemption_basis = models.CharField(
        "podstawa zwolnienia z VAT",
        max_length=255,
        blank=True,
        help_text="Wymagana dla pozycji ze stawką „zw”, np. art. 43 ust. 1 pkt 29 lit. a ustawy o VAT.",
    )
    active = models.BooleanField("aktywna", default=True)
    is_default = models.BooleanField("domyślna dla rodzaju", default=False)
    integration = models.ForeignKey(
        Integration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="series",
        verbose_name="integracja zewnętrzna",
    )
    printer = models.ForeignKey(
        "devices.Printer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="series",
        verbose_name="drukarka fiskalna",
        help_text="Dla serii paragonów: drukarka, na której drukują się paragony.",
    )
    ksef_connection = models.ForeignKey(
        KsefConnection,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="series",
        verbose_name="połączenie z KSeF",
        help_text="Faktury i korekty tej serii trafiają do KSeF; NIP sprzedawcy musi być taki jak w połączeniu.",
    )
    external_numbering = models.BooleanField(
        "numer z serwisu zewnętrznego",
        default=False,
        help_text="Numer dokumentu nadaje serwis księgowy (dla inFakt zawsze).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = "seria numeracji"
        verbose_name_plural = "serie numeracji"
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(is_default=True), name="series_one_default_per_kind"),
        ]

    def __str__(self):
        return self.name

    def seller_snapshot(self) -> dict:
        return {
            "company_name": self.seller_company_name,
            "company_name_2": self.seller_company_name_2,
            "nip": self.seller_nip,
            "street": self.seller_street,
            "post_code": self.seller_post_code,
            "city": self.seller_city,
            "country": self.seller_country,
            "email": self.seller_email,
            "phone": self.seller_phone,
            "bank_name": self.bank_name,
            "bank_account": self.bank_account,
            "bank_swift": self.bank_swift,
        }


class NumberCounter(models.Model):
    """Last number allocated in a (series, period). Locked with select_for_update while a document is created."""

    series = models.ForeignKey(DocumentSeries, on_delete=models.PROTECT, related_name="counters")
    period = models.CharField(max_length=7, blank=True)  # "2026-11", "2026" or "" (never reset)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "period"], name="counter_unique_series_period")]

    def __str__(self):
        return f"{self.series_id}/{self.period}: {self.last}"


class SyncState(models.TextChoices):
    NONE = "none", "—"
    PENDING = "pending", "Wysyłanie"
    SYNCED = "synced", "Zsynchronizowano"
    FAILED = "failed", "Błąd"


class DocumentState(models.TextChoices):
    """Moves between these states are listed once, in `accounting/states.py`."""

    ISSUING = "issuing", "W trakcie wystawiania"
    ISSUED = "issued", "Wystawiony"
    FAILED = "failed", "Błąd"
    ATTENTION = "attention", "Wymaga uwagi"
    CANCELLED = "cancelled", "Anulowany"


class Document(models.Model):
    """An issued sales document. Never edited in place: a change is a correction, a cancellation is recorded."""

    kind = models.CharField("rodzaj", max_length=12, choices=DocumentKind.choices)
    series = models.ForeignKey(DocumentSeries, on_delete=models.PROTECT, related_name="documents")
    number = models.CharField("numer", max_length=80, blank=True)  # empty until an external service numbers it
    period = models.CharField(max_length=7, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="documents", null=True, blank=True)
    corrected_document = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name="dokument korygowany",
    )
    correction_reason = models.CharField("przyczyna korekty", max_length=255, blank=True)
    correction_reason_code = models.CharField(
        "rodzaj przyczyny",
        max_length=10,
        blank=True,
        choices=[("mistake", "Pomyłka (błąd rachunkowy lub inny oczywisty)"), ("other", "Inna (np. zwrot, rabat)")],
    )
    additional = models.BooleanField(
        "kolejny dokument tego rodzaju",
        default=False,
        help_text="Wystawiony świadomie mimo istniejącego dokumentu tego rodzaju dla zamówienia.",
    )

    issue_date = models.DateField("data wystawienia")
    sale_date = models.DateField("data sprzedaży")
    due_date = models.DateField("termin płatności", null=True, blank=True)
    payment_method = models.CharField("sposób płatności", max_length=20, choices=PaymentMethod.choices, blank=True)
    amount_paid = models.DecimalField("zapłacono", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    payment_date = models.DateField("data zapłaty", null=True, blank=True)  # FA(3) DataZaplaty: the order's payment
    place_of_issue = models.CharField("miejsce wystawienia", max_length=100, blank=True)

    currency = models.CharField("waluta", max_length=3, default="PLN", validators=[validate_currency])
    exchange_rate = models.DecimalField("kurs NBP", max_digits=10, decimal_places=4, null=True, blank=True)
    exchange_rate_table = models.CharField("tabela NBP", max_length=30, blank=True)
    exchange_rate_date = models.DateField("data kursu", null=True, blank=True)

    seller = models.JSONField("sprzedawca", default=dict)
    buyer = models.JSONField("nabywca", default=dict)
    buyer_is_company = models.BooleanField(default=False)
    order_number = models.CharField("numer zamówienia", max_length=100, blank=True)

    vat_summary = models.JSONField("podsumowanie VAT", default=list)
    total_net = models.DecimalField("razem netto", max_digits=14, decimal_places=2)
    total_vat = models.DecimalField("razem VAT", max_digits=14, decimal_places=2)
    total_gross = models.DecimalField("razem brutto", max_digits=14, decimal_places=2)
    total_vat_pln = models.DecimalField("VAT w PLN", max_digits=14, decimal_places=2, null=True, blank=True)
    amount_in_words = models.CharField("słownie", max_length=300, blank=True)
    split_payment = models.BooleanField("mechanizm podzielonej płatności", default=False)
    exemption_basis = models.CharField("podstawa zwolnienia", max_length=255, blank=True)
    notes = models.TextField("uwagi", blank=True)

    state = models.CharField("stan", max_length=10, choices=DocumentState.choices, default=DocumentState.ISSUED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason = models.CharField("powód anulowania", max_length=255, blank=True)

    pdf = models.FileField(upload_to="documents/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    # KSeF: the FA(3) export's last validation, and room for the KSeF number and acceptance (UPO) once sent.
    issued_to_receipt = models.BooleanField("faktura do paragonu", default=False)
    # An invoice to a receipt (art. 106b, FA(3) FP=1) names the receipt it replaces for the buyer.
    receipt_document = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_to_receipt",
        verbose_name="paragon, do którego wystawiono fakturę",
    )
    ksef_validation_state = models.CharField(
        "walidacja KSeF", max_length=10, blank=True, choices=[("valid", "poprawny"), ("invalid", "błędy")]
    )
    ksef_validation_errors = models.JSONField(default=list, blank=True)
    ksef_validated_at = models.DateTimeField(null=True, blank=True)
    ksef_number = models.CharField("numer KSeF", max_length=40, blank=True)
    ksef_upo = models.TextField("UPO (potwierdzenie przyjęcia)", blank=True)

    # Synchronisation with an accounting service (inFakt): recorded before and as soon as each step is known.
    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    external_id = models.CharField(max_length=64, blank=True)
    external_uuid = models.CharField(max_length=64, blank=True)
    external_number = models.CharField(max_length=80, blank=True)
    external_task_ref = models.CharField(max_length=64, blank=True)
    sync_state = models.CharField(
        "stan synchronizacji", max_length=10, choices=SyncState.choices, default=SyncState.NONE
    )
    sync_attempts = models.PositiveSmallIntegerField(default=0)
    sync_in_doubt = models.BooleanField(default=False)
    sync_last_error = models.TextField("ostatni błąd synchronizacji", blank=True)
    sync_errors = models.JSONField(default=dict, blank=True)
    sync_lease_until = models.DateTimeField(null=True, blank=True)  # one worker at a time per document
    # The worker holding the lease (a random token): only it renews or clears the lease.
    sync_lease_owner = models.CharField(max_length=32, blank=True)
    # Since when a create's outcome is unknown: until INFAKT_DOUBT_WINDOW_SECONDS later the sync only looks.
    sync_doubt_since = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        verbose_name = "dokument"
        verbose_name_plural = "dokumenty"
        constraints = [
            models.UniqueConstraint(
                fields=["series", "number"], condition=~Q(number=""), name="document_unique_series_number"
            ),
            models.UniqueConstraint(
                fields=["series", "period", "sequence"],
                condition=Q(sequence__isnull=False),
                name="document_unique_sequence",
            ),
            models.UniqueConstraint(
                fields=["integration", "external_uuid"],
                condition=~Q(external_uuid=""),
                name="document_unique_external_uuid",
            ),
            # One live document per (order, kind): a double click or a retried task cannot make a second one.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(additional=False) & ~Q(state="cancelled") & ~Q(kind="correction"),
                name="document_one_live_per_order_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["-issue_date", "-id"], name="document_issue_date"),
            models.Index(fields=["kind", "-issue_date"], name="document_kind_date"),
            models.Index(fields=["number"], name="document_number"),
            models.Index(fields=["state"], name="document_state"),
        ]

    def __str__(self):
        return self.number or f"(w trakcie wystawiania #{self.pk})"

    @property
    def display_number(self) -> str:
        return self.number or "numer nadaje serwis księgowy…"

    @property
    def title(self) -> str:
        return {
            DocumentKind.INVOICE: "Faktura VAT",
            DocumentKind.CORRECTION: "Faktura korygująca",
            DocumentKind.RECEIPT: "Paragon",
            DocumentKind.PROFORMA: "Faktura pro forma",
        }[self.kind]

    @property
    def is_live(self) -> bool:
        return self.state != DocumentState.CANCELLED


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField("lp.")
    name = models.CharField("nazwa", max_length=300)
    sku = models.CharField(max_length=64, blank=True)
    ean = models.CharField(max_length=14, blank=True)
    unit = models.CharField("j.m.", max_length=10, default="szt.")
    quantity = models.DecimalField("ilość", max_digits=12, decimal_places=3)
    unit_price_net = models.DecimalField("cena netto", max_digits=14, decimal_places=2)
    unit_price_gross = models.DecimalField("cena brutto", max_digits=14, decimal_places=2)
    vat_rate = models.CharField("stawka", max_length=2, choices=VatRate.choices)
    net = models.DecimalField("wartość netto", max_digits=14, decimal_places=2)
    vat = models.DecimalField("VAT", max_digits=14, decimal_places=2)
    gross = models.DecimalField("wartość brutto", max_digits=14, decimal_places=2)
    annex15 = models.BooleanField(default=False)
    # Corrections: the line as it was before (the fields above hold the state after the correction).
    quantity_before = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    unit_price_net_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    unit_price_gross_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    net_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    vat_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    gross_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class ExchangeRate(models.Model):
    """NBP table A mid rates, cached: fetched before issuing, never while rendering."""

    currency = models.CharField(max_length=3)
    effective_date = models.DateField()
    mid = models.DecimalField(max_digits=10, decimal_places=4)
    table_no = models.CharField(max_length=30, blank=True)
    manual = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "effective_date"], name="rate_unique_day")]

    def __str__(self):
        return f"{self.currency} {self.effective_date}: {self.mid}"


class EmailTemplate(models.Model):
    """ "Szablony e-mail": subject and body with placeholders such as {numer_dokumentu}."""

    name = models.CharField("nazwa", max_length=100, unique=True)
    subject = models.CharField("temat", max_length=200)
    body = models.TextField("treść")
    is_default = models.BooleanField("domyślny dla faktur", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "szablon e-mail"
        verbose_name_plural = "szablony e-mail"

    def __str__(self):
        return self.name


class EmailState(models.TextChoices):
    SENDING = "sending", "Wysyłanie"
    SENT = "sent", "Wysłano"
    FAILED = "failed", "Błąd"
    UNKNOWN = "unknown", "Nie wiadomo, czy wysłano"


class EmailMessage(models.Model):
    """One e-mail with a document. Unique per (document, template, trigger): never sent twice."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="emails")
    template = models.ForeignKey(EmailTemplate, on_delete=models.SET_NULL, null=True, related_name="messages")
    trigger = models.CharField("wyzwalacz", max_length=100)
    recipient = models.CharField("do", max_length=254, blank=True)
    subject = models.CharField("temat", max_length=200, blank=True)
    state = models.CharField("stan", max_length=10, choices=EmailState.choices, default=EmailState.SENDING)
    error = models.TextField("błąd", blank=True)
    attempts = models.PositiveSmallIntegerField("próby", default=1)
    # who sent it by hand (None: an automatic task)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="wysłał",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "template", "trigger"], name="email_once_per_document_template_trigger"
            )
        ]

    def __str__(self):
        return f"{self.recipient}: {self.subject}"


class KsefState(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", "Nie dotyczy"
    PENDING = "pending", "Oczekuje na wysłanie"
    SENDING = "sending", "Wysyłanie do KSeF"
    ACCEPTED = "accepted", "Przyjęty w KSeF"
    REJECTED = "rejected", "Odrzucony przez KSeF"
    OFFLINE = "offline", "Offline — czeka na KSeF"


class KsefSubmission(models.Model):
    """One document's way into KSeF (the row is the outbox). The FA(3) bytes are made once and stored: they are
    what is sent, hashed and printed. Every step is recorded before the next call, so a lost answer is resolved by
    asking KSeF (or by its duplicate answer), never by sending a second invoice."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="ksef_submission")
    connection = models.ForeignKey(KsefConnection, on_delete=models.PROTECT, related_name="submissions")
    state = models.CharField("stan KSeF", max_length=16, choices=KsefState.choices, default=KsefState.PENDING)
    xml = models.BinaryField("FA(3) XML (wysłane bajty)", blank=True, default=b"")
    sha256 = models.CharField("SHA-256 XML (hex)", max_length=64, blank=True)
    session_reference = models.CharField(max_length=40, blank=True)
    invoice_reference = models.CharField(max_length=40, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)  # set (and committed) before the send call
    ksef_number = models.CharField("numer KSeF", max_length=40, blank=True)
    acquired_at = models.DateTimeField("data nadania numeru KSeF", null=True, blank=True)
    invoicing_mode = models.CharField(max_length=10, blank=True)
    upo = models.BinaryField("UPO (XML)", blank=True, default=b"")
    errors = models.JSONField("błędy KSeF", default=list, blank=True)
    last_error = models.CharField("ostatni błąd", max_length=500, blank=True)
    offline_since = models.DateTimeField(null=True, blank=True)
    offline_deadline = models.DateField("termin wysłania (tryb offline)", null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sends = models.PositiveIntegerField(default=0)  # send calls made (duplicates are answered by KSeF, not made)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)  # "Wyślij do KSeF" clicked (manual connections)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    pdf_refreshed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "wysyłka do KSeF"
        verbose_name_plural = "wysyłki do KSeF"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="ksef_submission_due")]

    def __str__(self):
        return f"KSeF {self.document} ({self.get_state_display()})"


class InfaktKsefStatus(models.Model):
    """The KSeF state of a document issued through inFakt: inFakt builds the XML and sends it; we ask it once to send
    (`send_requested_at`, recorded before the call) and then read its status until final. Same states as
    `KsefSubmission` (pending → sending → accepted | rejected)."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="infakt_ksef")
    state = models.CharField("stan KSeF", max_length=16, choices=KsefState.choices, default=KsefState.PENDING)
    send_requested_at = models.DateTimeField("zlecono wysyłkę przez inFakt", null=True, blank=True)
    send_in_doubt = models.BooleanField(default=False)  # the send call's answer was lost
    service_status = models.CharField("status w inFakt", max_length=32, blank=True)
    ksef_number = models.CharField("numer KSeF", max_length=40, blank=True)
    acquired_at = models.DateTimeField("data nadania numeru KSeF", null=True, blank=True)
    errors = models.JSONField("błędy KSeF", default=list, blank=True)
    last_error = models.CharField("ostatni błąd", max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "KSeF przez inFakt"
        verbose_name_plural = "KSeF przez inFakt"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="infakt_ksef_due")]

    def __str__(self):
        return f"KSeF (inFakt) {self.document} ({self.get_state_display()})"
