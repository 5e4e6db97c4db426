import pytest

from billing.models import CreditNote
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import AttemptStatus, PaymentAttempt, Refund, SandboxCharge
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


# --- a gateway's refund webhook racing our own refund call ------------------------------------


def _deliver_refund_webhook(org, event_type: str, obj: dict, event_id: str):
    """A verified gateway notification about the (only) payment, applied as the webhook view
    would after checking its signature."""
    from billing.gateways.base import WebhookEvent
    from billing.payments.services.webhooks import _record_and_apply

    reference = PaymentAttempt.unscoped.get().gateway_reference
    event = WebhookEvent(event_id=event_id, type=event_type, payment_reference=reference, data=obj)
    result = _record_and_apply(org=org, gateway="sandbox", event=event)
    assert result.outcome != "no matching payment"
    return result


def _refund_answering_after_a_webhook(monkeypatch, org, paid, make_event):
    """The gateway refunds, notifies us (the webhook is processed) and only THEN answers our
    own call: the webhook lands while our refund is still pending."""
    from billing.gateways.base import RefundResult
    from billing.gateways.sandbox import SandboxGateway

    real = SandboxGateway.refund

    def refund_then_notify(self, **kwargs):
        answer = real(self, **kwargs)
        assert answer.succeeded
        event_type, obj = make_event(kwargs)
        outcome = _deliver_refund_webhook(org, event_type, obj, f"evt_{obj['id']}")
        assert outcome.status_code == 200
        return RefundResult(True, reference="re_raced")

    monkeypatch.setattr(SandboxGateway, "refund", refund_then_notify)


def test_partial_refund_webhook_without_our_key_racing_our_call_records_it_once(
    monkeypatch, org, paid
):
    # The payload has the gateway's refund id but not our idempotency key (MercadoPago, or a
    # refund event whose metadata we do not get): before the fix it became a second refund.
    _refund_answering_after_a_webhook(
        monkeypatch,
        org,
        paid,
        lambda kw: (
            "refund.created",
            {"id": "re_raced", "amount": kw["amount_minor"], "status": "succeeded"},
        ),
    )
    refund = payment_refund(attempt=paid, amount_minor=4_000)
    paid.refresh_from_db()
    assert paid.refunded_minor == 4_000
    assert paid.status == AttemptStatus.PARTIALLY_REFUNDED
    assert Refund.objects.count() == 1
    assert refund.status == Refund.Status.SUCCEEDED
    assert Refund.objects.get().gateway_reference == "re_raced"
    assert sum(CreditNote.objects.values_list("total_minor", flat=True)) == 4_000
    assert OutboxEvent.objects.filter(type="payment.refunded").count() == 1
    # The same webhook again (a retry by the gateway) changes nothing.
    _deliver_refund_webhook(
        org, "refund.updated", {"id": "re_raced", "amount": 4_000, "status": "succeeded"}, "e2"
    )
    paid.refresh_from_db()
    assert paid.refunded_minor == 4_000
    assert Refund.objects.count() == 1


def test_cumulative_refund_webhook_after_our_call_recorded_it_adds_nothing(org, paid):
    # Our partial refund is recorded (without the gateway's refund list in the webhook we only
    # learn the charge's cumulative amount_refunded): the total already matches, nothing more.
    payment_refund(attempt=paid, amount_minor=3_000)
    _deliver_refund_webhook(
        org, "charge.refunded", {"id": "ch_x", "amount_refunded": 3_000}, "evt_total"
    )
    paid.refresh_from_db()
    assert paid.refunded_minor == 3_000
    assert Refund.objects.count() == 1


def test_a_different_refund_made_at_the_gateway_is_still_recorded(org, paid):
    payment_refund(attempt=paid, amount_minor=3_000)
    _deliver_refund_webhook(
        org, "refund.created", {"id": "re_dashboard", "amount": 2_000, "status": "succeeded"}, "e3"
    )
    paid.refresh_from_db()
    assert paid.refunded_minor == 5_000
    assert Refund.objects.count() == 2
