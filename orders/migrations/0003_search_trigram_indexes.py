"""Trigram indexes for the order search (PostgreSQL only; SQLite, the embedded default, scans)."""

from django.db import migrations

COLUMNS = ["customer_name", "customer_email", "invoice_company_name", "invoice_name"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS order_{column}_trgm ON orders_order USING gin (UPPER("{column}") gin_trgm_ops)'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS order_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_seed_statuses")]
    operations = [migrations.RunPython(forwards, backwards)]
