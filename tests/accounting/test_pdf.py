"""The PDF carries every mandatory element of art. 106e ust. 1 (checked with pdftotext, as a reader would)."""

import hashlib
import subprocess
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from accounting import services
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db

MANDATORY_ALWAYS = [
    "Data wystawienia",
    "Data sprzedaży",
    "Sprzedawca",
    "Nabywca",
    "NIP: 5260250274",
    "Sklep Bursztyn Sp. z o.o.",
    "ul. Długa 5",
    "80-831 Gdańsk",
    "J.m.",
    "Ilość",
    "Cena jedn. brutto",
    "Wartość netto",
    "Stawka VAT",
    "Kwota VAT",
    "Razem",
    "Słownie",
    "Sposób płatności",
    "Termin płatności",
    "PL61109010140000071219812874",
]


def pdf_text(document) -> str:
    content = services.document_pdf(document=document)
    assert content.startswith(b"%PDF")
    result = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def pdf_fonts(document) -> str:
    path = document.pdf.path
    return subprocess.run(["pdffonts", path], capture_output=True, check=True, text=True).stdout


@pytest.fixture
def b2b_invoice():
    order = OrderFactory(
        invoice_company_name="Żółw Sp. z o.o.",
        invoice_nip="5252344078",
        items=[
            {
                "name": "Kubek ceramiczny „Zakopane”",
                "quantity": Decimal(2),
                "unit_price_gross": Decimal("49.99"),
                "vat_rate": "23",
            },
            {
                "name": "Herbata liściasta",
                "quantity": Decimal(1),
                "unit_price_gross": Decimal("18.90"),
                "vat_rate": "5",
            },
        ],
    )
    with time_machine.travel(date(2026, 11, 25)):
        return services.document_issue(order=order, series=SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}"))


def test_b2b_invoice_pdf_has_every_mandatory_element(b2b_invoice):
    text = pdf_text(b2b_invoice)
    for element in MANDATORY_ALWAYS:
        assert element in text, element
    assert "Faktura VAT nr FV/1/11/2026" in text
    assert "25.11.2026" in text
    assert "Żółw Sp. z o.o." in text and "NIP: 5252344078" in text
    assert "Kubek ceramiczny „Zakopane”" in text and "Herbata liściasta" in text, text
    assert "49.99" in text or "49,99" in text  # unit gross price (gross method, art. 106e ust. 7–8)
    for value in ("81.28", "18.70", "99.98", "18.00", "0.90", "18.90", "99.28", "19.60", "118.88"):
        assert value in text or value.replace(".", ",") in text, value
    assert "sto osiemnaście złotych, osiemdziesiąt osiem groszy" in text
    assert b2b_invoice.order_number in text


def test_pdf_embeds_a_font_with_polish_glyphs(b2b_invoice):
    pdf_text(b2b_invoice)
    fonts = pdf_fonts(b2b_invoice)
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows, fonts
    for row in rows:  # every font is DejaVu Sans (Polish glyphs), embedded as a subset
        assert "DejaVu-Sans" in row[0] or "DejaVuSans" in row[0], fonts
        assert row[-5] == "yes", fonts


def test_pdf_is_rendered_once_and_stored_with_its_hash(b2b_invoice):
    first = services.document_pdf(document=b2b_invoice)
    b2b_invoice.refresh_from_db()
    assert b2b_invoice.pdf_sha256 == hashlib.sha256(first).hexdigest()
    stored_name = b2b_invoice.pdf.name
    second = services.document_pdf(document=b2b_invoice)
    b2b_invoice.refresh_from_db()
    assert second == first and b2b_invoice.pdf.name == stored_name


def test_b2c_invoice_pdf_has_buyer_without_nip():
    document = services.document_issue(order=OrderFactory(), series=SeriesFactory())
    text = pdf_text(document)
    for element in MANDATORY_ALWAYS:
        assert element in text, element
    assert "Łukasz Żółtowski" in text and "ul. Świętokrzyska 12/4" in text
    assert text.count("NIP:") == 1  # only the seller's


def test_correction_pdf_shows_corrected_document_reason_and_before_after(b2b_invoice):
    SeriesFactory(kind="correction", number_format="FK/{nr}/{mm}/{rrrr}", is_default=True)
    correction = services.document_correct(
        document=b2b_invoice,
        reason="Zwrot jednej sztuki",
        changes=[services.LineChange(position=1, quantity=Decimal(1))],
    )
    text = pdf_text(correction)
    assert "Faktura korygująca nr FK/1/" in text
    assert "Korekta do dokumentu nr FV/1/11/2026 z dnia 25.11.2026" in text
    assert "Przyczyna korekty: Zwrot jednej sztuki" in text
    assert "(przed korektą)" in text and "(po korekcie)" in text
    assert "-49.99" in text or "-49,99" in text


def test_currency_invoice_pdf_shows_rate_table_and_vat_in_pln(fake_nbp):
    fake_nbp.publish("EUR", date(2026, 11, 20), "4.2512", "226/A/NBP/2026")
    order = OrderFactory(
        currency="EUR",
        ordered_at="2026-11-23T10:00:00+01:00",
        items=[{"name": "Kubek", "quantity": Decimal(2), "unit_price_gross": Decimal("12.30"), "vat_rate": "23"}],
    )
    with time_machine.travel(date(2026, 11, 24)):
        document = services.document_issue(order=order, series=SeriesFactory())
    text = pdf_text(document)
    for element in MANDATORY_ALWAYS:
        assert element in text, element
    assert "Kurs NBP 226/A/NBP/2026 z dnia 20.11.2026: 1 EUR = 4.2512 PLN" in text.replace(",", ".")
    assert "VAT w PLN" in text and ("19.56" in text or "19,56" in text)
    assert "24.60 EUR" in text or "24,60 EUR" in text


def test_split_payment_and_proforma_notices():
    order = OrderFactory(
        invoice_company_name="Żółw Sp. z o.o.",
        invoice_nip="5252344078",
        items=[
            {
                "name": "Laptop",
                "quantity": Decimal(4),
                "unit_price_gross": Decimal("4299.00"),
                "vat_rate": "23",
                "annex15": True,
            }
        ],
    )
    invoice = services.document_issue(order=order, series=SeriesFactory())
    proforma = services.document_issue(
        order=order, series=SeriesFactory(kind="proforma", number_format="PRO/{nr}/{mm}/{rrrr}")
    )
    assert "mechanizm podzielonej płatności" in pdf_text(invoice)
    assert "nie jest fakturą VAT" in pdf_text(proforma)
