"""The email sender page: the organization's sender name and reply-to go on every email it
sends (billing messages and the portal sign-in link a staff member sends), read off the wire
from a real SMTP server."""

from __future__ import annotations

from email.utils import parseaddr

import pytest
from django.test import Client
from django.urls import reverse

from cobro.models import AuditEntry
from customers.messaging.models import MessagingSettings
from customers.messaging.services import message_queue
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("messaging:settings")


def _client(org, role: str) -> Client:
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    c = Client()
    c.force_login(user)
    return c


def _save(client, **overrides):
    data = {
        "sender_name": "Cobranzas Acme",
        "reply_to": "pagos@acme.cl",
        "upcoming_charge_days": "5",
        "trial_ending_days": "2",
        **overrides,
    }
    return client.post(URL, data)


def test_defaults_show_the_organization_name_as_sender(owner_client, org):
    page = owner_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme SpA" in page.context["from_header"]
    assert "Remitente" in html  # Spanish first


def test_saved_sender_goes_on_billing_emails_and_the_staff_portal_link(
    owner_client, org, smtp_server, django_capture_on_commit_callbacks
):
    response = _save(owner_client)
    assert response.status_code == 302
    row = MessagingSettings.unscoped.get(organization=org)
    assert (row.sender_name, row.reply_to, row.upcoming_charge_days, row.trial_ending_days) == (
        "Cobranzas Acme",
        "pagos@acme.cl",
        5,
        2,
    )
    assert AuditEntry.unscoped.filter(
        organization=org, action="messaging.settings_updated"
    ).exists()
    page = owner_client.get(URL).content.decode()
    assert "Cobranzas Acme &lt;facturas@cobro.example&gt;" in page

    customer = CustomerFactory(organization=org, name="Ana", email="ana@example.cl")
    with django_capture_on_commit_callbacks(execute=True):
        message_queue(customer=customer, template_key="welcome", dedupe_key="welcome-ana")
    with django_capture_on_commit_callbacks(execute=True):
        sent = owner_client.post(
            reverse("portal:staff_send_link", kwargs={"org_slug": org.slug, "pk": customer.pk})
        )
    assert sent.status_code == 302
    mails = smtp_server.messages()
    assert len(mails) == 2
    for mail in mails:
        assert parseaddr(str(mail["From"])) == ("Cobranzas Acme", "facturas@cobro.example")
        assert str(mail["Reply-To"]) == "pagos@acme.cl"
        assert str(mail["To"]) == "ana@example.cl"


def test_without_settings_emails_come_from_the_organization_name(
    org, smtp_server, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organization=org, email="beto@example.cl")
    with django_capture_on_commit_callbacks(execute=True):
        message_queue(customer=customer, template_key="welcome", dedupe_key="welcome-beto")
    [mail] = smtp_server.messages()
    assert parseaddr(str(mail["From"])) == ("Acme SpA", "facturas@cobro.example")
    assert mail["Reply-To"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sender_name", "Acme\r\nBcc: todos@example.cl", "no puede contener saltos de línea"),
        ("reply_to", "no-es-un-correo", "Introduzca una dirección de correo electrónico válida."),
        ("upcoming_charge_days", "90", "Asegúrese de que este valor es menor o igual a 60."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(
    owner_client, org, field, value, message
):
    response = _save(owner_client, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MessagingSettings.unscoped.filter(organization=org).exists()


@pytest.mark.parametrize("role", ["viewer", "billing"])
def test_only_owners_and_admins_may_see_or_change_the_sender(org, role):
    client = _client(org, role)
    assert client.get(URL).status_code == 403
    assert _save(client).status_code == 403
    assert not MessagingSettings.unscoped.filter(organization=org).exists()


def test_admin_may_change_the_sender(org):
    assert _save(_client(org, "admin")).status_code == 302
