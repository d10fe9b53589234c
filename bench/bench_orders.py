"""Issue 2: seeding 100,000 orders × 5 items, and the order list's server time and query count."""

import statistics

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.common import stopwatch, summary, timed
from orders.demo import seed_orders
from orders.models import Order, OrderStatus
from orders.selectors import order_list

RAW_PAGE = """
SELECT o.*, s.id, s.name, s.colour, s.position, s.is_active
FROM orders_order o JOIN orders_orderstatus s ON s.id = o.status_id
WHERE o.status_id = %s {search}
ORDER BY o.ordered_at DESC, o.id DESC LIMIT %s
"""
RAW_SEARCH = (
    "AND (UPPER(o.number) = UPPER(%s) OR UPPER(o.external_id) = UPPER(%s) OR UPPER(o.customer_name) LIKE UPPER(%s) "
    "OR UPPER(o.customer_email) LIKE UPPER(%s) OR UPPER(o.invoice_company_name) LIKE UPPER(%s) "
    "OR UPPER(o.invoice_name) LIKE UPPER(%s))"
)


def run(args):
    existing = Order.objects.count()
    if existing < args.orders:
        with stopwatch() as seeding:
            added = seed_orders(args.orders - existing, items_per_order=5, start=existing + 1, batch=5000)
        print(
            f"seeding: {added} orders × 5 items in {seeding['seconds']:.1f} s "
            f"({added / seeding['seconds']:.0f} orders/s; target: under 120 s for 100,000)"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE orders_orderitem")

    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get_or_create(name="Obsługa")[0])
    client = Client()
    client.force_login(user)
    status = OrderStatus.objects.get(name="Nowy")
    in_tab = Order.objects.filter(status=status).count()
    print(f"orders: {Order.objects.count()}, in tab '{status.name}': {in_tab}")
    print(
        f"{'case':<34} {'server time (whole request)':<40} {'queries':>7}   raw SQL page query        ratio"
        "   same page through the ORM"
    )
    for search in ("", "nowak"):
        for size in (50, 200):
            params = {"status": status.pk, "per_page": size}
            if search:
                params["q"] = search

            def view(params=params):
                response = client.get("/zamowienia/", params)
                assert response.status_code == 200
                return response

            view()
            times, _ = timed(view, args.repeat)
            with CaptureQueriesContext(connection) as queries:
                view()
            sql = RAW_PAGE.format(search=RAW_SEARCH if search else "")
            sql_params = [status.pk] + ([search, search] + [f"%{search}%"] * 4 if search else []) + [size]

            def raw(sql=sql, sql_params=sql_params):
                with connection.cursor() as cursor:
                    cursor.execute(sql, sql_params)
                    return cursor.fetchall()

            def orm(params=params, size=size):
                return list(order_list(params).qs[:size])

            raw()
            raw_times, rows = timed(raw, args.repeat)
            orm()
            orm_times, _ = timed(orm, args.repeat)
            raw_median = statistics.median(raw_times)
            orm_median = statistics.median(orm_times)
            label = f"tab, {'search ' + repr(search) if search else 'no search'}, {size}/page"
            print(
                f"{label:<34} {summary(times):<40} {len(queries):>7}   "
                f"median {raw_median:7.2f} ms ({len(rows)} rows)  {statistics.median(times) / raw_median:6.1f}×"
                f"   ORM page query {orm_median:6.2f} ms = {orm_median / raw_median:.2f}×"
            )
    print("(p95: nearest rank; server time = Django test client, whole request incl. template and counts)")
