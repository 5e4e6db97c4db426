"""Staff page of the portal settings (pause limits, cancellation timing, plan changes, the
retention offer) and the "Send portal link" button on the customer page."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cobro import clock
from cobro.models import AuditEntry
from cobro.tenancy.context import use_organization
from customers.portal.models import LoginCode, PortalSettings
from customers.portal.services import pause_allowance, portal_settings_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:portal_settings")


def _client(org, role: str) -> Client:
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    c = Client()
    c.force_login(user)
    return c


def _data(**overrides):
    return {
        "max_pause_days": "30",
        "pauses_per_year": "1",
        "cancel_mode": "period_end",
        "allow_plan_change": "",
        "retention_offer_text": "Quédate y te regalamos un mes.",
        "retention_coupon_code": " quedate ",
        **overrides,
    }


def test_page_shows_the_defaults_and_saves_the_settings(owner_client, org):
    page = owner_client.get(URL)
    assert page.status_code == 200
    assert page.context["form"].initial["max_pause_days"] == 90
    response = owner_client.post(URL, _data())
    assert response.status_code == 302
    conf = portal_settings_for(org)
    assert conf.pk is not None
    assert (conf.max_pause_days, conf.pauses_per_year, conf.cancel_mode) == (30, 1, "period_end")
    assert conf.allow_plan_change is False
    assert conf.retention_offer_text == "Quédate y te regalamos un mes."
    assert conf.retention_coupon_code == "QUEDATE"
    assert AuditEntry.unscoped.filter(organization=org, action="portal.settings_updated").exists()
    # Saving again updates the one row.
    owner_client.post(URL, _data(max_pause_days="0"))
    assert PortalSettings.unscoped.filter(organization=org).count() == 1
    assert portal_settings_for(org).max_pause_days == 0


def test_the_portal_obeys_the_saved_pause_limits(owner_client, org, subscription):
    owner_client.post(URL, _data(max_pause_days="15", pauses_per_year="3"))
    with use_organization(org):
        allowance = pause_allowance(subscription=subscription, now=clock.now(org))
    assert (allowance.max_days, allowance.per_year) == (15, 3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_pause_days", "400", "A pause can last at most 365 days."),
        ("pauses_per_year", "-1", "Ensure this value is greater than or equal to 0."),
        ("cancel_mode", "never", "Select a valid choice."),
        ("retention_coupon_code", "DOS PALABRAS", "without spaces"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(owner_client, org, field, value, message):
    response = owner_client.post(URL, _data(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PortalSettings.unscoped.filter(organization=org).exists()


@pytest.mark.parametrize("role", ["viewer", "billing"])
def test_only_owners_and_admins_may_change_portal_settings(org, role):
    client = _client(org, role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, _data()).status_code == 403
    assert not PortalSettings.unscoped.filter(organization=org).exists()


def test_send_portal_link_button_emails_the_customer(
    owner_client, org, customer, django_capture_on_commit_callbacks
):
    detail = owner_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    action = reverse("portal:staff_send_link", kwargs={"org_slug": org.slug, "pk": customer.pk})
    assert f'action="{action}"' in detail
    assert "data-confirm=" in detail  # the browser asks before sending
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(action)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert [m.to for m in mail.outbox] == [["ana@acme.test"]]
    assert "/login/link/?token=" in mail.outbox[0].body
    assert LoginCode.unscoped.get(customer=customer).sent_by_staff
    assert AuditEntry.unscoped.filter(organization=org, action="portal.link_sent").exists()


def test_viewer_sees_no_send_link_button_and_the_url_refuses(org, customer):
    viewer = _client(org, "viewer")
    detail = viewer.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    action = reverse("portal:staff_send_link", kwargs={"org_slug": org.slug, "pk": customer.pk})
    assert action not in detail
    assert viewer.post(action).status_code == 403
    assert not LoginCode.unscoped.filter(customer=customer).exists()
    assert mail.outbox == []
