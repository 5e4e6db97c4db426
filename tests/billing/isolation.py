"""Tenant isolation factories of the billing models (imported by tests/isolation.py)."""

from __future__ import annotations

from billing.models import (
    BillingRun,
    BillingSettings,
    CreditLedgerEntry,
    CreditNoteLine,
    DocumentSequence,
    InvoiceLine,
    InvoiceTax,
)
from billing.services.invoices import (
    CreditItem,
    ManualItem,
    credit_note_issue,
    invoice_create_one_off,
)
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from tests.billing.factories import (
    CouponFactory,
    CustomerFactory,
    PriceFactory,
    ProductFactory,
    TaxRateFactory,
)
from tests.isolation import isolation_factory, make, marked, url_case


def _customer(org):
    return CustomerFactory(organization=org, name=marked(org, "billing customer"))


@isolation_factory("billing.billingsettings")
def _settings(org):
    return BillingSettings.unscoped.get_or_create(organization=org)[0]


@isolation_factory("billing.taxrate")
def _tax_rate(org):
    return TaxRateFactory(organization=org, name=marked(org, "IVA")[:50])


@isolation_factory("billing.product")
def _product(org):
    return ProductFactory(organization=org, name=marked(org, "Plan"))


@isolation_factory("billing.price")
def _price(org):
    return PriceFactory(organization=org, nickname=marked(org, "Mensual")[:100])


@isolation_factory("billing.coupon")
def _coupon(org):
    return CouponFactory(organization=org, name=marked(org, "Promo")[:100])


@isolation_factory("billing.subscription")
def _subscription(org):
    with use_organization(org):
        return subscription_create(customer=_customer(org), price=make("billing.price", org))


@isolation_factory("billing.invoice")
def _invoice(org):
    with use_organization(org):
        tax = make("billing.taxrate", org)
        return invoice_create_one_off(
            customer=_customer(org),
            currency=org.default_currency,
            items=[ManualItem(marked(org, "Servicio"), 10_000, tax_rate=tax)],
        )


@isolation_factory("billing.invoiceline")
def _invoice_line(org):
    return InvoiceLine.unscoped.filter(invoice=make("billing.invoice", org)).first()


@isolation_factory("billing.invoicetax")
def _invoice_tax(org):
    return InvoiceTax.unscoped.filter(invoice=make("billing.invoice", org)).first()


@isolation_factory("billing.documentsequence")
def _sequence(org):
    make("billing.invoice", org)
    return DocumentSequence.unscoped.filter(organization=org).first()


@isolation_factory("billing.creditnote")
def _credit_note(org):
    with use_organization(org):
        return credit_note_issue(
            invoice=make("billing.invoice", org), items=[CreditItem(marked(org, "Ajuste"), 100)]
        )


@isolation_factory("billing.creditnoteline")
def _credit_note_line(org):
    return CreditNoteLine.unscoped.filter(credit_note=make("billing.creditnote", org)).first()


@isolation_factory("billing.creditledgerentry")
def _ledger(org):
    from cobro import clock

    return CreditLedgerEntry.unscoped.create(
        organization=org,
        customer=_customer(org),
        currency=org.default_currency,
        amount_minor=500,
        kind="adjustment",
        description=marked(org, "Ajuste"),
        created_at=clock.now(),
    )


@isolation_factory("billing.billingrun")
def _billing_run(org):
    from cobro import clock

    # Finished, so that making several for one organization never meets the "one active run"
    # constraint; the error text is shown on its page.
    return BillingRun.unscoped.create(
        organization=org,
        kind=BillingRun.Kind.MANUAL,
        status=BillingRun.Status.FAILED,
        now=clock.now(),
        error=marked(org, "billing run error"),
    )


url_case("billing:billing_run_detail")(lambda org: {"pk": make("billing.billingrun", org).pk})
url_case("billing:billing_run_resume")(lambda org: {"pk": make("billing.billingrun", org).pk})
