import time

from django.core.management.base import BaseCommand

from integrations.infakt.fake import FakeInfakt


class Command(BaseCommand):
    help = "Uruchamia lokalną atrapę API inFakt (do demonstracji i testów)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--api-key", default="demo-infakt-key-2026")
        parser.add_argument(
            "--processing-seconds", type=float, default=2.0, help="ile trwa przetworzenie zlecenia utworzenia"
        )
        parser.add_argument(
            "--ksef-seconds", type=float, default=10.0, help="po ilu sekundach wysłany dokument jest przyjęty w KSeF"
        )
        parser.add_argument("--no-ksef", action="store_true", help="konto bez integracji z KSeF (422 przy wysyłce)")

    def handle(self, *args, port, api_key, processing_seconds, ksef_seconds, no_ksef, **options):
        fake = FakeInfakt(api_key=api_key, processing_seconds=processing_seconds)
        fake.ksef_seconds, fake.ksef_integrated = ksef_seconds, not no_ksef
        url = fake.start(port=port)
        self.stdout.write(f"Atrapa inFakt: {url} (klucz {api_key[:4]}…)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            fake.stop()
