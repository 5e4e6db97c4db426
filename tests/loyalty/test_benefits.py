"""Tier benefits and renewal rewards applied for real: the renewal invoice shows them as
discount lines (both billing-run paths), renewal rewards are consumed once, tier gifts go to
the fulfilment queue once, early access is flagged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.invoicing import DiscountSpec, LineDraft, TaxSpec, build_document
from billing.models import Invoice
from billing.services.billing_run import billing_run_chunk
from billing.services.subscriptions import subscription_create, subscription_renew
from cobro import clock, events
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import LoyaltyTier, Redemption, Reward
from loyalty.selectors import fulfilment_queue
from loyalty.services.benefits import customer_has_early_access
from loyalty.services.rewards import redemption_fulfil, reward_redeem
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.loyalty.conftest import T0, paid_invoice


def test_extra_discounts_stack_after_the_coupon_and_lines_sum_to_the_total():
    iva = TaxSpec(1, "IVA", Decimal("19"))
    lines = [
        LineDraft("subscription", "Plan", 10_000, tax=iva, discountable=True),
        LineDraft("setup_fee", "Alta", 5_000, tax=iva),
    ]
    doc = build_document(
        currency="CLP",
        lines=lines,
        discount=DiscountSpec("Cupón", percent_off=Decimal("10"), coupon_id=7),
        extra_discounts=(
            DiscountSpec("Nivel Oro: 15% de descuento", percent_off=Decimal("15")),
            DiscountSpec("Periodo gratis", percent_off=Decimal("100")),
        ),
    )
    discounts = [ln for ln in doc.lines if ln.kind == "discount"]
    # 10% of 10.000, then 15% of the 9.000 left, then all of the 7.650 left.
    assert [ln.amount_minor for ln in discounts] == [-1_000, -1_350, -7_650]
    assert doc.coupon_id == 7
    assert doc.discount_minor == 10_000
    assert doc.subtotal_minor == 15_000
    assert doc.total_minor == sum(ln.amount_minor for ln in doc.lines) + doc.tax_minor
    assert doc.tax_minor == 950  # only the setup fee is still taxed: 19% of 5.000


@pytest.fixture
def gold(org):
    return LoyaltyTier.unscoped.create(
        organization=org,
        name="Oro",
        threshold_points=100,
        renewal_discount_percent=Decimal("10"),
        early_access=True,
    )


@pytest.fixture
def subscribed(org, customer):
    price = PriceFactory(organization=org, amount_minor=20_000)
    with clock.frozen(T0):
        sub = subscription_create(
            customer=customer, price=price, collection_method="send_invoice", days_until_due=5
        )
    return sub


def _earn(customer, amount=10_000):
    paid_invoice(customer, amount=amount)
    events.events_dispatch_pending()


def _discount_lines(invoice):
    return list(invoice.lines.filter(kind="discount").values_list("description", "amount_minor"))


@pytest.mark.parametrize("fast", [True, False])
def test_tier_discount_appears_on_the_renewal_invoice(
    in_org, org, programme, customer, gold, subscribed, fast
):
    _earn(customer)  # 110 points: Oro
    sub = subscribed
    due = sub.next_billing_at
    # Another customer without a tier renews in the same batch, on the fast path.
    plain = CustomerFactory(organization=org)
    with clock.frozen(T0):
        other = subscription_create(
            customer=plain, price=sub.price, collection_method="send_invoice", days_until_due=5
        )
    billing_run_chunk(
        organization_id=org.pk, id_from=1, id_to=max(sub.pk, other.pk), now=due, fast=fast
    )
    invoice = Invoice.unscoped.get(subscription=sub, period_start=due)
    assert _discount_lines(invoice) == [("Beneficio del nivel Oro: 10% de descuento", -2_000)]
    assert invoice.discount_minor == 2_000
    assert invoice.total_minor == 18_000
    plain_invoice = Invoice.unscoped.get(subscription=other, period_start=due)
    assert _discount_lines(plain_invoice) == []
    assert plain_invoice.total_minor == 20_000


def test_no_tier_no_discount_and_programme_off_no_discount(
    in_org, programme, customer, gold, subscribed
):
    _earn(customer)
    programme.enabled = False
    programme.save()
    sub = subscribed
    with clock.frozen(sub.next_billing_at):
        invoice = subscription_renew(subscription=sub, now=sub.next_billing_at)
    assert invoice is not None and _discount_lines(invoice) == []


def test_redeemed_discount_shows_on_the_next_renewal_only(
    in_org, org, programme, customer, subscribed
):
    reward = Reward.unscoped.create(
        organization=org,
        name="20% en tu renovación",
        kind=Reward.Kind.RENEWAL_DISCOUNT,
        percent_off=Decimal("20"),
        points_cost=100,
        created_at=T0,
    )
    _earn(customer)
    redemption = reward_redeem(customer=customer, reward=reward)
    assert redemption.status == Redemption.Status.PENDING
    assert not fulfilment_queue().filter(pk=redemption.pk).exists()  # not a gift
    with pytest.raises(LoyaltyError):  # fulfilled by the invoice, not by hand
        redemption_fulfil(redemption=redemption, actor=None)

    sub = subscribed
    first_due = sub.next_billing_at
    billing_run_chunk(organization_id=org.pk, id_from=sub.pk, id_to=sub.pk, now=first_due)
    invoice = Invoice.unscoped.get(subscription=sub, period_start=first_due)
    assert _discount_lines(invoice) == [
        ("Recompensa de fidelización: 20% en tu renovación (20% de descuento)", -4_000)
    ]
    redemption.refresh_from_db()
    assert redemption.status == Redemption.Status.FULFILLED
    assert redemption.applied_invoice_id == invoice.pk

    sub.refresh_from_db()
    second_due = sub.next_billing_at
    with clock.frozen(second_due):
        again = subscription_renew(subscription=sub, now=second_due)
    assert again is not None and _discount_lines(again) == []


def test_free_period_makes_the_next_renewal_free(in_org, org, programme, customer, subscribed):
    reward = Reward.unscoped.create(
        organization=org,
        name="Un mes gratis",
        kind=Reward.Kind.FREE_PERIOD,
        points_cost=100,
        created_at=T0,
    )
    _earn(customer)
    reward_redeem(customer=customer, reward=reward)
    sub = subscribed
    due = sub.next_billing_at
    with clock.frozen(due):
        invoice = subscription_renew(subscription=sub, now=due)
    assert invoice is not None
    assert invoice.total_minor == 0
    assert invoice.status == "paid"
    assert _discount_lines(invoice) == [
        ("Recompensa de fidelización: Un mes gratis (periodo gratis)", -20_000)
    ]


def test_renewal_reward_needs_a_subscription(in_org, org, programme, customer):
    reward = Reward.unscoped.create(
        organization=org,
        name="Un mes gratis",
        kind=Reward.Kind.FREE_PERIOD,
        points_cost=100,
        created_at=T0,
    )
    _earn(customer)
    with pytest.raises(LoyaltyError) as err:
        reward_redeem(customer=customer, reward=reward)
    assert err.value.code == LoyaltyErrorCode.REWARD_NO_SUBSCRIPTION
    assert not Redemption.unscoped.exists()


def test_reaching_a_tier_with_a_gift_queues_it_once(in_org, org, programme, customer, gift_reward):
    LoyaltyTier.unscoped.create(
        organization=org, name="Plata", threshold_points=100, gift_reward=gift_reward
    )
    _earn(customer)
    _earn(customer)  # more points: still one gift
    queued = list(fulfilment_queue())
    assert len(queued) == 1
    gift = queued[0]
    assert (gift.customer_id, gift.points, gift.channel) == (customer.pk, 0, "tier")
    assert "Plata" in gift.note


def test_early_access_follows_the_tier(in_org, programme, customer, gold):
    assert not customer_has_early_access(customer=customer)
    _earn(customer)
    assert customer_has_early_access(customer=customer)
