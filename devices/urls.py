from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("", views.DeviceListView.as_view(), name="list"),
    path("dodaj/", views.PrinterFormView.as_view(), name="create"),
    path("printnode/", views.PrintNodeView.as_view(), name="printnode"),
    path("<int:pk>/", views.PrinterFormView.as_view(), name="edit"),
    path("<int:pk>/testuj/", views.PrinterTestView.as_view(), name="test"),
    path("zlecenia/<int:pk>/ponow/", views.PrintJobRetryView.as_view(), name="job_retry"),
]
