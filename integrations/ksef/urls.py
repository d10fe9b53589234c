from django.urls import path

from . import views

app_name = "ksef"

urlpatterns = [
    path("", views.KsefConnectionListView.as_view(), name="list"),
    path("dodaj/", views.KsefConnectionFormView.as_view(), name="create"),
    path("<int:pk>/", views.KsefConnectionFormView.as_view(), name="edit"),
    path("<int:pk>/sprawdz/", views.KsefConnectionVerifyView.as_view(), name="verify"),
]
