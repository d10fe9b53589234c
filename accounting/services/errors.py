"""The accounting services' typed refusals (Polish messages; the API and the views translate them)."""

from __future__ import annotations

from apilo.errors import ApplicationError, Conflict

from ..models import Document


class Unprocessable(ApplicationError):
    """A request that is well-formed but legally impossible (HTTP 422)."""

    http_status = 422


class DocumentAlreadyIssued(Conflict):
    def __init__(self, document: Document):
        super().__init__(
            f"Dla tego zamówienia istnieje już dokument {document.get_kind_display().lower()} {document.number}.",
            extra={"document": document.pk, "number": document.number},
        )
        self.document = document


class SeriesMisconfigured(ApplicationError):
    pass


class OrderNotInvoiceable(ApplicationError):
    pass
