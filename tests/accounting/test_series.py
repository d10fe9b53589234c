import pytest
from django.urls import reverse

from accounting import services
from accounting.models import DocumentSeries
from apilo.errors import ApplicationError
from tests.factories import SELLER, OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def series_data(**overrides):
    data = {
        "kind": "invoice",
        "name": "Faktury Allegro",
        "number_format": "FA/{nr}/{mm}/{rrrr}",
        "reset": "monthly",
        **SELLER,
    }
    data.update(overrides)
    return data


def test_setup_creates_the_four_default_series_with_seller_and_bank():
    created = services.series_setup_defaults(seller=SELLER)

    assert sorted(s.name for s in created) == [
        "Faktura (domyślnie)",
        "Faktura korygująca (domyślnie)",
        "Faktura pro forma (domyślnie)",
        "Paragon (domyślnie)",
    ]
    assert all(s.is_default and s.seller_nip == "5260250274" and s.bank_swift == "WBKPPLPP" for s in created)
    with pytest.raises(ApplicationError):
        services.series_setup_defaults(seller=SELLER)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"seller_nip": "5260250275"}, "seller_nip", "Nieprawidłowy NIP"),
        ({"bank_account": "PL61109010140000071219812875"}, "bank_account", "Nieprawidłowy numer konta"),
        ({"bank_swift": "WB-KP"}, "bank_swift", "SWIFT"),
        ({"number_format": "FA/{mm}/{rrrr}"}, "number_format", "{nr}"),
        ({"number_format": "FA/{nr}/{rrrr}"}, "number_format", "{mm}"),
        ({"number_format": "FA/{nr}", "reset": "yearly"}, "number_format", "{rrrr}"),
        ({"number_format": "FA/{nr}/{xx}"}, "number_format", "Nieznany znacznik"),
    ],
)
def test_bad_series_is_refused_with_the_field_and_a_polish_reason(overrides, field, message):
    with pytest.raises(ApplicationError) as err:
        services.series_save(data=series_data(**overrides))
    assert err.value.field == field
    assert message in err.value.message
    assert DocumentSeries.objects.count() == 0


def test_account_number_is_accepted_as_26_digits_with_spaces():
    series = services.series_save(data=series_data(bank_account="61 1090 1014 0000 0712 1981 2874"))
    assert series.bank_account == "PL61109010140000071219812874"


def test_two_series_cannot_share_a_number_format():
    services.series_save(data=series_data())
    with pytest.raises(ApplicationError) as err:
        services.series_save(data=series_data(name="Druga"))
    assert "używa już formatu" in err.value.message


def test_only_one_default_series_per_kind():
    first = services.series_save(data=series_data(is_default=True))
    second = services.series_save(data=series_data(name="B", number_format="FB/{nr}/{mm}/{rrrr}", is_default=True))
    first.refresh_from_db()
    assert second.is_default and not first.is_default


def test_series_with_documents_can_be_deactivated_not_deleted(staff_user):
    series = SeriesFactory()
    services.document_issue(order=OrderFactory(), series=series, actor=staff_user)
    with pytest.raises(ApplicationError):
        services.series_delete(series=series)
    services.series_save(data={"active": False}, series=series)
    series.refresh_from_db()
    assert not series.active


def test_unused_series_can_be_deleted():
    series = SeriesFactory()
    services.series_delete(series=series)
    assert not DocumentSeries.objects.exists()


def test_empty_state_offers_start_of_configuration(admin_client):
    page = admin_client.get(reverse("accounting:series_list")).content.decode()
    assert "Rozpocznij konfigurację" in page


def test_admin_starts_configuration_through_the_page(admin_client):
    form = {k: v for k, v in SELLER.items()}
    form.update({"seller_country": "PL", "payment_term_days": "14"})
    response = admin_client.post(reverse("accounting:series_setup"), form, follow=True)
    page = response.content.decode()
    assert "Utworzono domyślne serie" in page
    assert "Faktura korygująca (domyślnie)" in page and "Dodaj" in page
    assert DocumentSeries.objects.get(kind="invoice").payment_term_days == 14


def test_setup_form_with_bad_nip_shows_error(admin_client):
    form = {**SELLER, "seller_nip": "123", "seller_country": "PL", "payment_term_days": "7"}
    response = admin_client.post(reverse("accounting:series_setup"), form)
    assert response.status_code == 400
    assert "Nieprawidłowy NIP" in response.content.decode()
    assert not DocumentSeries.objects.exists()


def test_number_preview_shows_the_next_number(admin_client):
    from django.utils import timezone

    today = timezone.localdate()
    response = admin_client.get(
        reverse("accounting:number_preview"),
        {"number_format": "FV/{nr}/{mm}/{rrrr}", "reset": "monthly", "start_number": "5"},
    )
    assert response.json() == {"ok": True, "number": f"FV/5/{today:%m}/{today:%Y}"}
    bad = admin_client.get(reverse("accounting:number_preview"), {"number_format": "FV", "reset": "never"}).json()
    assert bad["ok"] is False and "{nr}" in bad["message"]


def test_staff_cannot_configure_series(staff_client):
    assert staff_client.get(reverse("accounting:series_list")).status_code == 403
