"""„Popularne": ready-made tasks, resolved against this shop's statuses, series and templates when chosen."""

from accounting import emails
from accounting.models import DocumentSeries
from apilo.errors import ApplicationError
from orders.models import OrderStatus

POPULAR = [
    {
        "key": "invoice-on-shipped",
        "name": "Wystaw fakturę po zmianie statusu na Wysłane i wyślij ją kupującemu",
        "description": "Gdy zamówienie przejdzie na „Wysłane”, a nie ma jeszcze faktury: wystaw ją w domyślnej serii "
        "i wyślij kupującemu e-mailem z PDF.",
        "event": {"type": "status_changed", "to_status": "Wysłane"},
        "conditions": [{"field": "has_document", "op": "is_not", "value": "invoice"}],
        "actions": [{"type": "issue_document", "series": "invoice"}, {"type": "send_document", "kind": "invoice"}],
    },
    {
        "key": "receipt-on-paid",
        "name": "Wystaw paragon po opłaceniu zamówienia",
        "description": "Gdy płatność zmieni się na „Opłacone”, a kupujący nie chce faktury: wystaw paragon.",
        "event": {"type": "payment_status_changed", "payment_status": "paid"},
        "conditions": [{"field": "wants_invoice", "op": "is", "value": False}],
        "actions": [{"type": "issue_document", "series": "receipt"}],
    },
    {
        "key": "packed-to-ready",
        "name": "Po spakowaniu zmień status na Do wysłania",
        "description": "Gdy zamówienie zostanie spakowane na stanowisku pakowania, przenieś je do „Do wysłania”.",
        "event": {"type": "order_packed"},
        "conditions": [],
        "actions": [{"type": "change_status", "status": "Do wysłania"}],
    },
]


def resolve(key: str) -> dict:
    """The gallery entry as task data for automation.services.task_save (inactive until the admin switches it on)."""
    entry = next((e for e in POPULAR if e["key"] == key), None)
    if entry is None:
        raise ApplicationError("Nie ma takiego gotowego zadania.")

    def status(name):
        found = OrderStatus.objects.filter(name=name).first()
        if found is None:
            raise ApplicationError(f"Brak statusu „{name}” — dodaj go w Statusy zamówień albo utwórz zadanie ręcznie.")
        return found.pk

    def series(kind):
        found = DocumentSeries.objects.filter(kind=kind, active=True).order_by("-is_default", "id").first()
        if found is None:
            raise ApplicationError(
                "Brak aktywnej serii dokumentów tego rodzaju — skonfiguruj ją w Księgowość konfiguracja."
            )
        return found.pk

    event = dict(entry["event"])
    if "to_status" in event:
        event["to_status"] = status(event["to_status"])
    actions = []
    for action in entry["actions"]:
        action = dict(action)
        if action["type"] == "issue_document":
            action["series"] = series(action["series"])
        if action["type"] == "change_status":
            action["status"] = status(action["status"])
        if action["type"] == "send_document":
            action["template"] = emails.template_default().pk
        actions.append(action)
    return {
        "name": entry["name"],
        "active": False,
        "event": event,
        "conditions": entry["conditions"],
        "actions": actions,
    }
