import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections

from accounting import services
from accounting.models import Document
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def issue(series, day):
    with time_machine.travel(day):
        return services.document_issue(order=OrderFactory(), series=series).number


def test_monthly_series_restarts_each_month():
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}", reset="monthly")
    numbers = [issue(series, date(2026, 11, 29)), issue(series, date(2026, 11, 30)), issue(series, date(2026, 12, 1))]
    assert numbers == ["FV/1/11/2026", "FV/2/11/2026", "FV/1/12/2026"]


def test_yearly_series_restarts_each_year():
    series = SeriesFactory(number_format="F/{nr}/{rrrr}", reset="yearly")
    numbers = [issue(series, date(2026, 12, 31)), issue(series, date(2026, 12, 31)), issue(series, date(2027, 1, 1))]
    assert numbers == ["F/1/2026", "F/2/2026", "F/1/2027"]


def test_continuous_series_never_restarts_and_honours_the_start_number():
    series = SeriesFactory(number_format="R{nr}", reset="never", start_number=100)
    assert [issue(series, date(2026, 12, 31)), issue(series, date(2027, 1, 1))] == ["R100", "R101"]


def test_period_follows_the_issue_date_in_warsaw():
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}")
    # 23:30 UTC on 30 November is already 1 December in Warsaw
    number = issue(series, datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC")))
    assert number == "FV/1/12/2026"


def test_changing_the_format_never_renumbers_issued_documents():
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}")
    first = issue(series, date(2026, 11, 10))
    services.series_save(data={"number_format": "FS/{nr}/{mm}/{rr}"}, series=series)
    second = issue(series, date(2026, 11, 11))
    assert Document.objects.order_by("id").first().number == first == "FV/1/11/2026"
    assert second == "FS/2/11/26"


def test_switching_reset_never_reuses_a_number():
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}", reset="monthly")
    issue(series, date(2026, 11, 10))
    services.series_save(data={"reset": "yearly"}, series=series)
    assert issue(series, date(2026, 11, 11)) == "FV/2/11/2026"  # FV/1/11/2026 is taken: skipped, never reused


def test_a_failed_issue_returns_its_number():
    series = SeriesFactory(number_format="FV/{nr}/{mm}/{rrrr}")
    bad = OrderFactory(invoice_company_name="X", invoice_nip="")
    with pytest.raises(services.OrderNotInvoiceable):
        services.document_issue(order=bad, series=series)
    assert issue(series, date(2026, 11, 10)) == "FV/1/11/2026"


@pytest.mark.django_db(transaction=True)
def test_eight_threads_issuing_fifty_each_get_numbers_1_to_400_exactly_once():
    assert connection.vendor == "postgresql", "locking is proven on PostgreSQL"
    series = SeriesFactory(number_format="C/{nr}", reset="never")
    orders = [OrderFactory() for _ in range(400)]
    chunks = [orders[i::8] for i in range(8)]
    errors = []
    barrier = threading.Barrier(8)

    def worker(chunk):
        try:
            barrier.wait()
            for order in chunk:
                services.document_issue(order=order, series=series)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = sorted(Document.objects.filter(series=series).values_list("sequence", flat=True))
    assert sequences == list(range(1, 401))
    assert Document.objects.filter(series=series).values("number").distinct().count() == 400


@pytest.mark.django_db(transaction=True)
def test_double_submit_from_two_threads_makes_one_document():
    series, order = SeriesFactory(), OrderFactory()
    results, barrier = [], threading.Barrier(4)

    def click():
        try:
            barrier.wait()
            results.append(services.document_issue(order=order, series=series).pk)
        except services.DocumentAlreadyIssued as err:
            results.append(err.document.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Document.objects.count() == 1
    assert len(set(results)) == 1 and len(results) == 4
