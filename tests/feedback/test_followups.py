"""Follow-ups and automatic surveys: each happens exactly once, whatever the number of event
deliveries or beat ticks, on the organization's clock, and respects consent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.services.subscriptions import subscription_cancel, subscription_create
from cobro import clock, events
from cobro.models import Organization, OutboxEvent
from customers.messaging.models import Message, MessageStatus
from customers.messaging.services import preference_set
from feedback.handlers import on_invoice_paid, on_subscription_canceled
from feedback.models import FeedbackSettings, FollowUp, SurveyRequest
from feedback.services.followups import followups_due
from tests.billing.factories import PriceFactory
from tests.feedback.conftest import T0, paid_invoice

pytestmark = pytest.mark.django_db


def _deliver_twice(event: OutboxEvent, handler) -> None:
    assert events.event_dispatch_one(event)
    assert events.event_dispatch_one(event)  # redelivery through the outbox
    handler(event)  # and a run that bypassed HandlerRun entirely


def _paid_event(invoice) -> OutboxEvent:
    return OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk))


def test_thank_you_after_the_first_payment_exactly_once(in_org, customer):
    first = paid_invoice(customer)
    _deliver_twice(_paid_event(first), on_invoice_paid)
    second = paid_invoice(customer, at=T0 + timedelta(days=30))
    _deliver_twice(_paid_event(second), on_invoice_paid)
    assert FollowUp.unscoped.filter(kind="thank_you").count() == 1
    messages = Message.unscoped.filter(template_key="followup_thank_you")
    assert [m.status for m in messages] == [MessageStatus.QUEUED]


def test_payment_survey_every_nth_payment_at_most_once_per_window(in_org, org, customer):
    FeedbackSettings.unscoped.create(
        organization=org, payment_survey_every_n=2, payment_survey_min_days=90
    )
    invoices = [paid_invoice(customer, at=T0 + timedelta(days=30 * i)) for i in range(6)]
    for i, invoice in enumerate(invoices):
        with clock.frozen(T0 + timedelta(days=30 * i)):
            _deliver_twice(_paid_event(invoice), on_invoice_paid)
    asked = SurveyRequest.unscoped.filter(source="payment").order_by("created_at")
    # 2nd payment (day 30) asks; the 4th (day 90) is within 90 days of it; the 6th (day 150) asks.
    assert [r.subject_ref for r in asked] == [
        f"invoice:{invoices[1].pk}",
        f"invoice:{invoices[5].pk}",
    ]
    assert Message.unscoped.filter(template_key="survey_nps").count() == 2


def test_cancellation_survey_once_per_cancelled_subscription(in_org, customer):
    sub = subscription_create(
        customer=customer, price=PriceFactory(organization=customer.organization), now=T0
    )
    subscription_cancel(subscription=sub, now=T0 + timedelta(days=3))
    event = OutboxEvent.unscoped.get(type="subscription.canceled", subject_id=str(sub.pk))
    _deliver_twice(event, on_subscription_canceled)
    request = SurveyRequest.unscoped.get()
    assert (request.kind, request.source, request.subject_ref) == (
        "nps",
        "cancellation",
        f"subscription:{sub.pk}",
    )
    assert Message.unscoped.filter(template_key="survey_nps").count() == 1


def test_anniversary_follow_up_once_per_year_on_the_test_clock(in_org, org, customer):
    org.is_sandbox = True
    org.save()
    sub = subscription_create(customer=customer, price=PriceFactory(organization=org), now=T0)
    Organization.objects.filter(pk=org.pk).update(test_clock_at=T0 + timedelta(days=200))
    org.refresh_from_db()
    assert followups_due(organization=org) == 0 or not FollowUp.unscoped.filter(kind="anniversary")
    Organization.objects.filter(pk=org.pk).update(test_clock_at=T0 + timedelta(days=366))
    org.refresh_from_db()
    followups_due(organization=org)
    followups_due(organization=org)  # a second tick the same day
    Organization.objects.filter(pk=org.pk).update(test_clock_at=T0 + timedelta(days=368))
    org.refresh_from_db()
    followups_due(organization=org)  # and another within the window
    assert list(FollowUp.unscoped.filter(kind="anniversary").values_list("key", flat=True)) == [
        f"anniversary:{sub.pk}:1"
    ]
    message = Message.unscoped.get(template_key="followup_anniversary")
    assert message.params["years"] == 1
    with clock.frozen(T0 + timedelta(days=731)):
        followups_due(organization=org)
    assert FollowUp.unscoped.filter(kind="anniversary").count() == 2


def test_satisfaction_check_n_days_after_the_start_once(in_org, org, customer):
    FeedbackSettings.unscoped.create(organization=org, satisfaction_check_days=14)
    sub = subscription_create(customer=customer, price=PriceFactory(organization=org), now=T0)
    with clock.frozen(T0 + timedelta(days=13)):
        followups_due(organization=org)
    assert not FollowUp.unscoped.exists()
    with clock.frozen(T0 + timedelta(days=14, hours=1)):
        followups_due(organization=org)
        followups_due(organization=org)
    followup = FollowUp.unscoped.get(kind="satisfaction")
    assert followup.key == f"satisfaction:{sub.pk}"
    request = SurveyRequest.unscoped.get(source="satisfaction")
    assert request.kind == "csat"
    assert followup.message.template_key == "followup_satisfaction"
    assert Message.unscoped.filter(template_key="followup_satisfaction").count() == 1


def test_follow_ups_respect_consent(in_org, customer):
    preference_set(customer=customer, topic="surveys", opted_in=False, source="portal")
    invoice = paid_invoice(customer)
    _deliver_twice(_paid_event(invoice), on_invoice_paid)
    followup = FollowUp.unscoped.get(kind="thank_you")
    assert followup.message.status == MessageStatus.SKIPPED  # recorded, not sent, not retried


def test_follow_ups_turned_off_send_nothing(in_org, org, customer):
    FeedbackSettings.unscoped.create(
        organization=org,
        thank_you_first_payment=False,
        payment_survey_every_n=1,
        surveys_enabled=False,
    )
    invoice = paid_invoice(customer)
    _deliver_twice(_paid_event(invoice), on_invoice_paid)
    assert not FollowUp.unscoped.exists()
    assert not SurveyRequest.unscoped.exists()


def test_periodic_nps_once_per_window_and_not_right_after_another(in_org, org, customer):
    FeedbackSettings.unscoped.create(
        organization=org, periodic_nps_days=180, payment_survey_every_n=0
    )
    subscription_create(customer=customer, price=PriceFactory(organization=org), now=T0)
    with clock.frozen(T0 + timedelta(days=100)):
        followups_due(organization=org)
    assert not SurveyRequest.unscoped.filter(source="periodic").exists()
    with clock.frozen(T0 + timedelta(days=181)):
        followups_due(organization=org)
        followups_due(organization=org)
    assert SurveyRequest.unscoped.filter(source="periodic").count() == 1
    with clock.frozen(T0 + timedelta(days=361)):
        followups_due(organization=org)
    assert SurveyRequest.unscoped.filter(source="periodic").count() == 2
