import datetime as dt
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SELLER_NIP = "5260250274"


def invoice_xml(number: str, *, nip: str = SELLER_NIP, issue_date: dt.date | None = None) -> bytes:
    """A schema-valid FA(3) invoice (the minimal B2B example) with the given seller, number and issue date."""
    text = (DATA / "minimal_B2B_VAT.xml").read_text(encoding="utf-8")
    day = issue_date or dt.date.today()
    text = text.replace("<NIP>9999999999</NIP>", f"<NIP>{nip}</NIP>")
    text = text.replace("<P_2>FV/2026/03/000001</P_2>", f"<P_2>{number}</P_2>")
    text = text.replace("<P_1>2026-03-02</P_1>", f"<P_1>{day.isoformat()}</P_1>")
    return text.encode("utf-8")


@pytest.fixture
def fake_ksef():
    from integrations.ksef.fake import FakeKsef

    fake = FakeKsef(processing_polls=1)
    fake.slow_seconds = 1.5
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def ksef_settings(settings):
    settings.KSEF_POLL_SECONDS = 0.01
    settings.KSEF_TIMEOUT_SECONDS = 1.0
    settings.KSEF_RETRY_BASE_SECONDS = 0.01
    settings.KSEF_RETRY_MAX_SECONDS = 0.05
    return settings


@pytest.fixture
def ksef_connection(db, fake_ksef, ksef_settings):
    from integrations.ksef.client import _certificates
    from integrations.ksef.services import ksef_connection_save

    _certificates.clear()
    return ksef_connection_save(
        data={
            "name": "KSeF (atrapa)",
            "nip": SELLER_NIP,
            "environment": "custom",
            "base_url": fake_ksef.base_url,
            "qr_environment": "test",
            "token": fake_ksef.token_for(SELLER_NIP),
        }
    )
