from datetime import date
from decimal import Decimal

import pytest
import time_machine

from accounting import services
from accounting.models import Document, NumberCounter
from apilo.errors import ApplicationError
from orders.models import OrderEvent
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

B2B = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}


def test_invoice_for_a_company_has_parties_lines_and_totals_per_rate(staff_user):
    order = OrderFactory(
        **B2B,
        items=[
            {"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("49.99"), "vat_rate": "23"},
            {"name": "Herbata", "quantity": Decimal(1), "unit_price_gross": Decimal("18.90"), "vat_rate": "5"},
            {
                "name": "Kurier",
                "kind": "shipping",
                "quantity": Decimal(1),
                "unit_price_gross": Decimal("14.99"),
                "vat_rate": "23",
            },
        ],
    )
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}", payment_term_days=14)

    with time_machine.travel(date(2026, 11, 25)):
        document = services.document_issue(order=order, series=series, actor=staff_user)

    assert document.number == "FV/1/11/2026"
    assert document.state == "issued"
    assert document.buyer["nip"] == "5252344078" and document.buyer["name"] == "Żółw Sp. z o.o."
    assert document.seller["nip"] == "5260250274"
    assert document.due_date == date(2026, 12, 9)
    assert document.vat_summary == [
        {"rate": "23", "net": "93.47", "vat": "21.50", "gross": "114.97"},
        {"rate": "5", "net": "18.00", "vat": "0.90", "gross": "18.90"},
    ]
    assert (document.total_net, document.total_vat, document.total_gross) == (
        Decimal("111.47"),
        Decimal("22.40"),
        Decimal("133.87"),
    )
    assert document.amount_in_words == "sto trzydzieści trzy złote, osiemdziesiąt siedem groszy"
    assert [line.name for line in document.lines.all()] == ["Kubek", "Herbata", "Kurier"]
    assert document.lines.get(name="Kubek").unit_price_net == Decimal("40.64")
    event = OrderEvent.objects.get(order=order, kind="document_issued")
    assert event.payload["number"] == "FV/1/11/2026"


def test_consumer_invoice_has_no_buyer_nip():
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    assert document.buyer["nip"] == "" and not document.buyer_is_company
    assert document.buyer["name"] == "Łukasz Żółtowski"


def test_second_click_returns_the_existing_document_and_consumes_no_number():
    order, series = OrderFactory(), SeriesFactory()
    first = services.document_issue(order=order, series=series)

    with pytest.raises(services.DocumentAlreadyIssued) as err:
        services.document_issue(order=order, series=series)

    assert err.value.document == first
    assert Document.objects.count() == 1
    assert NumberCounter.objects.get(series=series).last == 1


def test_another_document_needs_explicit_confirmation_and_is_recorded():
    order, series = OrderFactory(), SeriesFactory()
    services.document_issue(order=order, series=series)
    second = services.document_issue(order=order, series=series, additional=True)

    assert second.additional
    assert second.number.startswith(f"FV{series.number_format[2:4]}") or second.sequence == 2
    assert OrderEvent.objects.get(order=order, kind="document_issued", payload__additional=True)


def test_after_cancellation_a_new_document_can_be_issued_without_confirmation():
    order, series = OrderFactory(), SeriesFactory()
    first = services.document_issue(order=order, series=series)
    services.document_cancel(document=first, reason="Błędne dane nabywcy")
    second = services.document_issue(order=order, series=series)
    assert second.sequence == 2 and not second.additional


@pytest.mark.parametrize(
    ("order_kwargs", "items", "field"),
    [
        ({"invoice_company_name": "Firma bez NIP", "invoice_nip": ""}, None, "invoice_nip"),
        ({}, [], "items"),
    ],
)
def test_refusals_write_nothing_and_consume_no_number(order_kwargs, items, field):
    order = OrderFactory(**order_kwargs, items=items)
    series = SeriesFactory()
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=series)
    assert err.value.field == field
    assert Document.objects.count() == 0
    assert not NumberCounter.objects.filter(series=series, last__gt=0).exists()
    assert services.document_issue(order=OrderFactory(), series=series).sequence == 1


def test_order_with_invalid_buyer_nip_is_refused():
    order = OrderFactory(invoice_company_name="Zła Firma", invoice_nip="1234567890")
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=SeriesFactory())
    assert "nie ma prawidłowego NIP" in err.value.message


def test_company_without_nip_can_get_a_consumer_invoice_when_the_user_chooses_so():
    order = OrderFactory(invoice_company_name="Firma bez NIP", invoice_nip="", invoice_name="Jan Nowak")
    document = services.document_issue(order=order, series=SeriesFactory(), as_consumer=True)
    assert document.buyer["name"] == "Jan Nowak" and document.buyer["nip"] == ""


def test_order_item_with_zero_quantity_is_refused():
    order = OrderFactory()
    order.items.update(quantity=0)
    with pytest.raises(ApplicationError):
        services.document_issue(order=order, series=SeriesFactory())
    assert Document.objects.count() == 0


def test_series_without_seller_nip_cannot_issue():
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=OrderFactory(), series=SeriesFactory(seller_nip=""))
    assert "NIP sprzedawcy" in err.value.message


def test_exempt_rate_needs_the_exemption_basis_on_the_series():
    order = OrderFactory(
        items=[{"name": "Szkolenie", "quantity": Decimal(1), "unit_price_gross": Decimal("350"), "vat_rate": "zw"}]
    )
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=SeriesFactory(exemption_basis=""))
    assert "podstawę zwolnienia" in err.value.message
    document = services.document_issue(order=order, series=SeriesFactory())
    assert document.exemption_basis.startswith("art. 43")


def test_split_payment_for_company_over_15000_with_annex_15_item():
    big = [
        {
            "name": "Laptop",
            "quantity": Decimal(4),
            "unit_price_gross": Decimal("4299.00"),
            "vat_rate": "23",
            "annex15": True,
        }
    ]
    company = services.document_issue(order=OrderFactory(**B2B, items=big), series=SeriesFactory())
    consumer = services.document_issue(order=OrderFactory(items=big), series=SeriesFactory())
    small = services.document_issue(
        order=OrderFactory(**B2B, items=[{**big[0], "quantity": Decimal(3)}]), series=SeriesFactory()
    )
    assert company.split_payment and not consumer.split_payment and not small.split_payment


def test_foreign_currency_invoice_uses_nbp_rate_of_the_last_business_day_before_sale(fake_nbp):
    fake_nbp.publish("EUR", date(2026, 11, 20), "4.2512", "226/A/NBP/2026")  # Friday
    order = OrderFactory(
        currency="EUR",
        ordered_at="2026-11-23T10:00:00+01:00",
        items=[
            {"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("12.30"), "vat_rate": "23"},
        ],
    )
    with time_machine.travel(date(2026, 11, 24)):
        document = services.document_issue(order=order, series=SeriesFactory(), sale_date=date(2026, 11, 23))

    assert document.sale_date == date(2026, 11, 23)  # Monday: the rate is Friday's
    assert (document.exchange_rate, document.exchange_rate_table) == (Decimal("4.2512"), "226/A/NBP/2026")
    assert document.exchange_rate_date == date(2026, 11, 20)
    assert document.total_vat == Decimal("4.60")
    assert document.total_vat_pln == Decimal("19.56")  # 4.60 × 4.2512 = 19.555… → 19.56
    # cached: a second document for the same day does not ask NBP again
    asked = len(fake_nbp.requests)
    services.document_issue(
        order=OrderFactory(currency="EUR", ordered_at="2026-11-23T12:00:00+01:00"),
        series=SeriesFactory(),
        sale_date=date(2026, 11, 23),
    )
    assert len(fake_nbp.requests) == asked


def test_nbp_down_refuses_with_a_request_for_a_manual_rate_and_writes_nothing(fake_nbp):
    fake_nbp.fail_with = 503
    order = OrderFactory(currency="EUR")
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=order, series=SeriesFactory())
    assert err.value.field == "exchange_rate" and "ręcznie" in err.value.message
    assert Document.objects.count() == 0
    with time_machine.travel(date(2026, 11, 24)):
        document = services.document_issue(
            order=order,
            series=SeriesFactory(),
            exchange_rate=Decimal("4.3000"),
            exchange_rate_table="226/A/NBP/2026",
            exchange_rate_date=date(2026, 11, 20),
        )
    assert document.exchange_rate == Decimal("4.3000") and document.exchange_rate_table == "226/A/NBP/2026"
    assert document.exchange_rate_date == date(2026, 11, 20)


def test_nbp_unreachable_is_reported_too(fake_nbp):
    fake_nbp.unreachable = True
    with pytest.raises(ApplicationError) as err:
        services.document_issue(order=OrderFactory(currency="EUR"), series=SeriesFactory())
    assert "NBP" in err.value.message


def test_proforma_and_receipt_are_their_own_kinds():
    order = OrderFactory()
    invoice = services.document_issue(order=order, series=SeriesFactory())
    proforma = services.document_issue(
        order=order, series=SeriesFactory(kind="proforma", number_format="PRO/{nr}/{mm}/{rrrr}")
    )
    receipt = services.document_issue(
        order=order, series=SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}")
    )
    assert {d.kind for d in (invoice, proforma, receipt)} == {"invoice", "proforma", "receipt"}
    assert proforma.title == "Faktura pro forma"


@pytest.mark.django_db(transaction=True)
def test_issuing_sends_one_order_event_after_commit():
    from orders.signals import order_event

    received = []
    order_event.connect(lambda sender, event_id, **kw: received.append(event_id), weak=False, dispatch_uid="t1")
    try:
        services.document_issue(order=OrderFactory(), series=SeriesFactory())
    finally:
        order_event.disconnect(dispatch_uid="t1")
    assert len(received) == 1
