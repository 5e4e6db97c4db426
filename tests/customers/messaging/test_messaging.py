"""Messaging: consent, announcements, retries of transient SMTP failures, bounces, template
overrides with their validation and preview, the unsubscribe link."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cobro import clock
from customers.messaging.models import (
    Announcement,
    AnnouncementDelivery,
    CommunicationPreference,
    ConsentSource,
    Message,
    MessageStatus,
    SuppressedAddress,
    TemplateOverride,
)
from customers.messaging.services import (
    announcement_send,
    message_mark_bounced,
    message_queue,
    preference_set,
    unsubscribe_url,
)
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _announcement(org, **kwargs):
    defaults = {
        "subject": "Novedades de {{ organization_name }}",
        "body": "<p>Hola {{ customer_name }}, llegó el plan anual con 20% de descuento.</p>",
        "segment": "all",
        "created_at": clock.now(),
    }
    return Announcement.unscoped.create(organization=org, **{**defaults, **kwargs})


def test_announcement_goes_only_to_customers_who_consented(in_org, org, smtp_server, run_on_commit):
    yes = CustomerFactory(organization=org, name="Ana", email="ana@example.cl")
    no = CustomerFactory(organization=org, name="Beto", email="beto@example.cl")
    never_asked = CustomerFactory(organization=org, name="Caro", email="caro@example.cl")
    preference_set(
        customer=yes, topic="news_promotions", opted_in=True, source=ConsentSource.PORTAL
    )
    preference_set(customer=no, topic="news_promotions", opted_in=True, source=ConsentSource.PORTAL)
    preference_set(
        customer=no, topic="news_promotions", opted_in=False, source=ConsentSource.PORTAL
    )
    announcement = _announcement(org)
    with run_on_commit():
        announcement = announcement_send(announcement=announcement)
    assert [r.rcpt_tos for r in smtp_server.received] == [["ana@example.cl"]]
    [mail] = smtp_server.messages()
    assert mail["Subject"] == "Novedades de Acme SpA"
    assert "Hola Ana, llegó el plan anual" in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (announcement.queued_count, announcement.skipped_count) == (1, 2)
    outcomes = dict(AnnouncementDelivery.objects.values_list("customer__email", "outcome"))
    assert outcomes == {
        "ana@example.cl": "queued",
        "beto@example.cl": "no_consent",
        "caro@example.cl": "no_consent",
    }
    # Sending again does not message anyone twice.
    with run_on_commit():
        announcement_send(announcement=announcement)
    assert len(smtp_server.received) == 1
    del never_asked


def test_opted_out_customer_still_gets_billing_messages(in_org, org, smtp_server, run_on_commit):
    customer = CustomerFactory(organization=org, email="ana@example.cl")
    preference_set(customer=customer, topic="reminders", opted_in=False, source=ConsentSource.STAFF)
    with run_on_commit():
        welcome = message_queue(customer=customer, template_key="welcome", dedupe_key="w:1")
    assert welcome.status == MessageStatus.QUEUED
    welcome.refresh_from_db()
    assert welcome.status == MessageStatus.SENT and welcome.provider_id.startswith("<")
    [mail] = smtp_server.messages()
    assert mail["List-Unsubscribe"] is None  # critical messages carry no unsubscribe


@pytest.fixture
def eager_retries():
    """Eager Celery that propagates errors raises ``Retry`` instead of retrying; a worker
    retries through the broker. Let eager mode run the retries inline, as a worker would."""
    from cobro.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def test_transient_smtp_failure_is_retried_and_then_delivered(
    in_org, org, smtp_server, run_on_commit, eager_retries
):
    customer = CustomerFactory(organization=org, email="ana@example.cl")
    smtp_server.script = [("DATA", "421 4.3.0 Try again later")]
    with run_on_commit():
        message = message_queue(customer=customer, template_key="welcome", dedupe_key="w:2")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert len(smtp_server.received) == 1


def test_retries_give_up_and_mark_the_message_failed(
    in_org, org, smtp_server, run_on_commit, eager_retries
):
    from customers.messaging.tasks import MAX_RETRIES

    customer = CustomerFactory(organization=org, email="ana@example.cl")
    smtp_server.script = [("DATA", "451 4.3.0 Local error")] * (MAX_RETRIES + 1)
    with run_on_commit():
        message = message_queue(customer=customer, template_key="welcome", dedupe_key="w:9")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == MAX_RETRIES + 1
    assert "451" in message.error
    assert smtp_server.received == []


def test_permanent_refusal_bounces_and_stops_non_critical_sends(
    in_org, org, smtp_server, run_on_commit
):
    customer = CustomerFactory(organization=org, email="gone@example.cl")
    preference_set(customer=customer, topic="news_promotions", opted_in=True, source="portal")
    smtp_server.refuse = {"gone@example.cl"}
    with run_on_commit():
        message = message_queue(customer=customer, template_key="welcome", dedupe_key="w:3")
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED and message.attempts == 1
    assert SuppressedAddress.objects.filter(email="gone@example.cl").exists()
    with run_on_commit():
        announcement = announcement_send(announcement=_announcement(org))
    assert announcement.skipped_count == 1
    assert AnnouncementDelivery.objects.get().outcome == "suppressed"
    # Billing-critical messages are still attempted.
    smtp_server.refuse = set()
    with run_on_commit():
        again = message_queue(customer=customer, template_key="welcome", dedupe_key="w:4")
    again.refresh_from_db()
    assert again.status == MessageStatus.SENT


def test_provider_reported_bounce_marks_message_and_address(
    in_org, org, smtp_server, run_on_commit
):
    customer = CustomerFactory(organization=org, email="later@example.cl")
    with run_on_commit():
        message = message_queue(customer=customer, template_key="welcome", dedupe_key="w:5")
    message.refresh_from_db()
    message_mark_bounced(provider_id=message.provider_id, detail="550 user unknown (DSN)")
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert SuppressedAddress.objects.filter(email__iexact="LATER@example.cl").exists()


def test_broken_override_is_rejected_with_the_error_line(in_org, org):
    override = TemplateOverride(
        organization=org,
        template_key="welcome",
        language="es-419",
        subject="Hola {{ customer_name }}",
        body="<p>Hola</p>\n<p>{% if customer_name %}Bienvenido</p>\n<p>{% endfor %}</p>",
        updated_at=clock.now(),
    )
    with pytest.raises(ValidationError) as exc:
        override.full_clean()
    assert "Línea 3" in str(exc.value.message_dict["body"])  # the default language
    assert "subject" not in exc.value.message_dict


def test_override_replaces_the_default_subject_and_body(in_org, org, smtp_server, run_on_commit):
    TemplateOverride.objects.create(
        template_key="welcome",
        language="es-419",
        subject="¡{{ customer_name }}, ya eres parte de {{ organization_name }}!",
        body="<p>Gracias por unirte.</p>",
        updated_at=clock.now(),
    )
    customer = CustomerFactory(organization=org, name="Ana", email="ana@example.cl")
    english = CustomerFactory(organization=org, name="Ann", email="ann@example.com", locale="en")
    with run_on_commit():
        message_queue(customer=customer, template_key="welcome", dedupe_key="w:6")
        message_queue(customer=english, template_key="welcome", dedupe_key="w:7")
    subjects = {m["To"]: m["Subject"] for m in smtp_server.messages()}
    assert subjects == {
        "ana@example.cl": "¡Ana, ya eres parte de Acme SpA!",
        "ann@example.com": "Welcome to Acme SpA",  # no English override: the default
    }


def test_staff_edit_page_rejects_broken_template_and_previews_live(owner_client, org):
    url = reverse("messaging:template_edit", args=["welcome", "es-419"])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert "Bienvenido a {{ organization_name }}" in page.content.decode()
    bad = owner_client.post(url, {"subject": "Hola", "body": "<p>ok</p>\n{% if x %}"})
    assert bad.status_code == 400
    assert "Línea 2" in bad.content.decode()
    assert not TemplateOverride.unscoped.exists()
    good = owner_client.post(url, {"subject": "Hola {{ customer_name }}", "body": "<p>Hola</p>"})
    assert good.status_code == 302
    assert TemplateOverride.unscoped.get(organization=org).subject == "Hola {{ customer_name }}"
    preview_url = reverse("messaging:template_preview", args=["welcome", "es-419"])
    preview = owner_client.post(
        preview_url,
        {"subject": "Hola {{ customer_name }}", "body": "<p>Cuerpo {{ portal_url }}</p>"},
    )
    html = preview.content.decode()
    assert "Hola María González" in html and "Cuerpo http://127.0.0.1:8000/p/acme/" in html
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"


def test_unsubscribe_link_needs_no_login_and_get_does_not_unsubscribe(client, in_org, org):
    customer = CustomerFactory(organization=org, email="ana@example.cl")
    url = unsubscribe_url(customer=customer, topic="news_promotions").removeprefix(
        "http://127.0.0.1:8000"
    )
    page = client.get(url)
    assert page.status_code == 200 and "ana@example.cl" in page.content.decode()
    assert not CommunicationPreference.objects.exists()
    done = client.post(url)
    assert done.status_code == 200
    assert CommunicationPreference.objects.get(customer=customer).opted_in is False
    assert client.post(url.replace("/u/", "/u/x")).status_code == 404


def test_unsubscribe_token_cannot_turn_off_billing(client, in_org, org):
    from django.core import signing

    customer = CustomerFactory(organization=org)
    token = signing.dumps(
        {"o": org.pk, "c": customer.pk, "t": "billing"}, salt="messaging.unsubscribe"
    )
    assert client.post(reverse("messaging:unsubscribe", args=[token])).status_code == 404


def test_message_log_page_shows_only_this_organizations_customer(
    owner_client, org, other_org, in_org, run_on_commit, smtp_server
):
    customer = CustomerFactory(organization=org, email="ana@example.cl")
    with run_on_commit():
        message_queue(customer=customer, template_key="welcome", dedupe_key="w:8")
    page = owner_client.get(reverse("messaging:customer_messages", args=[customer.pk]))
    assert page.status_code == 200 and "Bienvenido a Acme SpA" in page.content.decode()
    stranger = CustomerFactory(organization=other_org)
    assert (
        owner_client.get(reverse("messaging:customer_messages", args=[stranger.pk])).status_code
        == 404
    )
    assert Message.unscoped.count() == 1
