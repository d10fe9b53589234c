"""End to end against the fake inFakt with injected faults: no duplicate invoice, ever."""

import pytest

from accounting import services
from accounting.models import Document
from accounting.sync import SyncRetry, document_sync, document_sync_retry
from tests.factories import OrderFactory, SeriesFactory

pytestmark = pytest.mark.django_db


def test_200_invoices_with_30_percent_faults_of_every_kind_each_exist_exactly_once(
    infakt_integration, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.INFAKT_TIMEOUT_SECONDS = 0.1
    settings.SYNC_MAX_ATTEMPTS = 200
    # The rate limiter is tested on its own (and in the benchmark at the real limits); here it would only wait.
    settings.INFAKT_WRITE_LIMIT_PER_MINUTE = settings.INFAKT_READ_LIMIT_PER_MINUTE = 100_000
    fake_infakt.enforce_limits = False
    fake_infakt.slow_seconds = 0.2
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        documents = [services.document_issue(order=OrderFactory(), series=series) for _ in range(200)]
    fake_infakt.faults = {"429": 0.075, "500": 0.075, "timeout": 0.075, "drop_after_create": 0.075}

    # A 5xx on a create leaves its outcome unknown: the sync looks for the invoice until the (here short) doubt
    # window ends, then a person checks and presses Ponów, which looks once more before creating.
    settings.INFAKT_DOUBT_WINDOW_SECONDS = 2
    settings.INFAKT_DOUBT_RECHECK_SECONDS = 0.1
    pending = [d.pk for d in documents]
    ponow = 0
    for _round in range(80):
        still = []
        for pk in pending:
            try:
                state = document_sync(document_id=pk).state
            except SyncRetry:
                state = "issuing"
            if state == "attention":
                ponow += 1
                document_sync_retry(document=Document.objects.get(pk=pk))
                state = "issuing"
            if state == "issuing":
                still.append(pk)
        pending = still
        if not pending:
            break
    fake_infakt.faults = {}

    assert pending == [], [
        (d.pk, d.sync_in_doubt, d.sync_doubt_since, d.external_task_ref, d.external_uuid, d.sync_last_error)
        for d in Document.objects.filter(pk__in=pending)
    ]
    documents = list(Document.objects.filter(pk__in=[d.pk for d in documents]))
    assert {d.state for d in documents} == {"issued"}
    for document in documents:
        in_fake = fake_infakt.invoices_with_notes(f"[ref D{document.pk}]")
        assert len(in_fake) == 1, (document.pk, len(in_fake))
        assert document.external_uuid == in_fake[0]["uuid"] and document.number == in_fake[0]["number"]
        assert document.pdf and document.pdf_sha256
    assert len(fake_infakt.invoices) == 200
    assert len({d.number for d in documents}) == 200
    kinds = {method for method, _ in fake_infakt.requests}
    assert kinds == {"GET", "POST"}


def test_a_retried_or_duplicated_task_does_nothing_twice(
    infakt_integration, fake_infakt, django_capture_on_commit_callbacks
):
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    for _ in range(3):
        document_sync(document_id=document.pk)
    posts = [path for method, path in fake_infakt.requests if method == "POST"]
    assert posts == ["/api/v3/async/invoices.json"]
