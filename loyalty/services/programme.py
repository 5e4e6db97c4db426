"""Programme settings and tiers (staff writes, audited)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from cobro import clock
from cobro.services.audit import audit_record
from loyalty.models import LoyaltyProgramme, LoyaltyTier

PROGRAMME_FIELDS = (
    "enabled",
    "name",
    "points_per_on_time_payment",
    "points_per_amount",
    "amount_unit_major",
    "streak_length",
    "streak_bonus_points",
    "welcome_points",
    "grace_days",
    "on_time_rule",
    "anniversary_points",
    "expiry_months",
    "referrals_enabled",
    "referrer_points",
    "referred_points",
    "referral_cap",
)


def programme_for(organization) -> LoyaltyProgramme | None:
    """The organization's programme row, or None (never configured: off)."""
    return LoyaltyProgramme.unscoped.filter(organization=organization).first()


def programme_active(organization) -> LoyaltyProgramme | None:
    programme = programme_for(organization)
    return programme if programme is not None and programme.enabled else None


@transaction.atomic
def programme_update(*, organization, actor, values: dict[str, Any], request=None):
    """Create or change the programme; every changed field goes to the audit log."""
    programme, _ = LoyaltyProgramme.unscoped.select_for_update().get_or_create(
        organization=organization
    )
    changes = {}
    for field in PROGRAMME_FIELDS:
        if field in values and getattr(programme, field) != values[field]:
            changes[field] = [getattr(programme, field), values[field]]
            setattr(programme, field, values[field])
    programme.updated_at = clock.now(organization)
    programme.save()
    if changes:
        audit_record(
            organization=organization,
            actor=actor,
            action="loyalty.programme_updated",
            target=programme,
            changes=changes,
            request=request,
        )
    return programme


@transaction.atomic
def tier_save(
    *,
    organization,
    actor,
    name: str,
    threshold_points: int,
    benefit: str = "",
    renewal_discount_percent: Decimal = Decimal("0"),
    early_access: bool = False,
    gift_reward=None,
    tier: LoyaltyTier | None = None,
    request=None,
) -> LoyaltyTier:
    created = tier is None
    if tier is None:
        tier = LoyaltyTier(organization=organization)
    tier.name = name
    tier.threshold_points = threshold_points
    tier.benefit = benefit
    tier.renewal_discount_percent = renewal_discount_percent
    tier.early_access = early_access
    tier.gift_reward = gift_reward
    tier.save()
    audit_record(
        organization=organization,
        actor=actor,
        action="loyalty.tier_created" if created else "loyalty.tier_updated",
        target=tier,
        changes={
            "name": name,
            "threshold_points": threshold_points,
            "renewal_discount_percent": str(renewal_discount_percent),
            "early_access": early_access,
            "gift_reward": gift_reward.pk if gift_reward is not None else None,
        },
        request=request,
    )
    return tier


def tier_for_points(*, organization, lifetime_points: int) -> LoyaltyTier | None:
    """The highest tier whose threshold ``lifetime_points`` reaches (None below the first)."""
    return (
        LoyaltyTier.unscoped.filter(
            organization=organization, threshold_points__lte=lifetime_points
        )
        .order_by("-threshold_points")
        .first()
    )


def tier_next(*, organization, lifetime_points: int) -> LoyaltyTier | None:
    return (
        LoyaltyTier.unscoped.filter(organization=organization, threshold_points__gt=lifetime_points)
        .order_by("threshold_points")
        .first()
    )
