from django.db import migrations

STATUSES = [
    ("Nowy", "#1f77b4"),
    ("Niepotwierdzone", "#9467bd"),
    ("W realizacji", "#ff7f0e"),
    ("Do wysłania", "#bcbd22"),
    ("Spakowane", "#17becf"),
    ("Wysłane", "#2ca02c"),
    ("Zakończone", "#4b5563"),
    ("Anulowane", "#d62728"),
]


def seed(apps, schema_editor):
    OrderStatus = apps.get_model("orders", "OrderStatus")
    for position, (name, colour) in enumerate(STATUSES, start=1):
        OrderStatus.objects.get_or_create(name=name, defaults={"colour": colour, "position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
