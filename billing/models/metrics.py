"""Derived data that keeps the staff home's metrics fast at millions of rows.

Nothing here is a source of truth: every row is derived from the outbox's ``subscription.*``
events (the MRR ledger) or is a cache of aggregates of invoices, payments and that ledger
(``MetricsBucket``). The ledger is written by a database trigger on ``cobro_outboxevent``
(migration ``billing.0003``) in the same transaction as the event, whichever path writes it
(services, the bulk billing run's COPY, a migration's backfill), so it can never disagree
with the events. ``billing.metrics`` reads them with explicit ``organization_id`` filters;
nothing else reads or writes them, which is why they are plain models rather than tenant
models with a scoped manager.

Units: ``num`` is a monthly-normalization numerator, ``amount_minor * quantity * K`` with
K = 12 (month), 1 (year), 52 (week), 365 (day); the monthly amount is ``num / (12 * cnt)``
with ``cnt`` the price's interval count (see ``billing.metrics``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from cobro.models import Organization


class MrrSubscriptionState(models.Model):
    """The last MRR state of each subscription (per currency), as its latest event says."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscription_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    customer_id = models.BigIntegerField()
    num = models.BigIntegerField()
    cnt = models.PositiveSmallIntegerField()
    max_num = models.BigIntegerField()  # the highest ``num`` ever: >0 means "had MRR before"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription_id", "currency"], name="mrrstate_unique_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"MRR of subscription {self.subscription_id}: {self.num}/{self.cnt}"


class MrrCustomerState(models.Model):
    """How many of a customer's subscriptions have MRR right now (per currency)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    paying_subscriptions = models.IntegerField(default=0)
    paying_since = models.DateTimeField(null=True)  # when the current (or last) paying began

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "currency"], name="mrrcustomer_unique_customer"
            )
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id}: {self.paying_subscriptions} paying"


class MrrMovement(models.Model):
    """One change of a subscription's MRR (renewals at the same MRR write nothing): the
    state before and after and its class (new, expansion, reactivation, contraction, churn).
    ``customer_delta`` is +1 when the customer starts paying (none of their subscriptions had
    MRR), -1 when they stop, else 0."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscription_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=12)
    prev_num = models.BigIntegerField()
    prev_cnt = models.PositiveSmallIntegerField()
    cur_num = models.BigIntegerField()
    cur_cnt = models.PositiveSmallIntegerField()
    customer_delta = models.SmallIntegerField(default=0)
    # On a -1 row: when that customer's paying interval began (churn of a window is the -1
    # rows whose interval began before the window).
    paying_since = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "currency", "occurred_at"],
                name="mrrmovement_org_at",
                include=["kind", "prev_cnt", "cur_cnt", "prev_num", "cur_num", "customer_delta"],
            ),
            models.Index(
                fields=["organization", "currency", "occurred_at"],
                name="mrrmovement_stops",
                include=["customer_id", "paying_since"],
                condition=Q(customer_delta=-1),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of subscription {self.subscription_id} at {self.occurred_at}"


class MetricsBucket(models.Model):
    """Cached aggregates of one metric over one closed interval ``[start, end)`` (a local
    calendar month of MRR movements, a day of payments...). Computed on first read; a
    database trigger deletes the bucket when a row it summarized changes or a row lands in
    its interval, so a read never sees a stale one."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    metric = models.CharField(max_length=20)
    start = models.DateTimeField()
    end = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency", "metric", "start", "end"],
                name="metricsbucket_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} [{self.start}, {self.end})"
