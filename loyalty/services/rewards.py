"""Rewards catalogue and redemption.

Redeeming locks the customer's points account, then the reward (always in that order, so two
redemptions cannot deadlock), checks the reward is active, in stock and under the
per-customer limit, checks the balance, and writes the REDEEM entry, the redemption and, for
an invoice credit reward, a customer credit through billing's credit ledger (the next invoice
shows it as "credit applied"). Any refusal raises ``LoyaltyError`` before anything is written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import CreditLedgerEntry
from billing.services.credit import credit_ledger_add
from cobro import clock
from cobro.services.audit import audit_record
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import PointsEntry, Redemption, Reward
from loyalty.services.benefits import RENEWAL_KINDS
from loyalty.services.ledger import _append, account_lock, actor_label
from loyalty.services.programme import programme_active

Status = Redemption.Status


@transaction.atomic
def reward_save(*, organization, actor, values: dict, reward: Reward | None = None, request=None):
    created = reward is None
    if reward is None:
        reward = Reward(organization=organization, created_at=clock.now(organization))
    for field, value in values.items():
        setattr(reward, field, value)
    if reward.kind == Reward.Kind.GIFT:
        reward.credit_amount_minor = 0
        reward.currency = ""
    elif not reward.currency:
        reward.currency = organization.default_currency
    reward.save()
    audit_record(
        organization=organization,
        actor=actor,
        action="loyalty.reward_created" if created else "loyalty.reward_updated",
        target=reward,
        changes={k: str(v) for k, v in values.items()},
        request=request,
    )
    return reward


@transaction.atomic
def reward_redeem(
    *,
    customer,
    reward: Reward,
    actor=None,
    channel: str = "portal",
    now: datetime | None = None,
    request=None,
) -> Redemption:
    org = customer.organization
    if programme_active(org) is None:
        raise LoyaltyError(LoyaltyErrorCode.PROGRAMME_DISABLED)
    now = now or clock.now(org)
    account = account_lock(customer=customer, now=now)
    reward = Reward.unscoped.select_for_update().get(pk=reward.pk, organization=org)
    if not reward.active:
        raise LoyaltyError(LoyaltyErrorCode.REWARD_INACTIVE)
    if reward.stock is not None and reward.stock < 1:
        raise LoyaltyError(LoyaltyErrorCode.REWARD_OUT_OF_STOCK)
    if reward.per_customer_limit is not None:
        used = (
            Redemption.unscoped.filter(reward=reward, customer=customer)
            .exclude(status=Status.CANCELED)
            .count()
        )
        if used >= reward.per_customer_limit:
            raise LoyaltyError(LoyaltyErrorCode.REWARD_LIMIT_REACHED)
    if account.balance < reward.points_cost:
        raise LoyaltyError(
            LoyaltyErrorCode.INSUFFICIENT_POINTS, balance=account.balance, needed=reward.points_cost
        )
    if reward.kind in RENEWAL_KINDS and not _has_renewing_subscription(customer):
        raise LoyaltyError(LoyaltyErrorCode.REWARD_NO_SUBSCRIPTION)
    is_credit = reward.kind == Reward.Kind.INVOICE_CREDIT
    redemption = Redemption.unscoped.create(
        organization=org,
        reward=reward,
        customer=customer,
        points=reward.points_cost,
        status=Status.FULFILLED if is_credit else Status.PENDING,
        channel=channel,
        created_at=now,
        fulfilled_at=now if is_credit else None,
        handled_by=actor_label(actor) if is_credit else "",
    )
    _append(
        account=account,
        kind=PointsEntry.Kind.REDEEM,
        points=-reward.points_cost,
        description=_("Redeemed: %(reward)s") % {"reward": reward.name},
        now=now,
        redemption=redemption,
        actor_label=actor_label(actor),
    )
    if reward.stock is not None:
        reward.stock -= 1
        reward.save(update_fields=["stock"])
    if is_credit:
        credit_ledger_add(
            customer=customer,
            currency=reward.currency,
            amount_minor=reward.credit_amount_minor,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            now=now,
            description=_("Loyalty reward: %(reward)s") % {"reward": reward.name},
        )
    if actor is not None:
        audit_record(
            organization=org,
            actor=actor,
            action="loyalty.reward_redeemed",
            target=redemption,
            changes={"customer": customer.pk, "reward": reward.pk, "points": reward.points_cost},
            request=request,
        )
    return redemption


def _has_renewing_subscription(customer) -> bool:
    from billing.models import Subscription, SubscriptionStatus

    return Subscription.unscoped.filter(
        customer=customer,
        status__in=[
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.PAUSED,
        ],
        cancel_at_period_end=False,
    ).exists()


@transaction.atomic
def redemption_fulfil(*, redemption: Redemption, actor, note: str = "", request=None):
    """Staff mark a pending gift as handed over."""
    redemption = (
        Redemption.unscoped.select_for_update(of=("self",))
        .select_related("reward")
        .get(pk=redemption.pk)
    )
    # Renewal rewards are fulfilled by the renewal invoice that shows them, never by hand.
    if redemption.status != Status.PENDING or redemption.reward.kind in RENEWAL_KINDS:
        raise LoyaltyError(LoyaltyErrorCode.INVALID_TRANSITION)
    redemption.status = Status.FULFILLED
    redemption.fulfilled_at = clock.now(redemption.organization)
    redemption.handled_by = actor_label(actor)
    redemption.note = note[:300]
    redemption.save(update_fields=["status", "fulfilled_at", "handled_by", "note"])
    audit_record(
        organization=redemption.organization,
        actor=actor,
        action="loyalty.redemption_fulfilled",
        target=redemption,
        changes={"status": [Status.PENDING, Status.FULFILLED]},
        request=request,
    )
    return redemption


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, actor, note: str = "", request=None):
    """Staff cancel a pending gift: the points come back (an ADJUST entry) and so does the
    stock unit."""
    redemption = Redemption.unscoped.select_for_update().get(pk=redemption.pk)
    if redemption.status != Status.PENDING:
        raise LoyaltyError(LoyaltyErrorCode.INVALID_TRANSITION)
    now = clock.now(redemption.organization)
    account = account_lock(customer=redemption.customer, now=now)
    reward = Reward.unscoped.select_for_update().get(pk=redemption.reward_id)
    redemption.status = Status.CANCELED
    redemption.handled_by = actor_label(actor)
    redemption.note = note[:300]
    redemption.save(update_fields=["status", "handled_by", "note"])
    if redemption.points:
        _append(
            account=account,
            kind=PointsEntry.Kind.ADJUST,
            points=redemption.points,
            description=_("Redemption canceled: %(reward)s") % {"reward": reward.name},
            now=now,
            redemption=redemption,
            source_key=f"redemption:{redemption.pk}:cancel",
            actor_label=actor_label(actor),
        )
    if reward.stock is not None:
        reward.stock += 1
        reward.save(update_fields=["stock"])
    audit_record(
        organization=redemption.organization,
        actor=actor,
        action="loyalty.redemption_canceled",
        target=redemption,
        changes={"status": [Status.PENDING, Status.CANCELED], "points_returned": redemption.points},
        request=request,
    )
    return redemption
