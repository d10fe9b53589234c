"""PDF rendering with WeasyPrint: A4, DejaVu Sans (Polish glyphs, embedded), the same body as the preview."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from .models import Document
from .selectors import document_context

CSS_PATH = Path(settings.BASE_DIR) / "static" / "css" / "document.css"
PDF_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
        @bottom-right { content: "Strona " counter(page) " z " counter(pages); font-family: "DejaVu Sans";
                        font-size: 7pt; color: #666; } }
html, body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; color: #111; }
"""
_stylesheets = None


def _css():
    global _stylesheets
    if _stylesheets is None:
        from weasyprint import CSS

        _stylesheets = [CSS(string=CSS_PATH.read_text(encoding="utf-8")), CSS(string=PDF_CSS)]
    return _stylesheets


def render_html(document: Document) -> str:
    return render_to_string("accounting/document_pdf.html", document_context(document))


def render_pdf(document: Document) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(document), base_url=str(settings.BASE_DIR)).write_pdf(stylesheets=_css())
