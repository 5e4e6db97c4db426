"""Indexes of the customer list at scale: ordering by name, and trigram (pg_trgm) indexes for
the substring search on name and email. ``icontains`` compiles to
``UPPER(col::text) LIKE UPPER('%q%')``, so the trigram indexes are on that expression; they are
raw SQL because Django's index expressions cannot spell an operator class on an expression
without django.contrib.postgres installed."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = """
CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer
  USING gin ((upper((name)::text)) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS customer_email_trgm ON customers_customer
  USING gin ((upper((email)::text)) gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_customer_import"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["organization", "name", "id"], name="customer_org_name"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["organization", "country"], name="customer_org_country"),
        ),
        migrations.RunSQL(
            TRIGRAM_INDEXES,
            "DROP INDEX IF EXISTS customer_email_trgm; DROP INDEX IF EXISTS customer_name_trgm;",
        ),
    ]
