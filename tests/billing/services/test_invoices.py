import threading

import pytest
from django.db import IntegrityError, connection, transaction

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import CreditLedgerEntry, Invoice, InvoiceLine
from billing.services.catalog import billing_settings_update
from billing.services.invoices import (
    CreditItem,
    ManualItem,
    credit_note_issue,
    invoice_create_one_off,
    invoice_finalize,
    invoice_void,
)
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, TaxRateFactory


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "unit"), [("CLP", 9_990), ("USD", 1_999), ("KWD", 12_345)])
def test_one_off_invoice_lines_sum_to_total(in_org, org, customer, currency, unit):
    billing_settings_update(organization=org, extra_currencies=["USD", "KWD"])
    iva = TaxRateFactory(organization=org)
    inv = invoice_create_one_off(
        customer=customer,
        currency=currency,
        items=[ManualItem("Consultoría", unit, 3, tax_rate=iva), ManualItem("Envío", unit)],
    )
    lines = sum(InvoiceLine.objects.filter(invoice=inv).values_list("amount_minor", flat=True))
    assert lines + inv.tax_minor == inv.total_minor
    assert inv.number.startswith("F-")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "amount", "code"),
    [
        ("CLP", -100, BillingErrorCode.AMOUNT_NOT_POSITIVE),
        ("CLP", 0, BillingErrorCode.AMOUNT_NOT_POSITIVE),
        ("CLP", 10**16, BillingErrorCode.AMOUNT_TOO_LARGE),
        ("EUR", 100, BillingErrorCode.CURRENCY_NOT_ENABLED),
        ("XYZ", 100, BillingErrorCode.CURRENCY_UNKNOWN),
    ],
)
def test_bad_one_off_input_is_refused_without_writes(in_org, customer, currency, amount, code):
    with pytest.raises(BillingError) as err:
        invoice_create_one_off(
            customer=customer, currency=currency, items=[ManualItem("x", amount)]
        )
    assert err.value.code == code
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_issued_invoice_cannot_change_even_bypassing_services(in_org, customer):
    inv = invoice_create_one_off(customer=customer, currency="CLP", items=[ManualItem("x", 1000)])
    with pytest.raises(BillingError):
        invoice_finalize(invoice=inv)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(total_minor=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=inv).update(amount_minor=1)


@pytest.mark.django_db
def test_credit_notes_never_exceed_invoice(in_org, customer):
    inv = invoice_create_one_off(customer=customer, currency="CLP", items=[ManualItem("x", 10_000)])
    note = credit_note_issue(invoice=inv, items=[CreditItem("Descuento", 4_000)])
    assert note.number == "NC-000001"
    inv.refresh_from_db()
    assert inv.amount_due_minor == 6_000
    with pytest.raises(BillingError) as err:
        credit_note_issue(invoice=inv, items=[CreditItem("Más", 6_001)])
    assert err.value.code == BillingErrorCode.CREDIT_EXCEEDS_INVOICE
    credit_note_issue(invoice=inv, items=[CreditItem("Resto", 6_000)])
    inv.refresh_from_db()
    assert inv.status == "paid"


@pytest.mark.django_db
def test_void_returns_applied_credit_to_balance(in_org, customer, t0):
    from billing.services.credit import credit_ledger_add, customer_credit_balance

    credit_ledger_add(
        customer=customer, currency="CLP", amount_minor=3_000, kind="adjustment", now=t0
    )
    inv = invoice_create_one_off(customer=customer, currency="CLP", items=[ManualItem("x", 10_000)])
    assert inv.credit_applied_minor == 3_000 and inv.amount_due_minor == 7_000
    assert customer_credit_balance(customer=customer, currency="CLP") == 0
    invoice_void(invoice=inv)
    assert customer_credit_balance(customer=customer, currency="CLP") == 3_000
    assert CreditLedgerEntry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_finalization_numbers_are_gap_free(org):
    with use_organization(org):
        customer = CustomerFactory(organization=org)
        drafts = [
            invoice_create_one_off(
                customer=customer, currency="CLP", items=[ManualItem("x", 100)], finalize=False
            )
            for _ in range(24)
        ]
    errors = []
    barrier = threading.Barrier(8)

    def worker(chunk):
        try:
            with use_organization(org):
                barrier.wait()
                for inv in chunk:
                    invoice_finalize(invoice=inv)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(drafts[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Invoice.unscoped.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 25))
    assert len(set(Invoice.unscoped.values_list("number", flat=True))) == 24
