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


@isolation_factory("loyalty.referralcode")
def _referral_code(org):
    from loyalty.services.referrals import referral_code_for

    with use_organization(org):
        return referral_code_for(customer=_customer(org))


@isolation_factory("loyalty.referral")
def _referral(org):
    from loyalty.services.referrals import referral_apply

    programme = make("loyalty.loyaltyprogramme", org)
    assert isinstance(programme, LoyaltyProgramme)
    LoyaltyProgramme.unscoped.filter(pk=programme.pk).update(referrals_enabled=True)
    code = make("loyalty.referralcode", org)
    with use_organization(org):
        return referral_apply(customer=_customer(org), code=str(code), source="staff")


@url_case("loyalty:customer_referral")
def _customer_referral(org):
    return {"pk": make("loyalty.referral", org).referred_id}


@url_case("api:referral-detail")
def _api_referral(org):
    return {"pk": make("loyalty.referral", org).pk}


@url_case("api:customer_referral_code")
def _api_referral_code(org):
    return {"customer_id": make("loyalty.referralcode", org).customer_id}


# -- loyalty points API (loyalty/api/points.py) -----------------------------------------------


@url_case("api:loyalty_entry-detail")
def _api_loyalty_entry(org):
    return {"pk": make("loyalty.pointsentry", org).pk}


@url_case("api:loyalty_reward-detail")
def _api_loyalty_reward(org):
    return {"pk": make("loyalty.reward", org).pk}


@url_case("api:loyalty_reward-redeem")
def _api_loyalty_reward_redeem(org):
    return {"pk": make("loyalty.reward", org).pk}


@url_case("api:loyalty_redemption-detail")
def _api_loyalty_redemption(org):
    return {"pk": make("loyalty.redemption", org).pk}


@url_case("api:customer_loyalty")
def _api_customer_loyalty(org):
    return {"customer_id": make("loyalty.pointsentry", org).customer_id}


@url_case("api:customer_loyalty_adjustments")
def _api_customer_loyalty_adjustments(org):
    return {"customer_id": make("loyalty.pointsentry", org).customer_id}
