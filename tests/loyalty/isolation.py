"""Tenant isolation factories and URL cases of the loyalty models (imported by
tests/isolation.py)."""

from __future__ import annotations

from cobro import clock
from cobro.tenancy.context import use_organization
from loyalty.models import LoyaltyProgramme, LoyaltyTier, PointsEntry, Redemption, Reward
from loyalty.services.ledger import account_lock, points_adjust
from loyalty.services.rewards import reward_redeem
from tests.billing.factories import CustomerFactory
from tests.isolation import isolation_factory, make, marked, url_case


def _customer(org):
    return CustomerFactory(organization=org, name=marked(org, "loyalty customer"))


@isolation_factory("loyalty.loyaltyprogramme")
def _programme(org):
    return LoyaltyProgramme.unscoped.update_or_create(
        organization=org, defaults={"enabled": True, "name": marked(org, "Club")[:100]}
    )[0]


@isolation_factory("loyalty.loyaltytier")
def _tier(org):
    n = LoyaltyTier.unscoped.filter(organization=org).count()
    return LoyaltyTier.unscoped.create(
        organization=org,
        name=marked(org, f"Oro {n}")[:60],
        threshold_points=1000 + n,
        benefit=marked(org, "beneficio"),
    )


@isolation_factory("loyalty.loyaltyaccount")
def _account(org):
    make("loyalty.loyaltyprogramme", org)
    with use_organization(org):
        from django.db import transaction

        with transaction.atomic():
            return account_lock(customer=_customer(org))


@isolation_factory("loyalty.pointsentry")
def _entry(org):
    make("loyalty.loyaltyprogramme", org)
    with use_organization(org):
        return points_adjust(
            customer=_customer(org), points=500, reason=marked(org, "bono"), actor=None
        )


@isolation_factory("loyalty.reward")
def _reward(org):
    return Reward.unscoped.create(
        organization=org,
        name=marked(org, "Taza")[:100],
        kind=Reward.Kind.GIFT,
        points_cost=100,
        created_at=clock.now(),
    )


@isolation_factory("loyalty.redemption")
def _redemption(org) -> Redemption:
    entry = make("loyalty.pointsentry", org)
    assert isinstance(entry, PointsEntry)
    with use_organization(org):
        return reward_redeem(customer=entry.customer, reward=make("loyalty.reward", org))


@url_case("loyalty:tier_update")
def _tier_update(org):
    return {"pk": make("loyalty.loyaltytier", org).pk}


@url_case("loyalty:reward_update")
def _reward_update(org):
    return {"pk": make("loyalty.reward", org).pk}


@url_case("loyalty:customer")
def _customer_ledger(org):
    return {"pk": make("loyalty.pointsentry", org).customer_id}


@url_case("loyalty:customer_redeem")
def _customer_redeem(org):
    return {"pk": make("loyalty.pointsentry", org).customer_id}


@url_case("loyalty:redemption_fulfil")
def _fulfil(org):
    return {"pk": make("loyalty.redemption", org).pk}


@url_case("loyalty:redemption_cancel")
def _cancel(org):
    return {"pk": make("loyalty.redemption", org).pk}


@url_case("portal:loyalty_redeem")
def _portal_redeem(org):
    return {"org_slug": org.slug, "pk": make("loyalty.reward", org).pk}
