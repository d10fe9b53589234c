from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounting.models import DocumentSeries
from accounting.services import series_save, series_setup_defaults
from apilo.roles import ADMIN_GROUP, STAFF_GROUP
from integrations.models import Integration
from integrations.services import integration_save, integration_verify
from orders.demo import seed_orders

DEMO_USERS = [
    ("admin", "admin123", ADMIN_GROUP, "Anna", "Administratorska"),
    ("obsluga", "obsluga123", STAFF_GROUP, "Oskar", "Obsługowy"),
]
DEMO_SELLER = {
    "seller_company_name": "Sklep Bursztyn Sp. z o.o.",
    "seller_nip": "5260250274",
    "seller_street": "ul. Długa 5",
    "seller_post_code": "80-831",
    "seller_city": "Gdańsk",
    "seller_email": "biuro@bursztyn.example.pl",
    "seller_phone": "+48 58 123 45 67",
    "bank_name": "Santander Bank Polska",
    "bank_account": "PL61109010140000071219812874",
    "bank_swift": "WBKPPLPP",
    "place_of_issue": "Gdańsk",
    "payment_term_days": 7,
}


class Command(BaseCommand):
    help = "Wczytuje dane demonstracyjne (użytkownicy, zamówienia, serie, integracja z atrapą inFakt). Idempotentne."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300, help="ile zamówień demonstracyjnych (domyślnie 300)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="wczytaj także przy DEBUG=false (tworzy konta admin/admin123 i obsluga/obsluga123!)",
        )

    def handle(self, *args, orders, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG=false: dane demo (z kontami admin/admin123 i obsluga/obsluga123) nie zostaną wczytane "
                "w środowisku produkcyjnym. Jeśli naprawdę tego chcesz, dodaj --force."
            )
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
        if not DocumentSeries.objects.exists():
            series_setup_defaults(seller=DEMO_SELLER)
            self.stdout.write("Utworzono domyślne serie dokumentów.")
        self._demo_infakt()
        self._demo_ksef()
        self.stdout.write("Loginy demo:")
        for username, password, group_name, *_ in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}  ({group_name})")

    def _demo_infakt(self):
        url = settings.DEMO_INFAKT_URL
        if not url:
            return
        integration = Integration.objects.filter(name="inFakt (atrapa demo)").first()
        if integration is None:
            integration = integration_save(
                data={
                    "provider": "infakt",
                    "name": "inFakt (atrapa demo)",
                    "base_url": url,
                    "api_key": settings.DEMO_INFAKT_KEY,
                }
            )
        else:
            integration_verify(integration=integration)
        if not DocumentSeries.objects.filter(name="Faktura inFakt (demo)").exists():
            series_save(
                data={
                    **DEMO_SELLER,
                    "kind": "invoice",
                    "name": "Faktura inFakt (demo)",
                    "number_format": "INF/{nr}/{mm}/{rrrr}",
                    "reset": "monthly",
                    "integration": integration,
                }
            )
        state = "działa" if integration.state == "ok" else f"nie działa ({integration.last_error})"
        self.stdout.write(f"Integracja inFakt (atrapa pod {url}): połączenie {state}.")

    def _demo_ksef(self):
        """`make run` starts a fake KSeF: connect the demo seller's NIP to it and add KSeF series."""
        url = settings.DEMO_KSEF_URL
        if not url:
            return
        from integrations.ksef.fake import demo_token
        from integrations.ksef.services import ksef_connection_save, ksef_connection_verify
        from integrations.models import KsefConnection

        nip = DEMO_SELLER["seller_nip"]
        connection = KsefConnection.objects.filter(nip=nip).first()
        if connection is None:
            connection = ksef_connection_save(
                data={
                    "name": "KSeF (atrapa demo)",
                    "nip": nip,
                    "environment": "custom",
                    "base_url": url,
                    "qr_environment": "test",
                    "token": demo_token(nip),
                }
            )
        else:
            ksef_connection_verify(connection=connection)
        for kind, name, number_format in (
            ("invoice", "Faktura KSeF (demo)", "KSEF/{nr}/{mm}/{rrrr}"),
            ("correction", "Korekta KSeF (demo)", "KSEFK/{nr}/{mm}/{rrrr}"),
        ):
            if not DocumentSeries.objects.filter(name=name).exists():
                series_save(
                    data={
                        **DEMO_SELLER,
                        "kind": kind,
                        "name": name,
                        "number_format": number_format,
                        "reset": "monthly",
                        "ksef_connection": connection,
                    }
                )
        state = "działa" if connection.state == "ok" else f"nie działa ({connection.last_error})"
        self.stdout.write(f"KSeF (atrapa pod {url}): połączenie {state}.")
