"""Issue 12 point 7, the fuzzer's findings as plain tests: each request here used to give a 500 or a field name
the client never sent."""

import pytest

from automation.models import AutomaticTask
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SERIES = {
    "kind": "invoice",
    "name": "Faktury API",
    "number_format": "API/{nr}/{mm}/{rrrr}",
    "seller": {
        "company_name": "Sklep Bursztyn Sp. z o.o.",
        "nip": "5260250274",
        "street": "ul. Długa 5",
        "post_code": "80-831",
        "city": "Gdańsk",
    },
    "bank": {"bank_name": "Santander", "account_number": "PL61109010140000071219812874", "swift": "WBKPPLPP"},
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/orders/null,null/"),
        ("patch", "/api/orders/1.5/"),
        ("post", "/api/orders/abc/status/"),
        ("get", "/api/automatic-tasks/null/"),
        ("patch", "/api/automatic-tasks/x/"),
        ("delete", "/api/automatic-tasks/-1/"),
        ("get", "/api/automatic-tasks/%00/runs/"),
        ("get", "/api/documents/ab/"),
        ("post", "/api/documents/1e3/cancel/"),
        ("get", "/api/series/true/"),
        ("get", "/api/printers/[]/"),
        ("get", "/api/integrations/{}/"),
    ],
)
def test_a_non_integer_id_in_the_path_is_a_404(admin_api, method, path):
    response = getattr(admin_api, method)(path, {}, format="json")
    assert response.status_code == 404


def test_multipart_on_a_json_endpoint_is_a_415(admin_api):
    response = admin_api.post(
        "/api/automatic-tasks/", {"name": "Zadanie", "event": "x", "actions": "y"}, format="multipart"
    )
    assert response.status_code == 415
    response = admin_api.post("/api/orders/", {"channel": "shop"}, format="multipart")
    assert response.status_code == 415
    assert not AutomaticTask.objects.exists()


def test_a_task_body_of_the_wrong_shape_is_a_400_naming_the_field(admin_api):
    response = admin_api.post(
        "/api/automatic-tasks/",
        {"name": "Zadanie", "event": [[]], "actions": {"a": None}},
        format="json",
    )
    assert response.status_code == 400
    assert {"event", "actions"} <= set(response.json())
    task = admin_api.post(
        "/api/automatic-tasks/",
        {"name": "Notatka", "event": {"type": "order_created"}, "actions": [{"type": "add_note", "note": "Hej"}]},
        format="json",
    )
    assert task.status_code == 201, task.json()
    response = admin_api.patch(f"/api/automatic-tasks/{task.json()['id']}/", [1, 2], format="json")
    assert response.status_code == 400


def test_a_bad_bank_account_is_named_by_the_path_the_client_sent(admin_api):
    body = {**SERIES, "bank": {**SERIES["bank"], "account_number": "PL00123"}}
    response = admin_api.post("/api/series/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "bank_account" not in errors
    assert errors["bank"]["account_number"], errors


def test_a_bad_seller_nip_is_named_by_the_path_the_client_sent(admin_api):
    body = {**SERIES, "seller": {**SERIES["seller"], "nip": "5260250275"}}
    response = admin_api.post("/api/series/", body, format="json")
    assert response.status_code == 400
    assert "seller_nip" not in response.json() and response.json()["seller"]["nip"]


def test_schema_documents_the_task_shapes_and_blank_emails(admin_api):
    schema = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    action = components["ActionRequest"]["properties"]
    assert "add_note" in str(components) and "type" in action and "printer" in action
    assert components["ConditionRequest"]["required"] == ["field", "op", "value"]
    seller_email = components["Seller"]["properties"]["email"]
    assert "anyOf" in seller_email


def test_an_order_id_that_exists_still_resolves(admin_api):
    order = OrderFactory()
    assert admin_api.get(f"/api/orders/{order.pk}/").status_code == 200


def test_an_order_too_large_for_the_books_is_a_400_not_a_500(admin_api):
    body = {
        "channel": "shop",
        "ordered_at": "2026-11-30T10:00:00Z",
        "items": [{"name": "Sztabka", "quantity": "97347.06", "unit_price_gross": "2390645731", "vat_rate": "5"}],
    }
    response = admin_api.post("/api/orders/", body, format="json")
    assert response.status_code == 400 and "za duża" in response.json()["items"][0]
