from datetime import timedelta

import pytest

from billing.gateways.base import ChargeStatus
from billing.models import InvoiceStatus
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import AttemptStatus, DunningCase, PaymentAttempt, SandboxCharge
from billing.payments.services.charging import (
    invoice_pay_now,
    payment_attempt_create,
    payments_janitor_run,
)
from billing.payments.tasks import payment_attempt_execute_task
from cobro import clock
from cobro.models import OutboxEvent
from tests.billing.payments.conftest import card_customer, open_invoice, successful_gateway_charges

pytestmark = pytest.mark.django_db


def test_finalized_invoice_is_charged_from_the_outbox_and_marked_paid(in_org, org, dispatch):
    invoice = open_invoice(card_customer(org))
    dispatch()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_paid_minor == 10_000
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.idempotency_key == f"cobro-inv{invoice.pk}-att1"
    assert attempt.gateway_reference.startswith("ch_sandbox_")
    assert successful_gateway_charges(invoice) == 1
    types = set(OutboxEvent.objects.values_list("type", flat=True))
    assert {"payment.succeeded", "invoice.paid"} <= types


def test_celery_redelivery_of_the_charge_task_charges_once(in_org, org):
    invoice = open_invoice(card_customer(org))
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    payment_attempt_execute_task.apply(args=[attempt.pk])
    payment_attempt_execute_task.apply(args=[attempt.pk])  # redelivered after a lost ack
    assert SandboxCharge.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_second_attempt_while_one_is_in_flight_is_refused(in_org, org):
    invoice = open_invoice(card_customer(org))
    payment_attempt_create(invoice=invoice, trigger="automatic")
    with pytest.raises(PaymentError) as err:
        invoice_pay_now(invoice=invoice)
    assert err.value.code == PaymentErrorCode.ATTEMPT_IN_FLIGHT
    assert SandboxCharge.objects.count() == 0


def test_paid_invoice_cannot_be_paid_again(in_org, org):
    invoice = open_invoice(card_customer(org))
    assert invoice_pay_now(invoice=invoice).status == AttemptStatus.SUCCEEDED
    with pytest.raises(PaymentError) as err:
        invoice_pay_now(invoice=invoice)
    assert err.value.code == PaymentErrorCode.INVOICE_NOT_PAYABLE
    assert successful_gateway_charges(invoice) == 1


def test_timeout_stays_unknown_until_the_janitor_asks_the_gateway(in_org, org):
    invoice = open_invoice(card_customer(org, "timeout"))
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.UNKNOWN
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    report = payments_janitor_run(now=clock.now() + timedelta(minutes=10))
    assert report.settled == [attempt.pk]
    attempt.refresh_from_db()
    invoice.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert invoice.status == InvoiceStatus.PAID
    assert SandboxCharge.objects.count() == 1  # asked, never charged again


def test_janitor_leaves_recent_in_flight_attempts_alone(in_org, org):
    invoice = open_invoice(card_customer(org, "timeout"))
    attempt = invoice_pay_now(invoice=invoice)
    report = payments_janitor_run()  # the call may still be running: too early to ask
    assert report.settled == []
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.UNKNOWN


def test_janitor_fails_a_claimed_attempt_the_gateway_never_saw(in_org, org):
    invoice = open_invoice(card_customer(org))
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    # The worker claimed it and died before reaching the gateway.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(sent_at=clock.now())
    payments_janitor_run(now=clock.now() + timedelta(minutes=10))
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "not_processed"
    assert SandboxCharge.objects.count() == 0
    # Not the customer's fault: dunning retries at once, without using up a retry.
    case = DunningCase.objects.get(invoice=invoice)
    assert case.next_retry_at is not None and case.retries_done == 0
    assert not OutboxEvent.objects.filter(type="payment.failed").exists()


def test_declined_card_fails_with_code_and_emits_payment_failed(in_org, org):
    invoice = open_invoice(card_customer(org, "insufficient_funds"))
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "insufficient_funds"
    assert not attempt.hard_decline
    event = OutboxEvent.objects.get(type="payment.failed")
    assert event.payload["invoice_id"] == invoice.pk
    assert event.payload["decline_code"] == "insufficient_funds"
    assert event.payload["next_retry_at"] is not None


def test_customer_without_a_card_gets_a_failed_attempt_and_no_gateway_call(in_org, org, dispatch):
    from tests.billing.factories import CustomerFactory

    invoice = open_invoice(CustomerFactory(organization=org))
    dispatch()
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "no_payment_method"
    assert SandboxCharge.objects.count() == 0


def test_sandbox_test_cards_behave_as_documented(in_org, org):
    expected = {
        "success": ("succeeded", "", False),
        "generic_decline": ("failed", "card_declined", False),
        "insufficient_funds": ("failed", "insufficient_funds", False),
        "expired_card": ("failed", "expired_card", True),
        "authentication_required": ("failed", "authentication_required", False),
        "processing_error": ("failed", "processing_error", False),
        "stolen_card": ("failed", "stolen_card", True),
        "timeout": ("unknown", "", False),
    }
    for behaviour, (status, code, hard) in expected.items():
        attempt = invoice_pay_now(invoice=open_invoice(card_customer(org, behaviour)))
        assert (attempt.status, attempt.decline_code, attempt.hard_decline) == (
            status,
            code,
            hard,
        ), behaviour


@pytest.mark.slow
def test_ten_percent_of_a_thousand_charges_time_out_and_the_janitor_settles_all(in_org, org):
    customers = [card_customer(org, "timeout" if i % 10 == 0 else "success") for i in range(100)]
    invoices = [open_invoice(c, 1_000 + i) for c in customers for i in range(10)]
    for invoice in invoices:
        invoice_pay_now(invoice=invoice)
    assert PaymentAttempt.objects.filter(status="unknown").count() == 100
    payments_janitor_run(now=clock.now() + timedelta(minutes=10))
    assert PaymentAttempt.objects.filter(status__in=["unknown", "pending"]).count() == 0
    assert PaymentAttempt.objects.filter(status="succeeded").count() == 1000
    per_key = SandboxCharge.objects.values_list("idempotency_key", flat=True)
    assert len(per_key) == len(set(per_key)) == 1000  # no double charge
    assert all(i.status == "paid" for i in type(invoices[0]).objects.all())


def test_gateway_result_of_unknown_keeps_attempt_in_flight(in_org, org, monkeypatch):
    from billing.gateways.base import ChargeResult
    from billing.gateways.sandbox import SandboxGateway

    invoice = open_invoice(card_customer(org, "timeout"))
    attempt = invoice_pay_now(invoice=invoice)
    monkeypatch.setattr(
        SandboxGateway, "retrieve_payment", lambda self, **kw: ChargeResult(ChargeStatus.UNKNOWN)
    )
    report = payments_janitor_run(now=clock.now() + timedelta(minutes=10))
    assert report.still_unknown == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.UNKNOWN
