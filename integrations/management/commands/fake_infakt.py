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

    def handle(self, *args, port, api_key, processing_seconds, **options):
        fake = FakeInfakt(api_key=api_key, processing_seconds=processing_seconds)
        url = fake.start(port=port)
        self.stdout.write(f"Atrapa inFakt: {url} (klucz {api_key[:4]}…)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            fake.stop()
