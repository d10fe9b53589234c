from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounting.api import DocumentViewSet, OrderDocumentsView, SeriesViewSet
from automation.api import AutomaticTaskViewSet, EmailTemplateViewSet, OrderEmailsView
from devices.api import PrinterViewSet, PrintJobViewSet, PrintNodeAccountView
from integrations.api import IntegrationViewSet
from integrations.ksef.api import KsefConnectionViewSet
from orders.api import OrderStatusViewSet, OrderViewSet

from . import views


class NumericIdRouter(DefaultRouter):
    """Object ids in paths are numbers: `/api/orders/null,null/` is a 404, never a ValueError."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        lookup_value = getattr(viewset, "lookup_value_regex", r"\d+")
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{lookup_value})"


router = NumericIdRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("order-statuses", OrderStatusViewSet, basename="order-status")
router.register("series", SeriesViewSet, basename="series")
router.register("documents", DocumentViewSet, basename="document")
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("ksef-connections", KsefConnectionViewSet, basename="ksef-connection")
router.register("automatic-tasks", AutomaticTaskViewSet, basename="automatic-task")
router.register("email-templates", EmailTemplateViewSet, basename="email-template")
router.register("printers", PrinterViewSet, basename="printer")
router.register("print-jobs", PrintJobViewSet, basename="print-job")

users_patterns = (
    [
        path("", views.UserListView.as_view(), name="list"),
        path("nowy/", views.UserCreateView.as_view(), name="create"),
        path("<int:pk>/", views.UserEditView.as_view(), name="edit"),
    ],
    "users",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("logowanie/", views.ThrottledLoginView.as_view(), name="login"),
    path("wyloguj/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("orders.urls")),
    path("", include("accounting.urls")),
    path("administracja/konfiguracja-faktur/", include("integrations.urls")),
    path("administracja/ksef/", include("integrations.ksef.urls")),
    path("administracja/zadania-automatyczne/", include("automation.urls")),
    path("administracja/urzadzenia/", include("devices.urls")),
    path("administracja/uzytkownicy/", include(users_patterns)),
    path("api/orders/<int:order_id>/documents/", OrderDocumentsView.as_view(), name="order-documents"),
    path("api/orders/<int:order_id>/emails/", OrderEmailsView.as_view(), name="order-emails"),
    path("api/printnode/", PrintNodeAccountView.as_view(), name="printnode-account"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
