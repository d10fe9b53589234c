import time

from django.core.management.base import BaseCommand

from integrations.ksef.fake import FakeKsef


class Command(BaseCommand):
    help = "Uruchamia lokalną atrapę API KSeF 2.0 (do demonstracji i testów)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8098)
        parser.add_argument("--nip", action="append", default=[], help="NIP, dla którego atrapa wyda token KSeF")
        parser.add_argument("--processing-seconds", type=float, default=1.0)

    def handle(self, *args, port, nip, processing_seconds, **options):
        fake = FakeKsef(processing_seconds=processing_seconds)
        url = fake.start(port=port)
        self.stdout.write(f"Atrapa KSeF: {url} (adres API {url}/v2)")
        for value in nip:
            token = fake.token_for(value)
            self.stdout.write(f"  token KSeF dla NIP {value}: {token[:24]}…")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            fake.stop()
