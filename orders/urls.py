from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("zamowienia/", views.OrderListView.as_view(), name="list"),
    path("zamowienia/nowe/", views.OrderCreateView.as_view(), name="create"),
    path("zamowienia/pakowanie/", views.PackingView.as_view(), name="packing"),
    path("zamowienia/pakowanie/skan/", views.PackingScanView.as_view(), name="packing_scan"),
    path("zamowienia/zmiana-statusu/", views.OrderBulkStatusView.as_view(), name="bulk_status"),
    path("zamowienia/zmiana-statusu/<int:pk>/", views.BulkProgressView.as_view(), name="bulk_progress"),
    path("zamowienia/<int:pk>/", views.OrderDetailView.as_view(), name="detail"),
    path("zamowienia/<int:pk>/status/", views.OrderStatusChangeView.as_view(), name="set_status"),
    path("administracja/statusy/", views.StatusListView.as_view(), name="status_list"),
    path("administracja/statusy/<int:pk>/", views.StatusEditView.as_view(), name="status_edit"),
    path("administracja/statusy/<int:pk>/usun/", views.StatusDeleteView.as_view(), name="status_delete"),
    path("administracja/statusy/<int:pk>/przesun/", views.StatusMoveView.as_view(), name="status_move"),
]
