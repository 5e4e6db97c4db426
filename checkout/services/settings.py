"""Pricing page settings, public prices and checkout links (the staff side)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from billing.models import Coupon, Price
from checkout.error_codes import CheckoutError, CheckoutErrorCode
from checkout.models import CheckoutLink, PricingPage, PublicPrice
from cobro import clock
from cobro.services.audit import audit_record

PAGE_FIELDS = (
    "enabled",
    "headline",
    "intro",
    "terms_url",
    "terms_text",
    "require_tax_id",
    "allow_bank_transfer",
    "allow_cash",
    "incomplete_expiry_hours",
)


def pricing_page_for(*, organization) -> PricingPage:
    """The organization's pricing page settings (defaults, unsaved, when never edited)."""
    page = PricingPage.unscoped.filter(organization=organization).first()
    return page or PricingPage(organization=organization)


@transaction.atomic
def pricing_page_update(*, organization, actor=None, **values) -> PricingPage:
    unknown = set(values) - set(PAGE_FIELDS)
    if unknown:
        raise TypeError(f"unknown pricing page fields: {sorted(unknown)}")
    hours = values.get("incomplete_expiry_hours")
    if hours is not None and not 1 <= int(hours) <= 720:
        raise ValueError("incomplete_expiry_hours must be within 1..720")
    page, _created = PricingPage.unscoped.update_or_create(
        organization=organization, defaults=values
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="checkout.pricing_page_updated",
        target=page,
        changes={k: str(v) for k, v in values.items()},
    )
    return page


@transaction.atomic
def public_price_set(
    *, price: Price, public: bool, position: int = 0, highlighted: bool = False
) -> PublicPrice:
    row, _created = PublicPrice.unscoped.update_or_create(
        price=price,
        defaults={
            "organization_id": price.organization_id,
            "public": public,
            "position": position,
            "highlighted": highlighted,
        },
    )
    return row


def checkout_link_create(
    *,
    organization,
    name: str,
    price: Price,
    coupon: Coupon | None = None,
    quantity: int = 1,
    trial_days: int | None = None,
    expires_at: datetime | None = None,
    max_uses: int | None = None,
    actor=None,
    now: datetime | None = None,
) -> CheckoutLink:
    now = now or clock.now(organization)
    if price.organization_id != organization.pk or not price.active:
        raise CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE, field="price")
    if coupon is not None:
        from billing.error_codes import BillingError
        from billing.services.catalog import coupon_check

        if coupon.organization_id != organization.pk:
            raise CheckoutError(CheckoutErrorCode.COUPON_UNKNOWN, field="coupon")
        try:
            coupon_check(coupon=coupon, currency=price.currency, now=now)
        except BillingError as exc:
            raise CheckoutError(
                CheckoutErrorCode.COUPON_NOT_VALID, exc.message, field="coupon"
            ) from None
    if isinstance(quantity, bool) or not 1 <= quantity <= 1000:
        raise CheckoutError(CheckoutErrorCode.INVALID_QUANTITY)
    if trial_days is not None and not 0 <= trial_days <= 730:
        raise CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE, field="trial_days")
    if expires_at is not None and expires_at <= now:
        raise CheckoutError(CheckoutErrorCode.LINK_EXPIRED, field="expires_at")
    with transaction.atomic():
        link = CheckoutLink.unscoped.create(
            organization=organization,
            name=name.strip()[:100] or str(price),
            price=price,
            coupon=coupon,
            quantity=quantity,
            trial_days=trial_days,
            expires_at=expires_at,
            max_uses=max_uses,
            created_by=actor,
            created_at=now,
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="checkout.link_created",
            target=link,
            changes={"price": price.pk, "coupon": coupon.pk if coupon else None},
        )
    return link


@transaction.atomic
def checkout_link_disable(
    *, link: CheckoutLink, actor=None, now: datetime | None = None
) -> CheckoutLink:
    link = CheckoutLink.unscoped.select_for_update().get(pk=link.pk)
    if link.active:
        link.active = False
        link.disabled_at = now or clock.now(link.organization)
        link.save(update_fields=["active", "disabled_at"])
        audit_record(
            organization=link.organization,
            actor=actor,
            action="checkout.link_disabled",
            target=link,
            changes={},
        )
    return link


def checkout_link_count_visit(*, link: CheckoutLink) -> None:
    CheckoutLink.unscoped.filter(pk=link.pk).update(visits=F("visits") + 1)
