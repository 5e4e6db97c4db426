"""The audit log is append-only: the database itself refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from cobro import clock
from cobro.api.authentication import ApiClient
from cobro.models import ApiKey, AuditEntry
from cobro.services.audit import audit_record
from cobro.tenancy.context import use_organization


@pytest.fixture
def entry(org, owner):
    return audit_record(
        organization=org,
        actor=owner,
        action="customer.updated",
        target=org,
        changes={"name": ["Old", "New"]},
    )


@pytest.mark.django_db
def test_audit_record_keeps_who_did_what_to_what_and_from_where(org, owner):
    request = RequestFactory().post("/customers/1/", REMOTE_ADDR="203.0.113.7")
    with clock.frozen(datetime(2026, 5, 4, 10, 30, tzinfo=UTC)):
        entry = audit_record(
            organization=org,
            actor=owner,
            action="organization.updated",
            target=org,
            changes={"display_name": ["Acme", "Acme SpA"]},
            request=request,
        )
    with use_organization(org):
        stored = AuditEntry.objects.get()
    assert stored.pk == entry.pk
    assert stored.actor == owner
    assert stored.actor_label == "owner@acme.test"
    assert (stored.target_type, stored.target_id) == ("cobro.organization", str(org.pk))
    assert stored.changes == {"display_name": ["Acme", "Acme SpA"]}
    assert stored.ip == "203.0.113.7"
    assert stored.created_at == datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_audit_record_names_api_keys_and_the_system(org):
    key = ApiKey.objects.create(organization=org, name="ERP", prefix="abc123", secret_hash="x")
    by_key = audit_record(organization=org, actor=key, action="customer.created")
    by_system = audit_record(organization=org, actor=None, action="invoice.issued")
    by_request = audit_record(organization=org, actor=ApiClient(key), action="customer.updated")
    assert by_request.actor_label == "api key abc123 (ERP)"
    assert by_key.actor is None and by_key.actor_label == "api key abc123 (ERP)"
    assert by_system.actor is None and by_system.actor_label == "system"


@pytest.mark.django_db
def test_audit_entries_are_scoped_to_their_organization(org, other_org, entry):
    audit_record(organization=other_org, actor=None, action="x.y")
    with use_organization(org):
        assert list(AuditEntry.objects.values_list("pk", flat=True)) == [entry.pk]


@pytest.mark.django_db
def test_orm_save_of_an_audit_entry_is_rejected(entry):
    entry.action = "customer.deleted"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()
    entry.refresh_from_db()
    assert entry.action == "customer.updated"


@pytest.mark.django_db
def test_orm_queryset_update_and_delete_are_rejected(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.unscoped.filter(pk=entry.pk).update(changes={})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.unscoped.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    assert AuditEntry.unscoped.get(pk=entry.pk).changes == {"name": ["Old", "New"]}


@pytest.mark.django_db
def test_raw_sql_update_and_delete_are_rejected(entry):
    forge = "UPDATE cobro_auditentry SET action = 'forged' WHERE id = %s"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(forge, [entry.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute("DELETE FROM cobro_auditentry")
    assert AuditEntry.unscoped.filter(pk=entry.pk, action="customer.updated").exists()


@pytest.mark.django_db(transaction=True)
def test_test_database_flush_still_works_with_audit_entries(org):
    # TransactionTestCase tears down with a TRUNCATE-based flush, which the trigger lets through.
    audit_record(organization=org, actor=None, action="x.y")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.unscoped.count() == 0


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_audit_history(org, owner, entry):
    owner.delete()
    kept = AuditEntry.unscoped.get(pk=entry.pk)
    assert kept.actor is None
    assert kept.actor_label == "owner@acme.test"
    assert kept.action == "customer.updated"


@pytest.mark.django_db
def test_clearing_the_actor_is_the_only_update_allowed_and_only_alone(entry, other_org):
    from tests.factories import UserFactory

    someone_else = UserFactory(email="someone@else.test")
    attempts = [
        {"actor": someone_else},  # re-attributing an action
        {"actor": None, "action": "forged"},  # hiding a change behind the one allowed update
        {"actor": None, "organization": other_org},
    ]
    for changes in attempts:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEntry.unscoped.filter(pk=entry.pk).update(**changes)
    kept = AuditEntry.unscoped.get(pk=entry.pk)
    assert (kept.actor_label, kept.action, kept.organization_id) == (
        "owner@acme.test",
        "customer.updated",
        entry.organization_id,
    )
