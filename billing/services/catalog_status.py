"""Small catalog writes the staff pages need: edit a product, switch tax rates and coupons
off. (Kept apart from ``catalog.py`` only to avoid editing it concurrently; merge at will.)"""

from __future__ import annotations

from billing.models import Coupon, Product, TaxRate


def product_update(
    *, product: Product, name: str, description: str = "", active: bool = True
) -> Product:
    """Products carry no amounts, so they are edited in place (prices are versioned)."""
    product.name = name
    product.description = description
    product.active = active
    product.save(update_fields=["name", "description", "active"])
    return product


def tax_rate_deactivate(*, tax_rate: TaxRate) -> TaxRate:
    """No new prices or invoice items with this rate; issued documents keep it."""
    tax_rate.active = False
    tax_rate.save(update_fields=["active"])
    return tax_rate


def coupon_deactivate(*, coupon: Coupon) -> Coupon:
    """No new redemptions; subscriptions that already use it keep their discount."""
    coupon.active = False
    coupon.save(update_fields=["active"])
    return coupon
