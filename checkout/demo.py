"""Demo data: the demo organization's public pricing page (its plans monthly, Plan Pro also
yearly to show the saving), bank transfer accepted, and a checkout link with the BIENVENIDA
coupon. Idempotent: a second run changes nothing."""

from __future__ import annotations

from billing.models import Coupon, Price, Product
from checkout.models import CheckoutLink, PricingPage, PublicPrice
from cobro.demo import demo_seeder
from cobro.models import Organization

DEMO_LINK_NAME = "Bienvenida por WhatsApp"


@demo_seeder
def seed_checkout(org: Organization) -> None:
    from billing.services.catalog import price_create
    from checkout.services.settings import checkout_link_create, public_price_set

    if not PricingPage.unscoped.filter(organization=org).exists():
        PricingPage.unscoped.create(
            organization=org,
            enabled=True,
            headline="Elige tu plan de café",
            intro="Café de especialidad en tu oficina, cada mes. Cancela cuando quieras.",
            terms_text=(
                "La suscripción se renueva automáticamente cada período hasta que la "
                "canceles desde tu portal. Los precios incluyen IVA."
            ),
            require_tax_id=True,
            allow_bank_transfer=True,
        )
    from billing.payments.models import GatewayAccount
    from billing.payments.services.accounts import gateway_account_update

    if not GatewayAccount.unscoped.filter(organization=org, gateway="manual").exists():
        # Bank details for the transfer instructions of the demo's bank-transfer sign-ups.
        gateway_account_update(
            organization=org,
            gateway="manual",
            values={
                "bank_name": "Banco Demo",
                "account_holder": org.legal_name,
                "tax_id": org.tax_id,
                "account_type": "Cuenta corriente",
                "account_number": "00-123-45678-9",
                "email": "pagos@cobro.localhost",
            },
        )
    pro = Product.unscoped.filter(organization=org, name="Plan Pro").first()
    if pro is not None and not Price.unscoped.filter(product=pro, interval="year").exists():
        monthly = Price.unscoped.filter(product=pro, active=True, interval="month").first()
        if monthly is not None:
            price_create(
                product=pro,
                currency=monthly.currency,
                amount_minor=249_900,
                interval="year",
                trial_days=monthly.trial_days,
                tax_behavior=monthly.tax_behavior,
                tax_rate=monthly.tax_rate,
                nickname="Plan Pro anual",
            )
    if not PublicPrice.unscoped.filter(organization=org).exists():
        prices = Price.unscoped.filter(organization=org, active=True).select_related("product")
        for position, price in enumerate(prices.order_by("amount_minor")):
            public_price_set(
                price=price,
                public=True,
                position=position,
                highlighted=price.product.name == "Plan Pro",
            )
    if not CheckoutLink.unscoped.filter(organization=org, name=DEMO_LINK_NAME).exists():
        basic = (
            Price.unscoped.filter(organization=org, active=True, product__name="Plan Básico")
            .order_by("pk")
            .first()
        )
        coupon = Coupon.unscoped.filter(organization=org, code="BIENVENIDA").first()
        if basic is not None:
            checkout_link_create(organization=org, name=DEMO_LINK_NAME, price=basic, coupon=coupon)
