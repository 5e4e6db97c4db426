"""Model fields of the kernel."""

from __future__ import annotations

from django.db import models

from cobro.crypto import decrypt_str, encrypt_str


class EncryptedTextField(models.TextField):
    """Text stored encrypted with the field-encryption keys (MultiFernet).

    Not searchable or orderable in SQL by design; keep a separate non-sensitive column when a
    lookup is needed. Empty strings stay empty so blank optional fields cost nothing.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))
