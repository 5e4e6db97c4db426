"""Demo billing data: IVA 19% (Chile), products and CLP prices, coupons, and subscriptions for
the demo customers (seeded by the customers app). Idempotent: safe to run again."""

from __future__ import annotations

from decimal import Decimal

from billing.models import Coupon, Price, Product, Subscription, TaxRate
from billing.services.catalog import coupon_create, price_create, product_create
from billing.services.subscriptions import subscription_create
from cobro.demo import demo_seeder
from cobro.models import Organization

PLANS = [
    # product, monthly price (CLP, IVA included), trial days
    ("Plan Básico", 9_990, 0),
    ("Plan Pro", 24_990, 14),
    ("Plan Empresa", 79_990, 0),
]


@demo_seeder
def seed_billing(org: Organization) -> None:
    from customers.models import Customer

    iva, _ = TaxRate.unscoped.get_or_create(
        organization=org,
        name="IVA",
        defaults={"percentage": Decimal("19"), "inclusive": True, "country": "CL"},
    )
    prices = []
    for name, amount, trial in PLANS:
        product = Product.unscoped.filter(organization=org, name=name).first()
        if product is None:
            product = product_create(organization=org, name=name)
        price = Price.unscoped.filter(product=product, active=True).first()
        if price is None:
            price = price_create(
                product=product,
                currency=org.default_currency,
                amount_minor=amount,
                trial_days=trial,
                tax_behavior="inclusive",
                tax_rate=iva,
                nickname=f"{name} mensual",
            )
        prices.append(price)
    if not Coupon.unscoped.filter(organization=org, code="BIENVENIDA").exists():
        coupon_create(
            organization=org,
            code="BIENVENIDA",
            name="Bienvenida 20%",
            percent_off=20,
            duration="repeating",
            duration_periods=3,
        )
    if not Coupon.unscoped.filter(organization=org, code="FIEL").exists():
        coupon_create(
            organization=org,
            code="FIEL",
            name="Cliente fiel 10%",
            percent_off=10,
            duration="forever",
        )
    if Subscription.unscoped.filter(organization=org).exists():
        return
    customers = list(Customer.unscoped.filter(organization=org).order_by("pk")[:12])
    for i, customer in enumerate(customers):
        subscription_create(customer=customer, price=prices[i % len(prices)], quantity=1 + i % 2)
