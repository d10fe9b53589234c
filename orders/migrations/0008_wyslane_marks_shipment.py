from django.db import migrations


def mark_shipped(apps, schema_editor):
    OrderStatus = apps.get_model("orders", "OrderStatus")
    OrderStatus.objects.filter(name="Wysłane").update(marks_shipment=True)


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_order_vat_id_status_marks_shipment_rate_oo")]
    operations = [migrations.RunPython(mark_shipped, migrations.RunPython.noop)]
