from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Zadania automatyczne"

    def ready(self):
        from orders.panels import register_bulk_progress, register_order_panel
        from orders.signals import order_event

        from .views import order_runs_panel

        order_event.connect(_enqueue, dispatch_uid="automation.enqueue")
        register_order_panel(order_runs_panel)
        from .services import bulk_progress

        register_bulk_progress(bulk_progress)


def _enqueue(sender, event_id, **kwargs):
    """One Celery task per committed order event (the signal is sent after commit)."""
    from .tasks import process_event_task

    process_event_task.delay(event_id)
