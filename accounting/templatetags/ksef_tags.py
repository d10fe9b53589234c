"""`{% load ksef_tags %}{% ksef_panel document %}`: the KSeF state, number, deadline, errors, UPO download, send
button and KOD I of a document (nothing for documents outside KSeF)."""

from django import template
from django.utils.html import format_html

from ..ksef_send import document_ksef_qr
from ..models import InfaktKsefStatus, KsefSubmission

register = template.Library()


@register.inclusion_tag("integrations/ksef_document_panel.html", takes_context=True)
def ksef_panel(context, document):
    submission = KsefSubmission.objects.select_related("connection").filter(document=document).first()
    if submission is None:
        # KSeF through inFakt: the same panel, without our send button, UPO or KOD I (inFakt holds them)
        via_infakt = InfaktKsefStatus.objects.filter(document=document).first()
        if via_infakt is not None:
            return {"document": document, "submission": via_infakt, "via_infakt": True, "qr": None}
    return {
        "document": document,
        "submission": submission,
        "qr": document_ksef_qr(document) if submission else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def ksef_qr(document, width: int = 150):
    """KOD I as an <img> with its label (the KSeF number or OFFLINE) — for the PDF and the preview."""
    qr = document_ksef_qr(document)
    if qr is None:
        return ""
    html = format_html(
        '<figure class="ksef-qr"><img src="{}" alt="KSeF: {}" width="{}"><figcaption>{}</figcaption></figure>',
        qr["data_uri"],
        qr["label"],
        width,
        qr["label"],
    )
    if qr["certificate"]:
        html += format_html(
            '<figure class="ksef-qr ksef-qr-2"><img src="{}" alt="KSeF: CERTYFIKAT" width="{}">'
            "<figcaption>CERTYFIKAT</figcaption></figure>",
            qr["certificate"]["data_uri"],
            width,
        )
    return html
