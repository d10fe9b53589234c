"""Administracja > KSeF and /api/ksef-connections/: token write-only, verified by authenticating, URL rules."""

import pytest

from integrations.ksef.client import _certificates
from integrations.models import KsefConnection

from .conftest import SELLER_NIP

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_certificates():
    _certificates.clear()


def _payload(fake_ksef, **extra):
    data = {
        "name": "Sklep Bursztyn — KSeF",
        "nip": "526-025-02-74",
        "environment": "custom",
        "base_url": fake_ksef.base_url,
        "qr_environment": "test",
        "token": fake_ksef.token_for(SELLER_NIP),
    }
    data.update(extra)
    return data


def test_an_admin_adds_a_connection_the_token_is_verified_encrypted_and_shown_only_as_last_four(
    admin_api, fake_ksef, ksef_settings
):
    token = fake_ksef.token_for(SELLER_NIP)
    response = admin_api.post("/api/ksef-connections/", _payload(fake_ksef), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "ok" and body["last_error"] == ""
    assert body["nip"] == SELLER_NIP and body["token_last4"] == token[-4:]
    assert "token" not in body and token not in response.content.decode()
    assert set(body) >= {"id", "name", "nip", "environment", "base_url", "token_last4", "send_automatically"}
    assert body["send_automatically"] is True
    stored = KsefConnection.objects.get()
    assert token not in stored.credentials_encrypted and stored.token == token
    assert stored.access_token_encrypted  # the tokens from the verification are cached, encrypted
    listed = admin_api.get("/api/ksef-connections/").json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert admin_api.post(f"/api/ksef-connections/{body['id']}/verify/").json()["state"] == "ok"


def test_a_wrong_token_is_saved_as_failing_with_a_polish_reason(admin_api, fake_ksef, ksef_settings):
    fake_ksef.token_for(SELLER_NIP)
    wrong = "20260101-EC-0000000000-0000000000-00|nip-5260250274|" + "a" * 64
    response = admin_api.post("/api/ksef-connections/", _payload(fake_ksef, token=wrong), format="json")
    assert response.status_code == 201
    assert response.json()["state"] == "failing"
    assert "token" in response.json()["last_error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nip": "1234567890"}, "nip"),
        ({"name": ""}, "name"),
        ({"environment": "custom", "base_url": "http://ksef.example.com"}, "base_url"),
        ({"token": ""}, "token"),
        ({"environment": "mars"}, "environment"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(admin_api, fake_ksef, ksef_settings, change, field):
    response = admin_api.post("/api/ksef-connections/", _payload(fake_ksef, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not KsefConnection.objects.exists()


def test_changing_the_address_requires_the_token_again(admin_api, fake_ksef, ksef_settings):
    created = admin_api.post("/api/ksef-connections/", _payload(fake_ksef), format="json").json()
    url = f"/api/ksef-connections/{created['id']}/"
    refused = admin_api.patch(url, {"environment": "test"}, format="json")
    assert refused.status_code == 400 and "token" in refused.json()
    assert KsefConnection.objects.get().environment == "custom"
    renamed = admin_api.patch(url, {"name": "Inna nazwa", "send_automatically": False}, format="json")
    assert renamed.status_code == 200 and renamed.json()["send_automatically"] is False
    production = admin_api.patch(
        url, {"environment": "production", "token": fake_ksef.token_for(SELLER_NIP)}, format="json"
    )
    assert production.status_code == 200
    assert production.json()["base_url"] == "https://api.ksef.mf.gov.pl"
    assert production.json()["state"] == "failing"  # no internet in tests: the real KSeF is unreachable


def test_one_connection_per_nip(admin_api, fake_ksef, ksef_settings):
    assert admin_api.post("/api/ksef-connections/", _payload(fake_ksef), format="json").status_code == 201
    again = admin_api.post("/api/ksef-connections/", _payload(fake_ksef, name="Druga"), format="json")
    assert again.status_code == 400 and "nip" in again.json()


def test_staff_and_strangers_cannot_see_connections(staff_api, anon_api, staff_client):
    assert staff_api.get("/api/ksef-connections/").status_code == 403
    assert anon_api.get("/api/ksef-connections/").status_code in (401, 403)
    assert staff_client.get("/administracja/ksef/").status_code == 403


def test_the_admin_page_lists_adds_and_verifies_connections(admin_client, fake_ksef, ksef_settings):
    page = admin_client.get("/administracja/ksef/")
    assert page.status_code == 200 and "Dodaj połączenie z KSeF" in page.content.decode()
    assert 'href="/administracja/ksef/"' in page.content.decode()  # menu entry
    form = admin_client.post(
        "/administracja/ksef/dodaj/", {**_payload(fake_ksef), "send_automatically": "on"}, follow=True
    )
    text = form.content.decode()
    assert "Uwierzytelnienie w KSeF działa" in text and "••••" in text
    assert fake_ksef.token_for(SELLER_NIP) not in text
    connection = KsefConnection.objects.get()
    bad = admin_client.post(f"/administracja/ksef/{connection.pk}/", {**_payload(fake_ksef), "nip": "123"})
    assert bad.status_code == 400 and "NIP" in bad.content.decode()
    verified = admin_client.post(f"/administracja/ksef/{connection.pk}/sprawdz/", follow=True)
    assert "Uwierzytelnienie w KSeF działa" in verified.content.decode()
