"""Periodic reminders: trial ending and card expiring, once each, on the configured day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.documents.notifications import billing_reminders_queue
from billing.payments.models import PaymentMethod
from billing.payments.services.methods import payment_method_add_card
from billing.services.subscriptions import subscription_create
from customers.messaging.models import Message, MessagingSettings
from tests.billing.factories import PriceFactory

pytestmark = pytest.mark.django_db


def test_trial_ending_reminder_on_the_configured_day_once(
    in_org, branded_org, cl_customer, t0, smtp_server, django_capture_on_commit_callbacks
):
    MessagingSettings.objects.create(organization=branded_org, trial_ending_days=5)
    price = PriceFactory(organization=branded_org, trial_days=14, amount_minor=9_990)
    sub = subscription_create(customer=cl_customer, price=price, now=t0)
    with django_capture_on_commit_callbacks(execute=True):
        assert billing_reminders_queue(now=sub.trial_end - timedelta(days=6)) == 0
        billing_reminders_queue(now=sub.trial_end - timedelta(days=5))
        billing_reminders_queue(now=sub.trial_end - timedelta(days=4))
    [mail] = smtp_server.messages()
    assert "tu período de prueba termina el 24-03-2025" in mail["Subject"]
    assert "$9.990" in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # a reminder


def test_card_expiring_email_once_per_card_and_expiry(
    in_org,
    branded_org,
    cl_customer,
    cycle_price_free,
    t0,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    method = payment_method_add_card(
        customer=cl_customer, gateway="sandbox", token="tok_sandbox_success"
    )
    subscription_create(customer=cl_customer, price=cycle_price_free, now=t0)
    PaymentMethod.unscoped.filter(pk=method.pk).update(exp_month=4, exp_year=2025)
    with django_capture_on_commit_callbacks(execute=True):
        billing_reminders_queue(now=t0)
        billing_reminders_queue(now=t0 + timedelta(hours=1))
    mails = smtp_server.by_subject("tu tarjeta está por vencer")
    assert len(mails) == 1
    body = mails[0].get_body(("plain",)).get_content()
    assert "04/2025" in body and method.last4 in body
    assert Message.objects.filter(template_key="card_expiring").count() == 1


@pytest.fixture
def cycle_price_free(branded_org):
    return PriceFactory(organization=branded_org, amount_minor=5_000)
