"""`{% load ksef_tags %}{% ksef_panel document %}`: the KSeF state, number, deadline, errors, UPO download, send
button and KOD I of a document (nothing for documents outside KSeF)."""

from django import template

from ..ksef_send import document_ksef_qr
from ..models import KsefSubmission

register = template.Library()


@register.inclusion_tag("integrations/ksef_document_panel.html", takes_context=True)
def ksef_panel(context, document):
    submission = KsefSubmission.objects.select_related("connection").filter(document=document).first()
    return {
        "document": document,
        "submission": submission,
        "qr": document_ksef_qr(document) if submission else None,
        "csrf_token": context.get("csrf_token"),
    }
