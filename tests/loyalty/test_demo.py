from cobro.demo import seed_demo_data
from loyalty.models import LoyaltyProgramme, LoyaltyTier, Reward


def test_demo_seeder_enables_a_programme_with_tiers_and_rewards_idempotently(org):
    seed_demo_data(org)
    seed_demo_data(org)
    programme = LoyaltyProgramme.unscoped.get(organization=org)
    assert programme.enabled
    assert LoyaltyTier.unscoped.filter(organization=org).count() == 3
    assert Reward.unscoped.filter(organization=org, kind="invoice_credit").count() == 1
    assert Reward.unscoped.filter(organization=org, kind="gift").count() == 1
    assert Reward.unscoped.filter(organization=org, kind="renewal_discount").count() == 1
    assert Reward.unscoped.filter(organization=org, kind="free_period").count() == 1
    assert programme.referrals_enabled and programme.referrer_points == 500
    gold = LoyaltyTier.unscoped.get(organization=org, name="Oro")
    assert gold.early_access and gold.gift_reward is not None
