"""KSeF FA(3) XML for invoices and corrections: built from the stored document, validated against the official
schema (shipped by the `ksef-client` package, compiled once, offline) and checked arithmetically — the schema
does not check sums. A document failing either check is not exported; the errors name the element.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from lxml import etree

from apilo.money import round_money

from . import vat
from .models import Document, DocumentKind, DocumentState
from .services import rules

NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
ETD = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
SCHEMA_FILES = (
    "schemat_FA(3)_v1-0E.xsd",
    "StrukturyDanych_v10-0E.xsd",
    "ElementarneTypyDanych_v10-0E.xsd",
    "KodyKrajow_v10-0E.xsd",
)
# FA(3) P_12 code → (P_13 element, P_14 element or None). Our rate becomes a code by transaction (rules.rate_code):
# 0 → 0 KR / 0 WDT / 0 EX, np → np I / np II.
CODE_ELEMENTS = {
    "23": ("P_13_1", "P_14_1"),
    "8": ("P_13_2", "P_14_2"),
    "5": ("P_13_3", "P_14_3"),
    "0 KR": ("P_13_6_1", None),
    "0 WDT": ("P_13_6_2", None),
    "0 EX": ("P_13_6_3", None),
    "zw": ("P_13_7", None),
    "np I": ("P_13_8", None),
    "np II": ("P_13_9", None),
    "oo": ("P_13_10", None),
}
CODE_TO_RATE = {"0 KR": "0", "0 WDT": "0", "0 EX": "0", "np I": "np", "np II": "np"}
TOTAL_ORDER = [
    "P_13_1",
    "P_14_1",
    "P_14_1W",
    "P_13_2",
    "P_14_2",
    "P_14_2W",
    "P_13_3",
    "P_14_3",
    "P_14_3W",
    "P_13_6_1",
    "P_13_6_2",
    "P_13_6_3",
    "P_13_7",
    "P_13_8",
    "P_13_9",
    "P_13_10",
]
EXPORTABLE_STATES = (DocumentState.ISSUED, DocumentState.ATTENTION)
PAYMENT_FORMS = {"cash": "1", "card": "2", "transfer": "6", "online": "7"}


@dataclass
class KsefIssue:
    element: str
    reason: str


class KsefInvalid(Exception):
    def __init__(self, issues: list[KsefIssue]):
        super().__init__("; ".join(f"{i.element}: {i.reason}" for i in issues))
        self.issues = issues


# --- schema ----------------------------------------------------------------------------------------------------


class _PackageResolver(etree.Resolver):
    """Resolves the schema's imports and includes to the files inside ksef-client, never to the network."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = directory

    def resolve(self, url, public_id, context):
        name = Path(url).name
        if name not in SCHEMA_FILES:
            raise ValueError(f"unexpected schema reference {url!r}")
        return self.resolve_filename(str(self.directory / name), context)


def schema_directory() -> Path:
    import ksef_client.documents.fa3 as fa3

    return Path(fa3.__file__).parent / "schemas"


@functools.lru_cache(maxsize=4)
def compiled_schema(path: str | None = None) -> etree.XMLSchema:
    """The FA(3) schema, compiled once per process. Default: the copy carried by ksef-client."""
    main = Path(path) if path else schema_directory() / SCHEMA_FILES[0]
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_PackageResolver(main.parent))
    return etree.XMLSchema(etree.parse(str(main), parser))


def schema_issues(xml: bytes, schema: etree.XMLSchema | None = None) -> list[KsefIssue]:
    schema = schema or compiled_schema()
    document = etree.fromstring(xml)
    if schema.validate(document):
        return []
    return [KsefIssue(element=_element_path(document, error.path), reason=error.message) for error in schema.error_log]


def _element_path(document, xpath: str) -> str:
    """'*/*[4]/*[10]/*[7]' → 'Faktura/Fa/FaWiersz[1]/P_12' (names, and the line number where it matters)."""
    try:
        found = document.getroottree().xpath(xpath)
    except etree.XPathError:
        found = []
    if not found:
        return xpath or "Faktura"
    node, parts = found[0], []
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None and name == "FaWiersz":
            name = f"{name}[{parent.findall(node.tag).index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/".join(reversed(parts))


# --- building ----------------------------------------------------------------------------------------------------


def _amount(value: Decimal) -> str:
    return f"{round_money(Decimal(value)):.2f}"


def _number(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text


def _sub(parent, tag, text=None, **attrs):
    node = etree.SubElement(parent, f"{{{NS}}}{tag}", **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _address(parent, data: dict) -> None:
    address = _sub(parent, "Adres")
    _sub(address, "KodKraju", (data.get("country") or "PL").upper())
    _sub(address, "AdresL1", data.get("street") or "—")
    second = " ".join(part for part in (data.get("post_code"), data.get("city")) if part)
    if second:
        _sub(address, "AdresL2", second)


def _seller(root, document: Document) -> None:
    seller = document.seller
    podmiot = _sub(root, "Podmiot1")
    ident = _sub(podmiot, "DaneIdentyfikacyjne")
    _sub(ident, "NIP", seller.get("nip"))
    name = seller.get("company_name", "")
    if seller.get("company_name_2"):
        name = f"{name} {seller['company_name_2']}"
    _sub(ident, "Nazwa", name)
    _address(podmiot, seller)
    if seller.get("email") or seller.get("phone"):
        contact = _sub(podmiot, "DaneKontaktowe")
        if seller.get("email"):
            _sub(contact, "Email", seller["email"])
        if seller.get("phone"):
            _sub(contact, "Telefon", seller["phone"][:16])


def _buyer(root, document: Document) -> None:
    buyer = document.buyer
    podmiot = _sub(root, "Podmiot2")
    ident = _sub(podmiot, "DaneIdentyfikacyjne")
    country = (buyer.get("country") or "PL").upper()
    vat_id = rules.buyer_vat_id(buyer)
    if vat_id and rules.transaction_kind(buyer) == rules.EU_BUSINESS:
        # An intra-EU buyer: its EU VAT number (art. 106e ust. 1 pkt 24), prefix and number apart.
        prefix = vat_id[:2]
        _sub(ident, "KodUE", prefix)
        _sub(ident, "NrVatUE", vat_id[2:])
    elif buyer.get("nip") and country == "PL":
        _sub(ident, "NIP", buyer["nip"])
    elif buyer.get("nip"):
        _sub(ident, "KodKraju", country)
        _sub(ident, "NrID", buyer["nip"])
    else:
        _sub(ident, "BrakID", "1")
    _sub(ident, "Nazwa", buyer.get("name") or "—")
    _address(podmiot, buyer)
    if buyer.get("email"):
        _sub(_sub(podmiot, "DaneKontaktowe"), "Email", buyer["email"])
    _sub(podmiot, "JST", "2")
    _sub(podmiot, "GV", "2")


def _totals(fa, document: Document) -> None:
    values = {}
    kind = rules.transaction_kind(document.buyer)
    for row in vat.summary_from_json(document.vat_summary):
        p13, p14 = CODE_ELEMENTS[rules.rate_code(row["rate"], kind)]
        values[p13] = row["net"]
        if p14:
            values[p14] = row["vat"]
            if document.currency != "PLN" and "vat_pln" in row:
                values[f"{p14}W"] = row["vat_pln"]
    for element in TOTAL_ORDER:
        if element in values:
            _sub(fa, element, _amount(values[element]))
    _sub(fa, "P_15", _amount(document.total_gross))


def _annotations(fa, document: Document) -> None:
    notes = _sub(fa, "Adnotacje")
    rates = {line.vat_rate for line in document.lines.all()}
    _sub(notes, "P_16", "2")
    _sub(notes, "P_17", "2")
    _sub(notes, "P_18", "1" if rules.reverse_charge(rates, rules.transaction_kind(document.buyer)) else "2")
    _sub(notes, "P_18A", "1" if document.split_payment else "2")
    exemption = _sub(notes, "Zwolnienie")
    if document.exemption_basis:
        _sub(exemption, "P_19", "1")
        _sub(exemption, "P_19A", document.exemption_basis[:256])
    else:
        _sub(exemption, "P_19N", "1")
    _sub(_sub(notes, "NoweSrodkiTransportu"), "P_22N", "1")
    _sub(notes, "P_23", "2")
    _sub(_sub(notes, "PMarzy"), "P_PMarzyN", "1")


def _line(fa, number: int, *, name, unit, quantity, unit_gross, gross, rate, annex15, document, before=False):
    row = _sub(fa, "FaWiersz")
    _sub(row, "NrWierszaFa", number)
    _sub(row, "P_7", name[:512])
    _sub(row, "P_8A", unit or "szt.")
    _sub(row, "P_8B", _number(quantity))
    _sub(row, "P_9B", _amount(unit_gross))
    _sub(row, "P_11A", _amount(gross))
    _sub(row, "P_12", rules.rate_code(rate, rules.transaction_kind(document.buyer)))
    if annex15 and document.split_payment:
        _sub(row, "P_12_Zal_15", "1")
    if document.exchange_rate is not None:
        _sub(row, "KursWaluty", _number(document.exchange_rate))
    if before:
        _sub(row, "StanPrzed", "1")


def _payment(fa, document: Document) -> None:
    if document.kind == DocumentKind.CORRECTION:
        return
    payment = _sub(fa, "Platnosc")
    paid_on = (document.payment_date or document.issue_date).isoformat()
    if document.amount_paid >= document.total_gross > 0:
        _sub(payment, "Zaplacono", "1")
        _sub(payment, "DataZaplaty", paid_on)
    else:
        if document.amount_paid > 0:
            _sub(payment, "ZnacznikZaplatyCzesciowej", "1")
            part = _sub(payment, "ZaplataCzesciowa")
            _sub(part, "KwotaZaplatyCzesciowej", _amount(document.amount_paid))
            _sub(part, "DataZaplatyCzesciowej", paid_on)
        if document.due_date:
            _sub(_sub(payment, "TerminPlatnosci"), "Termin", document.due_date.isoformat())
    form = PAYMENT_FORMS.get(document.payment_method)
    if form:
        _sub(payment, "FormaPlatnosci", form)
    else:
        _sub(payment, "PlatnoscInna", "1")
        _sub(payment, "OpisPlatnosci", "Za pobraniem" if document.payment_method == "cod" else "Inna")
    account = document.seller.get("bank_account", "")
    if account:
        bank = _sub(payment, "RachunekBankowy")
        _sub(bank, "NrRB", account.removeprefix("PL") if account.startswith("PL") else account)
        if document.seller.get("bank_swift"):
            _sub(bank, "SWIFT", document.seller["bank_swift"])
        if document.seller.get("bank_name"):
            _sub(bank, "NazwaBanku", document.seller["bank_name"][:256])


def build_xml(document: Document) -> bytes:
    """FA(3) XML of an invoice or a correction, UTF-8 without BOM, default namespace as in the MF examples."""
    if document.kind not in (DocumentKind.INVOICE, DocumentKind.CORRECTION):
        raise KsefInvalid([KsefIssue("RodzajFaktury", "Do KSeF trafiają faktury i faktury korygujące.")])
    if document.state not in EXPORTABLE_STATES:
        raise KsefInvalid(
            [
                KsefIssue(
                    "Stan",
                    f"Dokument w stanie „{document.get_state_display()}” nie jest eksportowany do KSeF.",
                )
            ]
        )
    root = etree.Element(f"{{{NS}}}Faktura", nsmap={None: NS, "etd": ETD})
    header = _sub(root, "Naglowek")
    _sub(header, "KodFormularza", "FA", kodSystemowy="FA (3)", wersjaSchemy="1-0E")
    _sub(header, "WariantFormularza", "3")
    _sub(header, "DataWytworzeniaFa", timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(header, "SystemInfo", "Apilo back-office")
    _seller(root, document)
    _buyer(root, document)
    fa = _sub(root, "Fa")
    _sub(fa, "KodWaluty", document.currency)
    _sub(fa, "P_1", document.issue_date.isoformat())
    if document.place_of_issue:
        _sub(fa, "P_1M", document.place_of_issue)
    _sub(fa, "P_2", document.number)
    if document.sale_date != document.issue_date:
        _sub(fa, "P_6", document.sale_date.isoformat())
    _totals(fa, document)
    _annotations(fa, document)
    correction = document.kind == DocumentKind.CORRECTION
    _sub(fa, "RodzajFaktury", "KOR" if correction else "VAT")
    if correction:
        from .services import document_chain_root

        # The corrected invoice is the original one; the earlier corrections are reflected in the "before" rows.
        corrected = document_chain_root(document.corrected_document)
        _sub(fa, "PrzyczynaKorekty", document.correction_reason[:256])
        # mistake: the effect goes back to the original invoice's date (1); other (returns, rebates): now (2).
        _sub(fa, "TypKorekty", "1" if document.correction_reason_code == "mistake" else "2")
        data = _sub(fa, "DaneFaKorygowanej")
        _sub(data, "DataWystFaKorygowanej", corrected.issue_date.isoformat())
        _sub(data, "NrFaKorygowanej", corrected.number)
        if corrected.ksef_number:
            _sub(data, "NrKSeF", "1")
            _sub(data, "NrKSeFFaKorygowanej", corrected.ksef_number)
        else:
            _sub(data, "NrKSeFN", "1")
    if document.issued_to_receipt:
        _sub(fa, "FP", "1")
    if correction:
        # Every line of the corrected invoice, before and after (unchanged ones identical): the per-rate
        # differences in P_13/P_14 then follow from the rows, rounding included.
        from .services import document_current_lines

        before = document_current_lines(document.corrected_document)
        changed = {line.position: line for line in document.lines.all()}
        for number, (position, old) in enumerate(sorted(before.items()), start=1):
            common = {
                "name": old.name,
                "unit": old.unit,
                "rate": old.vat_rate,
                "annex15": old.annex15,
                "document": document,
            }
            old_gross = vat.line_amounts(old.quantity, old.unit_price_gross, old.vat_rate).gross
            _line(
                fa,
                number,
                quantity=old.quantity,
                unit_gross=old.unit_price_gross,
                gross=old_gross,
                before=True,
                **common,
            )
            new = changed.get(position)
            if new is None:
                _line(fa, number, quantity=old.quantity, unit_gross=old.unit_price_gross, gross=old_gross, **common)
            else:
                _line(fa, number, quantity=new.quantity, unit_gross=new.unit_price_gross, gross=new.gross, **common)
    else:
        for number, line in enumerate(document.lines.all(), start=1):
            _line(
                fa,
                number,
                name=line.name,
                unit=line.unit,
                rate=line.vat_rate,
                annex15=line.annex15,
                document=document,
                quantity=line.quantity,
                unit_gross=line.unit_price_gross,
                gross=line.gross,
            )
    _payment(fa, document)
    if document.order_number:
        orders = _sub(_sub(fa, "WarunkiTransakcji"), "Zamowienia")
        order_date = document.order.ordered_at if document.order_id else None
        if order_date:
            _sub(orders, "DataZamowienia", timezone.localtime(order_date).date().isoformat())
        _sub(orders, "NrZamowienia", document.order_number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- arithmetic -------------------------------------------------------------------------------------------------


def arithmetic_issues(xml: bytes, document: Document) -> list[KsefIssue]:
    """The sums the schema does not check: line values, per-rate P_13/P_14, P_15, and agreement with the document."""
    root = etree.fromstring(xml)
    q = {"f": NS}
    fa = root.find("f:Fa", q)
    issues: list[KsefIssue] = []
    after, before = [], []
    for index, row in enumerate(fa.findall("f:FaWiersz", q), start=1):
        quantity = Decimal(row.findtext("f:P_8B", namespaces=q))
        unit_gross = Decimal(row.findtext("f:P_9B", namespaces=q))
        gross = Decimal(row.findtext("f:P_11A", namespaces=q))
        code = row.findtext("f:P_12", namespaces=q)
        rate = CODE_TO_RATE.get(code, code)
        if round_money(quantity * unit_gross) != gross:
            issues.append(
                KsefIssue(
                    f"Fa/FaWiersz[{index}]/P_11A", f"{gross} ≠ P_8B × P_9B = {round_money(quantity * unit_gross)}"
                )
            )
        (before if row.findtext("f:StanPrzed", namespaces=q) == "1" else after).append((rate, gross))
    expected = vat.vat_summary(after)
    if document.kind == DocumentKind.CORRECTION:
        expected = vat.summary_difference(expected, vat.vat_summary(before))
    expected_by_element: dict[str, Decimal] = {}
    kind = rules.transaction_kind(document.buyer)
    for row in expected:
        p13, p14 = CODE_ELEMENTS[rules.rate_code(row["rate"], kind)]
        expected_by_element[p13] = row["net"]
        if p14:
            expected_by_element[p14] = row["vat"]
    for element in sorted(set(expected_by_element) | {e for e in TOTAL_ORDER if not e.endswith("W")}):
        found = fa.findtext(f"f:{element}", namespaces=q)
        want = expected_by_element.get(element)
        if found is None and want in (None, Decimal("0.00")):
            continue
        if found is None or want is None or Decimal(found) != want:
            issues.append(KsefIssue(f"Fa/{element}", f"w XML {found or 'brak'}, z pozycji wynika {want or 'brak'}"))
    net, tax, gross = vat.totals(expected)
    p15 = Decimal(fa.findtext("f:P_15", namespaces=q))
    sum_13_14 = sum(
        (
            Decimal(fa.findtext(f"f:{e}", namespaces=q))
            for e in TOTAL_ORDER
            if not e.endswith("W") and fa.find(f"f:{e}", q) is not None
        ),
        Decimal("0.00"),
    )
    if p15 != sum_13_14:
        issues.append(KsefIssue("Fa/P_15", f"P_15 = {p15}, a suma P_13 i P_14 = {sum_13_14}"))
    if p15 != gross:
        issues.append(KsefIssue("Fa/P_15", f"P_15 = {p15}, a suma pozycji brutto = {gross}"))
    for label, stored, computed in (
        ("razem netto", document.total_net, net),
        ("razem VAT", document.total_vat, tax),
        ("razem brutto", document.total_gross, gross),
    ):
        if stored != computed:
            issues.append(
                KsefIssue(
                    "Fa/P_15" if label == "razem brutto" else "Fa/P_13_x",
                    f"dokument ma {label} {stored}, pozycje dają {computed}",
                )
            )
    return issues


def document_ksef_xml(document: Document) -> bytes:
    """The validated FA(3) XML. Records the outcome on the document; raises KsefInvalid with every issue."""
    xml = build_xml(document)
    issues = schema_issues(xml) + arithmetic_issues(xml, document)
    Document.objects.filter(pk=document.pk).update(
        ksef_validation_state="invalid" if issues else "valid",
        ksef_validated_at=timezone.now(),
        ksef_validation_errors=[{"element": i.element, "reason": i.reason} for i in issues],
    )
    if issues:
        raise KsefInvalid(issues)
    return xml
