"""Contract tests: the exact requests we send to inFakt, and how its answers are read (responses)."""

import json
import logging
from datetime import date
from decimal import Decimal

import pytest
import responses

from integrations.infakt.client import InfaktClient
from integrations.infakt.provider import InfaktProvider, correction_body, invoice_body
from integrations.providers import (
    InvoiceLine,
    InvoicePayload,
    Party,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
)

BASE = "https://api.sandbox-infakt.pl/api/v3"
KEY = "secret-key-abcd1234"


def payload(**overrides):
    data = dict(
        reference="D7",
        order_number="AL2611000017",
        issue_date=date(2026, 11, 25),
        sale_date=date(2026, 11, 20),
        due_date=date(2026, 12, 2),
        payment_method="transfer",
        currency="PLN",
        buyer=Party(
            company_name="Żółw Sp. z o.o.",
            name="Żółw Sp. z o.o.",
            nip="5252344078",
            street="ul. Świętokrzyska 12/4",
            post_code="00-916",
            city="Warszawa",
            country="PL",
            email="l.zoltowski@example.pl",
        ),
        lines=[
            InvoiceLine(
                name="Kubek ceramiczny",
                unit="szt.",
                quantity=Decimal("2.000"),
                vat_rate="23",
                gross_total=Decimal("99.98"),
                unit_price_gross=Decimal("49.99"),
            ),
            InvoiceLine(
                name="Kurier InPost",
                unit="usł.",
                quantity=Decimal("1"),
                vat_rate="23",
                gross_total=Decimal("14.99"),
                unit_price_gross=Decimal("14.99"),
            ),
        ],
        total_gross=Decimal("114.97"),
        bank_account="PL61109010140000071219812874",
        bank_name="Santander",
        swift="WBKPPLPP",
    )
    data.update(overrides)
    return InvoicePayload(**data)


def test_invoice_body_sends_integer_grosze_gross_line_totals_and_currency():
    body = invoice_body(payload())
    invoice = body["invoice"]
    assert body["send_to_ksef"] is False
    assert invoice["currency"] == "PLN"
    assert [(s["name"], s["gross_price"], s["quantity"], s["tax_symbol"]) for s in invoice["services"]] == [
        ("Kubek ceramiczny", 9998, 2.0, "23"),
        ("Kurier InPost", 1499, 1.0, "23"),
    ]
    assert all(isinstance(s["gross_price"], int) for s in invoice["services"])
    assert "unit_net_price" not in invoice["services"][0] and "net_price" not in invoice["services"][0]
    assert invoice["client_company_name"] == "Żółw Sp. z o.o." and invoice["client_tax_code"] == "5252344078"
    assert invoice["client_post_code"] == "00-916" and "client_postal_code" not in invoice
    assert invoice["payment_method"] == "transfer" and invoice["bank_account"] == "PL61109010140000071219812874"
    assert invoice["invoice_date"] == "2026-11-25" and invoice["sale_date"] == "2026-11-20"
    assert invoice["transaction_terms"]["orders"][0]["number"] == "AL2611000017"
    assert "[ref D7]" in invoice["notes"]


def test_private_buyer_is_sent_with_first_and_last_name():
    invoice = invoice_body(
        payload(
            buyer=Party(
                company_name="",
                name="Zofia Wiśniewska",
                nip="",
                street="ul. A 1",
                post_code="00-001",
                city="Kraków",
                country="PL",
            )
        )
    )["invoice"]
    assert (invoice["client_first_name"], invoice["client_last_name"]) == ("Zofia", "Wiśniewska")
    assert invoice["client_business_activity_kind"] == "private_person" and "client_tax_code" not in invoice


def test_foreign_currency_sends_exchange_date_kind():
    assert invoice_body(payload(currency="EUR"))["invoice"]["vat_exchange_date_kind"] == "vat"


def test_correction_body_has_before_after_pairs_and_the_corrected_invoice():
    lines = [
        InvoiceLine(
            name="Kubek",
            unit="szt.",
            quantity=Decimal(1),
            vat_rate="23",
            gross_total=Decimal("49.99"),
            unit_price_gross=Decimal("49.99"),
            quantity_before=Decimal(2),
            gross_total_before=Decimal("99.98"),
        )
    ]
    body = correction_body(
        payload(
            lines=lines,
            corrected_number="1/11/2026",
            corrected_date=date(2026, 11, 25),
            corrected_uuid="uuid-1",
            correction_reason="mistake",
            correction_reason_text="Błędna ilość",
            client_id=206667,
        )
    )
    corrective = body["corrective_invoice"]
    assert "invoice" not in body
    assert (
        corrective["corrected_invoice_number"],
        corrective["corrected_invoice_date"],
        corrective["corrected_invoice_uuid"],
        corrective["correction_reason"],
    ) == ("1/11/2026", "2026-11-25", "uuid-1", "mistake")
    assert corrective["client_id"] == 206667
    assert "Przyczyna korekty: Błędna ilość" in corrective["notes"] and "[ref D7]" in corrective["notes"]
    assert corrective["services"] == [
        {
            "name": "Kubek",
            "tax_symbol": "23",
            "unit": "szt.",
            "group": "1",
            "quantity": 2.0,
            "correction": False,
            "unit_net_price": 4064,
            "gross_price": 9998,
        },
        {
            "name": "Kubek",
            "tax_symbol": "23",
            "unit": "szt.",
            "group": "1",
            "quantity": 1.0,
            "correction": True,
            "unit_net_price": 4064,
            "gross_price": 4999,
        },
    ]


@responses.activate
def test_create_posts_to_the_async_endpoint_with_the_key_header_and_returns_the_task_reference():
    responses.post(
        f"{BASE}/async/invoices.json",
        status=201,
        json={"invoice_task_reference_number": "ref-1", "processing_code": 100, "invoice_kind": "invoice"},
    )
    reference = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t1").create(payload())
    call = responses.calls[0]
    assert reference == "ref-1"
    assert call.request.headers["X-inFakt-ApiKey"] == KEY
    assert json.loads(call.request.body)["invoice"]["services"][0]["gross_price"] == 9998


@responses.activate
def test_corrections_use_the_corrective_endpoints():
    responses.post(f"{BASE}/async/corrective_invoices.json", status=201, json={"invoice_task_reference_number": "r"})
    responses.get(f"{BASE}/async/corrective_invoices/status/r.json", json={"processing_code": 201, "invoice_uuid": "u"})
    responses.get(
        f"{BASE}/corrective_invoices/u.json",
        json={"uuid": "u", "id": 5, "number": "1/KOR/11/2026", "gross_price": -4999},
    )
    provider = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t2")
    lines = [
        InvoiceLine(
            name="K",
            unit="szt.",
            quantity=Decimal(1),
            vat_rate="23",
            gross_total=Decimal("1.00"),
            unit_price_gross=Decimal("1.00"),
            quantity_before=Decimal(2),
            gross_total_before=Decimal(2),
        )
    ]
    reference = provider.create(
        payload(
            lines=lines,
            corrected_uuid="x",
            corrected_number="1/11/2026",
            corrected_date=date(2026, 11, 25),
            client_id=5,
        ),
        correction=True,
    )
    assert provider.task_status(reference, correction=True).external_uuid == "u"
    external = provider.get("u", correction=True)
    assert (external.number, external.gross_total) == ("1/KOR/11/2026", Decimal("-49.99"))


@responses.activate
def test_only_code_201_with_uuid_is_success_and_422_carries_field_errors():
    responses.get(f"{BASE}/async/invoices/status/a.json", json={"processing_code": 140, "invoice_kind": "invoice"})
    responses.get(
        f"{BASE}/async/invoices/status/b.json",
        json={
            "processing_code": 422,
            "invoice_errors": {"payment_method": ["Proszę wybrać odpowiedni sposób płatności."]},
        },
    )
    provider = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t3")
    assert provider.task_status("a").done is False
    with pytest.raises(ProviderRejected) as err:
        provider.task_status("b")
    assert err.value.errors == {"payment_method": ["Proszę wybrać odpowiedni sposób płatności."]}
    assert "Proszę wybrać odpowiedni sposób płatności." in err.value.message


@responses.activate
@pytest.mark.parametrize(
    ("status", "error", "in_doubt"),
    [
        (401, ProviderAuthError, None),
        (402, ProviderAuthError, None),
        (403, ProviderAuthError, None),
        (429, ProviderUnavailable, False),
        (503, ProviderUnavailable, False),
        (500, ProviderUnavailable, True),
        (422, ProviderRejected, None),
    ],
)
def test_http_errors_map_to_typed_errors(status, error, in_doubt):
    responses.post(
        f"{BASE}/async/invoices.json",
        status=status,
        json={"errors": {"services": ["zła pozycja"]}},
        headers={"Retry-After": "7"} if status == 429 else {},
    )
    with pytest.raises(error) as err:
        InfaktClient(base_url=BASE, api_key=KEY, limiter_key=f"t-{status}").post("/async/invoices.json", {})
    if in_doubt is not None:
        assert err.value.in_doubt is in_doubt
    if status == 429:
        assert err.value.retry_after == 7
    if status == 401:
        assert "klucz API" in err.value.message


@responses.activate
def test_pdf_is_read_as_raw_bytes_with_document_type_original():
    responses.get(f"{BASE}/invoices/u/pdf.json", body=b"%PDF-1.4 fake", content_type="application/pdf")
    content = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t4").pdf("u")
    assert content == b"%PDF-1.4 fake"
    assert "document_type=original" in responses.calls[0].request.url


@responses.activate
def test_find_pages_by_total_count_and_matches_our_reference():
    entities = [
        {"uuid": f"u{i}", "id": i, "number": f"{i}/11/2026", "gross_price": 11497, "notes": f"[ref D{i}]"}
        for i in range(1, 4)
    ]
    responses.get(
        f"{BASE}/invoices.json",
        json={"metainfo": {"count": 10, "total_count": 3, "next": "x"}, "entities": entities[:2]},
    )
    responses.get(
        f"{BASE}/invoices.json",
        json={"metainfo": {"count": 10, "total_count": 3, "next": "x"}, "entities": entities[2:]},
    )
    found = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t5").find(payload(reference="D3"))
    assert found.uuid == "u3" and len(responses.calls) == 2
    url = responses.calls[0].request.url
    assert "q%5Binvoice_date_gteq%5D=2026-11-25" in url and "q%5Binvoice_date_lteq%5D=2026-11-26" in url


@responses.activate
def test_the_api_key_never_reaches_the_logs(caplog):
    responses.get(f"{BASE}/clients.json", json={"entities": []})
    with caplog.at_level(logging.DEBUG):
        InfaktClient(base_url=BASE, api_key=KEY, limiter_key="t6").get("/clients.json", limit=1)
    assert KEY not in caplog.text and KEY[-4:] not in caplog.text


def test_exemption_basis_written_on_the_document_maps_to_infakts_id():
    from integrations.infakt.fake import VAT_EXEMPTIONS
    from integrations.infakt.provider import exemption_id

    assert exemption_id("art. 113 ust. 1 i 9 ustawy o VAT", VAT_EXEMPTIONS) == 1
    assert exemption_id("Art. 43 ust. 1 pkt 29 lit. a ustawy o podatku od towarów i usług", VAT_EXEMPTIONS) == 29
    assert exemption_id("art. 43 ust. 1 pkt 2", VAT_EXEMPTIONS) == 3  # not pkt 29 or 19
    assert exemption_id("37", VAT_EXEMPTIONS) == 37
    assert exemption_id("art. 999", VAT_EXEMPTIONS) is None


def test_zw_lines_send_the_exemption_id_and_an_invoice_to_a_receipt_sends_not_income():
    line = InvoiceLine(
        name="Kurs",
        unit="usł.",
        quantity=Decimal(1),
        vat_rate="zw",
        gross_total=Decimal(500),
        unit_price_gross=Decimal(500),
    )
    invoice = invoice_body(payload(lines=[line], vat_exemption_reason=29, receipt_number="PAR/3/11/2026"))["invoice"]
    assert invoice["vat_exemption_reason"] == 29
    assert (invoice["receipt_number"], invoice["not_income"]) == ("PAR/3/11/2026", True)
    plain = invoice_body(payload())["invoice"]
    assert "vat_exemption_reason" not in plain and "receipt_number" not in plain and "not_income" not in plain
    with pytest.raises(ProviderRejected) as err:
        invoice_body(payload(lines=[line]))
    assert "podstawy zwolnienia" in err.value.message


def test_correction_without_a_client_is_never_sent():
    with pytest.raises(ProviderRejected) as err:
        correction_body(payload(corrected_uuid="u", corrected_number="1/11/2026", corrected_date=date(2026, 11, 25)))
    assert err.value.errors == {"client_id": ["client_id required"]}


@responses.activate
def test_a_correction_takes_the_client_id_of_the_corrected_invoice():
    responses.get(f"{BASE}/invoices/orig.json", json={"uuid": "orig", "client_id": 206667})
    provider = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t7")
    prepared = provider.prepare(payload(corrected_uuid="orig"), correction=True)
    assert prepared.client_id == 206667


@responses.activate
def test_a_correction_finds_or_creates_the_client_when_the_original_has_none():
    responses.get(f"{BASE}/invoices/orig.json", json={"uuid": "orig"})
    responses.get(f"{BASE}/clients.json", json={"metainfo": {"total_count": 0}, "entities": []})
    responses.post(f"{BASE}/clients.json", status=201, json={"id": 77})
    provider = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t8")
    assert provider.prepare(payload(corrected_uuid="orig"), correction=True).client_id == 77
    assert "q%5Bclean_nip_eq%5D=5252344078" in responses.calls[1].request.url
    sent = json.loads(responses.calls[2].request.body)["client"]
    assert (sent["nip"], sent["postal_code"], sent["country"]) == ("5252344078", "00-916", "PL")


@responses.activate
def test_an_unknown_task_reference_is_unknown_not_failed():
    responses.get(f"{BASE}/async/invoices/status/gone.json", status=404, json={"error": "Nie znaleziono."})
    status = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t9").task_status("gone")
    assert status.unknown and not status.done


@responses.activate
def test_read_back_vat_per_rate_from_infakts_lines():
    responses.get(
        f"{BASE}/invoices/u.json",
        json={
            "uuid": "u",
            "number": "1/11/2026",
            "gross_price": 2997,
            "tax_price": 561,
            "services": [{"tax_symbol": "23", "tax_price": 187}] * 3,
        },
    )
    external = InfaktProvider(base_url=BASE, api_key=KEY, limiter_key="t10").get("u")
    assert external.vat_by_rate == {"23": Decimal("5.61")} and external.vat_total == Decimal("5.61")


def test_the_fake_lists_an_invoice_only_once_its_task_is_processed():
    from integrations.infakt.fake import FakeInfakt

    now = [1000.0]
    fake = FakeInfakt(processing_seconds=30, clock=lambda: now[0])
    body = invoice_body(payload())["invoice"]
    reference = fake.create(body, correction=False)["invoice_task_reference_number"]
    assert fake.status(reference)["processing_code"] in (120, 140)
    assert [inv for inv in fake.invoices.values() if inv["_visible"]] == []
    now[0] += 31
    fake.process_due()
    assert fake.status(reference)["processing_code"] == 201
    assert [inv["number"] for inv in fake.invoices.values() if inv["_visible"]] == ["1/11/2026"]
