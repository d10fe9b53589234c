import copy

import pytest

from orders.models import Order, OrderEvent
from tests.factories import OrderFactory, status

pytestmark = pytest.mark.django_db

ORDER = {
    "channel": "allegro",
    "external_id": "ALG-5512345",
    "ordered_at": "2026-11-20T10:15:00+01:00",
    "currency": "PLN",
    "payment_method": "transfer",
    "payment_status": "paid",
    "amount_paid": "187.97",
    "wants_invoice": True,
    "customer": {"name": "Łukasz Żółtowski", "email": "l.zoltowski@example.pl", "phone": "+48 600 100 200"},
    "invoice_address": {
        "company_name": "Żółw Sp. z o.o.",
        "nip": "5252344078",
        "name": "Łukasz Żółtowski",
        "street": "ul. Świętokrzyska 12/4",
        "post_code": "00-916",
        "city": "Warszawa",
        "country": "PL",
    },
    "delivery_address": {
        "name": "Łukasz Żółtowski",
        "street": "ul. Świętokrzyska 12/4",
        "post_code": "00-916",
        "city": "Warszawa",
        "country": "PL",
    },
    "items": [
        {
            "kind": "product",
            "name": "Kubek ceramiczny",
            "sku": "KUB-01",
            "ean": "5901234123457",
            "quantity": "2",
            "unit": "szt.",
            "unit_price_gross": "49.99",
            "vat_rate": "23",
        },
        {"kind": "shipping", "name": "Kurier InPost", "quantity": "1", "unit_price_gross": "14.99", "vat_rate": "23"},
    ],
    "notes": "",
}


def test_posting_an_order_creates_it_and_returns_number_status_and_totals(staff_api):
    response = staff_api.post("/api/orders/", ORDER, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("AL")
    assert body["status"] == status("Nowy").pk
    assert body["total_gross"] == "114.97"
    assert body["amount_paid"] == "187.97"
    assert body["invoice_address"]["nip"] == "5252344078"
    assert body["customer"]["name"] == "Łukasz Żółtowski"
    assert body["items"][0]["quantity"] == "2.000" and body["items"][0]["gross"] == "99.98"
    assert {"id", "created_at", "updated_at"} <= set(body)


def test_posting_the_same_channel_order_again_returns_the_existing_one_with_200(staff_api):
    first = staff_api.post("/api/orders/", ORDER, format="json").json()
    again = staff_api.post("/api/orders/", ORDER, format="json")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("mutate", "error_path"),
    [
        (lambda o: o["invoice_address"].update(nip="5252344079"), ("invoice_address", "nip")),
        (lambda o: o["items"][0].update(ean="5901234123458"), ("items", 0, "ean")),
        (lambda o: o["items"][0].update(quantity="0"), ("items", 0, "quantity")),
        (lambda o: o["items"][0].update(unit_price_gross="-1.00"), ("items", 0, "unit_price_gross")),
        (lambda o: o["items"][0].update(unit_price_gross="1.999"), ("items", 0, "unit_price_gross")),
        (lambda o: o["items"][0].update(vat_rate="22"), ("items", 0, "vat_rate")),
        (lambda o: o.update(currency="ZŁ"), ("currency",)),
        (lambda o: o.update(items=[]), ("items",)),
        (lambda o: o.update(channel="sklep-x"), ("channel",)),
    ],
)
def test_bad_order_is_refused_naming_the_field_and_nothing_is_saved(staff_api, mutate, error_path):
    data = copy.deepcopy(ORDER)
    mutate(data)
    response = staff_api.post("/api/orders/", data, format="json")

    assert response.status_code == 400
    errors = response.json()
    for key in error_path:
        errors = errors[key]
    assert errors, response.json()
    assert Order.objects.count() == 0


def test_nip_error_is_in_polish(staff_api):
    data = copy.deepcopy(ORDER)
    data["invoice_address"]["nip"] = "1234567890"
    response = staff_api.post("/api/orders/", data, format="json")
    assert "Nieprawidłowy NIP" in response.json()["invoice_address"]["nip"][0]


def test_order_list_filters_by_status_channel_and_search(staff_api):
    OrderFactory(customer_name="Zofia Wiśniewska", channel="amazon")
    OrderFactory(customer_name="Paweł Nowak")
    sent = OrderFactory(customer_name="Anna Mazur")
    sent.status = status("Wysłane")
    sent.save()

    by_status = staff_api.get("/api/orders/", {"status": status("Wysłane").pk}).json()
    by_channel = staff_api.get("/api/orders/", {"channel": "amazon"}).json()
    by_search = staff_api.get("/api/orders/", {"q": "wiśniew"}).json()

    assert [o["customer"]["name"] for o in by_status["results"]] == ["Anna Mazur"]
    assert [o["customer"]["name"] for o in by_channel["results"]] == ["Zofia Wiśniewska"]
    assert [o["customer"]["name"] for o in by_search["results"]] == ["Zofia Wiśniewska"]
    assert by_status["count"] == 1


def test_get_one_order(staff_api):
    order = OrderFactory()
    body = staff_api.get(f"/api/orders/{order.pk}/").json()
    assert body["number"] == order.number and len(body["items"]) == 2


def test_patch_changes_notes_and_payment_but_not_items(staff_api):
    order = OrderFactory()
    response = staff_api.patch(
        f"/api/orders/{order.pk}/",
        {"notes": "Zadzwonić przed dostawą", "payment_status": "paid", "amount_paid": "114.97"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notes"] == "Zadzwonić przed dostawą"
    assert response.json()["payment_status"] == "paid"
    assert order.events.filter(kind="payment_status_changed").count() == 1


def test_patch_with_a_bad_nip_is_refused(staff_api):
    order = OrderFactory()
    response = staff_api.patch(f"/api/orders/{order.pk}/", {"invoice_address": {"nip": "111"}}, format="json")
    assert response.status_code == 400
    assert "nip" in response.json()["invoice_address"]


def test_status_endpoint_changes_status_and_records_event(staff_api, staff_user):
    order = OrderFactory()
    response = staff_api.post(f"/api/orders/{order.pk}/status/", {"status": status("Wysłane").pk}, format="json")

    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert response.json()["order"]["status_name"] == "Wysłane"
    event = OrderEvent.objects.get(order=order, kind="status_changed")
    assert event.actor == staff_user


def test_status_endpoint_refuses_unknown_status(staff_api):
    order = OrderFactory()
    response = staff_api.post(f"/api/orders/{order.pk}/status/", {"status": 99999}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()


def test_order_statuses_are_listed_in_tab_order(staff_api):
    body = staff_api.get("/api/order-statuses/").json()
    assert [s["name"] for s in body][:3] == ["Nowy", "Niepotwierdzone", "W realizacji"]


@pytest.mark.parametrize("url", ["/api/orders/", "/api/order-statuses/"])
def test_api_needs_a_token_and_a_role(anon_api, nobody_api, url):
    assert anon_api.get(url).status_code == 401
    assert nobody_api.get(url).status_code == 403


def test_api_with_no_role_cannot_create_orders(nobody_api):
    assert nobody_api.post("/api/orders/", ORDER, format="json").status_code == 403
    assert Order.objects.count() == 0


def test_openapi_schema_and_swagger_ui_are_served(staff_client):
    schema = staff_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/orders/{id}/status/" in schema.content
    docs = staff_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_drf_create_token_command_works(staff_user):
    from django.core.management import call_command

    call_command("drf_create_token", staff_user.username)
    from rest_framework.authtoken.models import Token

    assert Token.objects.filter(user=staff_user).exists()
