"""Field encryption: personal data is never stored in clear and keys can be rotated."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection

from customers.models import Customer

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw(customer, column="phone") -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM customers_customer WHERE id = %s", [customer.pk])
        return cur.fetchone()[0]


def _customer(org, n=1, **kwargs):
    return Customer.unscoped.create(
        organization=org,
        name=f"Cliente {n}",
        email=f"cliente{n}@example.test",
        phone=f"+56 9 1234 56{n:02d}",
        tax_id="12.345.678-5",
        **kwargs,
    )


def _reencrypt(**kwargs) -> str:
    out = StringIO()
    call_command("reencrypt_fields", stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_encrypted_fields_are_not_stored_in_clear(org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    customer = _customer(org)
    raw = _raw(customer)
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert "1234" not in raw
    assert Fernet(OLD_KEY.encode()).decrypt(raw.encode()).decode() == "+56 9 1234 5601"
    assert "12.345.678-5" not in _raw(customer, "tax_id")
    assert Customer.unscoped.get(pk=customer.pk).phone == "+56 9 1234 5601"


@pytest.mark.django_db
def test_blank_encrypted_field_stays_blank(org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    customer = _customer(org)
    assert _raw(customer, "notes") == ""
    assert Customer.unscoped.get(pk=customer.pk).notes == ""


@pytest.mark.django_db
def test_key_rotation_keeps_every_value_readable(org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    customers = [_customer(org, n) for n in range(5)]
    updated_before = {c.pk: Customer.unscoped.get(pk=c.pk).updated_at for c in customers}

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # step 1: prepend the new key
    output = _reencrypt(batch_size=2)  # step 2: re-encrypt (several batches)
    assert "customers.Customer: 10 value(s) re-encrypted" in output

    for c in customers:
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY.encode()).decrypt(_raw(c).encode())
        Fernet(NEW_KEY.encode()).decrypt(_raw(c).encode())

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # step 3: drop the old key
    for n, c in enumerate(customers):
        fresh = Customer.unscoped.get(pk=c.pk)
        assert fresh.phone == f"+56 9 1234 56{n:02d}"
        assert fresh.tax_id == "12.345.678-5"
        assert fresh.updated_at == updated_before[c.pk]  # rotation is not an edit


@pytest.mark.django_db
def test_reencrypt_is_idempotent(org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    customer = _customer(org)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    _reencrypt()
    token = _raw(customer)
    assert "Done: 0 value(s) re-encrypted." in _reencrypt()
    assert _raw(customer) == token


@pytest.mark.django_db
def test_reading_with_a_dropped_key_fails_loudly(org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    customer = _customer(org)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # old key dropped without re-encrypting
    with pytest.raises(InvalidToken):
        Customer.unscoped.get(pk=customer.pk)
