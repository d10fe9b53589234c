"""Corrections correct the invoice as it stands now (after every live correction), in the service, the API, the
PDF and the FA(3) XML alike."""

import contextlib
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from accounting import ksef, services
from accounting.models import Document
from apilo.errors import ApplicationError
from tests.accounting.test_pdf import pdf_text
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
Q = {"f": ksef.NS}

ITEMS = [
    {"name": "Kubek", "quantity": Decimal(4), "unit_price_gross": Decimal("49.99"), "vat_rate": "23"},
    {"name": "Herbata", "quantity": Decimal(3), "unit_price_gross": Decimal("18.90"), "vat_rate": "5"},
]


@pytest.fixture
def correction_series():
    return SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)


@pytest.fixture
def invoice(correction_series):
    return services.document_issue(order=OrderFactory(items=ITEMS), series=SeriesFactory())


def _xml(document) -> etree._Element:
    return etree.fromstring(ksef.document_ksef_xml(document))  # schema-valid and arithmetic-checked, or raises


def test_full_return_after_a_partial_return_returns_only_what_is_left(invoice):
    partial = services.document_correct(
        document=invoice, reason="Zwrot 1 kubka", changes=[services.LineChange(position=1, quantity=Decimal(3))]
    )
    full = services.document_correct(document=invoice, reason="Zwrot reszty", changes=[], full_return=True)

    kubek = full.lines.get(position=1)
    assert (kubek.quantity_before, kubek.quantity) == (Decimal(3), Decimal(0))
    assert kubek.gross_before == Decimal("149.97")
    assert full.total_gross == -(invoice.total_gross + partial.total_gross)
    assert invoice.total_gross + partial.total_gross + full.total_gross == 0
    # the FA(3) XML: "before" rows are the state after the partial return, totals are what is left
    root = _xml(full)
    before = [row for row in root.iterfind("f:Fa/f:FaWiersz", Q) if row.findtext("f:StanPrzed", namespaces=Q)]
    assert before[0].findtext("f:P_8B", namespaces=Q) == "3"
    assert Decimal(root.findtext("f:Fa/f:P_15", namespaces=Q)) == full.total_gross
    # and the PDF
    text = pdf_text(full)
    assert "149.97" in text or "149,97" in text


def test_koryguj_on_the_original_after_a_correction_corrects_the_current_state(invoice):
    first = services.document_correct(
        document=invoice, reason="Rabat", changes=[services.LineChange(position=2, unit_price_gross=Decimal("15.00"))]
    )
    second = services.document_correct(
        document=invoice, reason="Zwrot 1 herbaty", changes=[services.LineChange(position=2, quantity=Decimal(2))]
    )
    line = second.lines.get()
    assert (line.unit_price_gross_before, line.quantity_before) == (Decimal("15.00"), Decimal(3))
    assert line.gross == Decimal("30.00") and second.total_gross == Decimal("-15.00")
    assert second.corrected_document == first  # it corrects the newest state of the chain
    assert services.document_chain_current_lines(invoice)[2].quantity == Decimal(2)


def test_nothing_goes_below_zero_and_a_second_full_return_is_refused(invoice):
    services.document_correct(document=invoice, reason="Zwrot całości", changes=[], full_return=True)
    with pytest.raises(ApplicationError) as err:
        services.document_correct(document=invoice, reason="Jeszcze raz", changes=[], full_return=True)
    assert "nic nie zmienia" in err.value.message
    with pytest.raises(ApplicationError):
        services.document_correct(
            document=invoice, reason="Ujemna", changes=[services.LineChange(position=1, quantity=Decimal(-1))]
        )


def test_mistake_gives_typ_korekty_1_and_other_gives_2(invoice):
    mistake = services.document_correct(
        document=invoice,
        reason="Błędna cena",
        reason_code="mistake",
        changes=[services.LineChange(position=1, unit_price_gross=Decimal("45.00"))],
    )
    other = services.document_correct(
        document=invoice, reason="Zwrot", changes=[services.LineChange(position=1, quantity=Decimal(3))]
    )
    assert _xml(mistake).findtext("f:Fa/f:TypKorekty", namespaces=Q) == "1"
    assert _xml(other).findtext("f:Fa/f:TypKorekty", namespaces=Q) == "2"
    # both name the original invoice as the corrected one
    assert _xml(other).findtext("f:Fa/f:DaneFaKorygowanej/f:NrFaKorygowanej", namespaces=Q) == invoice.number
    with pytest.raises(ApplicationError) as err:
        services.document_correct(document=invoice, reason="x", reason_code="whatever", changes=[], full_return=True)
    assert err.value.field == "reason_code"


def test_api_correction_takes_reason_code_and_lines_by_position(staff_api, invoice):
    response = staff_api.post(
        f"/api/documents/{invoice.pk}/corrections/",
        {"reason": "Pomyłka w ilości", "reason_code": "mistake", "lines": [{"position": 1, "quantity": "2"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["correction_reason_code"] == "mistake" and body["total_gross"] == "-99.98"
    second = staff_api.post(
        f"/api/documents/{invoice.pk}/corrections/", {"reason": "Zwrot reszty", "full_return": True}, format="json"
    )
    assert second.status_code == 201 and second.json()["correction_reason_code"] == "other"
    assert Decimal(second.json()["total_gross"]) == -(invoice.total_gross - Decimal("99.98"))
    bad = staff_api.post(
        f"/api/documents/{invoice.pk}/corrections/", {"reason": "x", "reason_code": "zwrot"}, format="json"
    )
    assert bad.status_code == 400 and "reason_code" in bad.json()


def test_correction_of_a_split_payment_invoice_carries_split_payment(correction_series):
    order = OrderFactory(
        invoice_company_name="Stal Sp. z o.o.",
        invoice_nip="5252344078",
        items=[
            {
                "name": "Pręt stalowy",
                "quantity": Decimal(10),
                "unit_price_gross": Decimal("2000.00"),
                "vat_rate": "23",
                "annex15": True,
            }
        ],
    )
    invoice = services.document_issue(order=order, series=SeriesFactory())
    assert invoice.split_payment
    correction = services.document_correct(
        document=invoice, reason="Zwrot 1 szt.", changes=[services.LineChange(position=1, quantity=Decimal(9))]
    )
    assert correction.split_payment
    root = _xml(correction)
    assert root.findtext("f:Fa/f:Adnotacje/f:P_18A", namespaces=Q) == "1"
    assert "mechanizm podzielonej płatności" in pdf_text(correction)


def test_correction_shows_the_corrected_invoices_ksef_number(invoice):
    Document.objects.filter(pk=invoice.pk).update(ksef_number="5260250274-20261130-0123456789AB-CD")
    invoice.refresh_from_db()
    first = services.document_correct(
        document=invoice, reason="Zwrot", changes=[services.LineChange(position=1, quantity=Decimal(3))]
    )
    second = services.document_correct(
        document=first, reason="Zwrot", changes=[services.LineChange(position=1, quantity=Decimal(2))]
    )
    text = pdf_text(second)
    assert "5260250274-20261130-0123456789AB-CD" in text and f"Faktura pierwotna nr {invoice.number}" in text
    assert (
        _xml(second).findtext("f:Fa/f:DaneFaKorygowanej/f:NrKSeFFaKorygowanej", namespaces=Q)
        == "5260250274-20261130-0123456789AB-CD"
    )


change = st.tuples(
    st.integers(min_value=1, max_value=2),
    st.one_of(st.none(), st.integers(min_value=0, max_value=6).map(Decimal)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=9999).map(lambda c: Decimal(c) / 100)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(change, min_size=0, max_size=4))
def test_any_partial_corrections_then_a_full_return_leave_every_line_and_the_sum_at_zero(correction_series, steps):
    invoice = services.document_issue(order=OrderFactory(items=ITEMS), series=SeriesFactory())
    documents = [invoice]
    for position, quantity, price in steps:
        with contextlib.suppress(ApplicationError):  # a change that changes nothing is refused; the chain goes on
            documents.append(
                services.document_correct(
                    document=documents[-1],
                    reason="Zmiana",
                    changes=[services.LineChange(position=position, quantity=quantity, unit_price_gross=price)],
                )
            )
    left = services.document_chain_current_lines(invoice).values()
    if any(line.quantity for line in left):
        documents.append(
            services.document_correct(document=invoice, reason="Zwrot całości", changes=[], full_return=True)
        )
    else:  # the partial corrections already returned everything: a full return has nothing left and is refused
        with pytest.raises(ApplicationError):
            services.document_correct(document=invoice, reason="Zwrot całości", changes=[], full_return=True)

    assert all(line.quantity == 0 for line in services.document_chain_current_lines(invoice).values())
    assert sum((d.total_gross for d in documents), Decimal(0)) == 0
    assert sum((d.total_net for d in documents), Decimal(0)) == 0
    assert sum((d.total_vat for d in documents), Decimal(0)) == 0
    for correction in documents[1:]:
        for line in correction.lines.all():
            assert line.quantity >= 0 and line.gross >= 0


def test_correction_page_offers_the_reason_kind_and_the_current_quantities(staff_client, invoice):
    services.document_correct(
        document=invoice, reason="Zwrot 1 kubka", changes=[services.LineChange(position=1, quantity=Decimal(3))]
    )
    page = staff_client.get(f"/ksiegowosc/dokumenty/{invoice.pk}/koryguj/").content.decode()
    assert "Rodzaj przyczyny" in page and "Pomyłka" in page
    assert 'name="qty_1"' in page and 'value="3"' in page  # the current state, not the original 4
    response = staff_client.post(
        f"/ksiegowosc/dokumenty/{invoice.pk}/koryguj/",
        {
            "reason": "Błąd w cenie",
            "reason_code": "mistake",
            "qty_1": "3",
            "price_1": "45.00",
            "qty_2": "3",
            "price_2": "18.90",
            "series": Document.objects.get(kind="correction").series_id,
        },
    )
    assert response.status_code == 302
    latest = Document.objects.filter(kind="correction").order_by("-id").first()
    assert latest.correction_reason_code == "mistake" and latest.lines.get().quantity_before == Decimal(3)
