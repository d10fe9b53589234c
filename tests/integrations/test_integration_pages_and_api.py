import pytest
from django.urls import reverse

from accounting import services
from integrations.models import Integration
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_infakt_the_key_is_verified_encrypted_and_masked(admin_client, fake_infakt):
    response = admin_client.post(
        reverse("integrations:create"),
        {
            "name": "Moje inFakt",
            "api_key": fake_infakt.api_key,
            "environment": "custom",
            "custom_url": fake_infakt.base_url,
        },
        follow=True,
    )
    page = response.content.decode()
    integration = Integration.objects.get()
    assert "Połączenie działa" in page
    assert "Sklep Bursztyn Sp. z o.o." in page and "PL61109010140000071219812874" in page
    assert "••••9876" in page and fake_infakt.api_key not in page
    assert fake_infakt.api_key not in integration.credentials_encrypted
    assert integration.api_key == fake_infakt.api_key
    assert "Edycja, usunięcie lub anulowanie dokumentu w tej aplikacji nie zmienia go w inFakt" in page


def test_wrong_key_is_saved_as_failing_with_a_clear_message(admin_client, fake_infakt):
    response = admin_client.post(
        reverse("integrations:create"),
        {
            "name": "Złe inFakt",
            "api_key": "zly-klucz-12345678",
            "environment": "custom",
            "custom_url": fake_infakt.base_url,
        },
        follow=True,
    )
    assert "połączenie nie działa" in response.content.decode()
    assert "odrzucił klucz API (401)" in response.content.decode()
    assert Integration.objects.get().state == "failing"


def test_editing_without_a_key_keeps_the_stored_key(admin_client, infakt_integration, fake_infakt):
    admin_client.post(
        reverse("integrations:edit", args=[infakt_integration.pk]),
        {"name": "Nowa nazwa", "api_key": "", "environment": "custom", "custom_url": fake_infakt.base_url},
    )
    infakt_integration.refresh_from_db()
    assert infakt_integration.name == "Nowa nazwa" and infakt_integration.api_key == fake_infakt.api_key


def test_staff_cannot_open_konfiguracja_faktur(staff_client):
    assert staff_client.get(reverse("integrations:list")).status_code == 403


def test_linking_a_series_shows_every_mismatch_before_saving(admin_client, infakt_integration):
    series = SeriesFactory(
        seller_company_name="Inna Firma",
        seller_company_name_2="Oddział Gdańsk",
        bank_account="PL27114020040000300201355387",
    )
    url = reverse("accounting:series_edit", args=[series.pk])
    form = {
        f: getattr(series, f)
        for f in (
            "name",
            "number_format",
            "reset",
            "start_number",
            "seller_company_name",
            "seller_company_name_2",
            "seller_nip",
            "seller_street",
            "seller_post_code",
            "seller_city",
            "seller_country",
            "seller_email",
            "seller_phone",
            "bank_name",
            "bank_account",
            "bank_swift",
            "place_of_issue",
            "payment_term_days",
            "notes",
            "exemption_basis",
        )
    }
    form.update({"active": "on", "integration": infakt_integration.pk})
    page = admin_client.post(url, form).content.decode()
    assert "Nazwa firmy: w serii „Inna Firma”, w inFakt „Sklep Bursztyn Sp. z o.o.”" in page
    assert "nie występuje w inFakt" in page
    assert "Nazwa c.d." in page
    series.refresh_from_db()
    assert series.integration is None

    form["confirm_mismatch"] = "on"
    admin_client.post(url, form)
    series.refresh_from_db()
    assert series.integration == infakt_integration and series.external_numbering


def test_api_integrations_key_is_write_only(admin_api, fake_infakt):
    created = admin_api.post(
        "/api/integrations/",
        {"provider": "infakt", "name": "Moje inFakt", "api_key": fake_infakt.api_key, "base_url": fake_infakt.base_url},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "api_key" not in body and body["api_key_last4"] == "9876" and body["state"] == "ok"
    assert body["account_data"]["nip"] == "5260250274"
    assert fake_infakt.api_key not in created.content.decode()

    patched = admin_api.patch(f"/api/integrations/{body['id']}/", {"name": "inFakt główne"}, format="json")
    assert patched.json()["name"] == "inFakt główne"
    verified = admin_api.post(f"/api/integrations/{body['id']}/verify/")
    assert verified.status_code == 200 and verified.json()["state"] == "ok"


def test_api_integrations_are_for_admins_only(staff_api, infakt_integration):
    assert staff_api.get("/api/integrations/").status_code == 403


def test_api_links_a_series_and_the_document_json_has_external(
    admin_api, infakt_integration, fake_infakt, django_capture_on_commit_callbacks
):
    series = SeriesFactory()
    response = admin_api.patch(f"/api/series/{series.pk}/", {"integration": infakt_integration.pk}, format="json")
    assert response.status_code == 200 and response.json()["external_numbering"] is True
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        created = admin_api.post(f"/api/orders/{order.pk}/documents/", {"series": series.pk}, format="json")
    assert created.status_code == 201 and created.json()["state"] == "issuing"
    document = admin_api.get(f"/api/documents/{created.json()['id']}/").json()
    assert document["state"] == "issued"
    external = document["external"]
    assert (external["provider"], external["state"], external["last_error"]) == ("infakt", "synced", "")
    assert external["number"] == document["number"] and external["uuid"] in fake_infakt.invoices


def test_receipt_series_link_is_refused_in_the_api(admin_api, infakt_integration):
    series = SeriesFactory(kind="receipt", number_format="P/{nr}/{mm}/{rrrr}")
    response = admin_api.patch(f"/api/series/{series.pk}/", {"integration": infakt_integration.pk}, format="json")
    assert response.status_code == 400 and "paragon" in response.json()["integration"][0]


def test_failed_document_shows_infakt_errors_and_ponow(
    staff_client, infakt_integration, fake_infakt, django_capture_on_commit_callbacks
):
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    fake_infakt.validate = lambda data, correction: {"services.0.name": ["Nazwa jest wymagana."]}
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_issue(order=OrderFactory(), series=series)
    page = staff_client.get(reverse("accounting:document_detail", args=[document.pk])).content.decode()
    assert "Nie udało się wystawić dokumentu w inFakt" in page and "Nazwa jest wymagana." in page
    assert "Ponów" in page


def test_document_needing_attention_shows_the_check_hint_and_ponow_looks_before_creating(
    staff_client, infakt_integration, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.INFAKT_DOUBT_WINDOW_SECONDS = 0  # the window has passed at the first look
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    fake_infakt.faults = {"500": 1.0}
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_issue(order=OrderFactory(), series=series)
    fake_infakt.faults = {}
    document.refresh_from_db()
    assert document.state == "attention"
    page = staff_client.get(reverse("accounting:document_detail", args=[document.pk])).content.decode()
    assert "Wymaga uwagi" in page and "Sprawdź w inFakt, czy faktura powstała, i ponów." in page
    assert "Ponów" in page

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("accounting:document_retry", args=[document.pk]))
    document.refresh_from_db()
    assert document.state == "issued" and len(fake_infakt.invoices) == 1
    gets = [path for method, path in fake_infakt.requests if method == "GET" and path.endswith("/invoices.json")]
    assert gets  # looked it up before creating
