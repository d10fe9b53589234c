from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from apilo.roles import ADMIN_GROUP, STAFF_GROUP
from orders.demo import seed_orders

DEMO_USERS = [
    ("admin", "admin123", ADMIN_GROUP, "Anna", "Administratorska"),
    ("obsluga", "obsluga123", STAFF_GROUP, "Oskar", "Obsługowy"),
]


class Command(BaseCommand):
    help = "Wczytuje dane demonstracyjne (użytkownicy, zamówienia). Można uruchamiać wielokrotnie."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300, help="ile zamówień demonstracyjnych (domyślnie 300)")

    def handle(self, *args, orders, **options):
        User = get_user_model()
        for username, password, group_name, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(password)
                user.save()
            group, _ = Group.objects.get_or_create(name=group_name)
            user.groups.add(group)
        added = seed_orders(orders)
        self.stdout.write(self.style.SUCCESS(f"Dane demo: dodano {added} zamówień (łącznie żądanych: {orders})."))
        self.stdout.write("Loginy demo:")
        for username, password, group_name, *_ in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}  ({group_name})")
