"""The document's PDF, rendered once and stored."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction

from apilo.errors import Conflict

from ..models import Document


def document_pdf(*, document: Document) -> bytes:
    """The document's PDF: rendered once, stored with its SHA-256, served from storage afterwards."""
    if document.pdf:
        with document.pdf.open("rb") as handle:
            return handle.read()
    if document.integration_id:
        raise Conflict("PDF tego dokumentu pochodzi z serwisu księgowego i będzie dostępny po nadaniu numeru.")
    from ..pdf import render_pdf

    content = render_pdf(document)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.pdf:  # rendered meanwhile by another request: keep the first
            document.pdf, document.pdf_sha256 = locked.pdf, locked.pdf_sha256
            with locked.pdf.open("rb") as handle:
                return handle.read()
        filename = f"{document.number.replace('/', '_')}.pdf"
        locked.pdf.save(filename, ContentFile(content), save=False)
        locked.pdf_sha256 = hashlib.sha256(content).hexdigest()
        locked.save(update_fields=["pdf", "pdf_sha256"])
        document.pdf, document.pdf_sha256 = locked.pdf, locked.pdf_sha256
    return content
