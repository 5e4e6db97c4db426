"""Index of the payments list filtered by status (failed, ...), newest first, and of its
capped count. Built concurrently: charges write attempts all the time."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0004_payment_method_wallet"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="paymentattempt",
            index=models.Index(
                fields=["organization", "status", "created_at", "id"],
                name="paymentattempt_org_status_crt",
            ),
        ),
    ]
