"""Isolation factories of the payments models (imported by tests/isolation.py)."""

from __future__ import annotations

import uuid

from billing.payments.models import (
    BankStatementImport,
    BankStatementLine,
    BankTransferReference,
    DunningCase,
    DunningPolicy,
    GatewayAccount,
    GatewayCustomer,
    InboundWebhook,
    PaymentAttempt,
    PaymentMethod,
    Refund,
    SandboxCharge,
    attempt_idempotency_key,
)
from tests.isolation import URL_ALLOWLIST, _now, isolation_factory, make, marked, url_case


@isolation_factory("payments.gatewayaccount")
def _gateway_account(org):
    return GatewayAccount.unscoped.get_or_create(
        organization=org, gateway="stripe", defaults={"credentials": '{"secret_key": "sk_x"}'}
    )[0]


@isolation_factory("payments.paymentmethod")
def _method(org):
    return PaymentMethod.unscoped.create(
        organization=org,
        customer=make("customers.customer", org),
        type="card",
        gateway="sandbox",
        gateway_token="pm_sandbox_success__iso",
        brand=marked(org, "visa")[:30],
        last4="4242",
        created_at=_now(),
    )


@isolation_factory("payments.paymentattempt")
def _attempt(org):
    invoice = make("billing.invoice", org)
    number = PaymentAttempt.unscoped.filter(invoice=invoice).count() + 1
    return PaymentAttempt.unscoped.create(
        organization=org,
        invoice=invoice,
        customer_id=invoice.customer_id,
        attempt_number=number,
        idempotency_key=attempt_idempotency_key(invoice.pk, number),
        status="failed",
        trigger="automatic",
        gateway="sandbox",
        amount_minor=1000,
        currency=invoice.currency,
        decline_message=marked(org, "declined"),
        created_at=_now(),
    )


@isolation_factory("payments.refund")
def _refund(org):
    attempt = make("payments.paymentattempt", org)
    return Refund.unscoped.create(
        organization=org,
        attempt=attempt,
        amount_minor=100,
        currency=attempt.currency,
        idempotency_key=f"iso-refund-{attempt.pk}",
        reason=marked(org, "refund"),
        created_at=_now(),
    )


@isolation_factory("payments.dunningpolicy")
def _policy(org):
    return DunningPolicy.unscoped.get_or_create(organization=org)[0]


@isolation_factory("payments.dunningcase")
def _case(org):
    invoice = make("billing.invoice", org)
    return DunningCase.unscoped.create(
        organization=org, invoice=invoice, first_failed_at=_now(), updated_at=_now()
    )


@isolation_factory("payments.inboundwebhook")
def _webhook(org):
    return InboundWebhook.unscoped.create(
        organization=org,
        gateway="stripe",
        event_id=marked(org, f"evt {uuid.uuid4().hex}"),
        type="charge.refunded",
        received_at=_now(),
    )


@isolation_factory("payments.sandboxcharge")
def _sandbox_charge(org):
    return SandboxCharge.unscoped.create(
        organization=org,
        idempotency_key=marked(org, "key"),
        reference=marked(org, f"ch {uuid.uuid4().hex[:12]}"),
        method_token="pm_sandbox_success__iso",
        amount_minor=1000,
        currency="CLP",
        status="succeeded",
        created_at=_now(),
    )


@isolation_factory("payments.gatewaycustomer")
def _gateway_customer(org):
    return GatewayCustomer.unscoped.create(
        organization=org,
        customer=make("customers.customer", org),
        gateway="stripe",
        reference=marked(org, f"cus {uuid.uuid4().hex[:8]}")[:100],
        created_at=_now(),
    )


@isolation_factory("payments.banktransferreference")
def _transfer_reference(org):
    return BankTransferReference.unscoped.create(
        organization=org,
        invoice=make("billing.invoice", org),
        reference=f"CB-{uuid.uuid4().hex[:4]}-{uuid.uuid4().hex[:4]}".upper(),
        created_at=_now(),
    )


@isolation_factory("payments.bankstatementimport")
def _statement(org):
    return BankStatementImport.unscoped.create(
        organization=org,
        filename=marked(org, "statement.csv")[:200],
        currency="CLP",
        uploaded_at=_now(),
    )


@isolation_factory("payments.bankstatementline")
def _statement_line(org):
    return BankStatementLine.unscoped.create(
        organization=org,
        statement=make("payments.bankstatementimport", org),
        line_number=2,
        booked_on=_now().date(),
        description=marked(org, "Transferencia")[:300],
        amount_minor=1000,
        currency="CLP",
        fingerprint=uuid.uuid4().hex,
        status="review",
        reason="unknown_reference",
    )


# Inbound webhooks are authenticated by the gateway's signature with the organization's
# secret, not by a staff session: a request without a valid signature is a 400, never applied.
URL_ALLOWLIST["webhooks:stripe"] = "gateway webhook, authenticated by its signature"
URL_ALLOWLIST["webhooks:mercadopago"] = "gateway webhook, authenticated by its signature"


@url_case("payments:detail")
def _payment_detail(org):
    return {"pk": make("payments.paymentattempt", org).pk}


@url_case("payments:refund")
def _payment_refund(org):
    return {"pk": make("payments.paymentattempt", org).pk}


@url_case("payments:mark_paid")
def _mark_paid(org):
    return {"pk": make("billing.invoice", org).pk}


@url_case("payments:statement_line_apply")
def _line_apply(org):
    return {"pk": make("payments.bankstatementline", org).pk}


@url_case("payments:statement_line_dismiss")
def _line_dismiss(org):
    return {"pk": make("payments.bankstatementline", org).pk}


@url_case("payments:customer_methods")
def _customer_methods(org):
    # The customer's saved card carries the organization's marker (its brand).
    return {"pk": make("payments.paymentmethod", org).customer_id}
