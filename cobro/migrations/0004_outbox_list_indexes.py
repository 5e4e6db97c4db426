"""Indexes of the staff events list at scale: newest first (deep pages walk the index, the
tie-break on id included, so no sort of events sharing a timestamp) and filtered by type.
Built concurrently: the outbox takes writes all the time (every billing change)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cobro", "0003_audit_actor_set_null"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="outboxevent",
            index=models.Index(
                fields=["organization", "created_at", "id"], name="outbox_org_created"
            ),
        ),
        AddIndexConcurrently(
            model_name="outboxevent",
            index=models.Index(
                fields=["organization", "type", "created_at", "id"],
                name="outbox_org_type_created",
            ),
        ),
    ]
