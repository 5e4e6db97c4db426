"""The self-service checkout: offer -> submit -> first payment -> result, and its safety.

Exactly once (a double click, a refresh, a network retry or two racing requests):
- the form carries an idempotency token; ``CheckoutSession.token`` is UNIQUE and the session
  row is the first thing a submit writes, in the same transaction as the customer match, the
  payment method, the coupon redemption and the subscription. A second submit with the same
  token blocks on that unique index until the first commits, then finds the session and
  returns it: one customer, one subscription;
- the first invoice is charged after that commit through
  ``billing.payments.services.charging.invoice_pay_now``, which locks the invoice and refuses
  a second attempt while one is in flight, and an invoice is paid at most once: at most one
  charge. (The automatic "invoice finalized" charge skips invoices someone already charged.)

Card subscriptions start ``incomplete`` (``subscription_create(incomplete=True)``) until
their first invoice is paid; a declined card leaves them so, with a retry page that keeps
everything typed. ``checkout_expire_incomplete`` cancels the ones still unpaid after the
organization's ``incomplete_expiry_hours`` (read on ``cobro.clock``: test clocks apply).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import (
    CollectionMethod,
    Coupon,
    Invoice,
    InvoiceStatus,
    Price,
    Subscription,
    SubscriptionStatus,
)
from checkout.error_codes import CheckoutError, CheckoutErrorCode
from checkout.models import (
    CheckoutLink,
    CheckoutSession,
    CheckoutSource,
    PaymentChoice,
    PricingPage,
    PublicPrice,
    SessionStatus,
)
from checkout.services.settings import pricing_page_for
from cobro import clock
from customers.models import Customer

logger = logging.getLogger(__name__)
St = SubscriptionStatus

CUSTOMER_INPUT_FIELDS = (
    "name",
    "email",
    "phone",
    "tax_id",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
)


@dataclass(frozen=True)
class Offer:
    """What a checkout page sells: one price, maybe a coupon, a quantity and a trial."""

    organization: Any
    page: PricingPage
    price: Price
    source: str
    link: CheckoutLink | None = None
    coupon: Coupon | None = None
    quantity: int = 1
    trial_days: int | None = None  # None: the price's own trial

    def payment_choices(self) -> list[str]:
        choices = [PaymentChoice.CARD.value]
        if self.page.allow_bank_transfer:
            choices.append(PaymentChoice.BANK_TRANSFER.value)
        if self.page.allow_cash:
            choices.append(PaymentChoice.CASH.value)
        return choices


def _live_price(price_id: int, organization) -> Price:
    price = (
        Price.unscoped.select_related("product", "tax_rate")
        .filter(pk=price_id, organization=organization)
        .first()
    )
    if price is None or not price.active or price.archived_at is not None:
        raise CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE)
    if not price.product.active:
        raise CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE)
    return price


def offer_for_price(*, organization, price_id: int) -> Offer:
    """A price listed on the published pricing page."""
    page = pricing_page_for(organization=organization)
    if not page.enabled:
        raise CheckoutError(CheckoutErrorCode.PAGE_DISABLED)
    price = _live_price(price_id, organization)
    listed = PublicPrice.unscoped.filter(
        organization=organization, price_id=price.pk, public=True
    ).exists()
    if not listed:
        raise CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE)
    return Offer(
        organization=organization, page=page, price=price, source=CheckoutSource.PRICING_PAGE
    )


def link_check(*, link: CheckoutLink, now: datetime) -> None:
    if not link.active:
        raise CheckoutError(CheckoutErrorCode.LINK_DISABLED)
    if link.expires_at is not None and link.expires_at <= now:
        raise CheckoutError(CheckoutErrorCode.LINK_EXPIRED)
    if link.max_uses is not None and link.completed >= link.max_uses:
        raise CheckoutError(CheckoutErrorCode.LINK_USED_UP)


def offer_for_link(*, organization, code: str, now: datetime | None = None) -> Offer:
    """A checkout link (works whether or not the pricing page is published). Raises
    ``CheckoutLink.DoesNotExist`` for a code of no link of this organization."""
    link = CheckoutLink.unscoped.select_related("coupon").get(organization=organization, code=code)
    now = now or clock.now(organization)
    link_check(link=link, now=now)
    price = _live_price(link.price_id, organization)
    return Offer(
        organization=organization,
        page=pricing_page_for(organization=organization),
        price=price,
        source=CheckoutSource.LINK,
        link=link,
        coupon=link.coupon,
        quantity=link.quantity,
        trial_days=link.trial_days,
    )


def coupon_resolve(*, offer: Offer, code: str, now: datetime) -> Coupon | None:
    """The coupon that applies: the link's, else the typed code (checked for this price)."""
    from billing.services.catalog import coupon_check

    coupon = offer.coupon
    code = (code or "").strip().upper()
    if coupon is None and code:
        coupon = Coupon.unscoped.filter(organization=offer.organization, code=code).first()
        if coupon is None:
            raise CheckoutError(CheckoutErrorCode.COUPON_UNKNOWN)
    if coupon is not None:
        try:
            coupon_check(coupon=coupon, currency=offer.price.currency, now=now)
        except BillingError as exc:
            raise CheckoutError(CheckoutErrorCode.COUPON_NOT_VALID, exc.message) from None
    return coupon


@dataclass
class CheckoutInput:
    """What the customer typed. Card data never arrives here: only the gateway's token."""

    name: str
    email: str
    payment_choice: str
    accept_terms: bool
    tax_id: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    coupon_code: str = ""
    referral_code: str = ""
    card_token: str = ""
    card_gateway: str = ""

    def customer_values(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in CUSTOMER_INPUT_FIELDS}


def checkout_validate(*, offer: Offer, data: CheckoutInput, now: datetime) -> dict:
    """Every check that needs no write; raises ``ValidationError`` (customer fields, keyed
    by field) or ``CheckoutError``. Returns the cleaned customer values and the coupon."""
    from customers.validation import customer_clean

    errors: dict[str, list[ValidationError]] = {}
    try:
        cleaned = customer_clean(
            {**data.customer_values(), "country": offer.organization.country},
            default_country=offer.organization.country,
        )
    except ValidationError as exc:
        errors = dict(exc.error_dict)
        cleaned = {}
    if offer.page.require_tax_id and not (data.tax_id or "").strip() and "tax_id" not in errors:
        errors["tax_id"] = [ValidationError(_required_tax_id(), code="required")]
    if not (data.address_line1 or "").strip():
        errors["address_line1"] = [ValidationError(_required_address(), code="required")]
    if errors:
        raise ValidationError(errors)
    if not data.accept_terms:
        raise CheckoutError(CheckoutErrorCode.TERMS_NOT_ACCEPTED)
    if data.payment_choice not in offer.payment_choices():
        raise CheckoutError(CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED)
    if data.payment_choice == PaymentChoice.CARD:
        from billing.payments.hosted import organization_card_gateway

        if not data.card_token:
            raise CheckoutError(CheckoutErrorCode.CARD_MISSING)
        if data.card_gateway != organization_card_gateway(organization=offer.organization):
            raise CheckoutError(CheckoutErrorCode.CARD_NOT_SAVED)
    coupon = coupon_resolve(offer=offer, code=data.coupon_code, now=now)
    return {"customer": cleaned, "coupon": coupon}


def _required_tax_id():
    from django.utils.translation import gettext as _

    return _("Enter your tax id.")


def _required_address():
    from django.utils.translation import gettext as _

    return _("Enter your billing address.")


def _customer_match_or_create(*, organization, values: dict) -> tuple[Customer, bool]:
    """The organization's customer with this email (matched, never duplicated: the unique
    (organization, lower(email)) index decides a race), else a new one.

    Nobody proved they own a matched email, so a match is left exactly as it was: none of
    its data is changed or filled in from the form (see ``_submit_atomic`` for its payment
    methods)."""
    from customers.services.customers import customer_create

    email = values["email"]
    existing = Customer.unscoped.filter(organization=organization, email__iexact=email).first()
    if existing is None:
        try:
            return customer_create(organization=organization, **values), False
        except ValidationError as exc:
            codes = {e.code for errs in exc.error_dict.values() for e in errs}
            if "duplicate_email" not in codes:
                raise
            existing = Customer.unscoped.get(organization=organization, email__iexact=email)
    return existing, True


def _billing_error(exc: BillingError) -> CheckoutError:
    if exc.code in (
        BillingErrorCode.COUPON_INVALID,
        BillingErrorCode.COUPON_EXPIRED,
        BillingErrorCode.COUPON_EXHAUSTED,
        BillingErrorCode.COUPON_INACTIVE,
        BillingErrorCode.CURRENCY_MISMATCH,
    ):
        return CheckoutError(CheckoutErrorCode.COUPON_NOT_VALID, exc.message)
    return CheckoutError(CheckoutErrorCode.PRICE_UNAVAILABLE)


def session_for_token(token: str) -> CheckoutSession | None:
    return CheckoutSession.unscoped.filter(token=token).first()


def checkout_submit(
    *, offer: Offer, token: str, data: CheckoutInput, now: datetime | None = None
) -> CheckoutSession:
    """Subscribe. Returns the checkout session (the existing one for a token already used).

    Raises ``ValidationError`` (customer fields) or ``CheckoutError``; nothing is written
    then. With a card, the first invoice is charged after the commit (``checkout_pay``)."""
    org = offer.organization
    if not token or len(token) > 64:
        raise CheckoutError(CheckoutErrorCode.BOT_SUSPECTED)
    done = session_for_token(token)
    if done is not None:
        return done
    now = now or clock.now(org)
    checked = checkout_validate(offer=offer, data=data, now=now)
    try:
        session = _submit_atomic(offer=offer, token=token, data=data, checked=checked, now=now)
    except IntegrityError as exc:
        # The same form, submitted concurrently, committed first: that is our session.
        twin = session_for_token(token)
        if twin is None:
            raise exc
        return twin
    if session.status == SessionStatus.AWAITING_PAYMENT:
        session = checkout_pay(session=session)
    return session


def _submit_atomic(
    *, offer: Offer, token: str, data: CheckoutInput, checked: dict, now: datetime
) -> CheckoutSession:
    from billing.services.subscriptions import subscription_create

    org = offer.organization
    # The page may have been loaded before the price was archived or replaced.
    price = _live_price(offer.price.pk, org)
    with transaction.atomic():
        # First write, on purpose: a concurrent twin blocks here until we commit.
        session = CheckoutSession.unscoped.create(
            organization=org,
            token=token,
            source=offer.source,
            link=offer.link,
            price=offer.price,
            payment_choice=data.payment_choice,
            coupon_code=(checked["coupon"].code if checked["coupon"] else ""),
            referral_code=(data.referral_code or "").strip()[:40],
            created_at=now,
        )
        if offer.link is not None:
            used = (
                CheckoutLink.unscoped.filter(pk=offer.link.pk, active=True)
                .filter(Q(max_uses__isnull=True) | Q(completed__lt=F("max_uses")))
                .update(completed=F("completed") + 1)
            )
            if used != 1:
                raise CheckoutError(CheckoutErrorCode.LINK_USED_UP)
        customer, matched = _customer_match_or_create(organization=org, values=checked["customer"])
        if data.referral_code.strip():
            _referral_apply(customer=customer, code=data.referral_code)
        collection = CollectionMethod.CHARGE_AUTOMATICALLY
        days_until_due = None
        # A matched customer's payment methods are theirs: the card typed here is charged
        # for the new subscription only (never their default, so their other subscriptions
        # and their dunning are untouched), and no offline method is added to them.
        bound_card = None
        if data.payment_choice == PaymentChoice.CARD:
            card = _card_save(
                customer=customer,
                gateway=data.card_gateway,
                token=data.card_token,
                make_default=not matched,
            )
            bound_card = card if matched else None
        else:
            if not matched:
                _offline_method_add(customer=customer, type=data.payment_choice)
            collection = CollectionMethod.SEND_INVOICE
            days_until_due = _days_until_due(org)
        try:
            sub = subscription_create(
                customer=customer,
                price=price,
                quantity=offer.quantity,
                trial_days=offer.trial_days,
                coupon=checked["coupon"],
                collection_method=collection,
                days_until_due=days_until_due,
                now=now,
                incomplete=data.payment_choice == PaymentChoice.CARD,
                payment_method=bound_card,
            )
        except BillingError as exc:
            raise _billing_error(exc) from None
        invoice = Invoice.unscoped.filter(subscription=sub).order_by("pk").first()
        session.customer = customer
        session.customer_matched = matched
        session.subscription = sub
        session.invoice = invoice
        if sub.status == St.INCOMPLETE:
            hours = offer.page.incomplete_expiry_hours or 23
            session.expires_at = now + timedelta(hours=hours)
        else:
            session.status = SessionStatus.COMPLETED
            session.completed_at = now
        session.save()
    return session


def checkout_count_started(*, offer: Offer, token: str) -> None:
    """Count a checkout as started once per form token (the conversion funnel's middle)."""
    from django.core.cache import cache

    if not token or not cache.add(f"checkout:started:{token}", 1, 24 * 3600):
        return
    if offer.link is not None:
        CheckoutLink.unscoped.filter(pk=offer.link.pk).update(started=F("started") + 1)
    else:
        PricingPage.unscoped.filter(organization=offer.organization).update(
            started=F("started") + 1
        )


def pricing_page_count_visit(*, organization) -> None:
    PricingPage.unscoped.filter(organization=organization).update(visits=F("visits") + 1)


def _referral_apply(*, customer, code: str) -> None:
    try:
        from loyalty.error_codes import ReferralError
        from loyalty.services.referrals import referral_apply
    except ImportError:  # loyalty not installed: referral codes are not offered
        raise CheckoutError(CheckoutErrorCode.REFERRAL_INVALID) from None
    try:
        referral_apply(customer=customer, code=code.strip(), source="checkout")
    except ReferralError as exc:
        raise CheckoutError(
            CheckoutErrorCode.REFERRAL_INVALID, str(getattr(exc, "message", "")) or None
        ) from None


def _card_save(*, customer, gateway: str, token: str, make_default: bool):
    from billing.gateways.base import GatewayError
    from billing.payments.error_codes import PaymentError
    from billing.payments.services.methods import payment_method_add_card

    try:
        return payment_method_add_card(
            customer=customer, gateway=gateway, token=token, make_default=make_default
        )
    except (PaymentError, GatewayError) as exc:
        logger.info("checkout card not saved for customer %s: %s", customer.pk, exc)
        raise CheckoutError(CheckoutErrorCode.CARD_NOT_SAVED) from None


def _offline_method_add(*, customer, type: str) -> None:
    from billing.payments.models import PaymentMethod
    from billing.payments.services.methods import payment_method_add_offline

    has_default = PaymentMethod.unscoped.filter(
        customer=customer, removed_at__isnull=True, is_default=True
    ).exists()
    already = PaymentMethod.unscoped.filter(
        customer=customer, removed_at__isnull=True, type=type
    ).exists()
    if not already:
        payment_method_add_offline(customer=customer, type=type, make_default=not has_default)


def _days_until_due(org) -> int:
    from billing.models import BillingSettings

    row = BillingSettings.unscoped.filter(organization=org).first()
    return row.days_until_due if row is not None else 30


# -- the first payment ---------------------------------------------------------------------


def _wait_seconds() -> float:
    return float(getattr(settings, "COBRO_CHECKOUT_PAYMENT_WAIT_SECONDS", 8))


def checkout_pay(*, session: CheckoutSession) -> CheckoutSession:
    """Charge the session's first invoice once (with the subscription's own card, else the
    customer's default), in this request, and record the outcome. Safe to call again and
    concurrently: a second call finds the attempt in flight (and waits for it, briefly) or
    the invoice paid."""
    from billing.payments.error_codes import PaymentError, PaymentErrorCode
    from billing.payments.models import IN_FLIGHT, AttemptTrigger, PaymentAttempt
    from billing.payments.services.charging import invoice_pay_now, payment_attempt_execute

    if session.invoice_id is None:
        return checkout_session_refresh(session=session)
    invoice = Invoice.unscoped.get(pk=session.invoice_id)
    # Switched to transfer or cash on the retry page meanwhile: nothing to charge.
    if (
        invoice.status == InvoiceStatus.OPEN
        and invoice.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
    ):
        try:
            invoice_pay_now(invoice=invoice, trigger=AttemptTrigger.PAY_NOW)
        except PaymentError as exc:
            if exc.code != PaymentErrorCode.ATTEMPT_IN_FLIGHT:
                logger.info("checkout %s: invoice not payable (%s)", session.pk, exc.code)
            else:
                flying = (
                    PaymentAttempt.unscoped.filter(invoice=invoice, status__in=IN_FLIGHT)
                    .order_by("-attempt_number")
                    .first()
                )
                if flying is not None and flying.sent_at is None:
                    # Enqueued elsewhere (a new card retries dunning at once) but not sent:
                    # the claim makes executing it here safe against the worker.
                    payment_attempt_execute(attempt_id=flying.pk)
                _wait_for_attempts(invoice_id=invoice.pk)
    return checkout_session_refresh(session=session)


def _wait_for_attempts(*, invoice_id: int) -> None:
    from billing.payments.models import IN_FLIGHT, PaymentAttempt

    deadline = time.monotonic() + _wait_seconds()
    while time.monotonic() < deadline:
        if not PaymentAttempt.unscoped.filter(invoice_id=invoice_id, status__in=IN_FLIGHT).exists():
            return
        time.sleep(0.2)


def checkout_session_refresh(*, session: CheckoutSession) -> CheckoutSession:
    """Bring the session in line with its invoice: paid -> the subscription becomes active
    and the session completed; a failed attempt -> its reason is kept for the retry page."""
    from billing.payments.models import PaymentAttempt
    from billing.services.subscriptions import subscription_transition

    with transaction.atomic():
        session = CheckoutSession.unscoped.select_for_update().get(pk=session.pk)
        if session.status != SessionStatus.AWAITING_PAYMENT or session.invoice_id is None:
            return session
        invoice = Invoice.unscoped.get(pk=session.invoice_id)
        now = clock.now(session.organization)
        if invoice.status == InvoiceStatus.PAID:
            sub = Subscription.unscoped.get(checkout_session=session)
            if sub.status == St.INCOMPLETE:
                subscription_transition(subscription=sub, to=St.ACTIVE, now=now)
            session.status = SessionStatus.COMPLETED
            session.completed_at = now
            session.last_error = ""
            session.save(update_fields=["status", "completed_at", "last_error"])
            return session
        last = PaymentAttempt.unscoped.filter(invoice=invoice).order_by("-attempt_number").first()
        if last is not None and last.status == "failed":
            session.last_error = (last.decline_code or "card_declined")[:300]
            session.save(update_fields=["last_error"])
    return session


def checkout_retry_card(*, session: CheckoutSession, gateway: str, token: str) -> CheckoutSession:
    """Another card for an incomplete checkout: save it and charge the first invoice again,
    once. A new customer's card becomes their default; a matched customer's is charged for
    this subscription only (as at the checkout)."""
    from billing.payments.hosted import organization_card_gateway

    session = CheckoutSession.unscoped.select_related("organization").get(pk=session.pk)
    if session.status != SessionStatus.AWAITING_PAYMENT or session.customer_id is None:
        raise CheckoutError(CheckoutErrorCode.NOT_RETRYABLE)
    sub = Subscription.unscoped.get(checkout_session=session)
    if sub.status != St.INCOMPLETE:
        raise CheckoutError(CheckoutErrorCode.NOT_RETRYABLE)
    if not token:
        raise CheckoutError(CheckoutErrorCode.CARD_MISSING)
    if gateway != organization_card_gateway(organization=session.organization):
        raise CheckoutError(CheckoutErrorCode.CARD_NOT_SAVED)
    customer = Customer.unscoped.select_related("organization").get(pk=session.customer_id)
    matched = session.customer_matched
    card = _card_save(customer=customer, gateway=gateway, token=token, make_default=not matched)
    if matched:
        from billing.services.subscriptions import subscription_payment_method_set

        subscription_payment_method_set(subscription=sub, method=card)
    return checkout_pay(session=session)


def retry_offline_choices(*, organization) -> list[str]:
    """The offline ways to pay an incomplete checkout instead of a card (what the
    organization accepts at checkout now)."""
    page = pricing_page_for(organization=organization)
    choices = []
    if page.allow_bank_transfer:
        choices.append(PaymentChoice.BANK_TRANSFER.value)
    if page.allow_cash:
        choices.append(PaymentChoice.CASH.value)
    return choices


def checkout_retry_offline(*, session: CheckoutSession, payment_choice: str) -> CheckoutSession:
    """Pay an incomplete checkout by bank transfer or cash instead of a card: the same end as
    choosing it at the checkout. The subscription starts (active, collected by sending the
    invoice), its first invoice stays open with the usual payment terms and transfer
    reference, the card chase of that invoice stops, and the checkout is completed."""
    from billing.payments.models import IN_FLIGHT, PaymentAttempt
    from billing.payments.services.dunning import dunning_case_close
    from billing.services.subscriptions import subscription_transition

    org = session.organization
    if payment_choice not in retry_offline_choices(organization=org):
        raise CheckoutError(CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED)
    with transaction.atomic():
        session = CheckoutSession.unscoped.select_for_update().get(pk=session.pk)
        if (
            session.status != SessionStatus.AWAITING_PAYMENT
            or session.customer_id is None
            or session.invoice_id is None
        ):
            raise CheckoutError(CheckoutErrorCode.NOT_RETRYABLE)
        now = clock.now(org)
        invoice = Invoice.unscoped.select_for_update(of=("self",)).get(pk=session.invoice_id)
        sub = Subscription.unscoped.select_for_update(of=("self",)).get(checkout_session=session)
        if sub.status != St.INCOMPLETE or invoice.status != InvoiceStatus.OPEN:
            raise CheckoutError(CheckoutErrorCode.NOT_RETRYABLE)
        if PaymentAttempt.unscoped.filter(invoice=invoice, status__in=IN_FLIGHT).exists():
            raise CheckoutError(CheckoutErrorCode.NOT_RETRYABLE)  # a charge is under way
        days = _days_until_due(org)
        # Collection method and due date are payment-state columns, not part of the issued
        # document: the invoice itself (number, lines, totals) is unchanged.
        Subscription.unscoped.filter(pk=sub.pk).update(
            collection_method=CollectionMethod.SEND_INVOICE, days_until_due=days
        )
        Invoice.unscoped.filter(pk=invoice.pk).update(
            collection_method=CollectionMethod.SEND_INVOICE, due_at=now + timedelta(days=days)
        )
        dunning_case_close(invoice=invoice, now=now)
        if not session.customer_matched:
            customer = Customer.unscoped.select_related("organization").get(pk=session.customer_id)
            _offline_method_add(customer=customer, type=payment_choice)
        subscription_transition(subscription=sub, to=St.ACTIVE, now=now)
        session.payment_choice = payment_choice
        session.status = SessionStatus.COMPLETED
        session.completed_at = now
        session.last_error = ""
        session.save(update_fields=["payment_choice", "status", "completed_at", "last_error"])
    return session


# -- expiry ----------------------------------------------------------------------------------


def checkout_expire_incomplete(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel incomplete checkout subscriptions whose time to pay is over (each organization
    on its own clock, so sandbox test clocks apply). Voids the unpaid first invoice, so
    dunning stops, and gives the coupon's redemption back. Returns how many expired."""
    from cobro.models import Organization

    expired = 0
    org_ids = (
        CheckoutSession.unscoped.filter(
            status=SessionStatus.AWAITING_PAYMENT, expires_at__isnull=False
        )
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for org in Organization.objects.filter(pk__in=list(org_ids)):
        org_now = now or clock.now(org)
        due = CheckoutSession.unscoped.filter(
            organization=org,
            status=SessionStatus.AWAITING_PAYMENT,
            expires_at__lte=org_now,
        ).values_list("pk", flat=True)[:limit]
        for pk in list(due):
            if checkout_session_expire(session_id=pk, now=org_now):
                expired += 1
    return expired


def checkout_session_expire(*, session_id: int, now: datetime) -> bool:
    from billing.payments.models import IN_FLIGHT, PaymentAttempt
    from billing.services.invoices import invoice_void
    from billing.services.subscriptions import subscription_cancel

    with transaction.atomic():
        session = (
            CheckoutSession.unscoped.select_for_update(skip_locked=True)
            .filter(pk=session_id, status=SessionStatus.AWAITING_PAYMENT)
            .first()
        )
        if session is None:
            return False
        invoice = Invoice.unscoped.get(pk=session.invoice_id) if session.invoice_id else None
        if invoice is not None and invoice.status == InvoiceStatus.PAID:
            checkout_session_refresh(session=session)
            return False
        if (
            invoice is not None
            and PaymentAttempt.unscoped.filter(invoice=invoice, status__in=IN_FLIGHT).exists()
        ):
            return False  # a charge is under way: look again next time
        sub = Subscription.unscoped.get(checkout_session=session)
        if sub.status != St.INCOMPLETE:
            checkout_session_refresh(session=session)
            return False
        if invoice is not None and invoice.status in (
            InvoiceStatus.OPEN,
            InvoiceStatus.UNCOLLECTIBLE,
        ):
            invoice_void(invoice=invoice, now=now)
        subscription_cancel(subscription=sub, now=now)
        if sub.coupon is not None:
            # The subscription never started: its redemption does not count against the
            # coupon's limit (once: this runs under the session lock, from awaiting payment).
            from billing.services.catalog import coupon_release

            coupon_release(coupon=sub.coupon)
        session.status = SessionStatus.EXPIRED
        session.save(update_fields=["status"])
    return True
