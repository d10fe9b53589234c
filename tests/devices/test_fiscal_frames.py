"""Fiscal frames that cannot break: every text sanitised and length-limited, the whole receipt checked before
`trinit`, cancelled receipts never printed."""

import pytest

from apilo.errors import Conflict
from apilo.states import IllegalTransition
from devices import services
from devices.fake_posnet import FakePosnet
from devices.models import JobState
from devices.posnet import ETX, STX, FrameError, PosnetDriver, build_frame, clean_text, crc

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    printer = FakePosnet()
    yield printer
    printer.stop()


@pytest.fixture
def printer(fake):
    return services.printer_save(
        data={"kind": "posnet", "name": "Kasa 1", "connection": fake.url, "settings": {"timeout": 2}}
    )


def job_for(printer, lines, *, key="receipt-1", nip="", total=None):
    payload = services.receipt_payload(
        services.ReceiptPayload(
            lines=[services.ReceiptLine(name, quantity, price, rate) for name, quantity, price, rate in lines],
            total=sum(int(q) * p for _, q, p, _ in lines) if total is None else total,
            nip=nip,
            payments=[("card", sum(int(q) * p for _, q, p, _ in lines))],
        )
    )
    job, _ = services.print_job_enqueue(printer=printer, kind="receipt", key=key, payload=payload)
    return job


def well_formed(frame: bytes) -> bool:
    body, _, checksum = frame[1:-1].rpartition(b"#")
    return (
        frame.startswith(STX)
        and frame.endswith(ETX)
        and crc(body).encode() == checksum
        and all(byte >= 0x20 or byte == 0x09 for byte in body)
        and b"#" not in body
        and b"@" not in body
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kubek\tvt5", "Kubek vt5"),  # a TAB would inject a parameter
        ("Talerz\x03", "Talerz"),  # an ETX would cut the frame
        ("Kawa ☕ 🎉 mocna", "Kawa mocna"),  # emoji are not in cp1250
        ("Żółć", "Żółć"),  # Polish letters stay
        ("Zestaw #1 @sklep", "Zestaw 1 sklep"),  # '#' starts the CRC, '@' a token
        ("Ręcznik\r\nbawełna", "Ręcznik bawełna"),
        ("Crème brûlée", "Creme brulée"),  # è is not in cp1250, é is
        ("Київ", "Kiiv"),
        ("a\u200db\u00adc", "abc"),  # zero-width joiner, soft hyphen
        ("x" * 100, "x" * 80),
        ("🎉", ""),
    ],
)
def test_texts_sent_to_a_fiscal_printer_are_cleaned_and_cut_to_the_protocol_length(text, expected):
    assert clean_text(text, 80) == expected


def test_a_frame_refuses_a_value_that_would_break_it():
    for bad in ("Kubek\tvt5", "Talerz\x03", "Zestaw #1", "a@b", "🎉"):
        with pytest.raises(FrameError):
            build_frame("trline", [("na", bad)])


def test_item_names_with_tab_etx_emoji_and_polish_letters_print_one_well_formed_receipt(printer, fake):
    job = job_for(
        printer,
        [
            ("Kubek\tvt5", "1", 4999, "23"),
            ("Talerz\x03 głęboki", "2", 1500, "23"),
            ("Kawa ☕ 🎉", "1", 2500, "8"),
            ("Żółć", "1", 100, "5"),
            ("Zestaw #1 @sklep " + "długa nazwa " * 10, "1", 700, "23"),
        ],
        nip="525-234-40-78\t",
    )
    job = services.print_job_run(job_id=job.pk)
    assert job.state == JobState.DONE, job.error
    assert len(fake.journal) == 1 and fake.open is None
    receipt = fake.journal[0]
    names = [line["name"] for line in receipt["lines"]]
    assert names[:4] == ["Kubek vt5", "Talerz głęboki", "Kawa", "Żółć"]
    assert names[4].startswith("Zestaw 1 sklep długa nazwa") and len(names[4]) <= 80
    assert [line["slot"] for line in receipt["lines"]] == [0, 0, 1, 2, 0]  # no injected vt5
    assert receipt["nip"] == "525-234-40-78" and receipt["total"] == 4999 + 3000 + 2500 + 100 + 700
    assert fake.frames and all(well_formed(frame) for frame in fake.frames)
    assert not any(frame.startswith(b"\x02ERR") for frame in fake.frames)


def test_a_receipt_that_cannot_be_completed_is_refused_before_it_opens(printer, fake):
    job = job_for(printer, [("Kubek", "1", 4999, "23")], total=5000)  # lines do not add up to the total
    job = services.print_job_run(job_id=job.pk)
    assert job.state == JobState.FAILED and "różni się od kwoty paragonu" in job.error
    only_emoji = services.print_job_run(job_id=job_for(printer, [("🎉🎉", "1", 100, "23")], key="receipt-2").pk)
    assert only_emoji.state == JobState.FAILED and "Pozycja 1" in only_emoji.error
    assert not any(frame.startswith(b"\x02trinit") for frame in fake.frames)
    assert fake.open is None and fake.journal == []


def test_a_receipt_left_open_by_a_crashed_worker_is_cancelled_before_the_next_one_prints(printer, fake):
    with PosnetDriver(fake.url) as driver:
        driver.call("trinit", [("bm", 0)])
        driver.call("trline", [("na", "Pół paragonu"), ("vt", 0), ("pr", 100)])
    job = services.print_job_run(job_id=job_for(printer, [("Kubek", "1", 4999, "23")]).pk)
    assert job.state == JobState.DONE
    assert [[line["name"] for line in receipt["lines"]] for receipt in fake.journal] == [["Kubek"]]


def test_a_receipt_of_a_cancelled_document_never_prints(printer, fake):
    job = job_for(printer, [("Kubek", "1", 4999, "23")], key="receipt-document-7")
    cancelled = services.print_job_cancel(key="receipt-document-7", reason="pomyłka")
    assert cancelled.state == JobState.FAILED and cancelled.error.startswith("Anulowany")
    assert services.print_job_run(job_id=job.pk).state == JobState.FAILED
    assert fake.frames == [] and fake.journal == []
    with pytest.raises(Conflict):
        services.print_job_retry(job=job)
    assert services.print_job_cancel(key="receipt-document-7").pk == job.pk  # idempotent
    assert services.print_job_cancel(key="receipt-document-missing") is None


def test_cancelling_a_printed_receipt_is_refused(printer, fake):
    job = services.print_job_run(job_id=job_for(printer, [("Kubek", "1", 4999, "23")]).pk)
    assert job.state == JobState.DONE
    with pytest.raises(Conflict) as err:
        services.print_job_cancel(key=job.idempotency_key)
    assert err.value.http_status == 409 and "już wydrukowany" in err.value.message
    with pytest.raises(IllegalTransition):  # a printed job is never printed again, even by hand
        services.print_job_retry(job=job)
    assert len(fake.journal) == 1


def test_a_job_needing_attention_can_be_printed_again_by_a_person(printer, fake, django_capture_on_commit_callbacks):
    fake.drop_after_lines = 1
    job = services.print_job_run(job_id=job_for(printer, [("Kubek", "1", 4999, "23")]).pk)
    assert job.state == JobState.NEEDS_ATTENTION and fake.journal == []
    fake.drop_after_lines = None
    with django_capture_on_commit_callbacks(execute=True):
        services.print_job_retry(job=job)
    job.refresh_from_db()
    assert job.state == JobState.DONE and len(fake.journal) == 1 and job.attempts == 2
