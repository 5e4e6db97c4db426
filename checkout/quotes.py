"""What a price costs, as the pricing page and the checkout show it. Pure: no database writes.

Every amount comes from the billing planners (``billing.planning.plan_start`` and
``preview_renewals``), the same code that will write the invoices, so "today" and "each
renewal" are exactly what gets charged: tax computed and rounded by the one billing rule,
setup fee on the first invoice that bills a period, coupon durations honoured.

Tax display: in Latin America a consumer price is quoted with IVA included, so the headline
amount there is the total with tax (an exclusive price is shown grossed up); elsewhere (the
United States) the headline is the net amount and tax is added at checkout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.planning import CouponInfo, PriceInfo, plan_start, preview_renewals

#: Countries whose consumer prices are quoted with tax included.
TAX_INCLUSIVE_COUNTRIES = frozenset({"CL", "AR", "MX", "CO", "PE", "UY", "BR"})

#: How many months one interval unit lasts, for comparing intervals side by side.
_MONTHS = {"month": 1, "year": 12}


def interval_label(interval: str, count: int) -> str:
    labels = {
        "day": ngettext("day", "%(n)d days", count),
        "week": ngettext("week", "%(n)d weeks", count),
        "month": ngettext("month", "%(n)d months", count),
        "year": ngettext("year", "%(n)d years", count),
    }
    return labels.get(interval, interval) % {"n": count}


@dataclass(frozen=True)
class PriceDisplay:
    """One period of ``quantity`` units at the regular price (no coupon, no setup fee)."""

    currency: str
    total_minor: int  # what is charged per period, tax included
    net_minor: int  # without tax
    tax_minor: int
    tax_name: str
    tax_percentage: Decimal | None
    tax_included_in_price: bool  # the price itself is tax-inclusive
    show_gross: bool  # headline amount is the total with tax (country norm)

    @property
    def headline_minor(self) -> int:
        return self.total_minor if self.show_gross else self.net_minor


@dataclass(frozen=True)
class Quote:
    """What the customer pays today and on each renewal."""

    currency: str
    today_minor: int
    today_tax_minor: int
    today_lines: list[tuple[str, int]]
    trial_end: datetime | None
    next_charge_at: datetime | None
    next_charge_minor: int | None
    regular_minor: int  # each renewal once introductory discounts are over
    discounted_renewals: list[tuple[datetime, int]] = field(default_factory=list)
    coupon_forever: bool = False


def _tax_percentage(info: PriceInfo) -> Decimal | None:
    return info.tax.percentage if info.tax is not None else None


def price_display(*, price, organization, quantity: int = 1, now: datetime) -> PriceDisplay:
    info = PriceInfo.from_model(price)
    plan = plan_start(
        price=info,
        quantity=quantity,
        time_zone=organization.time_zone,
        start_at=now,
        trial_days=0,
        anchor_day=None,
        coupon=None,
    )
    renewal = preview_renewals(plan.after, count=1)
    doc = renewal[0].document if renewal else plan.document
    assert doc is not None
    return PriceDisplay(
        currency=info.currency,
        total_minor=doc.total_minor,
        net_minor=doc.total_minor - doc.tax_minor,
        tax_minor=doc.tax_minor,
        tax_name=info.tax.name if info.tax else "",
        tax_percentage=_tax_percentage(info),
        tax_included_in_price=info.tax_inclusive,
        show_gross=organization.country in TAX_INCLUSIVE_COUNTRIES,
    )


def monthly_equivalent(price, total_minor: int) -> Decimal | None:
    months = _MONTHS.get(price.interval)
    if months is None:
        return None
    return Decimal(total_minor) / (months * price.interval_count)


def checkout_quote(
    *,
    price,
    organization,
    quantity: int,
    coupon=None,
    trial_days: int | None = None,
    now: datetime,
) -> Quote:
    """Today's amount and the renewals of a subscription started ``now``."""
    info = PriceInfo.from_model(price)
    trial = info.trial_days if trial_days is None else trial_days
    cinfo = CouponInfo.from_model(coupon) if coupon is not None else None
    plan = plan_start(
        price=info,
        quantity=quantity,
        time_zone=organization.time_zone,
        start_at=now,
        trial_days=trial,
        anchor_day=None,
        coupon=cinfo,
    )
    doc = plan.document
    # Enough renewals to see the end of a repeating coupon (capped: a page, not a ledger).
    periods = 2
    if cinfo is not None and cinfo.duration == "repeating":
        periods = min((cinfo.duration_periods or 0) + 2, 26)
    renewals = preview_renewals(plan.after, count=periods)
    plain = plan_start(
        price=info,
        quantity=quantity,
        time_zone=organization.time_zone,
        start_at=now,
        trial_days=0,
        anchor_day=None,
        coupon=None,
    )
    plain_renewal = preview_renewals(plain.after, count=1)
    regular_doc = plain_renewal[0].document if plain_renewal else plain.document
    assert regular_doc is not None
    regular = regular_doc.total_minor
    discounted = [
        (p.period_start or now, p.document.total_minor)
        for p in renewals
        if p.document is not None and p.document.discount_minor > 0
    ]
    first = renewals[0] if renewals else None
    return Quote(
        currency=info.currency,
        today_minor=doc.amount_due_minor if doc is not None else 0,
        today_tax_minor=doc.tax_minor if doc is not None else 0,
        today_lines=[(line.description, line.amount_minor) for line in doc.lines]
        if doc is not None
        else [],
        trial_end=plan.after.trial_end,
        next_charge_at=first.period_start if first is not None else None,
        next_charge_minor=first.document.total_minor
        if first is not None and first.document is not None
        else None,
        regular_minor=regular,
        discounted_renewals=discounted,
        coupon_forever=cinfo is not None and cinfo.duration == "forever",
    )


def coupon_summary(coupon) -> str:
    """ "20% off for 3 periods", "$5.000 off once"... for the checkout summary."""
    if coupon.percent_off is not None:
        amount = f"{coupon.percent_off.normalize()}%"
    else:
        from billing.views.common import format_amount

        amount = format_amount(coupon.amount_off_minor, coupon.currency, coupon.organization)
    if coupon.duration == "forever":
        return _("%(amount)s off on every invoice") % {"amount": amount}
    if coupon.duration == "repeating":
        return ngettext(
            "%(amount)s off for %(n)d period",
            "%(amount)s off for %(n)d periods",
            coupon.duration_periods or 0,
        ) % {"amount": amount, "n": coupon.duration_periods or 0}
    return _("%(amount)s off the first invoice") % {"amount": amount}
