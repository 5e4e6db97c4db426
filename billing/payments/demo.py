"""Demo data: a sandbox card on every demo customer, so the first charges succeed.

One customer gets the sandbox's insufficient-funds card, so the demo shows dunning at work;
another pays with the sandbox's test wallet.
Registered after the billing seeder; charges happen after the seed transaction commits, from
the outbox, so the cards are in place by then. Idempotent: customers with a card are skipped.
"""

from __future__ import annotations

from cobro.demo import demo_seeder
from cobro.models import Organization
from customers.models import Customer

DECLINING_DEMO_EMAIL = "jsilva@empresasilva.cl"


@demo_seeder
def seed_demo_cards(org: Organization) -> None:
    from billing.payments.models import PaymentMethod
    from billing.payments.services.methods import payment_method_add_card

    with_card = set(
        PaymentMethod.unscoped.filter(organization=org, removed_at__isnull=True).values_list(
            "customer_id", flat=True
        )
    )
    for index, customer in enumerate(Customer.unscoped.filter(organization=org).order_by("pk")):
        if customer.pk in with_card:
            continue
        behaviour = "insufficient_funds" if customer.email == DECLINING_DEMO_EMAIL else "success"
        # The second customer pays with the sandbox's test wallet (shown as a wallet).
        prefix = "tok_sandbox_wallet_" if index == 1 and behaviour == "success" else "tok_sandbox_"
        payment_method_add_card(customer=customer, gateway="sandbox", token=f"{prefix}{behaviour}")
