"""Redeeming rewards: credit on the next invoice, gifts in the fulfilment queue, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.models import CreditLedgerEntry
from billing.services.subscriptions import subscription_create, subscription_renew
from cobro import clock
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import LoyaltyAccount, PointsEntry, Redemption
from loyalty.services.ledger import points_adjust
from loyalty.services.rewards import redemption_cancel, redemption_fulfil, reward_redeem
from tests.billing.factories import PriceFactory
from tests.loyalty.conftest import T0


def _give(customer, points, owner=None):
    return points_adjust(customer=customer, points=points, reason="test grant", actor=owner)


def _ledger(customer):
    return list(PointsEntry.unscoped.filter(customer=customer).values_list("kind", "points"))


def test_credit_reward_shows_as_credit_applied_on_the_next_renewal_invoice(
    in_org, org, programme, customer, credit_reward
):
    price = PriceFactory(organization=org, amount_minor=20_000)
    with clock.frozen(T0):
        sub = subscription_create(customer=customer, price=price)
        _give(customer, 300)
        reward_redeem(customer=customer, reward=credit_reward)
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 100
    assert CreditLedgerEntry.unscoped.get(customer=customer).amount_minor == 5_000
    renew_at = T0 + timedelta(days=32)
    with clock.frozen(renew_at):
        invoice = subscription_renew(subscription=sub, now=renew_at)
    assert invoice is not None
    assert invoice.credit_applied_minor == 5_000
    assert invoice.amount_due_minor == invoice.total_minor - 5_000


def test_redeeming_more_points_than_the_balance_is_refused_and_changes_nothing(
    in_org, programme, customer, credit_reward
):
    _give(customer, 150)
    before = _ledger(customer)
    with pytest.raises(LoyaltyError) as exc:
        reward_redeem(customer=customer, reward=credit_reward)
    assert exc.value.code == LoyaltyErrorCode.INSUFFICIENT_POINTS
    assert "150" in exc.value.message
    assert _ledger(customer) == before
    assert not CreditLedgerEntry.unscoped.exists()
    assert not Redemption.unscoped.exists()


def test_inactive_reward_cannot_be_redeemed(in_org, programme, customer, credit_reward):
    _give(customer, 1_000)
    credit_reward.active = False
    credit_reward.save()
    with pytest.raises(LoyaltyError) as exc:
        reward_redeem(customer=customer, reward=credit_reward)
    assert exc.value.code == LoyaltyErrorCode.REWARD_INACTIVE
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 1_000


def test_gift_goes_to_the_fulfilment_queue_with_stock_and_per_customer_limits(
    in_org, org, programme, customer, gift_reward, owner
):
    from tests.billing.factories import CustomerFactory

    _give(customer, 1_000)
    first = reward_redeem(customer=customer, reward=gift_reward)
    assert first.status == Redemption.Status.PENDING
    with pytest.raises(LoyaltyError) as exc:
        reward_redeem(customer=customer, reward=gift_reward)
    assert exc.value.code == LoyaltyErrorCode.REWARD_LIMIT_REACHED
    second_customer = CustomerFactory(organization=org)
    _give(second_customer, 1_000)
    reward_redeem(customer=second_customer, reward=gift_reward)
    third = CustomerFactory(organization=org)
    _give(third, 1_000)
    with pytest.raises(LoyaltyError) as exc:
        reward_redeem(customer=third, reward=gift_reward)
    assert exc.value.code == LoyaltyErrorCode.REWARD_OUT_OF_STOCK
    redemption_fulfil(redemption=first, actor=owner, note="entregada")
    first.refresh_from_db()
    assert first.status == Redemption.Status.FULFILLED
    assert first.handled_by == "owner@acme.test"


def test_canceling_a_pending_gift_returns_points_and_stock(
    in_org, programme, customer, gift_reward, owner
):
    _give(customer, 100)
    redemption = reward_redeem(customer=customer, reward=gift_reward)
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 0
    redemption_cancel(redemption=redemption, actor=owner)
    gift_reward.refresh_from_db()
    assert gift_reward.stock == 2
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 100
    with pytest.raises(LoyaltyError):
        redemption_fulfil(redemption=redemption, actor=owner)


def test_staff_adjustment_needs_a_reason_and_is_audited(in_org, org, programme, customer, owner):
    from cobro.models import AuditEntry

    with pytest.raises(LoyaltyError) as exc:
        points_adjust(customer=customer, points=10, reason="  ", actor=owner)
    assert exc.value.code == LoyaltyErrorCode.REASON_REQUIRED
    with pytest.raises(LoyaltyError) as exc:
        points_adjust(customer=customer, points=-10, reason="oops", actor=owner)
    assert exc.value.code == LoyaltyErrorCode.INSUFFICIENT_POINTS
    entry = points_adjust(customer=customer, points=40, reason="Compensación", actor=owner)
    assert entry.actor_label == "owner@acme.test"
    audit = AuditEntry.unscoped.get(action="loyalty.points_adjusted")
    assert audit.changes["points"] == 40
    assert audit.actor == owner
