from django.db import models

from accounting.models import DocumentKind, DocumentSeries, EmailTemplate
from orders.models import Order, OrderEvent, OrderStatus, PaymentStatus


class EventType(models.TextChoices):
    ORDER_CREATED = "order_created", "Utworzenie zamówienia"
    STATUS_CHANGED = "status_changed", "Zmiana statusu"
    PAYMENT_STATUS_CHANGED = "payment_status_changed", "Zmiana statusu płatności"
    ORDER_PACKED = "order_packed", "Spakowanie zamówienia"


EVENT_FOR_ORDER_EVENT = {
    "created": EventType.ORDER_CREATED,
    "status_changed": EventType.STATUS_CHANGED,
    "payment_status_changed": EventType.PAYMENT_STATUS_CHANGED,
    "packed": EventType.ORDER_PACKED,
}


class ActionType(models.TextChoices):
    ISSUE_DOCUMENT = "issue_document", "Wystaw dokument w serii"
    SEND_DOCUMENT = "send_document", "Wyślij dokument kupującemu e-mailem"
    CHANGE_STATUS = "change_status", "Zmień status"
    ADD_NOTE = "add_note", "Dodaj notatkę"
    PRINT_RECEIPT = "print_receipt", "Wydrukuj paragon (seria paragonów z drukarką fiskalną)"
    PRINT_DOCUMENT = "print_document", "Wydrukuj dokument (PrintNode)"
    PRINT_LABEL = "print_label", "Wydrukuj etykietę / listę kompletacyjną"


class AutomaticTask(models.Model):
    """Event → conditions (data, never code) → ordered actions."""

    name = models.CharField("nazwa", max_length=150)
    active = models.BooleanField("aktywne", default=True)
    event_type = models.CharField("zdarzenie", max_length=30, choices=EventType.choices)
    to_status = models.ForeignKey(
        OrderStatus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="na status"
    )
    from_status = models.ForeignKey(
        OrderStatus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ze statusu"
    )
    payment_status = models.CharField("status płatności", max_length=20, choices=PaymentStatus.choices, blank=True)
    conditions = models.JSONField("warunki", default=list, blank=True)
    # set on save and whenever something it points at disappears; a broken task does not run
    broken_reason = models.CharField("problem", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "zadanie automatyczne"
        verbose_name_plural = "zadania automatyczne"

    def __str__(self):
        return self.name


class TaskAction(models.Model):
    task = models.ForeignKey(AutomaticTask, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField("akcja", max_length=20, choices=ActionType.choices)
    series = models.ForeignKey(DocumentSeries, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    document_kind = models.CharField(max_length=12, choices=DocumentKind.choices, blank=True)
    template = models.ForeignKey(EmailTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.ForeignKey(OrderStatus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    printer = models.ForeignKey("devices.Printer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.position}. {self.get_type_display()}"


class RunState(models.TextChoices):
    RUNNING = "running", "W trakcie"
    OK = "ok", "Wykonano"
    FAILED = "failed", "Błąd"
    WAITING = "waiting", "Czeka"


class TaskRun(models.Model):
    """One run of a task for one order event. Unique per (task, event): a task never fires twice for an event."""

    task = models.ForeignKey(AutomaticTask, on_delete=models.SET_NULL, null=True, related_name="runs")
    task_name = models.CharField(max_length=150)
    event = models.ForeignKey(OrderEvent, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    next_action = models.PositiveSmallIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    chain_depth = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["task", "event"], name="run_once_per_task_event")]

    def __str__(self):
        return f"{self.task_name} / {self.event_id}"


class ProcessedEvent(models.Model):
    """An order event the engine has finished with (for the bulk progress view)."""

    event = models.OneToOneField(OrderEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")
    state = models.CharField(max_length=10, choices=RunState.choices)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.event_id}: {self.state}"


class EventRedelivery(models.Model):
    """How often the sweeper enqueued an order event again, and when it may next (backoff)."""

    event = models.OneToOneField(OrderEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()
    next_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.event_id}: {self.count}×"
