"""Issue 3: issuing 1,000 invoices (no PDF), PDF of a 20-line invoice vs a bare WeasyPrint table, PDF throughput."""

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import services
from accounting.models import Document, DocumentSeries
from accounting.pdf import render_pdf
from bench.common import timed
from orders.demo import seed_orders
from orders.models import Order, OrderItem

SELLER = {
    "seller_company_name": "Sklep Bursztyn Sp. z o.o.",
    "seller_nip": "5260250274",
    "seller_street": "ul. Długa 5",
    "seller_post_code": "80-831",
    "seller_city": "Gdańsk",
    "bank_name": "Santander Bank Polska",
    "bank_account": "PL61109010140000071219812874",
    "bank_swift": "WBKPPLPP",
    "place_of_issue": "Gdańsk",
}


def _series(name, number_format):
    series = DocumentSeries.objects.filter(name=name).first()
    return series or services.series_save(
        data={
            **SELLER,
            "kind": "invoice",
            "name": name,
            "number_format": number_format,
            "reset": "never",
            "exemption_basis": "art. 43 ust. 1 pkt 29 lit. a ustawy o VAT",
        }
    )


def _bare_html(lines):
    rows = "".join(
        f"<tr><td>{i}</td><td>{line.name}</td><td>{line.unit}</td><td>{line.quantity}</td>"
        f"<td>{line.unit_price_net}</td><td>{line.unit_price_gross}</td><td>{line.vat_rate}</td><td>{line.net}</td>"
        f"<td>{line.vat}</td><td>{line.gross}</td></tr>"
        for i, line in enumerate(lines, 1)
    )
    return (
        f'<html><body style="font-family: DejaVu Sans; font-size: 8.5pt"><table border="1">{rows}</table></body></html>'
    )


def _render_many(ids):
    import django

    django.setup()
    from accounting.models import Document
    from accounting.pdf import render_pdf

    for document in Document.objects.filter(pk__in=ids).prefetch_related("lines"):
        render_pdf(document)
    return len(ids)


def run(args):
    count = 1000
    seed_orders(1400, start=900_001, seed=7)
    orders = list(
        Order.objects.filter(external_id__startswith="DEMO-")
        .exclude(documents__isnull=False)
        .filter(currency="PLN")
        .exclude(items__vat_rate="zw")
        .distinct()[:count]
    )
    series = _series("Bench — wystawianie", "B/{nr}")
    queries_per_doc = []
    start = time.perf_counter()
    for order in orders:
        with CaptureQueriesContext(connection) as queries:
            services.document_issue(order=order, series=series, as_consumer=True)
        queries_per_doc.append(len(queries))
    elapsed = time.perf_counter() - start
    print(
        f"issuing {len(orders)} invoices without PDF: {elapsed:.1f} s = {len(orders) / elapsed:.0f} documents/s, "
        f"{statistics.median(queries_per_doc):.0f} SQL queries per document (median; max {max(queries_per_doc)})"
    )

    # A 20-line invoice: the product's PDF vs the same 20 lines as a bare WeasyPrint table, same process.
    order = orders[0]
    OrderItem.objects.filter(order=order).delete()
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                position=i,
                name=f"Produkt testowy nr {i} — „żółty” wariant",
                quantity=Decimal(i % 3 + 1),
                unit_price_gross=Decimal("19.99") + i,
                vat_rate=["23", "8", "5"][i % 3],
            )
            for i in range(1, 21)
        ]
    )
    document = services.document_issue(
        order=order, series=_series("Bench — PDF", "P/{nr}"), as_consumer=True, additional=True
    )
    lines = list(document.lines.all())
    from weasyprint import HTML

    bare = _bare_html(lines)
    render_pdf(document)
    HTML(string=bare).write_pdf()
    product_times, _ = timed(lambda: render_pdf(document), args.repeat)
    bare_times, _ = timed(lambda: HTML(string=bare).write_pdf(), args.repeat)
    product, plain = statistics.median(product_times), statistics.median(bare_times)
    print(
        f"PDF, 20-line invoice: median {product:.1f} ms; bare WeasyPrint table of the same 20 lines: "
        f"median {plain:.1f} ms; ratio {product / plain:.2f}× (target ≤ 1.2×)"
    )

    ids = list(Document.objects.filter(series=series).values_list("pk", flat=True)[:200])
    for workers in (1, 2):
        chunks = [ids[i::workers] for i in range(workers)]
        connection.close()
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = sum(pool.map(_render_many, chunks))
        elapsed = time.perf_counter() - start
        print(
            f"PDF throughput, {workers} process{'es' if workers > 1 else ''}: {done} invoices in {elapsed:.1f} s "
            f"= {done / elapsed:.1f} PDF/s"
        )


def run_list(args):
    """Księgowość > Dokumenty with 100,000 documents: the page's server time and query count."""
    from datetime import date, timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from bench.common import summary

    template = Document.objects.filter(kind="invoice").first()
    if template is None:
        run(args)
        template = Document.objects.filter(kind="invoice").first()
    series = _series("Bench — lista", "L/{nr}")
    missing = 100_000 - Document.objects.count()
    if missing > 0:
        start = time.perf_counter()
        names = ["Żółw Sp. z o.o.", "Zofia Nowak", "Bursztyn s.c.", "Paweł Wójcik", "Orzeł S.A."]
        batch = []
        for i in range(missing):
            batch.append(
                Document(
                    kind=template.kind,
                    series=series,
                    number=f"L/{i + 1}",
                    period="",
                    sequence=i + 1,
                    issue_date=date(2026, 11, 25) - timedelta(days=i % 700),
                    sale_date=date(2026, 11, 25),
                    currency="PLN",
                    seller=template.seller,
                    buyer={**template.buyer, "name": names[i % 5]},
                    vat_summary=template.vat_summary,
                    total_net=template.total_net,
                    total_vat=template.total_vat,
                    total_gross=template.total_gross,
                    order_number=f"AL26110{i:05d}",
                )
            )
            if len(batch) == 5000:
                Document.objects.bulk_create(batch)
                batch = []
        Document.objects.bulk_create(batch)
        print(f"inserted {missing} documents in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounting_document")
    user, _ = get_user_model().objects.get_or_create(username="bench-docs")
    user.groups.add(Group.objects.get_or_create(name="Obsługa")[0])
    client = Client()
    client.force_login(user)
    print(f"documents: {Document.objects.count()}")
    for label, params in [
        ("no filter", {}),
        ("kind = invoice", {"kind": "invoice"}),
        ("issue date range (1 month)", {"date_from": "2026-10-01", "date_to": "2026-10-31"}),
        ("search 'nowak'", {"q": "nowak"}),
        ("number 'L/777'", {"number": "L/777"}),
    ]:

        def view(params=params):
            response = client.get("/ksiegowosc/dokumenty/", params)
            assert response.status_code == 200

        view()
        times, _ = timed(view, args.repeat)
        with CaptureQueriesContext(connection) as queries:
            view()
        print(f"  Dokumenty list, {label:<28} {summary(times)}   {len(queries)} queries")
