from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.IntegrationListView.as_view(), name="list"),
    path("infakt/dodaj/", views.IntegrationFormView.as_view(), name="create"),
    path("<int:pk>/", views.IntegrationFormView.as_view(), name="edit"),
    path("<int:pk>/sprawdz/", views.IntegrationVerifyView.as_view(), name="verify"),
]
