"""The checkout services: subscribe with a card, a declined card then another, bank transfer,
coupons, links, existing customers, bad input (nothing half-created), idempotency and the
expiry of incomplete subscriptions on the organization's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from billing.models import Invoice, Subscription
from billing.payments.models import PaymentAttempt, SandboxCharge
from billing.services.catalog import price_archive
from checkout.error_codes import CheckoutError, CheckoutErrorCode
from checkout.models import CheckoutSession
from checkout.services.checkout import (
    checkout_expire_incomplete,
    checkout_retry_card,
    checkout_retry_offline,
    checkout_submit,
    offer_for_link,
    offer_for_price,
)
from checkout.services.settings import checkout_link_create
from cobro import clock
from cobro.events import events_dispatch_pending
from customers.models import Customer
from tests.checkout.conftest import checkout_input
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _nothing_created(org):
    assert not CheckoutSession.unscoped.filter(organization=org).exists()
    assert not Subscription.unscoped.filter(organization=org).exists()
    assert not Customer.unscoped.filter(organization=org).exists()


def test_card_checkout_creates_active_subscription_paid_once(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(offer=offer, token="t" * 30, data=checkout_input())
    assert session.status == "completed"
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "active"
    invoice = Invoice.unscoped.get(pk=session.invoice_id)
    assert invoice.status == "paid"
    assert invoice.total_minor == 11_900  # IVA included in the price
    assert invoice.tax_minor == 1_900
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1
    customer = Customer.unscoped.get(pk=session.customer_id)
    assert customer.email == "nuevo1@example.cl"
    assert customer.address_line1 == "Av. Providencia 1234"
    # Dispatching the outbox afterwards (the automatic charge of the finalized invoice, the
    # welcome email) charges nothing more.
    events_dispatch_pending()
    assert PaymentAttempt.unscoped.filter(invoice=invoice).count() == 1
    from customers.messaging.kinds import kind_get
    from customers.messaging.models import Message

    welcome = Message.unscoped.get(customer=customer, template_key="welcome")
    built = kind_get("welcome").build(welcome)
    assert built.context["portal_url"].endswith(f"/p/{org.slug}/")


def test_same_token_twice_is_one_subscription_and_one_charge(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    first = checkout_submit(offer=offer, token="same-token-123", data=checkout_input())
    again = checkout_submit(offer=offer, token="same-token-123", data=checkout_input())
    assert first.pk == again.pk
    assert Subscription.unscoped.filter(organization=org).count() == 1
    assert Customer.unscoped.filter(organization=org).count() == 1
    assert SandboxCharge.unscoped.filter(organization=org).count() == 1


def test_existing_customer_is_matched_not_duplicated(org, monthly):
    existing = CustomerFactory(organization=org, email="ana@example.cl", name="Ana", city="")
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-match-1",
        data=checkout_input(email="ANA@example.cl", name="Otra Persona"),
    )
    assert session.customer_id == existing.pk and session.customer_matched
    assert Customer.unscoped.filter(organization=org).count() == 1
    existing.refresh_from_db()
    assert existing.name == "Ana"  # a match keeps its data
    # Nobody proved they own the address: not even blank fields are filled in from the form.
    assert existing.city == ""


def test_declined_card_leaves_incomplete_then_another_card_activates(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-decline-1",
        data=checkout_input(card_token="tok_sandbox_generic_decline"),
    )
    assert session.status == "awaiting_payment"
    assert session.last_error == "card_declined"
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "incomplete"
    assert session.expires_at is not None
    session = checkout_retry_card(session=session, gateway="sandbox", token="tok_sandbox_success")
    assert session.status == "completed"
    sub.refresh_from_db()
    assert sub.status == "active"
    assert Invoice.unscoped.get(pk=session.invoice_id).status == "paid"
    succeeded = SandboxCharge.unscoped.filter(organization=org, status="succeeded")
    assert succeeded.count() == 1
    # The outbox afterwards charges nothing more and does not undo anything.
    events_dispatch_pending()
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1
    with pytest.raises(CheckoutError) as exc:
        checkout_retry_card(session=session, gateway="sandbox", token="tok_sandbox_success")
    assert exc.value.code == CheckoutErrorCode.NOT_RETRYABLE


def test_bank_transfer_gives_an_open_invoice_to_pay_by_transfer(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-bank-1",
        data=checkout_input(payment_choice="bank_transfer", card_token="", card_gateway=""),
    )
    assert session.status == "completed"
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "active" and sub.collection_method == "send_invoice"
    invoice = Invoice.unscoped.get(pk=session.invoice_id)
    assert invoice.status == "open" and invoice.amount_due_minor == 11_900
    assert not SandboxCharge.unscoped.filter(organization=org).exists()


def test_cash_is_refused_when_the_organization_does_not_accept_it(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    with pytest.raises(CheckoutError) as exc:
        checkout_submit(offer=offer, token="tok-cash-1", data=checkout_input(payment_choice="cash"))
    assert exc.value.code == CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED
    _nothing_created(org)


def test_typed_coupon_discounts_the_first_invoice(org, monthly, coupon):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer, token="tok-coupon-1", data=checkout_input(coupon_code=" bienvenida ")
    )
    invoice = Invoice.unscoped.get(pk=session.invoice_id)
    assert invoice.total_minor == 9_520  # 20% off 11.900, IVA included
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


@pytest.mark.parametrize(
    ("overrides", "code_or_field"),
    [
        ({"coupon_code": "NOEXISTE"}, CheckoutErrorCode.COUPON_UNKNOWN),
        ({"tax_id": "12.345.678-0"}, "tax_id"),
        ({"tax_id": ""}, "tax_id"),
        ({"email": "no-es-un-correo"}, "email"),
        ({"address_line1": ""}, "address_line1"),
        ({"accept_terms": False}, CheckoutErrorCode.TERMS_NOT_ACCEPTED),
        ({"card_token": ""}, CheckoutErrorCode.CARD_MISSING),
        ({"card_token": "tok_not_a_card"}, CheckoutErrorCode.CARD_NOT_SAVED),
        ({"card_gateway": "stripe"}, CheckoutErrorCode.CARD_NOT_SAVED),
        ({"referral_code": "NOSUCHCODE"}, CheckoutErrorCode.REFERRAL_INVALID),
    ],
)
def test_bad_input_creates_nothing(org, monthly, overrides, code_or_field):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    with pytest.raises((CheckoutError, ValidationError)) as exc:
        checkout_submit(offer=offer, token="tok-bad-1", data=checkout_input(**overrides))
    if isinstance(exc.value, ValidationError):
        assert code_or_field in exc.value.error_dict
    else:
        assert exc.value.code == code_or_field
        assert exc.value.message
    _nothing_created(org)


def test_expired_coupon_is_not_valid_for_the_price(org, monthly, coupon):
    coupon.redeem_by = clock.now() - timedelta(days=1)
    coupon.save()
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    with pytest.raises(CheckoutError) as exc:
        checkout_submit(offer=offer, token="tok-c", data=checkout_input(coupon_code="BIENVENIDA"))
    assert exc.value.code == CheckoutErrorCode.COUPON_NOT_VALID
    _nothing_created(org)


def test_price_archived_after_the_page_loaded(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    price_archive(price=monthly)
    with pytest.raises(CheckoutError) as exc:
        checkout_submit(offer=offer, token="tok-archived", data=checkout_input())
    assert exc.value.code == CheckoutErrorCode.PRICE_UNAVAILABLE
    _nothing_created(org)
    with pytest.raises(CheckoutError):
        offer_for_price(organization=org, price_id=monthly.pk)


def test_price_not_public_is_not_sold_on_the_pricing_page(org, monthly, pricing_page):
    from checkout.services.settings import public_price_set

    public_price_set(price=monthly, public=False)
    with pytest.raises(CheckoutError):
        offer_for_price(organization=org, price_id=monthly.pk)
    pricing_page.enabled = False
    pricing_page.save()
    with pytest.raises(CheckoutError) as exc:
        offer_for_price(organization=org, price_id=monthly.pk)
    assert exc.value.code == CheckoutErrorCode.PAGE_DISABLED


def test_link_with_coupon_quantity_and_trial(org, monthly, coupon):
    link = checkout_link_create(
        organization=org, name="Promo", price=monthly, coupon=coupon, quantity=2, trial_days=7
    )
    offer = offer_for_link(organization=org, code=link.code)
    session = checkout_submit(offer=offer, token="tok-link-1", data=checkout_input())
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "trialing" and sub.quantity == 2 and sub.coupon_id == coupon.pk
    assert session.link_id == link.pk and session.source == "link"
    assert not SandboxCharge.unscoped.filter(organization=org).exists()  # nothing due today
    link.refresh_from_db()
    assert link.completed == 1


def test_used_up_and_expired_links_are_refused(org, monthly):
    link = checkout_link_create(organization=org, name="Uno", price=monthly, max_uses=1)
    offer = offer_for_link(organization=org, code=link.code)
    checkout_submit(offer=offer, token="tok-use-1", data=checkout_input(1))
    with pytest.raises(CheckoutError) as exc:
        offer_for_link(organization=org, code=link.code)
    assert exc.value.code == CheckoutErrorCode.LINK_USED_UP
    # A page loaded before the last use: the conditional update refuses, nothing is created.
    with pytest.raises(CheckoutError) as exc:
        checkout_submit(offer=offer, token="tok-use-2", data=checkout_input(2))
    assert exc.value.code == CheckoutErrorCode.LINK_USED_UP
    assert Subscription.unscoped.filter(organization=org).count() == 1
    assert not Customer.unscoped.filter(email="nuevo2@example.cl").exists()

    soon = checkout_link_create(
        organization=org, name="Dos", price=monthly, expires_at=clock.now() + timedelta(hours=1)
    )
    with clock.frozen(clock.now() + timedelta(hours=2)), pytest.raises(CheckoutError) as exc:
        offer_for_link(organization=org, code=soon.code)
    assert exc.value.code == CheckoutErrorCode.LINK_EXPIRED


def test_incomplete_checkout_expires_on_the_test_clock(org, monthly, pricing_page):
    from billing.payments.models import DunningCase

    pricing_page.incomplete_expiry_hours = 2
    pricing_page.save()
    org.is_sandbox = True
    org.test_clock_at = clock.now()
    org.save()
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-exp-1",
        data=checkout_input(card_token="tok_sandbox_insufficient_funds"),
    )
    assert session.status == "awaiting_payment"
    assert checkout_expire_incomplete() == 0  # the organization's clock has not moved
    org.test_clock_at = org.test_clock_at + timedelta(hours=3)
    org.save()
    assert checkout_expire_incomplete() == 1
    session.refresh_from_db()
    assert session.status == "expired"
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "canceled"
    assert Invoice.unscoped.get(pk=session.invoice_id).status == "void"
    assert DunningCase.unscoped.filter(invoice_id=session.invoice_id).exists()
    with pytest.raises(CheckoutError):
        checkout_retry_card(session=session, gateway="sandbox", token="tok_sandbox_success")
    assert checkout_expire_incomplete() == 0


def test_later_payment_of_the_first_invoice_completes_the_checkout(org, monthly):
    """A dunning retry (or staff recording a payment) pays the invoice later: the outbox
    handler activates the subscription and completes the checkout."""
    from billing.services.invoices import invoice_mark_paid

    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-late-1",
        data=checkout_input(card_token="tok_sandbox_generic_decline"),
    )
    invoice_mark_paid(invoice=Invoice.unscoped.get(pk=session.invoice_id))
    events_dispatch_pending()
    session.refresh_from_db()
    assert session.status == "completed"
    assert Subscription.unscoped.get(pk=session.subscription_id).status == "active"


# -- an existing customer's email typed by anyone ----------------------------------------------


def _renew(sub):
    from billing.services.subscriptions import subscription_renew

    sub.refresh_from_db()
    invoice = subscription_renew(subscription=sub, now=sub.current_period_end)
    events_dispatch_pending()
    return invoice


def test_existing_email_cannot_change_that_customers_payment_methods(org, monthly, pricing_page):
    """Anyone may type an existing customer's email: the subscription is theirs (matched,
    not duplicated), but the card typed is charged for that subscription only. The
    customer's default card, their other subscription and its renewals are untouched, and
    a bank-transfer checkout adds no method to them."""
    from billing.payments.models import DunningCase, PaymentMethod
    from billing.payments.services.charging import invoice_pay_now
    from billing.payments.services.methods import customer_default_method, payment_method_add_card
    from billing.services.subscriptions import subscription_create

    existing = CustomerFactory(organization=org, email="ana@example.cl", name="Ana", city="")
    own = payment_method_add_card(customer=existing, gateway="sandbox", token="tok_sandbox_success")
    other = subscription_create(customer=existing, price=monthly)
    invoice_pay_now(invoice=Invoice.unscoped.get(subscription=other))
    events_dispatch_pending()
    assert Invoice.unscoped.get(subscription=other).status == "paid"

    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-intruder-1",
        data=checkout_input(
            email="ANA@example.cl", name="Intruso", card_token="tok_sandbox_generic_decline"
        ),
    )
    events_dispatch_pending()
    assert session.customer_id == existing.pk and session.customer_matched
    assert session.status == "awaiting_payment"
    assert Customer.unscoped.filter(organization=org).count() == 1
    existing.refresh_from_db()
    assert existing.name == "Ana" and existing.city == ""
    assert customer_default_method(customer=existing) == own
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    declining = sub.payment_method
    assert declining is not None and declining != own and not declining.is_default
    attempt = PaymentAttempt.unscoped.get(invoice_id=session.invoice_id)
    assert attempt.payment_method_id == declining.pk and attempt.status == "failed"

    # Another card on the retry page: again for this subscription only.
    session = checkout_retry_card(session=session, gateway="sandbox", token="tok_sandbox_success")
    events_dispatch_pending()
    assert session.status == "completed"
    sub.refresh_from_db()
    assert sub.status == "active" and sub.payment_method not in (None, own, declining)
    assert customer_default_method(customer=existing) == own
    assert PaymentMethod.unscoped.get(pk=sub.payment_method_id).is_default is False

    # Renewals: the other subscription is still charged to the customer's own card, the new
    # one to the card given at the checkout.
    other_renewal = _renew(other)
    assert PaymentAttempt.unscoped.get(invoice=other_renewal).payment_method_id == own.pk
    new_renewal = _renew(sub)
    assert (
        PaymentAttempt.unscoped.get(invoice=new_renewal).payment_method_id == sub.payment_method_id
    )
    other.refresh_from_db()
    assert other.status == "active" and other.payment_method_id is None
    assert not DunningCase.unscoped.filter(invoice__subscription=other).exists()

    # Bank transfer with the same email: no method is added to the customer.
    methods = PaymentMethod.unscoped.filter(customer=existing).count()
    checkout_submit(
        offer=offer,
        token="tok-intruder-2",
        data=checkout_input(
            email="ana@example.cl", payment_choice="bank_transfer", card_token="", card_gateway=""
        ),
    )
    assert PaymentMethod.unscoped.filter(customer=existing).count() == methods
    assert customer_default_method(customer=existing) == own


def test_the_customer_choosing_a_default_card_moves_every_subscription_to_it(org, monthly):
    """A card bound to one subscription applies until the customer picks a default."""
    from billing.payments.services.methods import payment_method_add_card

    existing = CustomerFactory(organization=org, email="ana@example.cl")
    payment_method_add_card(customer=existing, gateway="sandbox", token="tok_sandbox_success")
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer, token="tok-bound-1", data=checkout_input(email="ana@example.cl")
    )
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.payment_method_id is not None
    chosen = payment_method_add_card(
        customer=existing, gateway="sandbox", token="tok_sandbox_success"
    )
    sub.refresh_from_db()
    assert sub.payment_method_id is None
    renewal = _renew(sub)
    assert PaymentAttempt.unscoped.get(invoice=renewal).payment_method_id == chosen.pk


# -- another way to pay after a declined card ---------------------------------------------------


def test_declined_card_then_bank_transfer_without_typing_again(org, monthly):
    from billing.payments.models import DunningCase
    from billing.payments.services.dunning import dunning_tick

    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-decline-transfer",
        data=checkout_input(card_token="tok_sandbox_generic_decline"),
    )
    assert session.status == "awaiting_payment"
    events_dispatch_pending()
    case = DunningCase.unscoped.get(invoice_id=session.invoice_id)
    assert case.state == "active"
    with pytest.raises(CheckoutError) as exc:
        checkout_retry_offline(session=session, payment_choice="cash")  # not accepted here
    assert exc.value.code == CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED

    session = checkout_retry_offline(session=session, payment_choice="bank_transfer")
    assert session.status == "completed" and session.payment_choice == "bank_transfer"
    assert session.last_error == ""
    sub = Subscription.unscoped.get(pk=session.subscription_id)
    assert sub.status == "active" and sub.collection_method == "send_invoice"
    assert sub.days_until_due == 30
    invoice = Invoice.unscoped.get(pk=session.invoice_id)
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert invoice.due_at == session.completed_at + timedelta(days=30)
    case.refresh_from_db()
    assert case.state == "closed" and case.next_retry_at is None
    # The card is not chased any more: a dunning run much later charges nothing.
    charges = SandboxCharge.unscoped.filter(organization=org).count()
    dunning_tick(now=clock.now() + timedelta(days=20))
    events_dispatch_pending()
    assert SandboxCharge.unscoped.filter(organization=org).count() == charges
    assert PaymentAttempt.unscoped.filter(invoice=invoice).count() == 1
    # Not twice, and not expired later.
    with pytest.raises(CheckoutError) as exc:
        checkout_retry_offline(session=session, payment_choice="bank_transfer")
    assert exc.value.code == CheckoutErrorCode.NOT_RETRYABLE
    assert checkout_expire_incomplete(now=clock.now() + timedelta(days=3)) == 0


# -- expiry gives the coupon back -------------------------------------------------------------


def test_expired_checkout_gives_its_coupon_redemption_back(org, monthly, coupon):
    coupon.max_redemptions = 1
    coupon.save()
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-coupon-exp",
        data=checkout_input(coupon_code="BIENVENIDA", card_token="tok_sandbox_generic_decline"),
    )
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    with pytest.raises(CheckoutError) as exc:  # the only redemption is held by that checkout
        checkout_submit(
            offer=offer, token="tok-coupon-2", data=checkout_input(2, coupon_code="BIENVENIDA")
        )
    assert exc.value.code == CheckoutErrorCode.COUPON_NOT_VALID
    later = session.expires_at + timedelta(minutes=1)
    assert checkout_expire_incomplete(now=later) == 1
    assert checkout_expire_incomplete(now=later) == 0  # given back once
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    again = checkout_submit(
        offer=offer, token="tok-coupon-3", data=checkout_input(3, coupon_code="BIENVENIDA")
    )
    assert again.status == "completed"
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


# -- the welcome email ----------------------------------------------------------------------


def _welcomes(customer_id):
    from customers.messaging.models import Message

    return Message.unscoped.filter(customer_id=customer_id, template_key="welcome").count()


def test_welcome_email_only_once_the_subscription_starts(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-welcome-1",
        data=checkout_input(card_token="tok_sandbox_generic_decline"),
    )
    events_dispatch_pending()
    assert _welcomes(session.customer_id) == 0  # incomplete: not welcomed yet
    session = checkout_retry_card(session=session, gateway="sandbox", token="tok_sandbox_success")
    events_dispatch_pending()
    assert _welcomes(session.customer_id) == 1
    events_dispatch_pending()
    assert _welcomes(session.customer_id) == 1

    transfer = checkout_submit(
        offer=offer,
        token="tok-welcome-2",
        data=checkout_input(2, card_token="tok_sandbox_generic_decline"),
    )
    checkout_retry_offline(session=transfer, payment_choice="bank_transfer")
    events_dispatch_pending()
    assert _welcomes(transfer.customer_id) == 1

    expired = checkout_submit(
        offer=offer,
        token="tok-welcome-3",
        data=checkout_input(3, card_token="tok_sandbox_generic_decline"),
    )
    checkout_expire_incomplete(now=expired.expires_at + timedelta(minutes=1))
    events_dispatch_pending()
    assert _welcomes(expired.customer_id) == 0


def test_welcome_email_for_a_bank_transfer_checkout(org, monthly):
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="tok-welcome-bank",
        data=checkout_input(payment_choice="bank_transfer", card_token="", card_gateway=""),
    )
    events_dispatch_pending()
    assert _welcomes(session.customer_id) == 1
