from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounting.models import DocumentSeries
from apilo.roles import ADMIN_GROUP, STAFF_GROUP
from orders.models import Order, OrderItem, OrderStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Jan"
    last_name = "Kowalski"
    password = factory.PostGenerationMethodCall("set_password", "haslo-testowe-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(
                Group.objects.get_or_create(name={"admin": ADMIN_GROUP, "staff": STAFF_GROUP}[extracted])[0]
            )
        self.save()


def status(name: str) -> OrderStatus:
    return OrderStatus.objects.get(name=name)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"AL2611{n:06d}")
    channel = "allegro"
    external_id = factory.Sequence(lambda n: f"ALG-{n:07d}")
    status = factory.LazyFunction(lambda: status("Nowy"))
    ordered_at = factory.LazyFunction(timezone.now)
    customer_name = "Łukasz Żółtowski"
    customer_email = "l.zoltowski@example.pl"
    invoice_name = "Łukasz Żółtowski"
    invoice_street = "ul. Świętokrzyska 12/4"
    invoice_post_code = "00-916"
    invoice_city = "Warszawa"
    delivery_name = "Łukasz Żółtowski"
    delivery_street = "ul. Świętokrzyska 12/4"
    delivery_post_code = "00-916"
    delivery_city = "Warszawa"
    total_gross = Decimal("114.97")

    @factory.post_generation
    def items(self, create, extracted, **kwargs):
        if not create:
            return
        rows = (
            extracted
            if extracted is not None
            else [
                {
                    "name": "Kubek ceramiczny",
                    "quantity": Decimal(2),
                    "unit_price_gross": Decimal("49.99"),
                    "vat_rate": "23",
                },
                {
                    "name": "Kurier InPost",
                    "kind": "shipping",
                    "quantity": Decimal(1),
                    "unit_price_gross": Decimal("14.99"),
                    "vat_rate": "23",
                },
            ]
        )
        for position, row in enumerate(rows, start=1):
            OrderItem.objects.create(order=self, position=position, **row)
        self.total_gross = sum((i.gross for i in self.items.all()), Decimal("0.00"))
        self.save(update_fields=["total_gross"])


SELLER = {
    "seller_company_name": "Sklep Bursztyn Sp. z o.o.",
    "seller_nip": "5260250274",
    "seller_street": "ul. Długa 5",
    "seller_post_code": "80-831",
    "seller_city": "Gdańsk",
    "seller_email": "biuro@bursztyn.example.pl",
    "bank_name": "Santander Bank Polska",
    "bank_account": "PL61109010140000071219812874",
    "bank_swift": "WBKPPLPP",
    "place_of_issue": "Gdańsk",
}


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentSeries

    kind = "invoice"
    name = factory.Sequence(lambda n: f"Faktury {n}")
    number_format = factory.Sequence(lambda n: f"FV{n}/{{nr}}/{{mm}}/{{rrrr}}")
    reset = "monthly"
    is_default = False
    seller_company_name = SELLER["seller_company_name"]
    seller_nip = SELLER["seller_nip"]
    seller_street = SELLER["seller_street"]
    seller_post_code = SELLER["seller_post_code"]
    seller_city = SELLER["seller_city"]
    seller_email = SELLER["seller_email"]
    bank_name = SELLER["bank_name"]
    bank_account = SELLER["bank_account"]
    bank_swift = SELLER["bank_swift"]
    place_of_issue = "Gdańsk"
    exemption_basis = "art. 43 ust. 1 pkt 29 lit. a ustawy o VAT"
    # A receipt series prints on a fiscal printer (a test printer; nothing prints unless a test runs on_commit).
    printer = factory.LazyAttribute(lambda series: fiscal_printer() if series.kind == "receipt" else None)


def fiscal_printer():
    from devices.models import Printer

    printer, _ = Printer.objects.get_or_create(
        name="Kasa testowa", defaults={"kind": "posnet", "connection": "socket://127.0.0.1:9"}
    )
    return printer
