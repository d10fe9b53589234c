from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "accounting"
    verbose_name = "Księgowość"

    def ready(self):
        from orders.panels import register_order_panel

        from .views import order_documents_panel

        register_order_panel(order_documents_panel)
