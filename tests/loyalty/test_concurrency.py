"""Concurrent redemptions on PostgreSQL cannot overspend (threads, real transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from cobro.tenancy.context import use_organization
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import LoyaltyAccount, LoyaltyProgramme, PointsEntry, Redemption, Reward
from loyalty.services.ledger import points_adjust, points_balance_from_entries
from loyalty.services.rewards import reward_redeem
from tests.billing.factories import CustomerFactory
from tests.factories import OrganizationFactory
from tests.loyalty.conftest import T0


@pytest.mark.parametrize("racers", [2, 8])
def test_parallel_redemptions_cannot_overspend(transactional_db, racers):
    org = OrganizationFactory(slug="race")
    LoyaltyProgramme.unscoped.create(organization=org, enabled=True)
    customer = CustomerFactory(organization=org)
    reward = Reward.unscoped.create(
        organization=org,
        name="Crédito",
        kind="invoice_credit",
        points_cost=100,
        credit_amount_minor=1_000,
        currency="CLP",
        created_at=T0,
    )
    with use_organization(org):
        points_adjust(customer=customer, points=250, reason="seed", actor=None)
    barrier = threading.Barrier(racers)
    outcomes: list = []

    def work() -> None:
        try:
            with use_organization(org):
                barrier.wait()
                try:
                    reward_redeem(customer=customer, reward=reward)
                    outcomes.append("ok")
                except LoyaltyError as exc:
                    outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 2  # 250 points buy two 100-point rewards, never three
    assert outcomes.count(LoyaltyErrorCode.INSUFFICIENT_POINTS) == racers - 2
    account = LoyaltyAccount.unscoped.get(customer=customer)
    assert account.balance == 50
    assert points_balance_from_entries(account=account) == 50
    assert Redemption.unscoped.filter(customer=customer).count() == 2
    assert PointsEntry.unscoped.filter(customer=customer, kind="redeem").count() == 2
