import pytest

from billing.models import CreditNote
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import AttemptStatus, Refund, SandboxCharge
from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.refunds import payment_refund
from billing.services.credit import customer_credit_balance
from cobro.models import OutboxEvent
from tests.billing.payments.conftest import card_customer, open_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(in_org, org):
    customer = card_customer(org)
    invoice = open_invoice(customer, 10_000)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.SUCCEEDED
    return attempt


def test_refund_larger_than_the_payment_is_rejected_with_no_effect(paid):
    with pytest.raises(PaymentError) as err:
        payment_refund(attempt=paid, amount_minor=10_001)
    assert err.value.code == PaymentErrorCode.REFUND_EXCEEDS_PAYMENT
    assert not Refund.objects.exists()
    assert not CreditNote.objects.exists()
    assert SandboxCharge.objects.get().refunded_minor == 0


def test_partial_refund_issues_a_credit_note_and_leaves_the_balance_alone(paid):
    refund = payment_refund(attempt=paid, amount_minor=4_000, reason="Servicio caído")
    paid.refresh_from_db()
    assert paid.status == AttemptStatus.PARTIALLY_REFUNDED
    assert paid.refunded_minor == 4_000
    assert refund.credit_note.total_minor == 4_000
    assert refund.credit_note.invoice_id == paid.invoice_id
    assert SandboxCharge.objects.get().refunded_minor == 4_000
    assert customer_credit_balance(customer=paid.customer, currency="CLP") == 0
    assert OutboxEvent.objects.filter(type="payment.refunded").count() == 1
    # What is left can be refunded, not more.
    with pytest.raises(PaymentError):
        payment_refund(attempt=paid, amount_minor=6_001)
    payment_refund(attempt=paid, amount_minor=6_000)
    paid.refresh_from_db()
    assert paid.status == AttemptStatus.REFUNDED
    assert sum(CreditNote.objects.values_list("total_minor", flat=True)) == 10_000


def test_full_refund_credits_the_whole_invoice(paid):
    refund = payment_refund(attempt=paid)
    paid.refresh_from_db()
    assert paid.status == AttemptStatus.REFUNDED
    assert refund.credit_note.total_minor == 10_000
    with pytest.raises(PaymentError) as err:
        payment_refund(attempt=paid, amount_minor=1)
    assert err.value.code == PaymentErrorCode.REFUND_NOT_ALLOWED


def test_failed_payment_cannot_be_refunded(in_org, org):
    attempt = invoice_pay_now(invoice=open_invoice(card_customer(org, "generic_decline")))
    with pytest.raises(PaymentError) as err:
        payment_refund(attempt=attempt, amount_minor=100)
    assert err.value.code == PaymentErrorCode.REFUND_NOT_ALLOWED
