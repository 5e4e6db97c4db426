"""Subscription self-service: plan change with a preview that equals the confirmed change,
pause within the organization's limits, resume, cancel with a reason in at most three
clicks (the retention offer never blocks it), and undo a scheduled cancellation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from billing.models import Invoice, InvoiceLine, Subscription
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.tenancy.context import use_organization
from customers.portal.models import CancellationFeedback, PortalSettings
from tests.billing.factories import PriceFactory

pytestmark = pytest.mark.django_db


def url(org, name, **kwargs):
    return reverse(f"portal:{name}", kwargs={"org_slug": org.slug, **kwargs})


@pytest.fixture
def aged_subscription(customer, plans):
    """Basic plan started 10 days ago: a change today is prorated."""
    with use_organization(customer.organization):
        return subscription_create(
            customer=customer, price=plans["basic"], now=clock.now() - timedelta(days=10)
        )


def test_overview_shows_next_charge_and_open_invoices(client_a, org, subscription):
    page = client_a.get(url(org, "home")).content.decode()
    assert "Básico" in page
    assert "$10.000" in page  # next charge amount, in the organization's locale


def test_change_plan_preview_equals_the_confirmed_change(client_a, org, aged_subscription, plans):
    sub = aged_subscription
    preview = client_a.post(
        url(org, "subscription_change", pk=sub.pk),
        {"step": "preview", "price": plans["pro"].pk, "quantity": 1},
    )
    assert preview.status_code == 200
    document = preview.context["document"]
    assert document is not None and document.amount_due_minor > 0
    assert 0 < document.amount_due_minor < 20_000  # prorated, not a full period
    body = preview.content.decode()
    shown = re.search(r'data-testid="amount-due">([^<]+)<', body).group(1)

    confirmed = client_a.post(
        url(org, "subscription_change", pk=sub.pk),
        {"step": "confirm", "token": preview.context["token"]},
    )
    assert confirmed.status_code == 302
    sub.refresh_from_db()
    assert sub.price_id == plans["pro"].pk
    invoice = Invoice.unscoped.filter(subscription=sub, billing_reason="subscription_update").get()
    assert invoice.amount_due_minor == document.amount_due_minor
    assert invoice.total_minor == document.total_minor
    lines = InvoiceLine.unscoped.filter(invoice=invoice).order_by("position", "pk")
    assert [line.amount_minor for line in lines] == [line.amount_minor for line in document.lines]
    assert confirmed["Location"] == url(org, "invoice_detail", pk=invoice.pk)
    assert shown in client_a.get(confirmed["Location"]).content.decode()


def test_confirming_twice_changes_once(client_a, org, aged_subscription, plans):
    sub = aged_subscription
    preview = client_a.post(
        url(org, "subscription_change", pk=sub.pk),
        {"step": "preview", "price": plans["pro"].pk, "quantity": 1},
    )
    data = {"step": "confirm", "token": preview.context["token"]}
    client_a.post(url(org, "subscription_change", pk=sub.pk), data)
    client_a.post(url(org, "subscription_change", pk=sub.pk), data, follow=True)
    changes = Invoice.unscoped.filter(subscription=sub, billing_reason="subscription_update")
    assert changes.count() == 1


def test_a_plan_in_another_currency_is_refused(client_a, org, subscription, plans):
    response = client_a.post(
        url(org, "subscription_change", pk=subscription.pk),
        {"step": "preview", "price": plans["usd"].pk, "quantity": 1},
    )
    assert response.status_code == 400
    assert "Currencies do not match" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.price_id == plans["basic"].pk


def test_a_plan_of_another_organization_is_404(client_a, org, other_org, subscription):
    foreign = PriceFactory(organization=other_org, amount_minor=1)
    response = client_a.post(
        url(org, "subscription_change", pk=subscription.pk),
        {"step": "preview", "price": foreign.pk, "quantity": 1},
    )
    assert response.status_code == 404


def test_a_tampered_confirmation_is_refused(client_a, org, subscription, plans):
    response = client_a.post(
        url(org, "subscription_change", pk=subscription.pk),
        {"step": "confirm", "token": "forged"},
        follow=True,
    )
    assert "expired" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.price_id == plans["basic"].pk


def _local_today(org):
    return clock.local_now(org).date()


def test_pause_longer_than_allowed_is_refused(client_a, org, subscription):
    PortalSettings.unscoped.create(organization=org, max_pause_days=30)
    resume_on = _local_today(org) + timedelta(days=45)
    response = client_a.post(
        url(org, "subscription_pause", pk=subscription.pk), {"resume_on": resume_on.isoformat()}
    )
    assert response.status_code == 400
    assert "at most 30 days" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_pause_and_resume(client_a, org, subscription):
    resume_on = _local_today(org) + timedelta(days=20)
    response = client_a.post(
        url(org, "subscription_pause", pk=subscription.pk), {"resume_on": resume_on.isoformat()}
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    assert clock.local_now(org).tzinfo is not None
    assert subscription.resume_at.astimezone(clock.local_now(org).tzinfo).date() == resume_on

    client_a.post(url(org, "subscription_resume", pk=subscription.pk))
    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_pauses_per_year_are_limited(client_a, org, subscription):
    PortalSettings.unscoped.create(organization=org, pauses_per_year=1)
    resume_on = (_local_today(org) + timedelta(days=5)).isoformat()
    client_a.post(url(org, "subscription_pause", pk=subscription.pk), {"resume_on": resume_on})
    client_a.post(url(org, "subscription_resume", pk=subscription.pk))
    response = client_a.post(
        url(org, "subscription_pause", pk=subscription.pk), {"resume_on": resume_on}
    )
    assert response.status_code == 400
    assert "at most 1 times a year" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_cancel_with_a_reason_in_three_clicks_despite_the_offer(client_a, org, subscription):
    PortalSettings.unscoped.create(
        organization=org, retention_offer_text="Quédate: 50% los próximos 2 meses"
    )
    # Click 1: "Cancel subscription" on the subscription page.
    detail = client_a.get(url(org, "subscription_detail", pk=subscription.pk)).content.decode()
    cancel_url = url(org, "subscription_cancel", pk=subscription.pk)
    assert f'href="{cancel_url}"' in detail
    page = client_a.get(cancel_url).content.decode()
    assert "Quédate: 50%" in page  # the offer is shown...
    # Click 2: pick a reason; click 3: confirm (timing defaults to the period end).
    response = client_a.post(cancel_url, {"reason": "too_expensive", "when": "period_end"})
    assert response.status_code == 302  # ...and did not stand in the way
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end and subscription.status == "active"
    feedback = CancellationFeedback.unscoped.get(subscription=subscription)
    assert feedback.reason == "too_expensive" and feedback.retention_offer_shown
    assert "ends on" in client_a.get(response["Location"]).content.decode()


def test_cancel_now_without_a_reason(client_a, org, subscription):
    response = client_a.post(url(org, "subscription_cancel", pk=subscription.pk), {"when": "now"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert CancellationFeedback.unscoped.get(subscription=subscription).reason == ""


def test_cancel_timing_the_organization_does_not_offer_is_refused(client_a, org, subscription):
    PortalSettings.unscoped.create(organization=org, cancel_mode="period_end")
    response = client_a.post(url(org, "subscription_cancel", pk=subscription.pk), {"when": "now"})
    assert response.status_code == 400
    subscription.refresh_from_db()
    assert subscription.status == "active" and not subscription.cancel_at_period_end
    assert not CancellationFeedback.unscoped.exists()


def test_undo_a_scheduled_cancellation(client_a, org, subscription):
    client_a.post(url(org, "subscription_cancel", pk=subscription.pk), {"when": "period_end"})
    response = client_a.post(url(org, "subscription_undo_cancel", pk=subscription.pk), follow=True)
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end
    assert "will continue" in response.content.decode()
    assert Subscription.unscoped.get(pk=subscription.pk).status == "active"


def test_accepting_the_retention_offer_discounts_the_next_renewal_and_cancels_nothing(
    client_a, org, subscription
):
    from billing.services.catalog import coupon_create
    from billing.services.subscriptions import subscription_renew

    with use_organization(org):
        coupon = coupon_create(
            organization=org,
            code="QUEDATE50",
            name="Quédate",
            percent_off="50",
            duration="repeating",
            duration_periods=2,
            max_redemptions=1,
        )
    PortalSettings.unscoped.create(
        organization=org,
        retention_offer_text="Quédate: 50% los próximos 2 meses",
        retention_coupon_code="quedate50",
    )
    page = client_a.get(url(org, "subscription_cancel", pk=subscription.pk)).content.decode()
    offer_url = url(org, "subscription_retention_offer", pk=subscription.pk)
    assert f'action="{offer_url}"' in page
    response = client_a.post(offer_url, follow=True)
    assert "Thank you for staying" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.coupon_id == coupon.pk and subscription.status == "active"
    assert not subscription.cancel_at_period_end
    assert not CancellationFeedback.unscoped.exists()
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1

    # The same offer twice changes nothing (and the coupon is used up anyway).
    again = client_a.post(offer_url, follow=True).content.decode()
    assert "Thank you for staying" not in again
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1

    # The next renewal carries the discount as a line: 10.000 at 50% off.
    with use_organization(org):
        invoice = subscription_renew(subscription=subscription, now=subscription.next_billing_at)
    assert invoice is not None
    assert invoice.discount_minor == 5_000
    assert InvoiceLine.unscoped.filter(invoice=invoice, kind="discount").exists()


def test_an_offer_whose_coupon_is_gone_changes_nothing(client_a, org, subscription):
    PortalSettings.unscoped.create(
        organization=org, retention_offer_text="Quédate", retention_coupon_code="NOEXISTE"
    )
    response = client_a.post(
        url(org, "subscription_retention_offer", pk=subscription.pk), follow=True
    )
    assert "no longer available" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.coupon_id is None and subscription.status == "active"
