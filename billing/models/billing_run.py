"""A billing run that staff started from the dashboard ("Run billing now" or a test-clock
advance): its progress and its summary. The renewals themselves are the billing run's
(``billing.services.billing_run``), exactly-once by their own constraints; this row only says
who asked, how far the background task got and what it did."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class BillingRun(TenantModel):
    """Lifecycle: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``; a failed run, or
    one whose worker stopped reporting (``heartbeat_at`` too old), can be resumed (back to
    ``queued``). At most one queued or running run per organization (a partial unique
    constraint): asking again while one is in progress gets that one.

    Progress is ``done`` out of ``total``: subscriptions for a manual run, seconds of clock
    for a test-clock advance. The counters add up over every attempt.
    """

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Billing run")
        TEST_CLOCK = "test_clock", _("Test clock advance")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Manual: bill what is due at this instant (a sandbox organization's test clock wins).
    # Test clock: the clock when the advance was asked for.
    now = models.DateTimeField()
    # Test clock: where the clock is going, and how far it has billed.
    target = models.DateTimeField(null=True, blank=True)
    position = models.DateTimeField(null=True, blank=True)
    total = models.BigIntegerField(default=0)
    done = models.BigIntegerField(default=0)
    subscriptions_renewed = models.PositiveIntegerField(_("subscriptions renewed"), default=0)
    invoices_issued = models.PositiveIntegerField(_("invoices issued"), default=0)
    charges_enqueued = models.PositiveIntegerField(_("charges enqueued"), default=0)
    # Subscriptions the run could not renew (ids, at most ``MAX_FAILED_KEPT``), and how many.
    failed_subscriptions = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    MAX_FAILED_KEPT = 50

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(status__in=["queued", "running"]),
                name="billing_run_one_active",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="billing_run_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return max(0, min(100, self.done * 100 // self.total))
