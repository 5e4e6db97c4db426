import pytest

from cobro.models import OutboxEvent
from cobro.tenancy.context import NoCurrentOrganization, use_organization


@pytest.mark.django_db
def test_scoped_query_without_organization_raises(org):
    with pytest.raises(NoCurrentOrganization):
        list(OutboxEvent.objects.all())


@pytest.mark.django_db
def test_scoped_query_sees_only_current_organization(org, other_org):
    from django.db import transaction

    from cobro.events import event_emit

    with transaction.atomic():
        event_emit(organization=org, type="test.happened")
        event_emit(organization=other_org, type="test.happened")
    with use_organization(org):
        assert [e.organization_id for e in OutboxEvent.objects.all()] == [org.pk]


@pytest.mark.django_db
def test_dashboard_home_shows_own_organization(owner_client, org):
    response = owner_client.get("/")
    assert response.status_code == 200
    assert "Acme SpA" in response.content.decode()
