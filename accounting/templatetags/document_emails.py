"""The preview's e-mail buttons: "Wyślij e-mailem" the first time, "Wyślij ponownie" (with confirmation)
once the document was sent, and who sent what when."""

from django import template

from accounting import emails

register = template.Library()


@register.inclusion_tag("accounting/_document_email_actions.html")
def document_email_actions(document, send_token=""):
    return {
        "document": document,
        "send_token": send_token,
        "sent": emails.document_was_sent(document) if document.state == "issued" else None,
    }
