"""The fake KSeF speaks the real wire format: ksef-client, unchanged, authenticates, sends, polls and gets UPOs."""

import base64
import hashlib

import pytest
from ksef_client import KsefClient, KsefClientOptions
from ksef_client.exceptions import KsefApiError, KsefHttpError, KsefRateLimitError
from ksef_client.models import FormCode
from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow
from ksef_client.utils.ksef_number import is_valid_ksef_number
from lxml import etree

from integrations.ksef.fake import FakeKsef, ksef_number, reference_number, with_check_digits

from .conftest import SELLER_NIP, invoice_xml

FA3 = FormCode(system_code="FA (3)", schema_version="1-0E", value="FA")


def _login(client: KsefClient, token: str, nip: str = SELLER_NIP):
    token_cert = client.security.get_public_key_certificate("KsefTokenEncryption")
    return AuthCoordinator(client.auth).authenticate_with_ksef_token(
        token=token,
        public_certificate=token_cert.certificate,
        public_key_id=token_cert.public_key_id,
        context_identifier_type="nip",
        context_identifier_value=nip,
        poll_interval_seconds=0.01,
        max_attempts=10,
    )


def _open(client: KsefClient, access_token: str):
    key_cert = client.security.get_public_key_certificate("SymmetricKeyEncryption")
    return OnlineSessionWorkflow(client.sessions).open_session(
        form_code=FA3,
        public_certificate=key_cert.certificate,
        public_key_id=key_cert.public_key_id,
        access_token=access_token,
    )


def _final_status(handle, ref):
    for _ in range(20):
        status = handle.get_invoice_status(ref)
        if status.status.code not in (100, 150):
            return status
    raise AssertionError("no final status")


@pytest.fixture
def client(fake_ksef):
    with KsefClient(KsefClientOptions(base_url=fake_ksef.base_url, timeout_seconds=1.0)) as client:
        yield client


def test_the_ksef_number_check_digits_match_the_ministry_example_and_the_sdk():
    assert with_check_digits("5265877635-20250826-0100001AF629") == "5265877635-20250826-0100001AF629-AF"
    import datetime as dt
    import random

    rng = random.Random(3)
    for _ in range(50):
        number = ksef_number(SELLER_NIP, dt.date(2026, 11, 30), rng)
        assert len(number) == 35 and is_valid_ksef_number(number)
    ref = reference_number("SO", dt.date(2026, 11, 30), rng)
    assert len(ref) == 36 and ref[9:11] == "SO"


def test_ksef_client_authenticates_sends_and_reads_the_number_and_the_upo(fake_ksef, client):
    auth = _login(client, fake_ksef.token_for(SELLER_NIP))
    handle = _open(client, auth.access_token)
    xml = invoice_xml("FV/1/11/2026")
    sent = handle.send_invoice(xml)
    first = handle.get_invoice_status(sent.reference_number)
    assert first.status.code in (100, 150) and first.ksef_number is None
    final = _final_status(handle, sent.reference_number)
    assert final.status.code == 200
    assert is_valid_ksef_number(final.ksef_number) and final.ksef_number.startswith(SELLER_NIP + "-")
    assert final.invoice_hash == base64.b64encode(hashlib.sha256(xml).digest()).decode()
    assert fake_ksef.accepted()[0].xml == xml  # decrypted exactly
    upo = etree.fromstring(handle.get_invoice_upo_by_ref(sent.reference_number))
    ns = {"u": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}
    assert upo.findtext("u:Dokument/u:NumerKSeFDokumentu", namespaces=ns) == final.ksef_number
    assert upo.findtext("u:Dokument/u:SkrotDokumentu", namespaces=ns) == final.invoice_hash
    handle.close()
    status = handle.get_status()
    for _ in range(3):
        status = handle.get_status()
    assert status.status.code == 200 and status.successful_invoice_count == 1
    page = status.upo.pages[0].reference_number
    assert b"Potwierdzenie" in handle.get_upo(page)
    # a refreshed access token works; a closed session refuses invoices
    refreshed = client.auth.refresh_access_token(auth.refresh_token).access_token.token
    with pytest.raises(KsefApiError) as refused:
        handle.send_invoice(invoice_xml("FV/2/11/2026"), access_token=refreshed)
    assert refused.value.exception_response.exception.exception_detail_list[0].exception_code == 21180


def test_a_wrong_token_fails_authentication_with_450(fake_ksef, client):
    fake_ksef.token_for(SELLER_NIP)
    with pytest.raises(RuntimeError, match="450"):
        _login(client, "20260101-EC-0000000000-0000000000-00|nip-5260250274|" + "0" * 64)


def test_redeeming_twice_is_refused(fake_ksef, client):
    auth = _login(client, fake_ksef.token_for(SELLER_NIP))
    with pytest.raises(KsefApiError) as err:
        client.auth.redeem_token(auth.authentication_token)
    assert err.value.exception_response.exception.exception_detail_list[0].exception_code == 21301


def test_schema_errors_duplicates_and_future_dates_are_rejected_with_ksef_codes(fake_ksef, client):
    import datetime as dt

    auth = _login(client, fake_ksef.token_for(SELLER_NIP))
    handle = _open(client, auth.access_token)
    good = handle.send_invoice(invoice_xml("FV/7/11/2026")).reference_number
    again = handle.send_invoice(invoice_xml("FV/7/11/2026")).reference_number
    broken = handle.send_invoice(
        invoice_xml("FV/8/11/2026").replace(b"<P_15>", b"<P_15x>").replace(b"</P_15>", b"</P_15x>")
    )
    future = handle.send_invoice(invoice_xml("FV/9/11/2026", issue_date=dt.date.today() + dt.timedelta(days=3)))
    bom = handle.send_invoice(b"\xef\xbb\xbf" + invoice_xml("FV/10/11/2026"))
    original = _final_status(handle, good)
    duplicate = _final_status(handle, again)
    assert duplicate.status.code == 440
    assert duplicate.status.extensions["originalKsefNumber"] == original.ksef_number
    assert _final_status(handle, broken.reference_number).status.code == 450
    assert _final_status(handle, future.reference_number).status.code == 450
    assert _final_status(handle, bom.reference_number).status.code == 450
    listed = handle.list_invoices()
    assert len(listed.invoices) == 5
    assert len(handle.list_failed_invoices().invoices) == 4


def test_faults_are_injected_as_ksef_sends_them(fake_ksef, client):
    auth = _login(client, fake_ksef.token_for(SELLER_NIP))
    handle = _open(client, auth.access_token)
    fake_ksef.retry_after = 7
    fake_ksef.fail_next("429", "/invoices")
    with pytest.raises(KsefRateLimitError) as limited:
        handle.send_invoice(invoice_xml("FV/20/11/2026"))
    assert limited.value.retry_after == 7
    fake_ksef.fail_next("lost_answer", "/invoices")
    with pytest.raises(KsefHttpError) as lost:
        handle.send_invoice(invoice_xml("FV/21/11/2026"))
    assert lost.value.status_code == 0
    assert len(fake_ksef.invoices) == 1  # accepted although the answer was lost
    fake_ksef.fail_next("500")
    with pytest.raises(KsefHttpError) as failed:
        handle.get_status()
    assert failed.value.status_code == 500
    fake_ksef.fail_next("expire_token")
    with pytest.raises(KsefApiError) as expired:
        handle.get_status()
    assert expired.value.status_code == 401
    fresh = client.auth.refresh_access_token(auth.refresh_token).access_token.token
    fake_ksef.fail_next("expire_session", "/invoices")
    with pytest.raises(KsefApiError) as gone:
        handle.send_invoice(invoice_xml("FV/22/11/2026"), access_token=fresh)
    assert gone.value.exception_response.exception.exception_detail_list[0].exception_code == 21180
    fake_ksef.available = False
    with pytest.raises(KsefHttpError) as down:
        client.auth.get_challenge()
    assert down.value.status_code == 503


def test_the_command_serves_the_fake_on_a_port():
    fake = FakeKsef()
    url = fake.start(port=0)
    try:
        with KsefClient(KsefClientOptions(base_url=url)) as client:
            assert len(client.security.get_public_key_certificates()) == 2
    finally:
        fake.stop()
