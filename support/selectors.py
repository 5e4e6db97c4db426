"""Reads of the support app: the inbox with its filters, a customer's billing context beside a
thread, and the service level (medians of first response and resolution times)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q, QuerySet

from cobro import clock
from support.models import Conversation, Entry, EntryKind, Status

SERVICE_LEVEL_DAYS = 90


def inbox(
    *, status: str = "", topic: str = "", assignee: str = "", q: str = "", user=None
) -> QuerySet[Conversation]:
    """Conversations of the current organization. ``status`` "" means not resolved (the
    default view), "all" everything; ``assignee`` "me", "none" or a user id."""
    qs = Conversation.objects.select_related("customer", "assignee")
    if status == "all":
        pass
    elif status in Status.values:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status=Status.RESOLVED)
    if topic:
        qs = qs.filter(topic=topic)
    if assignee == "me" and user is not None:
        qs = qs.filter(assignee=user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee.isdigit():
        qs = qs.filter(assignee_id=int(assignee))
    if q:
        qs = qs.filter(
            Q(subject__icontains=q) | Q(customer__name__icontains=q) | Q(customer__email__iexact=q)
        )
    return qs.order_by("-updated_at", "-pk")


def thread(conversation: Conversation, *, for_customer: bool) -> QuerySet[Entry]:
    qs = Entry.objects.filter(conversation=conversation).prefetch_related("attachments")
    if for_customer:
        qs = qs.exclude(kind=EntryKind.NOTE)
    return qs.order_by("created_at", "pk")


@dataclass(frozen=True)
class ServiceLevel:
    days: int
    conversations: int
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    open_count: int
    waiting_count: int


def _median(values: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(values)) if values else None


def service_level(*, days: int = SERVICE_LEVEL_DAYS) -> ServiceLevel:
    """Medians over the conversations of the current organization created in the last
    ``days`` days (first response: those answered; resolution: those resolved)."""
    since = clock.now() - timedelta(days=days)
    rows = list(
        Conversation.objects.filter(created_at__gte=since).values_list(
            "created_at", "first_response_at", "resolved_at"
        )
    )
    first = [(f - c).total_seconds() for c, f, _ in rows if f is not None]
    resolved = [(r - c).total_seconds() for c, _, r in rows if r is not None]
    counts = {
        s: Conversation.objects.filter(status=s).count() for s in (Status.OPEN, Status.WAITING)
    }
    return ServiceLevel(
        days=days,
        conversations=len(rows),
        median_first_response=_median(first),
        median_resolution=_median(resolved),
        open_count=counts[Status.OPEN],
        waiting_count=counts[Status.WAITING],
    )


def billing_context(customer) -> dict:
    """What staff need beside the thread: subscriptions, last invoices, last payments, credit
    balance and loyalty points (when a programme is active)."""
    from billing.currencies import organization_currencies
    from billing.models import Invoice, Subscription
    from billing.payments.models import PaymentAttempt
    from billing.services.credit import customer_credit_balance

    org = customer.organization
    subscriptions = list(
        Subscription.objects.filter(customer=customer)
        .select_related("price", "price__product")
        .order_by("-created_at")[:10]
    )
    invoices = list(Invoice.objects.filter(customer=customer).order_by("-created_at", "-pk")[:6])
    payments = list(
        PaymentAttempt.objects.filter(customer_id=customer.pk)
        .select_related("invoice")
        .order_by("-created_at", "-pk")[:5]
    )
    credits = [
        (currency, balance)
        for currency in sorted(organization_currencies(org))
        if (balance := customer_credit_balance(customer=customer, currency=currency))
    ]
    points = None
    try:
        from loyalty.selectors import customer_standing
        from loyalty.services.programme import programme_active

        if programme_active(org) is not None:
            points = customer_standing(customer=customer)
    except ImportError:
        points = None
    return {
        "subscriptions": subscriptions,
        "invoices": invoices,
        "payments": payments,
        "credits": credits,
        "points": points,
    }
