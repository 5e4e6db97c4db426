"""Re-encrypt every encrypted field value with the newest key (the middle step of rotation).

Rotation: prepend a new key to ``FIELD_ENCRYPTION_KEYS``, deploy, run this command, then drop
the old key. The command walks every model with an ``EncryptedTextField`` in primary-key order
and in batches, rewrites only values not yet under the newest key (so a second run writes
nothing) and never touches ``save()`` (no signals, no ``auto_now`` bumps, no domain events).
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, models, transaction

from cobro.crypto import is_current, reset_key_cache, rotate_str
from cobro.fields import EncryptedTextField


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with at least one encrypted field, and those fields."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, EncryptedTextField) and f.model is model
        ]
        if fields:
            found.append((model, fields))
    return found


def reencrypt_model(
    model: type[models.Model], fields: list[EncryptedTextField], *, batch_size: int
) -> int:
    """Rotate ``fields`` of every row of ``model``; returns how many values were rewritten."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    pk = qn(str(model._meta.pk.column))
    columns = [qn(str(f.column)) for f in fields]
    select = (
        f"SELECT {pk}, {', '.join(columns)} FROM {table} "  # noqa: S608 - quoted identifiers
        f"WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    )
    first = f"SELECT {pk}, {', '.join(columns)} FROM {table} ORDER BY {pk} LIMIT %s"  # noqa: S608
    rewritten = 0
    last = None
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            if last is None:
                cur.execute(first, [batch_size])
            else:
                cur.execute(select, [last, batch_size])
            rows = cur.fetchall()
            for row in rows:
                row_pk, values = row[0], row[1:]
                for column, token in zip(columns, values, strict=True):
                    if not token or is_current(token):
                        continue
                    # Compare-and-set: a value changed since we read it is left alone (it was
                    # written with the newest key anyway).
                    cur.execute(
                        f"UPDATE {table} SET {column} = %s "  # noqa: S608
                        f"WHERE {pk} = %s AND {column} = %s",
                        [rotate_str(token), row_pk, token],
                    )
                    rewritten += cur.rowcount
        if len(rows) < batch_size:
            return rewritten
        last = rows[-1][0]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        reset_key_cache()
        total = 0
        for model, fields in encrypted_models():
            count = reencrypt_model(model, fields, batch_size=batch_size)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) re-encrypted."))
