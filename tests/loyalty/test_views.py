"""Staff and portal pages of loyalty."""

from __future__ import annotations

from django.urls import reverse

from billing.models import CreditLedgerEntry
from cobro.models import AuditEntry
from customers.portal.session import SESSION_KEY
from loyalty.models import LoyaltyAccount, LoyaltyProgramme, PointsEntry, Redemption
from loyalty.services.ledger import points_adjust
from tests.factories import MembershipFactory, UserFactory


def _portal_client(client, org, customer):
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": customer.pk}
    session.save()
    return client


def test_owner_turns_the_programme_on_from_the_settings_page(owner_client, org):
    response = owner_client.post(
        reverse("loyalty:settings"),
        {
            "enabled": "on",
            "name": "Club Puntual",
            "points_per_on_time_payment": "80",
            "points_per_amount": "1",
            "amount_unit_major": "1000",
            "streak_length": "3",
            "streak_bonus_points": "100",
            "welcome_points": "20",
            "grace_days": "3",
            "expiry_months": "12",
        },
    )
    assert response.status_code == 302
    programme = LoyaltyProgramme.unscoped.get(organization=org)
    assert programme.enabled and programme.points_per_on_time_payment == 80
    assert AuditEntry.unscoped.filter(action="loyalty.programme_updated").exists()
    page = owner_client.get(reverse("loyalty:home")).content.decode()
    assert "Club Puntual" in page


def test_staff_create_tier_and_credit_reward(owner_client, org):
    owner_client.post(
        reverse("loyalty:tier_create"),
        {
            "name": "Oro",
            "threshold_points": "1000",
            "benefit": "Regalo",
            "renewal_discount_percent": "10",
        },
    )
    response = owner_client.post(
        reverse("loyalty:reward_create"),
        {
            "name": "Crédito",
            "kind": "invoice_credit",
            "points_cost": "300",
            "credit_amount": "5000",
            "active": "on",
        },
    )
    assert response.status_code == 302
    page = owner_client.get(reverse("loyalty:home")).content.decode()
    assert "Oro" in page and "Crédito" in page and "$5.000" in page


def test_credit_reward_without_amount_is_refused(owner_client, org):
    response = owner_client.post(
        reverse("loyalty:reward_create"),
        {"name": "Crédito", "kind": "invoice_credit", "points_cost": "300", "active": "on"},
    )
    assert response.status_code == 400


def test_viewer_cannot_adjust_points(client, org, customer, programme):
    viewer = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=viewer, role="viewer")
    client.force_login(viewer)
    url = reverse("loyalty:customer", kwargs={"pk": customer.pk})
    assert client.get(url).status_code == 200
    assert client.post(url, {"points": "100", "reason": "x"}).status_code == 403
    assert not PointsEntry.unscoped.exists()


def test_billing_member_adjusts_points_with_a_reason(client, org, customer, programme):
    user = UserFactory(email="cobranza@acme.test")
    MembershipFactory(organization=org, user=user, role="billing")
    client.force_login(user)
    url = reverse("loyalty:customer", kwargs={"pk": customer.pk})
    assert client.post(url, {"points": "100", "reason": ""}).status_code == 400
    assert client.post(url, {"points": "-5", "reason": "error"}).status_code == 400
    response = client.post(url, {"points": "100", "reason": "Compensación por demora"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Compensación por demora" in page and "cobranza@acme.test" in page
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 100


def test_portal_customer_sees_points_and_redeems_a_credit(
    client, org, customer, programme, credit_reward, in_org
):
    points_adjust(customer=customer, points=250, reason="bono", actor=None)
    _portal_client(client, org, customer)
    url = reverse("portal:loyalty", kwargs={"org_slug": org.slug})
    page = client.get(url).content.decode()
    assert "250" in page and "Crédito 5000" in page
    redeem = reverse("portal:loyalty_redeem", kwargs={"org_slug": org.slug, "pk": credit_reward.pk})
    assert client.post(redeem).status_code == 302
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 50
    assert CreditLedgerEntry.unscoped.get(customer=customer).amount_minor == 5_000
    # A second try has not enough points: a clear message, nothing changes.
    response = client.post(redeem, follow=True)
    assert "50" in response.content.decode()
    assert Redemption.unscoped.filter(customer=customer).count() == 1
    overview = client.get(reverse("portal:home", kwargs={"org_slug": org.slug})).content.decode()
    assert "loyalty-panel" in overview


def test_fulfilment_queue_marks_a_gift_delivered(
    owner_client, org, customer, programme, gift_reward, in_org
):
    from loyalty.services.rewards import reward_redeem

    points_adjust(customer=customer, points=100, reason="bono", actor=None)
    redemption = reward_redeem(customer=customer, reward=gift_reward)
    page = owner_client.get(reverse("loyalty:fulfilment")).content.decode()
    assert "Taza" in page and customer.name in page
    owner_client.post(reverse("loyalty:redemption_fulfil", kwargs={"pk": redemption.pk}))
    redemption.refresh_from_db()
    assert redemption.status == "fulfilled"


def test_portal_hides_redeem_once_the_per_customer_limit_is_reached(
    client, org, customer, programme, gift_reward, in_org
):
    from loyalty.services.rewards import reward_redeem

    points_adjust(customer=customer, points=500, reason="bono", actor=None)
    _portal_client(client, org, customer)
    url = reverse("portal:loyalty", kwargs={"org_slug": org.slug})
    redeem = reverse("portal:loyalty_redeem", kwargs={"org_slug": org.slug, "pk": gift_reward.pk})
    assert redeem in client.get(url).content.decode()
    reward_redeem(customer=customer, reward=gift_reward)
    page = client.get(url).content.decode()
    assert redeem not in page
    assert "Ya canjeada" in page or "Already redeemed" in page
