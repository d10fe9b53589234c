from django.urls import path

from . import email_views, ksef_views, views

app_name = "accounting"

urlpatterns = [
    path("administracja/ksiegowosc/", views.SeriesListView.as_view(), name="series_list"),
    path("administracja/ksiegowosc/konfiguracja/", views.SeriesSetupView.as_view(), name="series_setup"),
    path("administracja/ksiegowosc/dodaj/", views.SeriesFormView.as_view(), name="series_create"),
    path("administracja/ksiegowosc/podglad-numeru/", views.NumberPreviewView.as_view(), name="number_preview"),
    path("administracja/ksiegowosc/<int:pk>/", views.SeriesFormView.as_view(), name="series_edit"),
    path("administracja/ksiegowosc/<int:pk>/usun/", views.SeriesDeleteView.as_view(), name="series_delete"),
    path("zamowienia/<int:order_pk>/dokument/", views.DocumentIssueView.as_view(), name="document_issue"),
    path("ksiegowosc/dokumenty/", views.DocumentListView.as_view(), name="document_list"),
    path("ksiegowosc/dokumenty/zip/", views.DocumentZipView.as_view(), name="document_zip"),
    path("ksiegowosc/dokumenty/rejestr.csv", views.DocumentRegisterView.as_view(), name="document_register"),
    path("ksiegowosc/dokumenty/<int:pk>/", views.DocumentDetailView.as_view(), name="document_detail"),
    path("ksiegowosc/dokumenty/<int:pk>/pdf/", views.DocumentPdfView.as_view(), name="document_pdf"),
    path("ksiegowosc/dokumenty/<int:pk>/ksef.xml", views.DocumentKsefView.as_view(), name="document_ksef"),
    path(
        "ksiegowosc/dokumenty/<int:pk>/ksef/wyslij/",
        ksef_views.DocumentKsefSendView.as_view(),
        name="document_ksef_send",
    ),
    path(
        "ksiegowosc/dokumenty/<int:pk>/ksef/upo.xml", ksef_views.DocumentKsefUpoView.as_view(), name="document_ksef_upo"
    ),
    path("ksiegowosc/dokumenty/ksef-zip/", views.DocumentKsefZipView.as_view(), name="document_ksef_zip"),
    path("ksiegowosc/dokumenty/<int:pk>/wyslij/", email_views.DocumentSendView.as_view(), name="document_send"),
    path(
        "ksiegowosc/dokumenty/<int:pk>/wyslij-ponownie/",
        email_views.DocumentSendAgainView.as_view(),
        name="document_send_again",
    ),
    path("ksiegowosc/dokumenty/<int:pk>/stan/", views.DocumentStateView.as_view(), name="document_state"),
    path("ksiegowosc/dokumenty/<int:pk>/ponow/", views.DocumentRetrySyncView.as_view(), name="document_retry"),
    path("ksiegowosc/dokumenty/<int:pk>/anuluj/", views.DocumentCancelView.as_view(), name="document_cancel"),
    path("ksiegowosc/dokumenty/<int:pk>/koryguj/", views.DocumentCorrectView.as_view(), name="document_correct"),
]
