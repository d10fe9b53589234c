from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from apilo.money import round_money
from apilo.validators import (
    validate_currency,
    validate_ean,
    validate_nip,
    validate_not_negative,
    validate_positive,
    validate_two_decimals,
)


class Channel(models.TextChoices):
    ALLEGRO = "allegro", "Allegro"
    AMAZON = "amazon", "Amazon"
    SHOP = "shop", "Sklep internetowy"
    EBAY = "ebay", "eBay"
    EMPIK = "empik", "Empik"
    ERLI = "erli", "Erli"
    KAUFLAND = "kaufland", "Kaufland"
    OLX = "olx", "OLX"
    MANUAL = "manual", "Ręczne"


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", "Przelew bankowy"
    COD = "cod", "Pobranie"
    CARD = "card", "Karta płatnicza"
    ONLINE = "online", "Płatność online"
    CASH = "cash", "Gotówka"


class PaymentStatus(models.TextChoices):
    NONE = "none", "Brak wpłaty"
    PARTIAL = "partial", "Częściowo opłacone"
    PAID = "paid", "Opłacone"
    OVERPAID = "overpaid", "Nadpłacone"


class VatRate(models.TextChoices):
    R23 = "23", "23%"
    R8 = "8", "8%"
    R5 = "5", "5%"
    R0 = "0", "0%"
    ZW = "zw", "zw."
    NP = "np", "np."
    OO = "oo", "oo (odwrotne obciążenie)"

    @classmethod
    def percent(cls, rate: str) -> Decimal:
        """The rate as a number for arithmetic; zw and np carry no VAT."""
        return Decimal(rate) if rate.isdigit() else Decimal(0)


class ItemKind(models.TextChoices):
    PRODUCT = "product", "Produkt"
    SHIPPING = "shipping", "Wysyłka"
    OTHER = "other", "Inne"


def normalize_vat_id(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def validate_eu_vat_id(value: str) -> None:
    """An EU VAT number with its country prefix (python-stdnum checks the format and the check digits)."""
    from django.core.exceptions import ValidationError
    from stdnum.eu import vat as eu_vat

    if value and not eu_vat.is_valid(normalize_vat_id(value)):
        raise ValidationError(
            "Nieprawidłowy numer VAT UE — podaj go z prefiksem kraju, np. DE123456789.", code="invalid_vat_id"
        )


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Kolor w formacie #RRGGBB, np. #1f77b4.")


class OrderStatus(models.Model):
    name = models.CharField("nazwa", max_length=60, unique=True)
    colour = models.CharField("kolor", max_length=7, default="#6c757d", validators=[hex_colour])
    position = models.PositiveIntegerField("kolejność", default=0)
    is_active = models.BooleanField("aktywny", default=True)
    marks_shipment = models.BooleanField(
        "oznacza wysyłkę",
        default=False,
        help_text="Data, w której zamówienie pierwszy raz otrzymało ten status, jest domyślną datą sprzedaży "
        "na fakturze (dostawa towaru, art. 19a ustawy o VAT).",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "status zamówienia"
        verbose_name_plural = "statusy zamówień"

    def __str__(self):
        return self.name


class OrderNumberCounter(models.Model):
    """Last public order number per month (`AL` + yymm + 6 digits)."""

    period = models.CharField(max_length=4, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.period}: {self.last}"


class Order(models.Model):
    number = models.CharField("numer", max_length=20, unique=True, editable=False)
    channel = models.CharField("kanał sprzedaży", max_length=20, choices=Channel.choices, default=Channel.MANUAL)
    external_id = models.CharField("numer zewnętrzny", max_length=64, blank=True)
    status = models.ForeignKey(OrderStatus, on_delete=models.PROTECT, related_name="orders", verbose_name="status")
    ordered_at = models.DateTimeField("data zamówienia")

    customer_name = models.CharField("klient", max_length=200, blank=True)
    customer_email = models.EmailField("e-mail", blank=True)
    customer_phone = models.CharField("telefon", max_length=40, blank=True)
    customer_login = models.CharField("login", max_length=100, blank=True)

    invoice_company_name = models.CharField("firma", max_length=200, blank=True)
    invoice_nip = models.CharField("NIP", max_length=20, blank=True, validators=[validate_nip])
    invoice_name = models.CharField("imię i nazwisko", max_length=200, blank=True)
    invoice_street = models.CharField("ulica", max_length=200, blank=True)
    invoice_post_code = models.CharField("kod pocztowy", max_length=20, blank=True)
    invoice_city = models.CharField("miasto", max_length=100, blank=True)
    invoice_country = models.CharField("kraj", max_length=2, default="PL")
    invoice_vat_id = models.CharField(
        "numer VAT UE",
        max_length=20,
        blank=True,
        validators=[validate_eu_vat_id],
        help_text="Dla nabywcy z innego kraju UE, z prefiksem kraju, np. DE123456789.",
    )

    delivery_company_name = models.CharField("firma", max_length=200, blank=True)
    delivery_name = models.CharField("imię i nazwisko", max_length=200, blank=True)
    delivery_street = models.CharField("ulica", max_length=200, blank=True)
    delivery_post_code = models.CharField("kod pocztowy", max_length=20, blank=True)
    delivery_city = models.CharField("miasto", max_length=100, blank=True)
    delivery_country = models.CharField("kraj", max_length=2, default="PL")

    wants_invoice = models.BooleanField("chce fakturę", default=False)
    currency = models.CharField("waluta", max_length=3, default="PLN", validators=[validate_currency])
    payment_method = models.CharField(
        "metoda płatności", max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER
    )
    payment_status = models.CharField(
        "status płatności", max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.NONE
    )
    amount_paid = models.DecimalField(
        "wpłacono",
        max_digits=14,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[validate_not_negative, validate_two_decimals],
    )
    notes = models.TextField("uwagi", blank=True)
    # Sum of the items' gross values, kept by the services so lists can sort and filter on it.
    total_gross = models.DecimalField("wartość brutto", max_digits=14, decimal_places=2, default=Decimal("0.00"))

    created_at = models.DateTimeField("utworzono", auto_now_add=True)
    updated_at = models.DateTimeField("zmieniono", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    ADDRESS_FIELDS = ("company_name", "nip", "vat_id", "name", "street", "post_code", "city", "country")
    DELIVERY_FIELDS = ("company_name", "name", "street", "post_code", "city", "country")

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = "zamówienie"
        verbose_name_plural = "zamówienia"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~Q(external_id=""), name="order_unique_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-ordered_at", "-id"], name="order_status_ordered"),
            models.Index(fields=["-ordered_at", "-id"], name="order_ordered"),
            models.Index(fields=["external_id"], name="order_external_id"),
            models.Index(fields=["invoice_nip"], name="order_invoice_nip"),
        ]

    def __str__(self):
        return self.number

    @property
    def buyer_is_company(self) -> bool:
        return bool(self.invoice_company_name or self.invoice_nip or self.invoice_vat_id)

    @property
    def amount_due(self) -> Decimal:
        return max(self.total_gross - self.amount_paid, Decimal("0.00"))


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField("lp.", default=0)
    kind = models.CharField("rodzaj", max_length=10, choices=ItemKind.choices, default=ItemKind.PRODUCT)
    name = models.CharField("nazwa", max_length=300)
    sku = models.CharField("SKU", max_length=64, blank=True)
    ean = models.CharField("EAN", max_length=14, blank=True, validators=[validate_ean])
    quantity = models.DecimalField("ilość", max_digits=12, decimal_places=3, validators=[validate_positive])
    unit = models.CharField("j.m.", max_length=10, default="szt.")
    unit_price_gross = models.DecimalField(
        "cena brutto", max_digits=12, decimal_places=2, validators=[validate_not_negative, validate_two_decimals]
    )
    vat_rate = models.CharField("stawka VAT", max_length=2, choices=VatRate.choices, default=VatRate.R23)
    annex15 = models.BooleanField("zał. 15 (MPP)", default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "pozycja zamówienia"
        verbose_name_plural = "pozycje zamówienia"

    def __str__(self):
        return self.name

    @property
    def gross(self) -> Decimal:
        return round_money(self.quantity * self.unit_price_gross)


class OrderEventKind(models.TextChoices):
    CREATED = "created", "Utworzono zamówienie"
    STATUS_CHANGED = "status_changed", "Zmiana statusu"
    PAYMENT_STATUS_CHANGED = "payment_status_changed", "Zmiana statusu płatności"
    UPDATED = "updated", "Zmiana danych"
    PACKED = "packed", "Spakowano"
    DOCUMENT_ISSUED = "document_issued", "Wystawiono dokument"
    NOTE_ADDED = "note_added", "Dodano notatkę"


class OrderEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Zdarzenia zamówienia są niezmienne.")

    def delete(self):
        raise TypeError("Zdarzenia zamówienia są niezmienne.")


class OrderEvent(models.Model):
    """One business event in an order's history. Written once, never changed or deleted."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=OrderEventKind.choices)
    from_status = models.ForeignKey(OrderStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_status = models.ForeignKey(OrderStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)

    objects = OrderEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.order_id}: {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Zdarzenia zamówienia są niezmienne.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Zdarzenia zamówienia są niezmienne.")


class BulkStatusChange(models.Model):
    """A status change of many orders from the list: which events it made, for the progress view."""

    status = models.ForeignKey(OrderStatus, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_ids = models.JSONField(default=list)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.changed} → {self.status_id}"
