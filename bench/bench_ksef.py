"""Issue 7: FA(3) XML generation + validation (schema compiled once) for 10,000 invoices: per-document median."""

import statistics
import time

from accounting import ksef
from accounting.models import Document, DocumentLine
from bench.bench_documents import run as issue_documents


def run(args):
    count = args.ksef_invoices
    if not Document.objects.filter(kind="invoice", number__gt="").exists():
        issue_documents(args)
    templates = list(
        Document.objects.filter(kind="invoice", state="issued").exclude(number="").prefetch_related("lines")[:50]
    )
    existing = Document.objects.filter(series__name="Bench — KSeF").count()
    if existing < count:
        series = templates[0].series
        from accounting.services import series_save

        series = series_save(
            data={
                **{
                    f: getattr(series, f)
                    for f in (
                        "seller_company_name",
                        "seller_nip",
                        "seller_street",
                        "seller_post_code",
                        "seller_city",
                        "bank_name",
                        "bank_account",
                        "bank_swift",
                    )
                },
                "kind": "invoice",
                "name": "Bench — KSeF",
                "number_format": "K/{nr}",
                "reset": "never",
            }
        )
        start = time.perf_counter()
        for offset in range(existing, count, 2000):
            docs, lines = [], []
            for i in range(offset, min(offset + 2000, count)):
                template = templates[i % len(templates)]
                doc = Document(
                    **{
                        f.attname: getattr(template, f.attname)
                        for f in Document._meta.concrete_fields
                        if f.attname not in ("id", "series_id", "number", "sequence", "order_id")
                    }
                )
                doc.series, doc.number, doc.sequence, doc.order_id = series, f"K/{i + 1}", i + 1, template.order_id
                doc.additional = True  # copies of real invoices: beside the live one of their order
                docs.append(doc)
            Document.objects.bulk_create(docs)
            for doc, i in zip(docs, range(offset, offset + len(docs)), strict=True):
                for line in templates[i % len(templates)].lines.all():
                    lines.append(
                        DocumentLine(
                            **{
                                f.attname: getattr(line, f.attname)
                                for f in DocumentLine._meta.concrete_fields
                                if f.attname not in ("id", "document_id")
                            },
                            document=doc,
                        )
                    )
            DocumentLine.objects.bulk_create(lines)
        print(f"prepared {count - existing} invoices in {time.perf_counter() - start:.1f} s")
    compile_start = time.perf_counter()
    ksef.compiled_schema.cache_clear()
    ksef.compiled_schema()
    print(f"schema compiled once: {(time.perf_counter() - compile_start) * 1000:.0f} ms")
    documents = (
        Document.objects.filter(series__name="Bench — KSeF")
        .select_related("order")
        .prefetch_related("lines")
        .order_by("id")[:count]
    )
    times, invalid = [], 0
    total_start = time.perf_counter()
    for document in documents.iterator(chunk_size=500):
        start = time.perf_counter()
        xml = ksef.build_xml(document)
        issues = ksef.schema_issues(xml) + ksef.arithmetic_issues(xml, document)
        times.append((time.perf_counter() - start) * 1000)
        invalid += bool(issues)
    total = time.perf_counter() - total_start
    times.sort()
    print(
        f"FA(3) XML + schema + arithmetic for {len(times)} invoices: median {statistics.median(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms per document; {total:.1f} s in all "
        f"(incl. reading from PostgreSQL); invalid: {invalid}"
    )
