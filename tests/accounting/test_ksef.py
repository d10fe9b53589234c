"""KSeF FA(3): every variant validates against the schema the product carries (ksef-client) and the Ministry's
copy in ../shared/reference/ksef (they must agree), and its numbers add up."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from accounting import ksef, services
from accounting.models import Document
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db
REFERENCE = Path(__file__).resolve().parent / "ksef_reference"  # copies of the Ministry files (schema, examples)
B2B = {"invoice_company_name": "Żółw Sp. z o.o.", "invoice_nip": "5252344078"}
Q = {"f": ksef.NS}


@pytest.fixture(scope="module")
def reference_schema():
    path = REFERENCE / "schemat_FA(3)_v1-0E_local.xsd"
    assert path.exists(), f"the Ministry's schema is expected at {path}"
    return etree.XMLSchema(etree.parse(str(path)))


def valid_everywhere(xml: bytes, reference_schema) -> etree._Element:
    root = etree.fromstring(xml)
    assert ksef.compiled_schema().validate(root), ksef.compiled_schema().error_log
    assert reference_schema.validate(root), reference_schema.error_log
    return root


def text(root, path):
    return root.findtext(path, namespaces=Q)


def correction_series():
    return SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)


def test_domestic_b2b_invoice(reference_schema):
    with time_machine.travel(date(2026, 11, 25)):
        document = services.document_issue(
            order=OrderFactory(**B2B), series=SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}")
        )
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    header = root.find("f:Naglowek/f:KodFormularza", Q)
    assert (header.get("kodSystemowy"), header.get("wersjaSchemy"), header.text) == ("FA (3)", "1-0E", "FA")
    assert text(root, "f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP") == "5260250274"
    assert text(root, "f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP") == "5252344078"
    assert (text(root, "f:Fa/f:P_2"), text(root, "f:Fa/f:RodzajFaktury")) == ("FV/1/11/2026", "VAT")
    assert (text(root, "f:Fa/f:P_13_1"), text(root, "f:Fa/f:P_14_1"), text(root, "f:Fa/f:P_15")) == (
        "93.47",
        "21.50",
        "114.97",
    )
    assert text(root, "f:Fa/f:WarunkiTransakcji/f:Zamowienia/f:NrZamowienia") == document.order_number
    assert text(root, "f:Fa/f:Platnosc/f:RachunekBankowy/f:NrRB") == "61109010140000071219812874"
    assert text(root, "f:Fa/f:Platnosc/f:FormaPlatnosci") == "6"
    document.refresh_from_db()
    assert document.ksef_validation_state == "valid"


def test_b2c_invoice_has_brak_id(reference_schema):
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    assert text(root, "f:Podmiot2/f:DaneIdentyfikacyjne/f:BrakID") == "1"
    assert root.find("f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP", Q) is None


def test_several_rates_with_exempt_and_zero(reference_schema):
    order = OrderFactory(
        **B2B,
        items=[
            {"name": "Kubek", "quantity": Decimal(1), "unit_price_gross": Decimal("123.00"), "vat_rate": "23"},
            {"name": "Gazeta", "quantity": Decimal(2), "unit_price_gross": Decimal("5.40"), "vat_rate": "8"},
            {"name": "Książka", "quantity": Decimal(1), "unit_price_gross": Decimal("10.50"), "vat_rate": "5"},
            {"name": "Eksport usługi", "quantity": Decimal(1), "unit_price_gross": Decimal("40.00"), "vat_rate": "0"},
            {"name": "Szkolenie", "quantity": Decimal(1), "unit_price_gross": Decimal("350.00"), "vat_rate": "zw"},
        ],
    )
    document = services.document_issue(order=order, series=SeriesFactory())
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    assert [
        text(root, f"f:Fa/f:{e}")
        for e in ("P_13_1", "P_14_1", "P_13_2", "P_14_2", "P_13_3", "P_14_3", "P_13_6_1", "P_13_7", "P_15")
    ] == ["100.00", "23.00", "10.00", "0.80", "10.00", "0.50", "40.00", "350.00", "534.30"]
    assert text(root, "f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19") == "1"
    assert text(root, "f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19A").startswith("art. 43")
    assert sorted(r.text for r in root.findall("f:Fa/f:FaWiersz/f:P_12", Q)) == ["0 KR", "23", "5", "8", "zw"]


def test_foreign_currency_invoice_has_rate_per_line_and_vat_in_pln(reference_schema, fake_nbp):
    fake_nbp.publish("EUR", date(2026, 11, 20), "4.2512", "226/A/NBP/2026")
    order = OrderFactory(
        **B2B,
        currency="EUR",
        ordered_at="2026-11-23T10:00:00+01:00",
        items=[{"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("12.30"), "vat_rate": "23"}],
    )
    with time_machine.travel(date(2026, 11, 24)):
        document = services.document_issue(order=order, series=SeriesFactory())
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    assert text(root, "f:Fa/f:KodWaluty") == "EUR"
    assert text(root, "f:Fa/f:P_14_1W") == "19.56"
    assert text(root, "f:Fa/f:FaWiersz/f:KursWaluty") == "4.2512"


def test_split_payment_invoice(reference_schema):
    order = OrderFactory(
        **B2B,
        items=[
            {
                "name": "Laptop",
                "quantity": Decimal(4),
                "unit_price_gross": Decimal("4299"),
                "vat_rate": "23",
                "annex15": True,
            }
        ],
    )
    document = services.document_issue(order=order, series=SeriesFactory())
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    assert text(root, "f:Fa/f:Adnotacje/f:P_18A") == "1"
    assert text(root, "f:Fa/f:FaWiersz/f:P_12_Zal_15") == "1"


def test_invoice_issued_to_a_receipt_has_fp(reference_schema):
    order = OrderFactory(**B2B)
    services.document_issue(order=order, series=SeriesFactory(kind="receipt", number_format="PAR/{nr}/{mm}/{rrrr}"))
    document = services.document_issue(order=order, series=SeriesFactory())
    root = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    assert text(root, "f:Fa/f:FP") == "1"


def test_correction_has_kor_data_of_the_corrected_invoice_and_before_after_rows(reference_schema):
    correction_series()
    with time_machine.travel(date(2026, 11, 25)):
        invoice = services.document_issue(
            order=OrderFactory(**B2B), series=SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}")
        )
        correction = services.document_correct(
            document=invoice,
            reason="Zwrot jednej sztuki",
            changes=[services.LineChange(position=1, quantity=Decimal(1))],
        )
    root = valid_everywhere(ksef.document_ksef_xml(correction), reference_schema)
    assert text(root, "f:Fa/f:RodzajFaktury") == "KOR"
    assert text(root, "f:Fa/f:PrzyczynaKorekty") == "Zwrot jednej sztuki"
    assert text(root, "f:Fa/f:DaneFaKorygowanej/f:NrFaKorygowanej") == "FV/1/11/2026"
    assert text(root, "f:Fa/f:DaneFaKorygowanej/f:DataWystFaKorygowanej") == "2026-11-25"
    assert text(root, "f:Fa/f:DaneFaKorygowanej/f:NrKSeFN") == "1"
    rows = root.findall("f:Fa/f:FaWiersz", Q)
    assert [(text(r, "f:NrWierszaFa"), text(r, "f:P_8B"), text(r, "f:StanPrzed")) for r in rows] == [
        ("1", "2", "1"),
        ("1", "1", None),
        ("2", "1", "1"),
        ("2", "1", None),
    ]
    assert (text(root, "f:Fa/f:P_13_1"), text(root, "f:Fa/f:P_14_1"), text(root, "f:Fa/f:P_15")) == (
        "-40.64",
        "-9.35",
        "-49.99",
    )


def test_correction_of_an_invoice_sent_to_ksef_references_its_ksef_number(reference_schema):
    correction_series()
    invoice = services.document_issue(order=OrderFactory(**B2B), series=SeriesFactory())
    Document.objects.filter(pk=invoice.pk).update(ksef_number="5260250274-20261125-0123456789AB-CD")
    correction = services.document_correct(document=invoice, reason="Rabat", full_return=True, changes=[])
    root = valid_everywhere(ksef.document_ksef_xml(correction), reference_schema)
    assert text(root, "f:Fa/f:DaneFaKorygowanej/f:NrKSeFFaKorygowanej") == "5260250274-20261125-0123456789AB-CD"


MF_EXAMPLE_1_ITEMS = [
    {"name": "lodówka Zimnotech mk1", "quantity": Decimal(1), "unit_price_gross": Decimal("2000.00"), "vat_rate": "23"},
    {"name": "wniesienie sprzętu", "quantity": Decimal(1), "unit_price_gross": Decimal("50.00"), "vat_rate": "23"},
    {
        "name": "promocja lodówka pełna mleka",
        "quantity": Decimal(1),
        "unit_price_gross": Decimal("1.00"),
        "vat_rate": "5",
    },
]


def mf(number: int) -> etree._Element:
    return etree.parse(str(REFERENCE / "examples" / f"FA_3_Przyklad_{number}.xml")).getroot()


def test_ministry_example_1_rebuilt_from_an_order_matches_element_by_element(reference_schema):
    """MF example 1 (23% + 5%, gross 2051.00) rebuilt from gross shop prices: every total, rate and line matches,
    except P_13_1 — the Ministry's example does not add up (1666.66 + 383.33 + 0.95 + 0.05 = 2050.99 ≠ 2051);
    ours (1666.67) does, and our arithmetic check flags the Ministry's file."""
    example = mf(1)
    document = services.document_issue(order=OrderFactory(items=MF_EXAMPLE_1_ITEMS), series=SeriesFactory())
    ours = valid_everywhere(ksef.document_ksef_xml(document), reference_schema)
    for element in ("P_14_1", "P_13_3", "P_14_3", "P_15"):
        assert Decimal(text(ours, f"f:Fa/f:{element}")) == Decimal(text(example, f"f:Fa/f:{element}")), element
    assert Decimal(text(ours, "f:Fa/f:P_13_1")) - Decimal(text(example, "f:Fa/f:P_13_1")) == Decimal("0.01")
    ours_rows, mf_rows = ours.findall("f:Fa/f:FaWiersz", Q), example.findall("f:Fa/f:FaWiersz", Q)
    assert len(ours_rows) == len(mf_rows) == 3
    for our_row, mf_row, line in zip(ours_rows, mf_rows, document.lines.all(), strict=True):
        assert text(our_row, "f:P_7") == text(mf_row, "f:P_7")
        assert text(our_row, "f:P_12") == text(mf_row, "f:P_12")
        assert Decimal(text(our_row, "f:P_8B")) == Decimal(text(mf_row, "f:P_8B"))
        # MF states net values (P_11), we state gross (P_11A, art. 106e ust. 7–8): the nets agree to the grosz
        assert abs(line.net - Decimal(text(mf_row, "f:P_11"))) <= Decimal("0.01")
    fake = Document(
        kind="invoice", total_net=Decimal("1667.61"), total_vat=Decimal("383.38"), total_gross=Decimal("2051.00")
    )
    flagged = ksef.arithmetic_issues(etree.tostring(_as_gross(example)), fake)
    assert any(issue.element == "Fa/P_15" for issue in flagged)


def _as_gross(example: etree._Element) -> etree._Element:
    """MF example 1 with its net lines restated as gross (P_9B/P_11A), so our checker can read it."""
    copy = etree.fromstring(etree.tostring(example))
    for row in copy.findall("f:Fa/f:FaWiersz", Q):
        net = Decimal(row.findtext("f:P_11", namespaces=Q))
        rate = Decimal(row.findtext("f:P_12", namespaces=Q))
        gross = (net * (100 + rate) / 100).quantize(Decimal("0.01"))
        for tag, value in (("P_9A", "P_9B"), ("P_11", "P_11A")):
            node = row.find(f"f:{tag}", Q)
            node.tag = f"{{{ksef.NS}}}{value}"
            node.text = str(gross)
    return copy


def test_ministry_example_2_correction_rebuilt_matches_its_totals(reference_schema):
    """MF example 2: a price cut of 200 gross on the fridge → P_13_1 -162.60, P_14_1 -37.40, P_15 -200."""
    correction_series()
    invoice = services.document_issue(order=OrderFactory(**B2B, items=MF_EXAMPLE_1_ITEMS), series=SeriesFactory())
    correction = services.document_correct(
        document=invoice,
        reason="obniżka ceny o 200 zł z uwagi na uszkodzenia estetyczne",
        changes=[services.LineChange(position=1, unit_price_gross=Decimal("1800.00"))],
    )
    ours = valid_everywhere(ksef.document_ksef_xml(correction), reference_schema)
    example = mf(2)
    for element in ("P_13_1", "P_14_1", "P_15", "RodzajFaktury", "PrzyczynaKorekty"):
        mine, theirs = text(ours, f"f:Fa/f:{element}"), text(example, f"f:Fa/f:{element}")
        if element.startswith("P_"):
            assert Decimal(mine) == Decimal(theirs), element
        else:
            assert mine == theirs, element
    ours_rows = [r for r in ours.findall("f:Fa/f:FaWiersz", Q) if text(r, "f:NrWierszaFa") == "1"]
    mf_rows = example.findall("f:Fa/f:FaWiersz", Q)
    assert [
        (text(r, "f:NrWierszaFa"), text(r, "f:StanPrzed"), text(r, "f:P_12"), text(r, "f:P_7")) for r in ours_rows
    ] == [(text(r, "f:NrWierszaFa"), text(r, "f:StanPrzed"), text(r, "f:P_12"), text(r, "f:P_7")) for r in mf_rows]
    # the fridge's net after the cut: MF 1463.41 (net-priced), ours from 1800.00 gross
    after = next(line for line in correction.lines.all() if line.position == 1)
    assert abs(after.net - Decimal(text(mf_rows[1], "f:P_11"))) <= Decimal("0.01")


def test_tampered_totals_are_refused_with_the_element_named():
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    Document.objects.filter(pk=document.pk).update(total_gross=Decimal("999.00"))
    document.refresh_from_db()
    with pytest.raises(ksef.KsefInvalid) as err:
        ksef.document_ksef_xml(document)
    assert any(issue.element == "Fa/P_15" for issue in err.value.issues)
    document.refresh_from_db()
    assert document.ksef_validation_state == "invalid"
    assert any(e["element"] == "Fa/P_15" for e in document.ksef_validation_errors)


def test_schema_errors_name_the_element():
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    xml = ksef.build_xml(document).replace(b"<P_12>23</P_12>", b"<P_12>24</P_12>")
    issues = ksef.schema_issues(xml)
    assert issues and issues[0].element == "Faktura/Fa/FaWiersz[1]/P_12"


def test_proforma_is_not_exported():
    document = services.document_issue(
        order=OrderFactory(), series=SeriesFactory(kind="proforma", number_format="PRO/{nr}/{mm}/{rrrr}")
    )
    with pytest.raises(ksef.KsefInvalid):
        ksef.document_ksef_xml(document)


items = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(alphabet="abcżółćęśąźń ABC", min_size=1, max_size=30).map(str.strip).filter(bool),
            "quantity": st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3),
            "unit_price_gross": st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2),
            "vat_rate": st.sampled_from(["23", "8", "5", "0", "zw", "np"]),
            "annex15": st.booleans(),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=items, company=st.booleans())
def test_random_orders_always_give_schema_valid_consistent_xml(rows, company, reference_schema):
    order = OrderFactory(**(B2B if company else {}), items=rows)
    document = services.document_issue(order=order, series=SeriesFactory(), additional=True)
    xml = ksef.document_ksef_xml(document)  # raises on any schema or arithmetic issue
    valid_everywhere(xml, reference_schema)


def test_api_returns_xml_or_422_with_errors(staff_api):
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    ok = staff_api.get(f"/api/documents/{document.pk}/ksef/")
    assert ok.status_code == 200 and ok["Content-Type"] == "application/xml"
    assert ok.content.startswith(b"<?xml")
    Document.objects.filter(pk=document.pk).update(total_gross=Decimal("1.00"))
    bad = staff_api.get(f"/api/documents/{document.pk}/ksef/")
    assert bad.status_code == 422
    assert any(e["element"] == "Fa/P_15" for e in bad.json()["errors"])


def test_preview_offers_the_xml_and_shows_validation(staff_client):
    import io
    import zipfile

    from django.urls import reverse

    good = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    bad = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    Document.objects.filter(pk=bad.pk).update(total_gross=Decimal("1.00"))
    page = staff_client.get(reverse("accounting:document_detail", args=[good.pk])).content.decode()
    assert "Pobierz XML (KSeF)" in page
    download = staff_client.get(reverse("accounting:document_ksef", args=[good.pk]))
    assert download["Content-Type"] == "application/xml"
    refused = staff_client.get(reverse("accounting:document_ksef", args=[bad.pk]), follow=True).content.decode()
    assert "Plik KSeF nie został wygenerowany" in refused and "Fa/P_15" in refused

    archive = zipfile.ZipFile(
        io.BytesIO(staff_client.post(reverse("accounting:document_ksef_zip"), {"ids": f"{good.pk},{bad.pk}"}).content)
    )
    assert sorted(archive.namelist()) == sorted([f"{good.number.replace('/', '_')}.xml", "BLEDY.txt"])
    assert bad.number in archive.read("BLEDY.txt").decode()
