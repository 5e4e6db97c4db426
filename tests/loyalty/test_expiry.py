"""Points expire after the programme's months, oldest first, and only what is unspent."""

from __future__ import annotations

from datetime import timedelta

from cobro import clock
from loyalty.models import LoyaltyAccount, PointsEntry
from loyalty.services.ledger import account_lock, points_adjust
from loyalty.services.rewards import reward_redeem
from loyalty.tasks import loyalty_expire_points_task
from tests.loyalty.conftest import T0


def test_unspent_earned_points_expire_after_the_programme_months(
    in_org, programme, customer, gift_reward
):
    from django.db import transaction

    programme.expiry_months = 12
    programme.welcome_points = 300
    programme.save()
    with clock.frozen(T0), transaction.atomic():
        account_lock(customer=customer)  # welcome: 300 points expiring T0 + 12 months
    with clock.frozen(T0 + timedelta(days=30)):
        reward_redeem(customer=customer, reward=gift_reward)  # spends 100 of the oldest
        points_adjust(customer=customer, points=40, reason="bono", actor=None)  # never expires
    with clock.frozen(T0 + timedelta(days=364)):
        assert loyalty_expire_points_task() == 0
    with clock.frozen(T0 + timedelta(days=366)):
        assert loyalty_expire_points_task() == 1
        assert loyalty_expire_points_task() == 0  # idempotent
    expired = PointsEntry.unscoped.get(kind="expire")
    assert expired.points == -200
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 40
