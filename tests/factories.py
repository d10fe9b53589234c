from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

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
