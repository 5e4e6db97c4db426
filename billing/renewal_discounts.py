"""Renewal discount providers: how higher layers (loyalty) discount a renewal invoice without
billing importing them.

A provider is registered once at start-up (``AppConfig.ready``) and asked, inside the renewal's
transaction (the subscription row is locked), for the discounts of the period being billed.
Each ``RenewalDiscount`` becomes one more discount after the coupon (``build_document``'s
``extra_discounts``): a negative "discount" line on the invoice, computed on what the coupon
left of the recurring lines. ``on_applied`` is called with the finalized invoice in the same
transaction, so a one-shot discount (a reward) is consumed exactly when an invoice shows it.

The set-based fast path of the billing run does not compute these: it asks
``subscriptions_with_renewal_discounts`` which subscriptions of a batch have any and renews
those through the per-subscription path, so both paths write the same invoices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from billing.invoicing import DiscountSpec


@dataclass(frozen=True, slots=True)
class RenewalDiscount:
    spec: DiscountSpec
    on_applied: Callable[[Any], None] | None = None  # called with the finalized Invoice


class RenewalDiscountProvider(Protocol):
    def discounts(self, *, subscription, period_start: datetime) -> list[RenewalDiscount]:
        """Discounts for ``subscription``'s period starting at ``period_start``."""
        ...

    def customers_with_discounts(
        self, *, organization_id: int, customer_ids: Iterable[int]
    ) -> set[int]:
        """Which of ``customer_ids`` may get a discount (a superset is fine)."""
        ...


_providers: list[RenewalDiscountProvider] = []


def renewal_discount_provider_register(provider: RenewalDiscountProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def renewal_discounts_for(*, subscription, period_start: datetime) -> list[RenewalDiscount]:
    found: list[RenewalDiscount] = []
    for provider in _providers:
        found.extend(provider.discounts(subscription=subscription, period_start=period_start))
    return found


def subscriptions_with_renewal_discounts(
    *, organization_id: int, subscriptions: Iterable[tuple[int, int]]
) -> set[int]:
    """Ids of the ``(subscription id, customer id)`` pairs whose customer may get a discount."""
    pairs = list(subscriptions)
    if not _providers or not pairs:
        return set()
    customers = {customer_id for _sid, customer_id in pairs}
    flagged: set[int] = set()
    for provider in _providers:
        flagged |= provider.customers_with_discounts(
            organization_id=organization_id, customer_ids=customers
        )
    return {sid for sid, customer_id in pairs if customer_id in flagged}
