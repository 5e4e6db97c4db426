"""Reads of the loyalty pages."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.models import LoyaltyAccount, LoyaltyTier, PointsEntry, Redemption, Reward
from loyalty.services.programme import programme_for, tier_for_points, tier_next


@dataclass
class CustomerStanding:
    balance: int
    lifetime_points: int
    streak: int
    tier: LoyaltyTier | None
    next_tier: LoyaltyTier | None

    @property
    def points_to_next(self) -> int | None:
        if self.next_tier is None:
            return None
        return self.next_tier.threshold_points - self.lifetime_points


def customer_standing(*, customer) -> CustomerStanding:
    account = LoyaltyAccount.unscoped.filter(customer=customer).first()
    lifetime = account.lifetime_points if account else 0
    org = customer.organization
    return CustomerStanding(
        balance=account.balance if account else 0,
        lifetime_points=lifetime,
        streak=account.streak if account else 0,
        tier=tier_for_points(organization=org, lifetime_points=lifetime),
        next_tier=tier_next(organization=org, lifetime_points=lifetime),
    )


def customer_history(*, customer, limit: int = 100):
    return PointsEntry.objects.filter(customer=customer).select_related("invoice")[:limit]


def rewards_available():
    return Reward.objects.filter(active=True)


def fulfilment_queue():
    return (
        Redemption.objects.filter(status=Redemption.Status.PENDING, reward__kind=Reward.Kind.GIFT)
        .select_related("reward", "customer")
        .order_by("created_at")
    )


__all__ = ["customer_history", "customer_standing", "fulfilment_queue", "programme_for"]
