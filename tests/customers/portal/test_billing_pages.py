"""Invoices (list, PDF, pay now), payment methods, preferences and the staff portal link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import CollectionMethod, Invoice
from billing.payments.models import PaymentAttempt, PaymentMethod
from billing.payments.services.charging import payment_attempt_create
from billing.payments.services.methods import payment_method_add_card
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.models import AuditEntry
from customers.messaging.models import ConsentLog
from customers.models import Customer
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def url(org, name, **kwargs):
    return reverse(f"portal:{name}", kwargs={"org_slug": org.slug, **kwargs})


def open_invoice(customer, amount_minor=12_990, description="Plan mensual"):
    return invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description=description, unit_amount_minor=amount_minor)],
        collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
    )


def add_card(customer, behaviour="success"):
    return payment_method_add_card(
        customer=customer, gateway="sandbox", token=f"tok_sandbox_{behaviour}"
    )


def test_invoices_list_only_the_customers_own(client_a, org, customer, other_customer):
    mine = open_invoice(customer, description="Mi plan")
    open_invoice(other_customer, description="Plan de Bruno")
    page = client_a.get(url(org, "invoices")).content.decode()
    assert mine.number in page
    detail = client_a.get(url(org, "invoice_detail", pk=mine.pk)).content.decode()
    assert "Mi plan" in detail and "$12.990" in detail
    assert "Plan de Bruno" not in page + detail


def test_download_the_invoice_pdf(client_a, org, customer):
    invoice = open_invoice(customer)
    response = client_a.get(url(org, "invoice_pdf", pk=invoice.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert invoice.number in response["Content-Disposition"]


def test_pay_an_open_invoice_with_the_saved_card(client_a, org, customer):
    add_card(customer)
    invoice = open_invoice(customer)
    response = client_a.post(url(org, "invoice_pay", pk=invoice.pk), follow=True)
    assert "Your payment was received" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_pay_now_while_the_automatic_charge_is_in_flight_does_not_charge_twice(
    client_a, org, customer
):
    add_card(customer)
    invoice = open_invoice(customer)
    payment_attempt_create(invoice=invoice, trigger="automatic")  # the billing run's charge
    response = client_a.post(url(org, "invoice_pay", pk=invoice.pk), follow=True)
    assert "already in progress" in response.content.decode()
    assert PaymentAttempt.unscoped.filter(invoice=invoice).count() == 1


def test_a_declined_card_says_so(client_a, org, customer):
    add_card(customer, "insufficient_funds")
    invoice = open_invoice(customer)
    response = client_a.post(url(org, "invoice_pay", pk=invoice.pk), follow=True)
    assert "declined" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_pay_without_a_card_asks_for_one_and_records_no_failure(client_a, org, customer):
    invoice = open_invoice(customer)
    response = client_a.post(url(org, "invoice_pay", pk=invoice.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(url(org, "payment_method_add"))
    assert not PaymentAttempt.unscoped.filter(invoice=invoice).exists()


def test_the_last_card_of_an_active_subscription_cannot_be_removed(
    client_a, org, customer, subscription
):
    card = add_card(customer)
    response = client_a.post(url(org, "payment_method_remove", pk=card.pk), follow=True)
    assert "Add another card before removing" in response.content.decode()
    card.refresh_from_db()
    assert card.removed_at is None and card.is_default


def test_removing_the_default_card_promotes_the_replacement(client_a, org, customer, subscription):
    old = add_card(customer)
    new = add_card(customer, "success_mastercard")  # now the default
    client_a.post(url(org, "payment_method_default", pk=old.pk))
    old.refresh_from_db()
    assert old.is_default
    client_a.post(url(org, "payment_method_remove", pk=old.pk))
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.removed_at is not None
    assert new.is_default
    page = client_a.get(url(org, "payment_methods")).content.decode()
    assert "•••• 4444" in page and "•••• 4242" not in page


def test_preferences_record_consent_and_language(client_a, org, customer):
    page = client_a.get(url(org, "preferences")).content.decode()
    assert "News and promotions" in page
    response = client_a.post(
        url(org, "preferences"),
        {"topics": ["reminders", "surveys", "news_promotions"], "language": "en"},
    )
    assert response.status_code == 302
    log = ConsentLog.unscoped.get(customer=customer)
    assert (log.topic, log.opted_in, log.source) == ("news_promotions", True, "portal")
    assert Customer.unscoped.get(pk=customer.pk).locale == "en"
    # Billing messages cannot be turned off: leaving everything unchecked keeps them.
    client_a.post(url(org, "preferences"), {"language": "en"})
    assert not ConsentLog.unscoped.filter(topic="billing").exists()
    assert set(ConsentLog.unscoped.filter(opted_in=False).values_list("topic", flat=True)) == {
        "reminders",
        "surveys",
        "news_promotions",
    }


def test_staff_send_a_portal_link(owner_client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url(org, "staff_send_link", pk=customer.pk))
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@acme.test"]
    assert "/p/acme/login/link/?token=" in mail.outbox[0].body
    assert AuditEntry.unscoped.filter(organization=org, action="portal.link_sent").exists()


def test_staff_cannot_send_a_link_for_another_organizations_customer(owner_client, org, other_org):
    stranger = CustomerFactory(organization=other_org, email="x@globex.test")
    response = owner_client.post(url(org, "staff_send_link", pk=stranger.pk))
    assert response.status_code == 404
    response = owner_client.post(url(other_org, "staff_send_link", pk=stranger.pk))
    assert response.status_code == 404
    assert mail.outbox == []


def test_payment_methods_of_other_customers_are_invisible(client_a, org, other_customer):
    add_card(other_customer)
    page = client_a.get(url(org, "payment_methods")).content.decode()
    assert "4242" not in page
    assert PaymentMethod.unscoped.count() == 1
    assert Invoice.unscoped.count() == 0
