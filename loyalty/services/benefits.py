"""Tier benefits and renewal rewards applied for real.

* **Renewal discounts** go through billing's renewal discount providers
  (``billing.renewal_discounts``): the customer's tier percentage, then each pending renewal
  reward (``renewal_discount`` or ``free_period`` = 100%), in the order they were redeemed.
  Each becomes a discount line of the renewal invoice; a reward is marked fulfilled with that
  invoice in the renewal's transaction, so it is consumed exactly once.
* **Tier gifts**: reaching a tier with a gift puts a 0-point redemption (channel ``tier``) in
  the staff fulfilment queue, once per (tier, customer) (``source_key``).
* **Early access**: ``LoyaltyTier.early_access``; read with ``customer_has_early_access``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.invoicing import DiscountSpec
from billing.renewal_discounts import RenewalDiscount
from loyalty.models import LoyaltyAccount, LoyaltyTier, Redemption, Reward
from loyalty.services.programme import programme_active, tier_for_points

RENEWAL_KINDS = (Reward.Kind.RENEWAL_DISCOUNT, Reward.Kind.FREE_PERIOD)


def reward_percent_off(reward: Reward) -> Decimal:
    if reward.kind == Reward.Kind.FREE_PERIOD:
        return Decimal("100")
    return Decimal(reward.percent_off)


def customer_tier(*, customer) -> LoyaltyTier | None:
    account = LoyaltyAccount.unscoped.filter(customer=customer).first()
    if account is None:
        return None
    return tier_for_points(
        organization=customer.organization, lifetime_points=account.lifetime_points
    )


def customer_has_early_access(*, customer) -> bool:
    if programme_active(customer.organization) is None:
        return False
    tier = customer_tier(customer=customer)
    return bool(tier and tier.early_access)


def early_access_customer_ids(*, organization) -> set[int]:
    """Customers whose tier gives early access (for lists in the dashboard)."""
    if programme_active(organization) is None:
        return set()
    tiers = list(
        LoyaltyTier.unscoped.filter(organization=organization).order_by("threshold_points")
    )
    if not any(t.early_access for t in tiers):
        return set()
    found = set()
    for customer_id, lifetime in LoyaltyAccount.unscoped.filter(
        organization=organization, lifetime_points__gte=tiers[0].threshold_points
    ).values_list("customer_id", "lifetime_points"):
        reached = [t for t in tiers if t.threshold_points <= lifetime]
        if reached and reached[-1].early_access:
            found.add(customer_id)
    return found


def pending_renewal_rewards(*, customer):
    return (
        Redemption.unscoped.filter(
            customer=customer,
            status=Redemption.Status.PENDING,
            reward__kind__in=RENEWAL_KINDS,
        )
        .select_related("reward")
        .order_by("created_at", "pk")
    )


def _mark_applied(redemption_id: int):
    def apply(invoice) -> None:
        updated = Redemption.unscoped.filter(
            pk=redemption_id, status=Redemption.Status.PENDING
        ).update(
            status=Redemption.Status.FULFILLED,
            applied_invoice=invoice,
            fulfilled_at=invoice.issued_at or invoice.created_at,
            note=(_("Applied to invoice %(number)s") % {"number": invoice.number})[:300],
        )
        assert updated == 1, "a renewal reward was applied twice"

    return apply


class LoyaltyRenewalDiscounts:
    """The loyalty provider of ``billing.renewal_discounts``."""

    def discounts(self, *, subscription, period_start: datetime) -> list[RenewalDiscount]:
        customer = subscription.customer
        if programme_active(customer.organization) is None:
            return []
        found: list[RenewalDiscount] = []
        tier = customer_tier(customer=customer)
        if tier is not None and tier.renewal_discount_percent > 0:
            found.append(
                RenewalDiscount(
                    spec=DiscountSpec(
                        description=_("%(tier)s tier benefit: %(percent)s%% off")
                        % {"tier": tier.name, "percent": _percent(tier.renewal_discount_percent)},
                        percent_off=Decimal(tier.renewal_discount_percent),
                    )
                )
            )
        # Locked: the renewal's transaction consumes them (a concurrent cancel waits).
        for redemption in pending_renewal_rewards(customer=customer).select_for_update(
            of=("self",)
        ):
            reward = redemption.reward
            if reward.kind == Reward.Kind.FREE_PERIOD:
                text = _("Loyalty reward: %(reward)s (free period)") % {"reward": reward.name}
            else:
                text = _("Loyalty reward: %(reward)s (%(percent)s%% off)") % {
                    "reward": reward.name,
                    "percent": _percent(reward.percent_off),
                }
            found.append(
                RenewalDiscount(
                    spec=DiscountSpec(description=text, percent_off=reward_percent_off(reward)),
                    on_applied=_mark_applied(redemption.pk),
                )
            )
        return found

    def customers_with_discounts(
        self, *, organization_id: int, customer_ids: Iterable[int]
    ) -> set[int]:
        from cobro.models import Organization

        ids = list(customer_ids)
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None or programme_active(organization) is None:
            return set()
        flagged = set(
            Redemption.unscoped.filter(
                organization_id=organization_id,
                customer_id__in=ids,
                status=Redemption.Status.PENDING,
                reward__kind__in=RENEWAL_KINDS,
            ).values_list("customer_id", flat=True)
        )
        lowest = (
            LoyaltyTier.unscoped.filter(
                organization_id=organization_id, renewal_discount_percent__gt=0
            )
            .order_by("threshold_points")
            .values_list("threshold_points", flat=True)
            .first()
        )
        if lowest is not None:
            flagged |= set(
                LoyaltyAccount.unscoped.filter(
                    organization_id=organization_id,
                    customer_id__in=ids,
                    lifetime_points__gte=lowest,
                ).values_list("customer_id", flat=True)
            )
        return flagged


def _percent(value) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def tier_gifts_grant(*, account: LoyaltyAccount, now: datetime) -> list[Redemption]:
    """Queue the gift of every tier the account has reached that has one and was not gifted
    yet. Called with the account locked, after its lifetime points moved up."""
    tiers = LoyaltyTier.unscoped.filter(
        organization_id=account.organization_id,
        threshold_points__lte=account.lifetime_points,
        gift_reward__isnull=False,
    ).select_related("gift_reward")
    created = []
    for tier in tiers:
        key = f"tier:{tier.pk}:customer:{account.customer_id}:gift"
        if Redemption.unscoped.filter(
            organization_id=account.organization_id, source_key=key
        ).exists():
            continue
        reward = tier.gift_reward
        assert reward is not None
        try:
            with transaction.atomic():
                redemption = Redemption.unscoped.create(
                    organization_id=account.organization_id,
                    reward=reward,
                    customer_id=account.customer_id,
                    points=0,
                    status=Redemption.Status.PENDING,
                    channel="tier",
                    note=(_("Gift for reaching the %(tier)s tier") % {"tier": tier.name})[:300],
                    created_at=now,
                    source_key=key,
                )
        except IntegrityError:
            continue
        created.append(redemption)
    return created
