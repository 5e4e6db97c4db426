"""Loyalty in a real browser: a customer pays on time three periods (the sandbox test clock
moves time), earns points and a tier, redeems a discount in the portal and the next renewal
invoice shows it; a friend signs up with their referral code and both are rewarded after the
friend's first payment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.payments.services.methods import payment_method_add_card
from billing.services.subscriptions import subscription_create
from cobro import events
from cobro.tenancy.context import use_organization
from customers.models import Customer
from customers.portal.session import SESSION_KEY
from loyalty.models import LoyaltyAccount, LoyaltyProgramme, LoyaltyTier, Referral, Reward
from loyalty.services.referrals import referral_code_for
from tests.billing.factories import CustomerFactory, PriceFactory, ProductFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 12:00 in Santiago


def _world():
    org = OrganizationFactory(
        slug="cafe-fiel", display_name="Café Fiel", is_sandbox=True, test_clock_at=START
    )
    LoyaltyProgramme.unscoped.create(
        organization=org,
        enabled=True,
        name="Club Café Fiel",
        points_per_on_time_payment=100,
        streak_length=3,
        streak_bonus_points=150,
        # On time = paid within 3 days of the due date (the clock jumps a day past it).
        on_time_rule="grace",
        grace_days=3,
        referrals_enabled=True,
        referrer_points=500,
        referred_points=200,
        referral_cap=5,
    )
    LoyaltyTier.unscoped.create(
        organization=org,
        name="Oro",
        threshold_points=400,
        benefit="5% en cada renovación y acceso anticipado",
        renewal_discount_percent=Decimal("5"),
        early_access=True,
    )
    Reward.unscoped.create(
        organization=org,
        name="15% en tu próxima renovación",
        kind=Reward.Kind.RENEWAL_DISCOUNT,
        percent_off=Decimal("15"),
        points_cost=300,
        created_at=START,
    )
    price = PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Café mensual"),
        amount_minor=20_000,
    )
    ana = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.cl")
    payment_method_add_card(customer=ana, gateway="sandbox", token="tok_sandbox_success")
    with use_organization(org):
        sub = subscription_create(customer=ana, price=price, now=START)
    owner = UserFactory(email="owner@cafe-fiel.test")
    MembershipFactory(organization=org, user=owner, role="owner")
    return org, ana, sub, price, owner


def _staff_cookie(live_server, user) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def _portal_cookie(live_server, org, customer) -> dict:
    client = Client()
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": customer.pk}
    session.save()
    return {"name": "sessionid", "value": session.session_key, "url": live_server.url}


def _drain() -> None:
    """What the worker does: dispatch outbox events until none is left (charges, points)."""
    for _ in range(10):
        if not events.events_dispatch_pending():
            return


def _advance(staff, base, org, to: datetime) -> None:
    staff.goto(f"{base}/billing/test-clock/")
    local = to.astimezone(ZoneInfo(org.time_zone))
    staff.locator("#id_to").fill(local.strftime("%Y-%m-%dT%H:%M"))
    staff.locator("main form:not(.inline-form) button[type=submit]").last.click()
    staff.wait_for_url("**/billing/runs/*/")  # the background advance's progress page
    _drain()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_loyalty_journey(live_server, browser, screenshot):
    org, ana, sub, price, owner = _world()
    base = live_server.url
    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-419")
    portal_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-419")
    for ctx in (staff_ctx, portal_ctx):
        ctx.set_default_timeout(20_000)
    staff_ctx.add_cookies([_staff_cookie(live_server, owner)])
    portal_ctx.add_cookies([_portal_cookie(live_server, org, ana)])
    staff, portal = staff_ctx.new_page(), portal_ctx.new_page()
    portal.on("dialog", lambda dialog: dialog.accept())
    staff.on("dialog", lambda dialog: dialog.accept())
    try:
        _drain()
        # 1. Three periods paid on time: the first at sign-up, two renewals by the clock.
        _advance(staff, base, org, START + timedelta(days=32))
        _advance(staff, base, org, START + timedelta(days=62))
        paid = Invoice.unscoped.filter(subscription=sub, status=InvoiceStatus.PAID)
        assert paid.count() == 3
        account = LoyaltyAccount.unscoped.get(customer=ana)
        assert account.balance == 3 * 100 + 150  # on time x3 + the streak bonus

        portal.goto(f"{base}/p/{org.slug}/points/")
        assert portal.get_by_test_id("points-balance").inner_text() == "450"
        assert portal.get_by_test_id("tier").inner_text() == "Oro"
        assert portal.get_by_test_id("early-access").is_visible()
        screenshot(portal, "01-portal-points-and-tier")

        # 2. Redeem the discount in the portal (a confirmation first).
        portal.get_by_role("button", name="Canjear 15% en tu próxima renovación").click()
        portal.wait_for_url("**/points/")
        assert portal.get_by_text(
            "Tu próxima factura de renovación mostrará el descuento"
        ).is_visible()
        assert portal.get_by_test_id("points-balance").inner_text() == "150"
        assert portal.get_by_test_id("redemption-status").first.inner_text() == (
            "en tu próxima renovación"
        )
        screenshot(portal, "02-portal-redeemed")

        # 3. The next renewal invoice shows the tier benefit and the redeemed discount.
        _advance(staff, base, org, START + timedelta(days=93))
        renewal = Invoice.unscoped.filter(subscription=sub).order_by("-period_start").first()
        assert renewal is not None and renewal.status == InvoiceStatus.PAID
        discounts = dict(
            InvoiceLine.unscoped.filter(invoice=renewal, kind="discount").values_list(
                "description", "amount_minor"
            )
        )
        assert discounts == {
            "Beneficio del nivel Oro: 5% de descuento": -1_000,
            "Recompensa de fidelización: 15% en tu próxima renovación (15% de descuento)": -2_850,
        }
        assert renewal.total_minor == 20_000 - 1_000 - 2_850
        portal.goto(f"{base}/p/{org.slug}/invoices/{renewal.pk}/")
        main = portal.locator("main").inner_text()
        assert "Beneficio del nivel Oro: 5% de descuento" in main
        assert "15% en tu próxima renovación (15% de descuento)" in main
        screenshot(portal, "03-portal-invoice-with-discount")
        staff.goto(f"{base}/billing/invoices/{renewal.pk}/")
        assert "15% en tu próxima renovación" in staff.locator("main").inner_text()
        screenshot(staff, "04-staff-invoice-with-discount")

        # 4. Referral: Ana shares her code; staff create Bruno with it.
        code = referral_code_for(customer=ana).code
        portal.goto(f"{base}/p/{org.slug}/points/")
        assert portal.get_by_test_id("referral-code").inner_text() == code
        portal.get_by_role("heading", name="Recomienda a un amigo").scroll_into_view_if_needed()
        screenshot(portal, "05-portal-referral-code")
        staff.goto(f"{base}/customers/new/")
        staff.locator("#id_name").fill("Bruno Díaz")
        staff.locator("#id_email").fill("bruno@example.cl")
        staff.locator("#id_referral_code").fill(code.lower())
        screenshot(staff, "06-new-customer-with-referral-code")
        staff.locator("main form button[type=submit]").first.click()
        staff.wait_for_url(re.compile(r".*/customers/\d+/$"))
        bruno = Customer.unscoped.get(organization=org, email="bruno@example.cl")
        referral = Referral.unscoped.get(referred=bruno)
        assert referral.status == Referral.Status.PENDING

        # Pending until Bruno pays: then both sides are rewarded, once.
        payment_method_add_card(
            customer=bruno, gateway="sandbox", token="tok_sandbox_success_mastercard"
        )
        with use_organization(org):
            subscription_create(customer=bruno, price=price, now=START + timedelta(days=93))
        _drain()
        referral.refresh_from_db()
        assert referral.status == Referral.Status.REWARDED
        assert LoyaltyAccount.unscoped.get(customer=ana).balance == 150 + 100 + 500
        assert LoyaltyAccount.unscoped.get(customer=bruno).balance == 100 + 200

        portal.goto(f"{base}/p/{org.slug}/points/")
        referrals = portal.get_by_test_id("referrals").inner_text()
        assert "Bruno Díaz" in referrals and "Premiado" in referrals and "+500" in referrals
        portal.get_by_test_id("referrals").scroll_into_view_if_needed()
        screenshot(portal, "07-portal-referral-rewarded")
        staff.goto(f"{base}/loyalty/referrals/")
        table = staff.get_by_test_id("referrals").inner_text()
        assert "Ana Pérez" in table and "Bruno Díaz" in table and "500 / 200" in table
        screenshot(staff, "08-staff-referrals")
        staff.goto(f"{base}/loyalty/customers/{ana.pk}/")
        assert staff.get_by_test_id("early-access").is_visible()
        screenshot(staff, "09-staff-customer-loyalty")
    finally:
        staff_ctx.close()
        portal_ctx.close()
