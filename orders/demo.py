"""Realistic Polish demo orders, inserted in bulk. Used by `seed_demo` and the benchmarks.

Demo orders carry external ids `DEMO-<n>` per channel, so seeding again adds nothing twice. Bulk inserts write
their `created` history rows too, but send no signal: demo history must not trigger automatic tasks.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from stdnum import ean as stdnum_ean

from apilo.money import round_money

from .models import (
    Channel,
    ItemKind,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)
from .selectors import order_counts_invalidate
from .services import order_numbers_allocate

FIRST_NAMES = [
    "Łukasz",
    "Zofia",
    "Małgorzata",
    "Paweł",
    "Agnieszka",
    "Grzegorz",
    "Józef",
    "Katarzyna",
    "Michał",
    "Anna",
    "Wojciech",
    "Ewa",
    "Piotr",
    "Joanna",
    "Krzysztof",
    "Magdalena",
    "Tomasz",
    "Żaneta",
]
LAST_NAMES = [
    "Żółtowski",
    "Nowak",
    "Wiśniewska",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowska",
    "Zieliński",
    "Szymańska",
    "Woźniak",
    "Dąbrowski",
    "Kozłowska",
    "Jankowski",
    "Mazur",
    "Krawczyk",
    "Grabowska",
    "Pawłowski",
    "Michalska",
    "Król",
    "Wieczorek",
    "Jabłoński",
    "Nowakowska",
    "Majewski",
    "Olszewska",
]
CITIES = [
    ("Warszawa", "00-916"),
    ("Kraków", "31-042"),
    ("Łódź", "90-001"),
    ("Wrocław", "50-077"),
    ("Poznań", "61-701"),
    ("Gdańsk", "80-831"),
    ("Szczecin", "70-502"),
    ("Bydgoszcz", "85-023"),
    ("Lublin", "20-076"),
    ("Białystok", "15-001"),
    ("Katowice", "40-098"),
    ("Gdynia", "81-301"),
    ("Częstochowa", "42-200"),
    ("Radom", "26-600"),
    ("Toruń", "87-100"),
    ("Rzeszów", "35-064"),
    ("Zielona Góra", "65-001"),
    ("Bielsko-Biała", "43-300"),
    ("Świnoujście", "72-600"),
    ("Łomża", "18-400"),
]
STREETS = [
    "ul. Świętokrzyska",
    "ul. Marszałkowska",
    "ul. Piotrkowska",
    "ul. Długa",
    "ul. Żeromskiego",
    "al. Jerozolimskie",
    "ul. Kościuszki",
    "ul. Mickiewicza",
    "ul. Słowackiego",
    "ul. Źródlana",
    "ul. Łąkowa",
    "ul. Ogrodowa",
    "ul. Kwiatowa",
    "os. Śląskie",
]
COMPANY_WORDS = [
    "Żółw",
    "Bursztyn",
    "Pszczółka",
    "Sokół",
    "Dębowy Zakątek",
    "Wisła",
    "Gwiazda",
    "Mazowsze",
    "Kłos",
    "Źródło",
    "Orzeł",
    "Tęcza",
]
COMPANY_FORMS = ["Sp. z o.o.", "S.A.", "Sp. j.", "s.c.", "Sp. k."]
# (name, unit gross price, VAT rate, annex-15 item)
PRODUCTS = [
    ("Kubek ceramiczny „Zakopane”", "49.99", "23", False),
    ("Herbata liściasta 100 g", "18.90", "5", False),
    ("Książka „Pan Tadeusz”", "39.90", "5", False),
    ("Miód wielokwiatowy 400 g", "32.00", "5", False),
    ("Kawa ziarnista 1 kg", "89.00", "5", False),
    ("Czekolada gorzka 70%", "8.49", "5", False),
    ("Słuchawki bezprzewodowe", "249.00", "23", True),
    ("Smartfon Żuraw X5", "1899.00", "23", True),
    ("Ładowarka USB-C 65 W", "119.00", "23", False),
    ("Koc wełniany", "159.00", "23", False),
    ("Świeca sojowa „Las”", "34.50", "23", False),
    ("Ręcznik łazienkowy", "45.99", "23", False),
    ("Laptop Źrebię 14″", "4299.00", "23", True),
    ("Procesor 8-rdzeniowy", "1349.00", "23", True),
    ("Krem do rąk 75 ml", "21.99", "23", False),
    ("Zabawka drewniana „Żyrafa”", "69.00", "23", False),
    ("Gazeta codzienna", "4.50", "8", False),
    ("Woda mineralna 6 × 1,5 l", "12.99", "5", False),
    ("Usługa grawerowania", "25.00", "23", False),
    ("Bilet wstępu — warsztaty", "120.00", "8", False),
    ("Karta podarunkowa", "100.00", "np", False),
    ("Kurs online (szkolenie zawodowe)", "350.00", "zw", False),
    ("Rower dziecięcy 16″", "699.00", "23", False),
    ("Płyn do naczyń 1 l", "9.99", "23", False),
    ("Dysk SSD 1 TB", "379.00", "23", True),
    ("Lampa biurkowa LED", "139.00", "23", False),
]
SHIPPING = [
    ("Kurier InPost", "14.99"),
    ("Paczkomat InPost", "12.99"),
    ("Poczta Polska – Pocztex", "16.50"),
    ("Kurier DPD", "17.99"),
    ("Odbiór osobisty", "0.00"),
]
CHANNEL_PREFIX = {
    Channel.ALLEGRO: "ALG",
    Channel.AMAZON: "AMZ",
    Channel.SHOP: "WWW",
    Channel.EBAY: "EBY",
    Channel.EMPIK: "EMP",
    Channel.ERLI: "ERL",
}


def fake_nip(rng: random.Random) -> str:
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def fake_ean(rng: random.Random) -> str:
    body = "590" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return body + stdnum_ean.calc_check_digit(body)


PRODUCT_EANS = {name: fake_ean(random.Random(name)) for name, *_ in PRODUCTS}
PRODUCT_SKUS = {name: f"SKU-{i:04d}" for i, (name, *_) in enumerate(PRODUCTS, start=1)}
STATUS_WEIGHTS = [30, 5, 15, 10, 5, 20, 12, 3]


def build_order(rng: random.Random, n: int, statuses: list[OrderStatus], now, items_per_order: int | None = None):
    channel = rng.choice(list(CHANNEL_PREFIX))
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, post_code = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}" + (f"/{rng.randint(1, 40)}" if rng.random() < 0.5 else "")
    is_company = rng.random() < 0.35
    foreign = rng.random() < 0.05
    currency = "EUR" if foreign else "PLN"
    country = "DE" if foreign else "PL"
    if foreign:
        city, post_code, street = "Berlin", "10115", f"Invalidenstraße {rng.randint(1, 90)}"
    name = f"{first} {last}"
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_FORMS)}" if is_company else ""
    payment_status = rng.choices(
        [PaymentStatus.PAID, PaymentStatus.NONE, PaymentStatus.PARTIAL, PaymentStatus.OVERPAID], [70, 22, 6, 2]
    )[0]
    order = Order(
        channel=channel,
        external_id=f"DEMO-{CHANNEL_PREFIX[channel]}-{n:07d}",
        status=rng.choices(statuses, STATUS_WEIGHTS if len(statuses) == len(STATUS_WEIGHTS) else None)[0],
        ordered_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 60)),
        customer_name=name,
        customer_email=f"{last.lower()}.{n}@example.pl".translate(_ASCII),
        customer_phone=f"+48 {rng.randint(500, 899)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
        customer_login=f"{first.lower()}_{n}".translate(_ASCII),
        invoice_company_name=company,
        invoice_nip=fake_nip(rng) if is_company and not foreign else "",
        invoice_name=name,
        invoice_street=street,
        invoice_post_code=post_code,
        invoice_city=city,
        invoice_country=country,
        delivery_name=name,
        delivery_company_name=company,
        delivery_street=street,
        delivery_post_code=post_code,
        delivery_city=city,
        delivery_country=country,
        wants_invoice=is_company or rng.random() < 0.1,
        currency=currency,
        payment_method=rng.choice(list(PaymentMethod)),
        payment_status=payment_status,
        notes=rng.choice(
            ["", "", "", "Proszę o fakturę na firmę.", "Prezent — proszę nie dołączać paragonu.", "Dostawa po 16:00."]
        ),
    )
    count = items_per_order or rng.randint(1, 4)
    items = []
    for position, (pname, price, rate, annex) in enumerate(rng.sample(PRODUCTS, count - 1) if count > 1 else [], 1):
        qty = Decimal(rng.choice([1, 1, 1, 2, 3]))
        items.append(
            OrderItem(
                position=position,
                kind=ItemKind.PRODUCT,
                name=pname,
                sku=PRODUCT_SKUS[pname],
                ean=PRODUCT_EANS[pname],
                quantity=qty,
                unit="szt.",
                unit_price_gross=Decimal(price),
                vat_rate=rate,
                annex15=annex,
            )
        )
    if not items:
        pname, price, rate, annex = rng.choice(PRODUCTS)
        items.append(
            OrderItem(
                position=1,
                kind=ItemKind.PRODUCT,
                name=pname,
                sku=PRODUCT_SKUS[pname],
                ean=PRODUCT_EANS[pname],
                quantity=Decimal(1),
                unit="szt.",
                unit_price_gross=Decimal(price),
                vat_rate=rate,
                annex15=annex,
            )
        )
    ship_name, ship_price = rng.choice(SHIPPING)
    items.append(
        OrderItem(
            position=len(items) + 1,
            kind=ItemKind.SHIPPING,
            name=ship_name,
            quantity=Decimal(1),
            unit="usł.",
            unit_price_gross=Decimal(ship_price),
            vat_rate="23",
        )
    )
    if foreign:
        for item in items:
            item.unit_price_gross = round_money(item.unit_price_gross / Decimal("4.3"))
    order.total_gross = sum((round_money(i.quantity * i.unit_price_gross) for i in items), Decimal("0.00"))
    order.amount_paid = {
        PaymentStatus.PAID: order.total_gross,
        PaymentStatus.NONE: Decimal("0.00"),
        PaymentStatus.PARTIAL: round_money(order.total_gross / 2),
        PaymentStatus.OVERPAID: order.total_gross + Decimal("10.00"),
    }[payment_status]
    return order, items


_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


def seed_orders(
    count: int, *, seed: int = 2026, batch: int = 2000, items_per_order: int | None = None, start: int = 1
) -> int:
    """Insert demo orders numbered start..start+count-1 that are not there yet. Returns how many were added."""
    rng = random.Random(seed)
    statuses = list(OrderStatus.objects.filter(is_active=True).order_by("position"))
    now = timezone.now()
    existing = set(Order.objects.filter(external_id__startswith="DEMO-").values_list("external_id", flat=True))
    added = 0
    for offset in range(start, start + count, batch):
        built = [
            build_order(rng, n, statuses, now, items_per_order)
            for n in range(offset, min(offset + batch, start + count))
        ]
        built = [(o, items) for o, items in built if o.external_id not in existing]
        if not built:
            continue
        with transaction.atomic():
            numbers = order_numbers_allocate(count=len(built))
            for (order, _), number in zip(built, numbers, strict=True):
                order.number = number
            Order.objects.bulk_create([o for o, _ in built], batch_size=batch)
            all_items = []
            for order, items in built:
                for item in items:
                    item.order = order
                all_items.extend(items)
            OrderItem.objects.bulk_create(all_items, batch_size=batch * 2)
            OrderEvent.objects.bulk_create(
                [
                    OrderEvent(order=o, kind=OrderEventKind.CREATED, to_status=o.status, payload={"source": "demo"})
                    for o, _ in built
                ],
                batch_size=batch,
            )
        added += len(built)
    order_counts_invalidate()
    return added
