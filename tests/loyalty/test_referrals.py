"""Referrals: applying a code, abuse controls, and both sides rewarded exactly once when the
referred customer's first payment succeeds."""

from __future__ import annotations

import pytest

from billing.payments.services.methods import payment_method_add_card
from cobro import events
from cobro.models import OutboxEvent
from cobro.tenancy.context import use_organization
from loyalty.error_codes import LoyaltyErrorCode, ReferralError
from loyalty.handlers import on_invoice_paid_referral
from loyalty.models import LoyaltyAccount, PointsEntry, Referral
from loyalty.services.referrals import (
    email_normalise,
    referral_apply,
    referral_code_for,
    referral_link,
)
from tests.billing.factories import CustomerFactory
from tests.loyalty.conftest import paid_invoice

E = LoyaltyErrorCode


@pytest.fixture
def referrals_on(programme):
    programme.referrals_enabled = True
    programme.referrer_points = 500
    programme.referred_points = 200
    programme.referral_cap = 2
    programme.points_per_on_time_payment = 0
    programme.points_per_amount = 0
    programme.save()
    return programme


@pytest.fixture
def referrer(org):
    return CustomerFactory(organization=org, name="Rita Referente", email="rita@example.cl")


@pytest.fixture
def newcomer(org):
    return CustomerFactory(organization=org, name="Nico Nuevo", email="nico@example.cl")


def _balance(customer) -> int:
    account = LoyaltyAccount.unscoped.filter(customer=customer).first()
    return account.balance if account else 0


def _code(customer) -> str:
    return referral_code_for(customer=customer).code


def test_code_is_stable_and_the_link_carries_it(in_org, org, referrer):
    code = _code(referrer)
    assert len(code) == 8 and code == _code(referrer)
    assert referral_link(customer=referrer).endswith(f"/s/{org.slug}/?ref={code}")


def test_both_sides_rewarded_once_after_the_first_payment(in_org, referrals_on, referrer, newcomer):
    referral = referral_apply(customer=newcomer, code=_code(referrer).lower(), source="staff")
    assert referral.status == Referral.Status.PENDING
    assert _balance(referrer) == 0 and _balance(newcomer) == 0

    invoice = paid_invoice(newcomer)
    event = OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk))
    assert events.event_dispatch_one(event)
    assert events.event_dispatch_one(event)  # redelivered
    on_invoice_paid_referral(event)  # and run again bypassing HandlerRun

    referral.refresh_from_db()
    assert referral.status == Referral.Status.REWARDED
    assert referral.qualifying_invoice_id == invoice.pk
    assert (_balance(referrer), _balance(newcomer)) == (500, 200)
    assert PointsEntry.unscoped.filter(source_key__startswith="referral:").count() == 2

    # A second payment of the referred customer rewards nobody again.
    paid_invoice(newcomer)
    events.events_dispatch_pending()
    assert (_balance(referrer), _balance(newcomer)) == (500, 200)


def test_unpaid_invoice_does_not_qualify(in_org, referrals_on, referrer, newcomer):
    from billing.services.invoices import ManualItem, invoice_create_one_off

    referral_apply(customer=newcomer, code=_code(referrer), source="staff")
    invoice_create_one_off(customer=newcomer, currency="CLP", items=[ManualItem("x", 5_000)])
    events.events_dispatch_pending()
    assert Referral.unscoped.get(referred=newcomer).status == Referral.Status.PENDING
    assert _balance(referrer) == 0


@pytest.mark.parametrize(
    ("code", "expected"),
    [("NOPE2345", E.REFERRAL_CODE_UNKNOWN), ("", E.REFERRAL_CODE_UNKNOWN)],
)
def test_unknown_code_is_refused(in_org, referrals_on, newcomer, code, expected):
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=newcomer, code=code, source="portal")
    assert err.value.code == expected
    assert "no existe" in err.value.message  # translated (es-419 default)
    assert not Referral.unscoped.exists()


def test_code_of_another_organization_is_refused(in_org, referrals_on, newcomer, other_org):
    with use_organization(other_org):
        stranger = CustomerFactory(organization=other_org)
        code = _code(stranger)
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=newcomer, code=code, source="portal")
    assert err.value.code == E.REFERRAL_CODE_OTHER_ORGANIZATION
    assert not Referral.unscoped.exists()


def test_own_code_is_refused(in_org, referrals_on, referrer):
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=referrer, code=_code(referrer), source="portal")
    assert err.value.code == E.REFERRAL_SELF


def test_same_email_modulo_gmail_tricks_is_refused(in_org, org, referrals_on):
    rita = CustomerFactory(organization=org, email="Rita.Perez@gmail.com")
    alias = CustomerFactory(organization=org, email="ritaperez+promo@googlemail.com")
    assert email_normalise(rita.email) == email_normalise(alias.email)
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=alias, code=_code(rita), source="portal")
    assert err.value.code == E.REFERRAL_SELF


def test_same_card_fingerprint_is_refused_when_applying(in_org, referrals_on, referrer, newcomer):
    payment_method_add_card(customer=referrer, gateway="sandbox", token="tok_sandbox_success")
    payment_method_add_card(customer=newcomer, gateway="sandbox", token="tok_sandbox_success")
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=newcomer, code=_code(referrer), source="checkout")
    assert err.value.code == E.REFERRAL_SELF


def test_card_shared_after_applying_rejects_at_first_payment(
    in_org, referrals_on, referrer, newcomer
):
    payment_method_add_card(customer=referrer, gateway="sandbox", token="tok_sandbox_success")
    referral = referral_apply(customer=newcomer, code=_code(referrer), source="checkout")
    payment_method_add_card(customer=newcomer, gateway="sandbox", token="tok_sandbox_success")
    paid_invoice(newcomer)
    events.events_dispatch_pending()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.REJECTED
    assert referral.rejection_reason == "same_payment_method"
    assert _balance(referrer) == 0 and _balance(newcomer) == 0


def test_a_different_card_is_fine(in_org, referrals_on, referrer, newcomer):
    payment_method_add_card(customer=referrer, gateway="sandbox", token="tok_sandbox_success")
    payment_method_add_card(
        customer=newcomer, gateway="sandbox", token="tok_sandbox_success_mastercard"
    )
    referral_apply(customer=newcomer, code=_code(referrer), source="checkout")
    paid_invoice(newcomer)
    events.events_dispatch_pending()
    assert Referral.unscoped.get(referred=newcomer).status == Referral.Status.REWARDED


def test_cap_per_referrer(in_org, org, referrals_on, referrer):
    code = _code(referrer)
    for i in range(2):
        referral_apply(customer=CustomerFactory(organization=org), code=code, source="portal")
    third = CustomerFactory(organization=org)
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=third, code=code, source="portal")
    assert err.value.code == E.REFERRAL_CAP_REACHED
    assert Referral.unscoped.filter(referrer=referrer).count() == 2


def test_a_customer_is_referred_once_and_only_before_paying(
    in_org, org, referrals_on, referrer, newcomer
):
    referral_apply(customer=newcomer, code=_code(referrer), source="portal")
    other = CustomerFactory(organization=org)
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=newcomer, code=_code(other), source="portal")
    assert err.value.code == E.REFERRAL_ALREADY_REFERRED

    veteran = CustomerFactory(organization=org)
    paid_invoice(veteran)
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=veteran, code=_code(referrer), source="portal")
    assert err.value.code == E.REFERRAL_NOT_NEW_CUSTOMER


def test_referrals_off_refuses_codes(in_org, programme, referrer, newcomer):
    with pytest.raises(ReferralError) as err:
        referral_apply(customer=newcomer, code=_code(referrer), source="portal")
    assert err.value.code == E.REFERRALS_DISABLED
