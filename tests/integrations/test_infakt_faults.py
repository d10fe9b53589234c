"""End to end against the fake inFakt with injected faults: no duplicate invoice, ever."""

import pytest

from accounting import services
from accounting.models import Document
from accounting.sync import SyncRetry, document_sync
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

    pending = [d.pk for d in documents]
    for _round in range(60):
        still = []
        for pk in pending:
            try:
                if document_sync(document_id=pk).state == "issuing":
                    still.append(pk)
            except SyncRetry:
                still.append(pk)
        pending = still
        if not pending:
            break
    fake_infakt.faults = {}

    assert pending == []
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


def test_failed_document_retried_with_ponow_looks_up_before_creating(
    infakt_integration, fake_infakt, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_MAX_ATTEMPTS = 1
    settings.INFAKT_TIMEOUT_SECONDS = 0.25
    fake_infakt.slow_seconds = 0.4
    series = services.series_save(data={"integration": infakt_integration}, series=SeriesFactory())
    with django_capture_on_commit_callbacks(execute=False):
        document = services.document_issue(order=OrderFactory(), series=series)
    fake_infakt.faults = {"timeout": 1.0}
    document = document_sync(document_id=document.pk)  # created in inFakt, answer too late → failed
    assert document.state == "failed" and len(fake_infakt.invoices) == 1
    fake_infakt.faults = {}
    settings.SYNC_MAX_ATTEMPTS = 5

    from accounting.sync import document_sync_retry

    with django_capture_on_commit_callbacks(execute=True):
        document_sync_retry(document=document)
    document.refresh_from_db()
    assert document.state == "issued"
    assert len(fake_infakt.invoices) == 1  # adopted, not created again
