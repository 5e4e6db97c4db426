"""The loyalty journey through billing: a customer pays three periods on time (frozen clock),
earns points, a streak bonus and a tier, redeems a credit, and the next renewal shows it."""

from __future__ import annotations

from datetime import timedelta

from billing.models import Invoice
from billing.services.invoices import invoice_mark_paid
from billing.services.subscriptions import subscription_create, subscription_renew
from cobro import clock, events
from loyalty.models import LoyaltyAccount, LoyaltyTier
from loyalty.selectors import customer_standing
from loyalty.services.rewards import reward_redeem
from tests.billing.factories import PriceFactory
from tests.loyalty.conftest import T0


def test_three_on_time_periods_earn_a_tier_and_a_credit_for_the_next_invoice(
    in_org, org, programme, customer, credit_reward
):
    LoyaltyTier.unscoped.create(organization=org, name="Plata", threshold_points=400)
    price = PriceFactory(organization=org, amount_minor=20_000)
    with clock.frozen(T0):
        sub = subscription_create(
            customer=customer, price=price, collection_method="send_invoice", days_until_due=5
        )
    now = T0
    for _ in range(3):
        invoice = Invoice.unscoped.filter(subscription=sub).order_by("-created_at").first()
        with clock.frozen(now + timedelta(days=2)):  # paid two days after issue: on time
            invoice_mark_paid(invoice=invoice)
            events.events_dispatch_pending()
        sub.refresh_from_db()
        now = sub.next_billing_at
        with clock.frozen(now):
            subscription_renew(subscription=sub, now=now)
            sub.refresh_from_db()
    standing = customer_standing(customer=customer)
    # 3 x (100 on time + 20 per 20.000 CLP) + 150 streak bonus after the third.
    assert standing.balance == 3 * 120 + 150
    assert standing.tier is not None and standing.tier.name == "Plata"
    with clock.frozen(now + timedelta(days=1)):
        reward_redeem(customer=customer, reward=credit_reward)
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 510 - 200
    next_at = sub.next_billing_at
    with clock.frozen(next_at):
        invoice = subscription_renew(subscription=sub, now=next_at)
    assert invoice is not None
    assert invoice.credit_applied_minor == 5_000
    assert invoice.amount_due_minor == invoice.total_minor - 5_000
