"""Demo loyalty data: an enabled programme with tiers and rewards for the demo organization.
Idempotent."""

from __future__ import annotations

from decimal import Decimal

from cobro import clock
from cobro.demo import demo_seeder
from cobro.models import Organization
from loyalty.models import LoyaltyProgramme, LoyaltyTier, Reward

TIERS = [
    ("Bronce", 0, "", Decimal("0")),
    ("Plata", 500, "5% de descuento en renovaciones", Decimal("5")),
    ("Oro", 1500, "10% de descuento en renovaciones y regalo de aniversario", Decimal("10")),
]


@demo_seeder
def seed_loyalty(org: Organization) -> None:
    LoyaltyProgramme.unscoped.update_or_create(
        organization=org,
        defaults={
            "enabled": True,
            "name": "Club Puntual",
            "points_per_on_time_payment": 100,
            "points_per_amount": 1,
            "amount_unit_major": 1000,
            "streak_length": 3,
            "streak_bonus_points": 150,
            "welcome_points": 50,
            "grace_days": 3,
            "on_time_rule": "grace",
            "anniversary_points": 300,
            "expiry_months": 12,
            "referrals_enabled": True,
            "referrer_points": 500,
            "referred_points": 200,
            "referral_cap": 10,
        },
    )
    for name, threshold, benefit, pct in TIERS:
        LoyaltyTier.unscoped.get_or_create(
            organization=org,
            name=name,
            defaults={
                "threshold_points": threshold,
                "benefit": benefit,
                "renewal_discount_percent": pct,
            },
        )
    now = clock.now(org)
    rewards = [
        ("Crédito de $5.000", Reward.Kind.INVOICE_CREDIT, 500, 5_000, 0, None, None),
        ("Taza Cobro", Reward.Kind.GIFT, 300, 0, 0, 20, 1),
        ("15% en tu próxima renovación", Reward.Kind.RENEWAL_DISCOUNT, 800, 0, 15, None, 2),
        ("Un mes gratis", Reward.Kind.FREE_PERIOD, 3000, 0, 0, 5, 1),
    ]
    for name, kind, cost, credit, percent, stock, limit in rewards:
        is_credit = kind == Reward.Kind.INVOICE_CREDIT
        Reward.unscoped.get_or_create(
            organization=org,
            name=name,
            defaults={
                "kind": kind,
                "points_cost": cost,
                "credit_amount_minor": credit if is_credit else 0,
                "currency": org.default_currency if is_credit else "",
                "percent_off": Decimal(percent),
                "stock": stock,
                "per_customer_limit": limit,
                "created_at": now,
            },
        )
    # Oro: early access and the mug as a gift on reaching it (only set once, so staff edits
    # survive a second run).
    mug = Reward.unscoped.filter(organization=org, name="Taza Cobro").first()
    LoyaltyTier.unscoped.filter(organization=org, name="Oro", gift_reward__isnull=True).update(
        early_access=True, gift_reward=mug
    )
