from decimal import Decimal

import pytest

from accounting import services
from accounting.models import Document
from apilo.errors import ApplicationError
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

ITEMS = [
    {"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("49.99"), "vat_rate": "23"},
    {"name": "Herbata", "quantity": Decimal(3), "unit_price_gross": Decimal("18.90"), "vat_rate": "5"},
    {
        "name": "Kurier",
        "kind": "shipping",
        "quantity": Decimal(1),
        "unit_price_gross": Decimal("14.99"),
        "vat_rate": "23",
    },
]


@pytest.fixture
def invoice():
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    return services.document_issue(order=OrderFactory(items=ITEMS), series=SeriesFactory())


def test_quantity_correction_shows_before_after_and_negative_differences(invoice, staff_user):
    correction = services.document_correct(
        document=invoice,
        changes=[services.LineChange(position=1, quantity=Decimal(1))],
        reason="Zwrot jednej sztuki",
        actor=staff_user,
    )

    assert correction.kind == "correction" and correction.number.startswith("FK/1/")
    assert correction.corrected_document == invoice
    line = correction.lines.get()
    assert (line.quantity_before, line.quantity, line.gross_before, line.gross) == (
        Decimal(2),
        Decimal(1),
        Decimal("99.98"),
        Decimal("49.99"),
    )
    assert correction.vat_summary == [{"rate": "23", "net": "-40.64", "vat": "-9.35", "gross": "-49.99"}]
    assert correction.total_gross == Decimal("-49.99")
    assert correction.total_net + correction.total_vat == correction.total_gross
    assert correction.amount_in_words.startswith("minus czterdzieści dziewięć złotych")


def test_full_return_zeroes_every_line(invoice):
    correction = services.document_correct(document=invoice, changes=[], reason="Zwrot całości", full_return=True)
    assert correction.lines.count() == 3
    assert correction.total_gross == -invoice.total_gross


def test_price_change_and_line_removal(invoice):
    correction = services.document_correct(
        document=invoice,
        reason="Rabat",
        changes=[
            services.LineChange(position=2, unit_price_gross=Decimal("15.00")),
            services.LineChange(position=3, remove=True),
        ],
    )
    diffs = {row["rate"]: Decimal(row["gross"]) for row in correction.vat_summary}
    assert diffs == {"23": Decimal("-14.99"), "5": Decimal("-11.70")}


def test_a_correction_can_itself_be_corrected(invoice):
    first = services.document_correct(
        document=invoice, reason="Zwrot 1 szt.", changes=[services.LineChange(position=1, quantity=Decimal(1))]
    )
    second = services.document_correct(
        document=first,
        reason="Pomyłka w korekcie — zwrot odwołany",
        changes=[services.LineChange(position=1, quantity=Decimal(2))],
    )
    line = second.lines.get()
    assert (line.quantity_before, line.quantity) == (Decimal(1), Decimal(2))
    assert second.total_gross == Decimal("49.99")
    assert second.corrected_document == first


def test_correction_without_change_or_reason_is_refused_and_consumes_nothing(invoice):
    with pytest.raises(ApplicationError) as no_change:
        services.document_correct(
            document=invoice, changes=[services.LineChange(position=1, quantity=Decimal(2))], reason="Nic"
        )
    with pytest.raises(ApplicationError) as no_reason:
        services.document_correct(
            document=invoice, changes=[services.LineChange(position=1, quantity=Decimal(1))], reason=" "
        )
    assert "nic nie zmienia" in no_change.value.message
    assert no_reason.value.field == "reason"
    assert Document.objects.filter(kind="correction").count() == 0


def test_cancellation_is_recorded_and_the_number_stays_used(invoice, staff_user):
    services.document_cancel(document=invoice, reason="Zamówienie anulowane przez klienta", actor=staff_user)
    invoice.refresh_from_db()
    assert invoice.state == "cancelled" and invoice.cancelled_by == staff_user
    assert invoice.cancel_reason == "Zamówienie anulowane przez klienta"
    assert Document.objects.filter(pk=invoice.pk).exists()
    again = services.document_issue(order=invoice.order, series=invoice.series)
    assert again.sequence == invoice.sequence + 1


def test_cancelled_document_cannot_be_corrected_or_cancelled_again(invoice):
    services.document_cancel(document=invoice, reason="Błąd")
    with pytest.raises(ApplicationError):
        services.document_cancel(document=invoice, reason="Znowu")
    with pytest.raises(ApplicationError):
        services.document_correct(document=invoice, reason="x", full_return=True, changes=[])


def test_cancel_needs_a_reason(invoice):
    with pytest.raises(ApplicationError) as err:
        services.document_cancel(document=invoice, reason="")
    assert err.value.field == "reason"
