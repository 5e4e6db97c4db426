"""Staff pages of payments."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import InvoiceStatus
from billing.payments.models import (
    AttemptStatus,
    BankStatementLine,
    DunningCase,
    DunningPolicy,
    GatewayAccount,
    PaymentAttempt,
    Refund,
)
from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.manual import bank_transfer_reference_for
from tests.billing.payments.conftest import card_customer, open_invoice
from tests.billing.payments.test_manual import transfer_invoice
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English here (test_i18n checks the Spanish ones)."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def paid_attempt(org):
    return invoice_pay_now(invoice=open_invoice(card_customer(org, name="Ana Rojas"), 10_000))


def client_as(client, org, role):
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    client.force_login(user)
    return client


def test_payments_list_shows_payments_and_recovered_revenue(owner_client, org, paid_attempt):
    invoice = open_invoice(card_customer(org, "insufficient_funds", name="Beto Soto"), 7_000)
    failed = invoice_pay_now(invoice=invoice)
    assert failed.status == AttemptStatus.FAILED
    DunningCase.unscoped.filter(invoice=invoice).update(state="recovered", recovered_minor=7_000)
    response = owner_client.get(reverse("payments:list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ana Rojas" in body and "Beto Soto" in body
    assert "$7.000" in body  # recovered in the last 30 days
    filtered = owner_client.get(reverse("payments:list"), {"status": "failed"}).content.decode()
    assert "Beto Soto" in filtered and "Ana Rojas" not in filtered


def test_payments_nav_entry_and_empty_state(owner_client):
    body = owner_client.get(reverse("payments:list")).content.decode()
    assert reverse("payments:dunning_settings") in body
    assert "No payments yet" in body


def test_detail_shows_the_attempt_timeline(owner_client, paid_attempt):
    body = owner_client.get(reverse("payments:detail", args=[paid_attempt.pk])).content.decode()
    assert paid_attempt.gateway_reference in body
    assert "Attempt 1 started" in body
    assert reverse("payments:refund", args=[paid_attempt.pk]) in body


def test_refund_asks_for_confirmation_before_refunding(owner_client, paid_attempt):
    url = reverse("payments:refund", args=[paid_attempt.pk])
    assert owner_client.get(url).status_code == 200
    confirm = owner_client.post(url, {"amount": "4000", "reason": "broken"})
    assert "Yes, refund" in confirm.content.decode()
    assert not Refund.unscoped.exists()
    done = owner_client.post(url, {"amount": "4000", "reason": "broken", "confirm": "1"})
    assert done.status_code == 302
    paid_attempt.refresh_from_db()
    assert paid_attempt.status == AttemptStatus.PARTIALLY_REFUNDED
    assert paid_attempt.refunded_minor == 4_000


def test_refund_larger_than_the_payment_is_refused_with_no_effect(owner_client, paid_attempt):
    url = reverse("payments:refund", args=[paid_attempt.pk])
    response = owner_client.post(url, {"amount": "20000", "confirm": "1"})
    assert response.status_code == 200
    assert "larger than what is left" in response.content.decode()
    paid_attempt.refresh_from_db()
    assert paid_attempt.status == AttemptStatus.SUCCEEDED


def test_viewer_cannot_refund(client, org, paid_attempt):
    client_as(client, org, "viewer")
    url = reverse("payments:refund", args=[paid_attempt.pk])
    assert client.post(url, {"amount": "1", "confirm": "1"}).status_code == 403
    assert not Refund.unscoped.exists()


def test_mark_paid_partially_then_fully(owner_client, org):
    invoice = transfer_invoice(org, 10_000)
    url = reverse("payments:mark_paid", args=[invoice.pk])
    assert bank_transfer_reference_for(invoice=invoice) in owner_client.get(url).content.decode()
    owner_client.post(url, {"amount": "3000", "method": "cash", "reference": "R-1"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    owner_client.post(url, {"amount": "7000", "method": "bank_transfer"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert PaymentAttempt.unscoped.filter(invoice=invoice, gateway="manual").count() == 2


def test_statement_import_and_review_pages(owner_client, org):
    invoice = transfer_invoice(org, 12_500)
    ref = bank_transfer_reference_for(invoice=invoice)
    csv = f"date,description,amount,transaction_id\n2026-03-05,Pago {ref},10000,TX2\n"
    response = owner_client.post(
        reverse("payments:statement_import"),
        {"currency": "CLP", "file": SimpleUploadedFile("cartola.csv", csv.encode())},
    )
    assert response.status_code == 302
    review = owner_client.get(reverse("payments:statement_review")).content.decode()
    assert "TX2" in review and "amount differs" in review
    line = BankStatementLine.unscoped.get()
    owner_client.post(
        reverse("payments:statement_line_apply", args=[line.pk]),
        {f"line{line.pk}-invoice_number": invoice.number},
    )
    line.refresh_from_db()
    assert line.status == "resolved"
    assert (
        "Nothing to review"
        in owner_client.get(reverse("payments:statement_review")).content.decode()
    )


def test_dunning_settings_save_and_need_manage(client, owner_client, org):
    url = reverse("payments:dunning_settings")
    data = {"retry_days": "2, 5, 9", "grace_period_days": "3", "final_action": "mark_unpaid"}
    assert owner_client.post(url, data).status_code == 302
    policy = DunningPolicy.unscoped.get(organization=org)
    assert policy.retry_days == [2, 5, 9] and policy.final_action == "mark_unpaid"
    bad = owner_client.post(url, {**data, "retry_days": "9, 5"})
    assert "increasing" in bad.content.decode()
    client_as(client, org, "billing")
    assert client.post(url, data).status_code == 403


def test_gateway_secrets_are_stored_encrypted_and_never_shown_back(owner_client, org):
    url = reverse("payments:gateway_settings")
    secret = "sk_test_51SuperSecretKeyValue9876"
    owner_client.post(
        url,
        {
            "gateway": "stripe",
            "stripe-secret_key": secret,
            "stripe-publishable_key": "pk_test_visible",
            "stripe-webhook_secret": "whsec_abcdef123456",
            "stripe-enabled": "on",
        },
    )
    account = GatewayAccount.unscoped.get(organization=org, gateway="stripe")
    assert json.loads(account.credentials)["secret_key"] == secret
    page = owner_client.get(url).content.decode()
    assert secret not in page and "••••9876" in page and "pk_test_visible" in page
    assert "whsec_abcdef123456" not in page
    # Saving again with the secret blank keeps it.
    owner_client.post(
        url,
        {"gateway": "stripe", "stripe-publishable_key": "pk_test_new", "stripe-enabled": "on"},
    )
    account.refresh_from_db()
    assert json.loads(account.credentials) == {
        "secret_key": secret,
        "publishable_key": "pk_test_new",
    }
    assert account.webhook_secret == "whsec_abcdef123456"


def test_payments_pages_are_in_spanish_by_default(owner, paid_attempt):
    from django.test import Client

    spanish = Client(HTTP_ACCEPT_LANGUAGE="es-419")
    spanish.force_login(owner)
    body = spanish.get(reverse("payments:list")).content.decode()
    assert "Ingresos recuperados" in body and "Importar cartola bancaria" in body
    detail = spanish.get(reverse("payments:detail", args=[paid_attempt.pk])).content.decode()
    assert "Historial" in detail and "exitoso" in detail
