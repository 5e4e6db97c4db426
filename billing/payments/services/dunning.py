"""Dunning: chasing a failed payment by the organization's policy.

Timeline (all offsets from the FIRST failure of the invoice, so late workers do not drift
the schedule): retry ``i`` runs at ``first_failed_at + retry_days[i]``. A hard decline stops
retrying at once. When retries are exhausted (or after a hard decline) the subscription waits
``grace_period_days`` and then gets the policy's final action. A customer who updates the
payment method gets an immediate retry that does not use up a scheduled one. Each failure
emits ``payment.failed`` with what a message to the customer needs.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta

from django.db import transaction

from billing.models import Invoice, Subscription, SubscriptionStatus
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import (
    AttemptTrigger,
    DunningCase,
    DunningPolicy,
    FinalAction,
    PaymentAttempt,
)
from cobro import clock
from cobro.events import event_emit

logger = logging.getLogger(__name__)
St = SubscriptionStatus


def dunning_policy_for(*, organization) -> DunningPolicy:
    policy = DunningPolicy.unscoped.filter(organization=organization).first()
    return policy or DunningPolicy(organization=organization)


@transaction.atomic
def dunning_policy_update(
    *, organization, retry_days: list[int], grace_period_days: int, final_action: str
) -> DunningPolicy:
    if (
        not isinstance(retry_days, list)
        or len(retry_days) > 10
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in retry_days)
        or any(b <= a for a, b in itertools.pairwise(retry_days))
        or final_action not in FinalAction.values
        or grace_period_days < 0
    ):
        raise PaymentError(PaymentErrorCode.INVALID_POLICY)
    policy, _ = DunningPolicy.unscoped.update_or_create(
        organization=organization,
        defaults={
            "retry_days": retry_days,
            "grace_period_days": grace_period_days,
            "final_action": final_action,
        },
    )
    return policy


def _subscription_to(sub_id: int | None, to: str, *, now: datetime, from_: tuple) -> None:
    if sub_id is None:
        return
    from billing.services.subscriptions import subscription_transition

    sub = Subscription.unscoped.get(pk=sub_id)
    if sub.status in from_:
        subscription_transition(subscription=sub, to=to, now=now)


def dunning_on_failure(*, attempt: PaymentAttempt, now: datetime) -> DunningCase:
    """Schedule what comes after a failed attempt (inside the settling transaction)."""
    from billing.payments.services.charging import NOT_PROCESSED, attempt_payload

    org = attempt.organization
    policy = dunning_policy_for(organization=org)
    case, created = DunningCase.unscoped.select_for_update().get_or_create(
        invoice_id=attempt.invoice_id,
        defaults={"organization": org, "first_failed_at": now, "updated_at": now},
    )
    invoice = Invoice.unscoped.get(pk=attempt.invoice_id)
    if case.state in (DunningCase.State.RECOVERED, DunningCase.State.CLOSED):
        return case
    if attempt.decline_code == NOT_PROCESSED:
        # Our side lost the request before the gateway saw it: not the customer's failure.
        case.next_retry_at = now
        case.updated_at = now
        case.save()
        return case
    if created:
        _subscription_to(
            invoice.subscription_id, St.PAST_DUE, now=now, from_=(St.ACTIVE, St.TRIALING)
        )
    days = policy.retry_days
    if not attempt.hard_decline and case.retries_done < len(days):
        case.state = DunningCase.State.ACTIVE
        case.next_retry_at = max(
            case.first_failed_at + timedelta(days=days[case.retries_done]), now
        )
        case.final_action_at = None
    else:
        case.state = DunningCase.State.EXHAUSTED
        case.next_retry_at = None
        case.final_action_at = now + timedelta(days=policy.grace_period_days)
    case.updated_at = now
    case.save()
    event_emit(
        organization=org,
        type="payment.failed",
        payload=attempt_payload(
            attempt,
            invoice_number=invoice.number,
            next_retry_at=case.next_retry_at.isoformat() if case.next_retry_at else None,
            final_action=policy.final_action if case.final_action_at else None,
            final_action_at=case.final_action_at.isoformat() if case.final_action_at else None,
            retries_left=max(len(days) - case.retries_done, 0) if not attempt.hard_decline else 0,
        ),
        subject=attempt,
    )
    return case


def dunning_on_success(*, invoice: Invoice, attempt: PaymentAttempt | None, now: datetime) -> None:
    """The invoice got paid: close its case and bring the subscription back to active."""
    # A case opens on a failed attempt, so the invoice's first attempt has none to close.
    first_try = attempt is not None and attempt.attempt_number == 1
    case = (
        None
        if first_try
        else DunningCase.unscoped.select_for_update().filter(invoice_id=invoice.pk).first()
    )
    if case is not None and case.state != DunningCase.State.RECOVERED:
        case.state = DunningCase.State.RECOVERED
        case.next_retry_at = None
        case.final_action_at = None
        case.recovered_minor = attempt.amount_minor if attempt else invoice.amount_paid_minor
        case.updated_at = now
        case.save()
    if invoice.subscription_id is not None:
        still_unpaid = DunningCase.unscoped.filter(
            invoice__subscription_id=invoice.subscription_id,
            state__in=(DunningCase.State.ACTIVE, DunningCase.State.EXHAUSTED),
        ).exists()
        if not still_unpaid:
            _subscription_to(
                invoice.subscription_id, St.ACTIVE, now=now, from_=(St.PAST_DUE, St.UNPAID)
            )


def dunning_method_updated(*, customer, now: datetime) -> list[int]:
    """A new default method: retry every invoice in dunning now (inside the caller's
    transaction; the gateway calls are enqueued after commit). Returns attempt ids."""
    from billing.payments.services.charging import payment_attempt_create, payment_attempt_enqueue

    ids = []
    cases = DunningCase.unscoped.filter(
        invoice__customer_id=customer.pk,
        state__in=(DunningCase.State.ACTIVE, DunningCase.State.EXHAUSTED),
        final_action_taken="",
    ).select_related("invoice")
    for case in cases:
        try:
            attempt = payment_attempt_create(
                invoice=case.invoice, trigger=AttemptTrigger.METHOD_UPDATED, now=now
            )
        except PaymentError:
            continue
        payment_attempt_enqueue(attempt)
        ids.append(attempt.pk)
    return ids


def dunning_case_close(*, invoice: Invoice, now: datetime) -> None:
    """Stop chasing ``invoice`` by card (it is now paid by transfer or cash and staff
    reconcile it): its case, if any, is closed; no more retries or final action."""
    DunningCase.unscoped.filter(
        invoice_id=invoice.pk,
        state__in=(DunningCase.State.ACTIVE, DunningCase.State.EXHAUSTED),
        final_action_taken="",
    ).update(
        state=DunningCase.State.CLOSED, next_retry_at=None, final_action_at=None, updated_at=now
    )


def dunning_tick(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Run due retries and due final actions. Safe to run concurrently (SKIP LOCKED)."""
    from billing.payments.services.charging import (
        NOT_PROCESSED,
        payment_attempt_create,
        payment_attempt_enqueue,
    )

    now = now or clock.now()
    retried = finals = 0
    for _ in range(limit):
        with transaction.atomic():
            case = (
                DunningCase.unscoped.select_for_update(skip_locked=True)
                .filter(state=DunningCase.State.ACTIVE, next_retry_at__lte=now)
                .order_by("next_retry_at")
                .first()
            )
            if case is None:
                break
            invoice = Invoice.unscoped.get(pk=case.invoice_id)
            # A retry after our own lost request does not use up one of the policy's retries.
            last_code = (
                PaymentAttempt.unscoped.filter(invoice=invoice)
                .order_by("-attempt_number")
                .values_list("decline_code", flat=True)
                .first()
            )
            if last_code != NOT_PROCESSED:
                case.retries_done += 1
            case.next_retry_at = None
            case.updated_at = now
            case.save()
            try:
                with transaction.atomic():
                    attempt = payment_attempt_create(
                        invoice=invoice, trigger=AttemptTrigger.RETRY, now=now
                    )
            except PaymentError as exc:
                if exc.code == PaymentErrorCode.INVOICE_NOT_PAYABLE:
                    case.state = DunningCase.State.CLOSED
                    case.save(update_fields=["state"])
                continue
            payment_attempt_enqueue(attempt)
            retried += 1
    for _ in range(limit):
        with transaction.atomic():
            case = (
                DunningCase.unscoped.select_for_update(skip_locked=True)
                .select_related("organization")
                .filter(
                    state=DunningCase.State.EXHAUSTED,
                    final_action_at__lte=now,
                    final_action_taken="",
                )
                .order_by("final_action_at")
                .first()
            )
            if case is None:
                break
            _final_action(case, now=now)
            finals += 1
    return {"retried": retried, "final_actions": finals}


def _final_action(case: DunningCase, *, now: datetime) -> None:
    from billing.services.subscriptions import subscription_cancel

    policy = dunning_policy_for(organization=case.organization)
    invoice = Invoice.unscoped.get(pk=case.invoice_id)
    action = policy.final_action
    if invoice.subscription_id is not None:
        sub = Subscription.unscoped.get(pk=invoice.subscription_id)
        if action == FinalAction.CANCEL and sub.status != St.CANCELED:
            subscription_cancel(subscription=sub, now=now)
        elif action == FinalAction.MARK_UNPAID:
            _subscription_to(sub.pk, St.UNPAID, now=now, from_=(St.PAST_DUE,))
    case.final_action_taken = action
    case.updated_at = now
    case.save()
    event_emit(
        organization=case.organization,
        type="dunning.exhausted",
        payload={
            "invoice_id": invoice.pk,
            "customer_id": invoice.customer_id,
            "subscription_id": invoice.subscription_id,
            "final_action": action,
        },
        subject=invoice,
    )
