import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent
from tests.factories import OrderFactory, status

pytestmark = pytest.mark.django_db


def test_order_list_shows_status_tabs_with_counts(staff_client):
    OrderFactory()
    OrderFactory()
    sent = OrderFactory()
    sent.status = status("Wysłane")
    sent.save()

    page = staff_client.get(reverse("orders:list")).content.decode()

    assert 'Wszystkie <span class="count">3</span>' in page
    assert 'Nowy <span class="count">2</span>' in page
    assert 'Wysłane <span class="count">1</span>' in page


@pytest.mark.django_db(transaction=True)
def test_tab_counts_follow_a_status_change_at_once(staff_client):
    order = OrderFactory()
    before = staff_client.get(reverse("orders:list")).content.decode()
    assert 'Nowy <span class="count">1</span>' in before
    staff_client.post(reverse("orders:set_status", args=[order.pk]), {"status": status("Wysłane").pk})
    after = staff_client.get(reverse("orders:list")).content.decode()
    assert 'Nowy <span class="count">0</span>' in after
    assert 'Wysłane <span class="count">1</span>' in after


def test_order_list_search_by_nip_email_and_external_id(staff_client):
    OrderFactory(invoice_nip="5252344078", invoice_company_name="Żółw Sp. z o.o.", external_id="ALG-1")
    OrderFactory(customer_email="inny@example.pl", external_id="ALG-2")

    by_nip = staff_client.get(reverse("orders:list"), {"q": "525-234-40-78"}).content.decode()
    by_email = staff_client.get(reverse("orders:list"), {"q": "inny@"}).content.decode()
    by_external = staff_client.get(reverse("orders:list"), {"q": "ALG-2"}).content.decode()

    assert "Żółw Sp. z o.o." in by_nip and "inny@" not in by_nip
    assert by_email.count("row-check") == 1
    assert by_external.count("row-check") == 1


def test_order_list_paginates(staff_client):
    for _ in range(55):
        OrderFactory()
    first = staff_client.get(reverse("orders:list")).content.decode()
    second = staff_client.get(reverse("orders:list"), {"page": 2}).content.decode()
    assert first.count('class="row-check"') == 50
    assert second.count('class="row-check"') == 5
    assert "Strona 1 z 2" in first


def test_empty_order_list_says_so(staff_client):
    page = staff_client.get(reverse("orders:list"), {"q": "nie-ma-takiego"}).content.decode()
    assert "Brak zamówień spełniających kryteria." in page


def test_bulk_status_change_of_selected_orders(staff_client):
    orders = [OrderFactory() for _ in range(3)]
    response = staff_client.post(
        reverse("orders:bulk_status"),
        {
            "ids": f"{orders[0].pk},{orders[1].pk}",
            "status": status("Wysłane").pk,
            "query": "",
        },
        follow=True,
    )
    assert "Zmieniono status 2 zamówień" in response.content.decode()
    assert Order.objects.filter(status__name="Wysłane").count() == 2


def test_bulk_status_change_of_all_orders_matching_the_filter(staff_client):
    for _ in range(3):
        OrderFactory(channel="amazon")
    OrderFactory(channel="allegro")
    staff_client.post(
        reverse("orders:bulk_status"),
        {
            "select_all": "1",
            "status": status("Zakończone").pk,
            "query": "channel=amazon",
        },
    )
    assert Order.objects.filter(status__name="Zakończone").count() == 3
    assert OrderEvent.objects.filter(kind="status_changed").count() == 3


def test_bulk_status_change_without_selection_explains(staff_client):
    response = staff_client.post(reverse("orders:bulk_status"), {"status": status("Wysłane").pk}, follow=True)
    assert "Zaznacz co najmniej jedno zamówienie." in response.content.decode()


def test_order_card_shows_items_totals_addresses_and_history(staff_client, staff_user):
    order = OrderFactory(invoice_company_name="Żółw Sp. z o.o.", invoice_nip="5252344078")
    staff_client.post(reverse("orders:set_status", args=[order.pk]), {"status": status("W realizacji").pk})

    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert "Kubek ceramiczny" in page and "99,98" in page
    assert "114,97 PLN" in page
    assert "NIP: 5252344078" in page
    assert "Nowy → W realizacji" in page
    assert "Jan Kowalski" in page  # who changed it


def test_order_card_of_an_order_created_by_a_channel_shows_system_as_actor(staff_client):
    from orders import services

    order, _ = services.order_create(
        fields={"channel": "allegro", "external_id": "X-1", "ordered_at": "2026-11-20T10:15:00+01:00"},
        items=[{"name": "Miód", "quantity": 1, "unit_price_gross": "20.00", "vat_rate": "5"}],
    )
    page = staff_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Utworzono zamówienie" in page and "system" in page


def test_manual_order_form_creates_an_order(staff_client):
    data = {
        "channel": "manual",
        "external_id": "",
        "ordered_at": "2026-11-20T10:15",
        "currency": "PLN",
        "payment_method": "cash",
        "payment_status": "paid",
        "amount_paid": "20.00",
        "customer_name": "Ewa Mazur",
        "invoice_country": "PL",
        "delivery_country": "PL",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-kind": "product",
        "items-0-name": "Miód",
        "items-0-quantity": "1",
        "items-0-unit": "szt.",
        "items-0-unit_price_gross": "20.00",
        "items-0-vat_rate": "5",
    }
    response = staff_client.post(reverse("orders:create"), data, follow=True)
    assert "Utworzono zamówienie" in response.content.decode()
    assert Order.objects.get().total_gross == 20


def test_manual_order_form_with_bad_nip_and_ean_shows_polish_errors_and_saves_nothing(staff_client):
    data = {
        "channel": "manual",
        "ordered_at": "2026-11-20T10:15",
        "currency": "PLN",
        "payment_method": "cash",
        "payment_status": "none",
        "amount_paid": "0",
        "invoice_nip": "1234567890",
        "invoice_country": "PL",
        "delivery_country": "PL",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-kind": "product",
        "items-0-name": "Miód",
        "items-0-quantity": "0",
        "items-0-unit": "szt.",
        "items-0-unit_price_gross": "20.00",
        "items-0-vat_rate": "5",
        "items-0-ean": "5901234123458",
    }
    response = staff_client.post(reverse("orders:create"), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nieprawidłowy NIP" in page
    assert "Nieprawidłowy kod EAN" in page
    assert "Ilość musi być większa od zera." in page
    assert Order.objects.count() == 0


def test_staff_cannot_open_administration_and_does_not_see_it_in_the_menu(staff_client):
    assert staff_client.get(reverse("orders:status_list")).status_code == 403
    assert staff_client.get(reverse("users:list")).status_code == 403
    page = staff_client.get(reverse("orders:list")).content.decode()
    assert "Statusy zamówień" not in page and "Administracja" not in page


def test_admin_sees_administration_in_the_menu(admin_client):
    page = admin_client.get(reverse("orders:list")).content.decode()
    assert "Statusy zamówień" in page and "Użytkownicy" in page


def test_user_without_role_gets_403_and_anonymous_goes_to_login(client, nobody_user):
    response = client.get(reverse("orders:list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(nobody_user)
    assert client.get(reverse("orders:list")).status_code == 403


def test_admin_adds_renames_and_deactivates_a_status(admin_client):
    admin_client.post(reverse("orders:status_list"), {"name": "Reklamacja", "colour": "#aa0000", "is_active": "on"})
    from orders.models import OrderStatus

    reklamacja = OrderStatus.objects.get(name="Reklamacja")
    admin_client.post(reverse("orders:status_edit", args=[reklamacja.pk]), {"name": "Zwrot", "colour": "#00aa00"})
    reklamacja.refresh_from_db()
    assert (reklamacja.name, reklamacja.colour, reklamacja.is_active) == ("Zwrot", "#00aa00", False)


def test_deleting_a_status_in_use_is_refused_with_a_message(admin_client):
    OrderFactory()
    response = admin_client.post(reverse("orders:status_delete", args=[status("Nowy").pk]), follow=True)
    assert "można go tylko dezaktywować" in response.content.decode()


def test_admin_creates_a_staff_user(admin_client):
    response = admin_client.post(
        reverse("users:create"),
        {
            "username": "magazyn",
            "role": "staff",
            "is_active": "on",
            "password": "Bardzo-Trudne-Haslo-2026",
        },
        follow=True,
    )
    assert "Dodano użytkownika magazyn" in response.content.decode()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="magazyn")
    assert list(user.groups.values_list("name", flat=True)) == ["Obsługa"]


def test_repeated_failed_logins_are_throttled(client, staff_user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert client.post(reverse("login"), {"username": staff_user.username, "password": "zle"}).status_code == 200
    blocked = client.post(reverse("login"), {"username": staff_user.username, "password": "haslo-testowe-123"})
    assert blocked.status_code == 429
    assert "Zbyt wiele nieudanych prób logowania" in blocked.content.decode()


def test_login_with_the_right_password_opens_orders(client, staff_user):
    response = client.post(reverse("login"), {"username": staff_user.username, "password": "haslo-testowe-123"})
    assert response.status_code == 302 and response["Location"] == reverse("orders:list")
