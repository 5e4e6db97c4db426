"""Stateful test: random sequences of subscription actions against a small reference model of
the allowed transitions. Every example runs in a transaction that is rolled back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from billing.error_codes import BillingError
from billing.models import SUBSCRIPTION_TRANSITIONS, Invoice, Subscription
from billing.services import subscriptions as svc
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.factories import OrganizationFactory

START = datetime(2025, 1, 15, 15, tzinfo=UTC)

# Reference model: which action is allowed from which status, and where it leads.
PAUSABLE = {"active", "trialing", "past_due"}


class SubscriptionLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.org = OrganizationFactory(slug="stateful")
        self.ctx = use_organization(self.org)
        self.ctx.__enter__()
        price = PriceFactory(organization=self.org, amount_minor=10_000)
        self.sub = svc.subscription_create(
            customer=CustomerFactory(organization=self.org), price=price, now=START
        )
        self.now = START
        self.status = "active"
        self.cancel_at_end = False

    def teardown(self):
        self.ctx.__exit__(None, None, None)
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def _try(self, fn, allowed, **kwargs):
        try:
            fn(subscription=self.sub, now=self.now, **kwargs)
        except BillingError:
            assert not allowed, f"{fn.__name__} refused from {self.status}"
            return False
        assert allowed, f"{fn.__name__} accepted from {self.status}"
        return True

    @rule(hours=st.integers(1, 24 * 45))
    def advance_and_renew(self, hours):
        self.now += timedelta(hours=hours)
        sub = Subscription.objects.get(pk=self.sub.pk)
        crossing = sub.next_billing_at is not None and sub.next_billing_at <= self.now
        svc.subscription_renew(subscription=self.sub, now=self.now)
        if crossing and self.status in {"active", "past_due"} and self.cancel_at_end:
            self.status = "canceled"

    @rule()
    def pause(self):
        allowed = self.status in PAUSABLE and not self.cancel_at_end
        if self._try(svc.subscription_pause, allowed):
            self.status = "paused"

    @rule()
    def resume(self):
        if self._try(svc.subscription_resume, self.status == "paused"):
            self.status = "active"

    @rule(credit=st.booleans())
    def cancel_now(self, credit):
        if self._try(svc.subscription_cancel, self.status != "canceled", prorated_credit=credit):
            self.status = "canceled"

    @rule()
    def cancel_at_period_end(self):
        allowed = self.status in {"active", "past_due", "trialing"} and not self.cancel_at_end
        if self._try(svc.subscription_cancel, allowed, at_period_end=True):
            self.cancel_at_end = True

    @rule()
    def undo_cancel(self):
        allowed = self.status != "canceled" and self.cancel_at_end
        if self._try(svc.subscription_undo_cancel, allowed):
            self.cancel_at_end = False

    @rule(to=st.sampled_from(["active", "past_due", "unpaid"]))
    def payment_outcome(self, to):
        allowed = to != self.status and to in SUBSCRIPTION_TRANSITIONS[self.status]
        if self._try(svc.subscription_transition, allowed, to=to):
            self.status = to

    @invariant()
    def matches_reference(self):
        sub = Subscription.objects.get(pk=self.sub.pk)
        assert sub.status == self.status
        if sub.status == "canceled":
            assert sub.next_billing_at is None
        if sub.status == "paused":
            assert sub.next_billing_at is None  # paused indefinitely: never billed

    @invariant()
    def periods_never_overlap_nor_repeat(self):
        periods = list(
            Invoice.objects.filter(
                subscription=self.sub,
                billing_reason__in=["subscription_create", "subscription_cycle"],
            )
            .order_by("period_start")
            .values_list("period_start", "period_end")
        )
        for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
            assert end <= start


@pytest.mark.django_db
def test_subscription_lifecycle_follows_reference_model():
    SubscriptionLifecycle.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    SubscriptionLifecycle.TestCase().runTest()
