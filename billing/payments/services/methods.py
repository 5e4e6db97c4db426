"""Payment methods of a customer: add (through a gateway token), default, remove, expiring."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from billing.gateways import gateway_for
from billing.gateways.base import GatewayError
from billing.gateways.ratelimit import call_limited
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import GatewayCustomer, PaymentMethod, PaymentMethodType
from cobro import clock


def customer_default_method(*, customer) -> PaymentMethod | None:
    return (
        PaymentMethod.unscoped.filter(customer=customer, removed_at__isnull=True, is_default=True)
        .order_by("-created_at")
        .first()
    )


def invoice_charge_method(*, invoice) -> PaymentMethod | None:
    """The method to charge ``invoice`` with: its subscription's own card when it has one
    (``Subscription.payment_method``, still on file and the same customer's), else the
    customer's default."""
    if invoice.subscription_id is not None:
        from billing.models import Subscription

        bound_id = (
            Subscription.unscoped.filter(pk=invoice.subscription_id)
            .values_list("payment_method_id", flat=True)
            .first()
        )
        if bound_id is not None:
            bound = PaymentMethod.unscoped.filter(
                pk=bound_id, customer_id=invoice.customer_id, removed_at__isnull=True
            ).first()
            if bound is not None:
                return bound
    return customer_default_method(customer=invoice.customer)


def gateway_customer_ref(*, customer, gateway: str, now: datetime | None = None) -> str:
    """The customer's id at ``gateway``, created there once and remembered
    (``GatewayCustomer``); the gateway call happens outside any transaction."""
    known = GatewayCustomer.unscoped.filter(customer=customer, gateway=gateway).first()
    if known is not None:
        return known.reference
    existing = (
        PaymentMethod.unscoped.filter(customer=customer, gateway=gateway)
        .exclude(gateway_customer_id="")
        .values_list("gateway_customer_id", flat=True)
        .first()
    )
    if existing:
        reference = existing
    else:
        adapter = gateway_for(gateway, organization=customer.organization)
        reference = call_limited(
            adapter,
            lambda: adapter.create_customer(
                email=customer.email, name=customer.name, reference=str(customer.pk)
            ),
        )
    row, _ = GatewayCustomer.unscoped.get_or_create(
        customer=customer,
        gateway=gateway,
        defaults={
            "organization_id": customer.organization_id,
            "reference": reference,
            "created_at": now or clock.now(customer.organization),
        },
    )
    return row.reference


def _gateway_customer_ref(customer, gateway_name: str) -> str:
    return gateway_customer_ref(customer=customer, gateway=gateway_name)


def card_setup_start(*, customer, gateway: str = "stripe"):
    """Begin saving a card at ``gateway`` (Stripe: a SetupIntent). Returns what the page's
    Stripe.js needs (client secret, publishable key); card data never reaches us. Finish
    with ``payment_method_add_card(token=<SetupIntent or PaymentMethod id>)``."""
    customer_ref = gateway_customer_ref(customer=customer, gateway=gateway)
    adapter = gateway_for(gateway, organization=customer.organization)
    if not hasattr(adapter, "setup_intent_create"):
        raise PaymentError(PaymentErrorCode.GATEWAY_ERROR)
    return call_limited(adapter, lambda: adapter.setup_intent_create(customer_ref=customer_ref))


def payment_method_add_card(
    *,
    customer,
    gateway: str,
    token: str,
    make_default: bool = True,
    now: datetime | None = None,
) -> PaymentMethod:
    """Save a card the provider tokenized in the browser. Gateway calls happen before the
    transaction; only the token and display data are stored."""
    now = now or clock.now(customer.organization)
    customer_ref = _gateway_customer_ref(customer, gateway)
    adapter = gateway_for(gateway, organization=customer.organization)
    try:
        saved = call_limited(
            adapter, lambda: adapter.save_method(customer_ref=customer_ref, token=token)
        )
    except GatewayError as exc:
        raise PaymentError(PaymentErrorCode.GATEWAY_ERROR, str(exc)) from exc
    with transaction.atomic():
        already = PaymentMethod.unscoped.filter(
            customer=customer, gateway=gateway, gateway_token=saved.token, removed_at__isnull=True
        ).first()
        if already is not None:  # the same card recorded twice (a resubmitted form)
            return already
        method = PaymentMethod.unscoped.create(
            organization_id=customer.organization_id,
            customer=customer,
            type=saved.type,
            gateway=gateway,
            gateway_customer_id=customer_ref,
            gateway_token=saved.token,
            brand=saved.brand,
            last4=saved.last4,
            exp_month=saved.exp_month,
            exp_year=saved.exp_year,
            fingerprint=saved.fingerprint,
            wallet=saved.wallet,
            created_at=now,
        )
        if make_default:
            payment_method_set_default(method=method, now=now)
    return method


@transaction.atomic
def payment_method_add_offline(
    *, customer, type: str, make_default: bool = False, now: datetime | None = None
) -> PaymentMethod:
    """Bank transfer or cash: nothing to tokenize; staff reconcile these payments."""
    if type not in (PaymentMethodType.BANK_TRANSFER, PaymentMethodType.CASH):
        raise PaymentError(PaymentErrorCode.METHOD_NOT_FOUND)
    now = now or clock.now(customer.organization)
    method = PaymentMethod.unscoped.create(
        organization_id=customer.organization_id,
        customer=customer,
        type=type,
        gateway="manual",
        created_at=now,
    )
    if make_default:
        payment_method_set_default(method=method, now=now)
    return method


@transaction.atomic
def payment_method_set_default(*, method: PaymentMethod, now: datetime | None = None) -> None:
    """Make ``method`` the customer's default. A customer in dunning gets an immediate retry
    of every unpaid invoice with the new method."""
    from customers.models import Customer

    customer = Customer.unscoped.select_for_update().get(pk=method.customer_id)
    now = now or clock.now(customer.organization)
    PaymentMethod.unscoped.filter(customer=customer, is_default=True).exclude(pk=method.pk).update(
        is_default=False
    )
    PaymentMethod.unscoped.filter(pk=method.pk).update(is_default=True)
    method.is_default = True
    # The customer chose how to pay: every subscription follows the default from now on,
    # including one that was charged to a card of its own.
    from billing.models import Subscription

    Subscription.unscoped.filter(customer=customer, payment_method__isnull=False).update(
        payment_method=None
    )
    if method.type in (PaymentMethodType.CARD, PaymentMethodType.WALLET):
        from billing.payments.services.dunning import dunning_method_updated

        dunning_method_updated(customer=customer, now=now)


@transaction.atomic
def payment_method_remove(*, method: PaymentMethod, now: datetime | None = None) -> None:
    now = now or clock.now(method.organization)
    PaymentMethod.unscoped.filter(pk=method.pk).update(removed_at=now, is_default=False)


def payment_methods_expiring(*, organization, now: datetime | None = None, months: int = 1):
    """Cards (not removed) whose expiry month ends within ``months`` from ``now``."""
    now = now or clock.now(organization)
    year, month = now.year, now.month + months
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return (
        PaymentMethod.unscoped.filter(
            organization=organization,
            type=PaymentMethodType.CARD,
            removed_at__isnull=True,
            exp_year__isnull=False,
            exp_month__isnull=False,
        )
        .annotate(exp_index=F("exp_year") * 12 + F("exp_month"))
        .filter(exp_index__lte=year * 12 + month)
    )
