"""Bank transfer and cash: references, partial payments, statement import and review."""

from __future__ import annotations

import json

import pytest

from billing.models import CollectionMethod, InvoiceStatus
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import (
    AttemptStatus,
    BankStatementLine,
    GatewayAccount,
    PaymentAttempt,
)
from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.manual import (
    bank_transfer_instructions,
    bank_transfer_reference_for,
    invoice_outstanding_minor,
    payment_record_manual,
    statement_import,
    statement_line_apply,
    statement_line_dismiss,
)
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.models import OutboxEvent
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory
from tests.billing.payments.conftest import card_customer

pytestmark = pytest.mark.django_db


def transfer_invoice(org, amount_minor=12_500, customer=None):
    if customer is None:
        with use_organization(org):
            customer = CustomerFactory(organization=org)
    return invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description="Plan mensual", unit_amount_minor=amount_minor)],
        collection_method=CollectionMethod.SEND_INVOICE,
    )


def test_each_invoice_gets_one_stable_readable_reference(in_org, org):
    first, second = transfer_invoice(org), transfer_invoice(org)
    ref = bank_transfer_reference_for(invoice=first)
    assert ref.startswith("CB-") and len(ref) == 12
    assert not set(ref[3:].replace("-", "")) & set("01OIL")
    assert bank_transfer_reference_for(invoice=first) == ref
    assert bank_transfer_reference_for(invoice=second) != ref


def test_transfer_instructions_show_bank_details_amount_and_reference(in_org, org):
    GatewayAccount.unscoped.create(
        organization=org,
        gateway="manual",
        credentials=json.dumps({"bank_name": "Banco Estado", "account_number": "123456"}),
    )
    invoice = transfer_invoice(org, 12_500)
    info = bank_transfer_instructions(invoice=invoice)
    assert info["bank_name"] == "Banco Estado"
    assert info["account_number"] == "123456"
    assert info["reference"] == bank_transfer_reference_for(invoice=invoice)
    assert info["amount_minor"] == "12500"


def test_partial_payments_mark_the_invoice_paid_only_when_covered(in_org, org):
    invoice = transfer_invoice(org, 10_000)
    payment_record_manual(invoice=invoice, amount_minor=4_000, method="cash")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice_outstanding_minor(invoice=invoice) == 6_000
    with pytest.raises(PaymentError) as err:
        payment_record_manual(invoice=invoice, amount_minor=7_000)
    assert err.value.code == PaymentErrorCode.AMOUNT_EXCEEDS_DUE
    payment_record_manual(invoice=invoice, amount_minor=6_000)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_paid_minor == 10_000
    assert OutboxEvent.objects.filter(type="invoice.paid").count() == 1
    with pytest.raises(PaymentError):
        payment_record_manual(invoice=invoice, amount_minor=1)


def test_card_retry_after_a_partial_transfer_charges_only_the_rest(in_org, org):
    customer = card_customer(org)
    invoice = transfer_invoice(org, 10_000, customer=customer)
    payment_record_manual(invoice=invoice, amount_minor=2_500)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.amount_minor == 7_500
    assert attempt.status == AttemptStatus.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def _csv(*lines):
    return "date,description,amount,transaction_id\n" + "\n".join(lines) + "\n"


def test_statement_import_matches_exact_and_leaves_the_rest_for_review(in_org, org):
    exact, short, _unused = transfer_invoice(org), transfer_invoice(org), transfer_invoice(org)
    ref_exact = bank_transfer_reference_for(invoice=exact)
    ref_short = bank_transfer_reference_for(invoice=short)
    content = _csv(
        f"2026-03-05,TRANSF. {ref_exact.lower().replace('-', ' ')} JUAN PEREZ,12500,TX1",
        f"05-03-2026,Pago {ref_short},10000,TX2",
        "2026-03-06,Transferencia CB-ZZZZ-ZZZZ,5000,TX3",
        "2026-03-06,Comision mantencion,-3990,TX4",
    )
    statement = statement_import(organization=org, content=content, currency="CLP")
    assert (statement.lines_matched, statement.lines_review, statement.lines_skipped) == (1, 2, 1)
    exact.refresh_from_db()
    short.refresh_from_db()
    assert exact.status == InvoiceStatus.PAID
    assert short.status == InvoiceStatus.OPEN  # 10,000 of 12,500: a person decides
    review = {
        line.bank_transaction_id: line for line in BankStatementLine.objects.filter(status="review")
    }
    assert review["TX2"].reason == "amount_mismatch" and review["TX2"].invoice == short
    assert review["TX3"].reason == "unknown_reference" and review["TX3"].invoice is None

    # Importing the same statement again changes nothing.
    again = statement_import(organization=org, content=content, currency="CLP")
    assert (again.lines_matched, again.lines_review) == (0, 0)
    assert PaymentAttempt.objects.filter(gateway="manual").count() == 1


def test_staff_resolve_review_lines_as_partial_payment_or_dismiss(in_org, org):
    short = transfer_invoice(org)
    ref = bank_transfer_reference_for(invoice=short)
    content = _csv(f"2026-03-05,Pago {ref},10000,TX2", "2026-03-06,Intereses,150,TX9")
    statement_import(organization=org, content=content, currency="CLP")
    partial = BankStatementLine.objects.get(bank_transaction_id="TX2")
    statement_line_apply(line=partial, invoice=short)
    assert invoice_outstanding_minor(invoice=short) == 2_500
    with pytest.raises(PaymentError):
        statement_line_apply(line=partial, invoice=short)  # already applied
    statement_line_dismiss(line=BankStatementLine.objects.get(bank_transaction_id="TX9"))
    assert not BankStatementLine.objects.filter(status="review").exists()


def test_statement_with_bad_rows_is_rejected_whole(in_org, org):
    with pytest.raises(PaymentError) as err:
        statement_import(organization=org, content=_csv("yesterday,x,10,T"), currency="CLP")
    assert "line 2" in err.value.message
    with pytest.raises(PaymentError):
        statement_import(organization=org, content="fecha;monto\n1;2\n", currency="CLP")
    assert not BankStatementLine.objects.exists()
