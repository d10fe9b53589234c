"""The default Polish invoice e-mail template exists from the start (it used to appear only when a page opened),
so `GET /api/email-templates/` lists it and an automatic task can be set up through the API alone."""

from django.db import migrations

# a frozen copy of accounting.emails.DEFAULT_TEMPLATE (migrations must not import code that may change)
DEFAULT_TEMPLATE = {
    "name": "Faktura dla kupującego",
    "subject": "{rodzaj_dokumentu} {numer_dokumentu} do zamówienia {numer_zamowienia}",
    "body": (
        "Dzień dobry,\n\nw załączniku przesyłamy dokument {rodzaj_dokumentu} nr {numer_dokumentu} do zamówienia "
        "{numer_zamowienia} na kwotę {kwota}.\nTermin płatności: {termin_platnosci}. Numer konta: {konto}.\n\n"
        "Dziękujemy za zakupy!\n{sprzedawca}"
    ),
}


def create_default(apps, schema_editor):
    EmailTemplate = apps.get_model("accounting", "EmailTemplate")
    if EmailTemplate.objects.filter(is_default=True).exists():
        return
    template, created = EmailTemplate.objects.get_or_create(
        name=DEFAULT_TEMPLATE["name"], defaults={**DEFAULT_TEMPLATE, "is_default": True}
    )
    if not created:
        EmailTemplate.objects.filter(pk=template.pk).update(is_default=True)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0008_email_message_attempts_actor_unknown")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
