"""Metrics of the staff home, checked against hand-computed figures.

Seeded history (organization Acme, CLP, America/Santiago; period "3m" seen on 2025-06-15 is
April, May and June 2025, starting 2025-04-01 00:00 local = 03:00 UTC):

before the window
  2025-03-10  A subscribes to a yearly price of 120.000 x1    -> MRR 10.000 (new, before)
  2025-03-10  B subscribes to a 6-monthly price of 60.000 x1  -> MRR 10.000 (new, before)
                                                      MRR at start = 20.000
in the window
  2025-04-20  A goes to quantity 3                    expansion   +20.000
  2025-05-10  B cancels now                           churn       -10.000
  2025-05-12  D subscribes monthly 25.000             new         +25.000
  2025-05-20  A goes to quantity 2                    contraction -10.000
  2025-06-01  D pauses                                churn       -25.000
  2025-06-10  D resumes                               reactivation+25.000
  2025-06-12  C subscribes weekly 1.000               new          +4.333,33 (1000*52/12)
MRR now = 20.000 (A) + 25.000 (D) + 4.333,33 (C) = 49.333,33 -> 49.333
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from django.urls import reverse

from billing import metrics
from billing.models import Invoice, Subscription
from billing.payments.models import PaymentAttempt
from billing.payments.services.charging import payment_attempt_create, payment_attempt_execute
from billing.payments.services.methods import payment_method_add_card
from billing.services.invoices import invoice_mark_paid
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_pause,
    subscription_resume,
)
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory, subscription_factory

NOW = datetime(2025, 6, 15, 15, 0, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2025, month, day, 15, 0, tzinfo=UTC)


def _subscribe(customer, price, when, quantity=1):
    with clock.frozen(when):
        return subscription_factory(customer=customer, price=price, quantity=quantity, now=when)


@pytest.fixture
def history(org):
    yearly = PriceFactory(organization=org, amount_minor=120_000, interval="year")
    semester = PriceFactory(organization=org, amount_minor=60_000, interval_count=6)
    monthly = PriceFactory(organization=org, amount_minor=25_000)
    weekly = PriceFactory(organization=org, amount_minor=1_000, interval="week")
    a, b, c, d = (CustomerFactory(organization=org, name=n) for n in "ABCD")
    with use_organization(org):
        sub_a = _subscribe(a, yearly, at(3, 10))
        sub_b = _subscribe(b, semester, at(3, 10))
        with clock.frozen(at(4, 20)):
            subscription_change(subscription=sub_a, quantity=3, now=at(4, 20))
        with clock.frozen(at(5, 10)):
            subscription_cancel(subscription=sub_b, now=at(5, 10))
        sub_d = _subscribe(d, monthly, at(5, 12))
        with clock.frozen(at(5, 20)):
            subscription_change(subscription=sub_a, quantity=2, now=at(5, 20))
        with clock.frozen(at(6, 1)):
            subscription_pause(subscription=sub_d, now=at(6, 1))
        with clock.frozen(at(6, 10)):
            subscription_resume(subscription=Subscription.objects.get(pk=sub_d.pk), now=at(6, 10))
        _subscribe(c, weekly, at(6, 12))
    return {"a": sub_a, "b": sub_b, "d": sub_d}


def _home(org):
    with use_organization(org):
        return metrics.metrics_for_home(organization=org, period="3m", now=NOW)


def test_mrr_is_normalized_to_a_month_and_rounded_once(org, history):
    m = _home(org)
    assert m.mrr_minor == 49_333
    assert m.arr_minor == 592_000  # 12 * 49.333,33... = 592.000 exactly
    with use_organization(org):
        assert metrics.mrr_now(organization=org) == Fraction(20_000 + 25_000) + Fraction(
            1000 * 52, 12
        )
    assert m.active_subscriptions == 3
    assert m.active_customers == 3
    assert m.arpu_minor == 16_444  # 49.333,33 / 3 = 16.444,44


def test_movements_are_classified_and_bucketed_by_month(org, history):
    m = _home(org)
    assert m.movement_totals == {
        "new": 29_333,
        "expansion": 20_000,
        "reactivation": 25_000,
        "contraction": -10_000,
        "churn": -35_000,
    }
    april, may, june = m.months
    assert (april.month.month, may.month.month, june.month.month) == (4, 5, 6)
    assert (april.expansion, april.new, april.churn) == (20_000, 0, 0)
    assert (may.new, may.churn, may.contraction) == (25_000, -10_000, -10_000)
    assert (june.churn, june.reactivation, june.new) == (-25_000, 25_000, 4_333)
    # The MRR line: 20.000 at the start plus the movements, month by month.
    assert [april.mrr_end, may.mrr_end, june.mrr_end] == [40_000, 45_000, 49_333]
    # The event history telescopes to the live subscriptions' MRR.
    assert m.months[-1].mrr_end == m.mrr_minor


def test_churn_rates_compare_with_the_start_of_the_period(org, history):
    m = _home(org)
    # A and B had MRR on April 1st; B left, A stayed.
    assert (m.customers_at_start, m.churned_customers) == (2, 1)
    assert m.customer_churn_rate == Fraction(1, 2)
    # (churn 35.000 + contraction 10.000) / MRR at start 20.000
    assert m.revenue_churn_rate == Fraction(45_000, 20_000)


def test_overdue_invoices_match_the_open_invoices_past_due(org, history):
    with use_organization(org):
        open_past_due = Invoice.objects.filter(status="open", due_at__lt=NOW)
        expected = sum(i.amount_due_minor for i in open_past_due)
        count = open_past_due.count()
        # Pay one of them: it leaves the overdue figure.
        paid = open_past_due.order_by("pk").first()
        paid_amount = paid.amount_due_minor
        with clock.frozen(NOW):
            invoice_mark_paid(invoice=paid, now=NOW)
    m = _home(org)
    assert count > 1
    assert m.overdue_count == count - 1
    assert m.overdue_minor == expected - paid_amount


@pytest.fixture
def payments_history(org, history):
    """On top of ``history``: C pays its first invoice by card at once (1.000, 2025-06-13);
    D's card declines the first charge of its 25.000 invoice (2025-06-13), D saves a working
    card and the second attempt succeeds (2025-06-14): recovered by dunning. Card success rate
    so far: 2 of 3."""
    with use_organization(org):
        inv_c = Invoice.objects.get(customer__name="C")
        inv_d = Invoice.objects.get(customer__name="D", billing_reason="subscription_create")
        with clock.frozen(at(6, 13)):
            payment_method_add_card(
                customer=inv_c.customer, gateway="sandbox", token="tok_sandbox_success"
            )
            payment_method_add_card(
                customer=inv_d.customer, gateway="sandbox", token="tok_sandbox_generic_decline"
            )
            for inv in (inv_c, inv_d):
                attempt = payment_attempt_create(invoice=inv, trigger="automatic", now=at(6, 13))
                payment_attempt_execute(attempt_id=attempt.pk)
        with clock.frozen(at(6, 14)):
            payment_method_add_card(
                customer=inv_d.customer, gateway="sandbox", token="tok_sandbox_success"
            )
            # Saving a method retries the dunning case's invoice (attempt 2).
            retry = PaymentAttempt.objects.get(invoice=inv_d, status="pending")
            payment_attempt_execute(attempt_id=retry.pk)
    return {"c": inv_c, "d": inv_d}


def test_failed_and_recovered_payments_match_the_attempts(org, payments_history):
    with use_organization(org):
        statuses = list(
            PaymentAttempt.objects.order_by("pk").values_list("status", "attempt_number")
        )
        assert statuses == [("succeeded", 1), ("failed", 1), ("succeeded", 2)]
        assert Invoice.objects.get(pk=payments_history["d"].pk).status == "paid"
    m = _home(org)
    assert (m.failed_payments_count, m.failed_payments_minor) == (1, 25_000)
    assert (m.recovered_count, m.recovered_minor) == (1, 25_000)


def test_forecast_weights_the_schedule_by_the_card_success_rate(org, payments_history):
    m = _home(org)
    # C weekly 1.000 from 06-19; D monthly 25.000 from 06-12 (a renewal the run has yet to
    # pick up). 30 days: C x4 + D x2 = 54.000; 60 days: C x9 + D x3 = 84.000;
    # 90 days: C x13 + D x4 = 113.000. Both pay by card, which succeeded 2 times of 3.
    assert [(f.days, f.scheduled_minor, f.expected_minor) for f in m.forecasts] == [
        (30, 54_000, 36_000),
        (60, 84_000, 56_000),
        (90, 113_000, 75_333),
    ]
    # Collected: the two invoices paid on 06-13 (1.000) and 06-14 (25.000).
    assert [f.collected_past_minor for f in m.forecasts] == [26_000, 26_000, 26_000]


def test_home_page_shows_the_hand_computed_figures(org, owner_client, payments_history):
    with clock.frozen(NOW):
        response = owner_client.get(reverse("dashboard:home"), {"period": "3m"})
    assert response.status_code == 200
    html = response.content.decode()

    def card(name):
        match = re.search(rf'data-metric="{name}".*?class="stat">([^<]*)<', html, re.S)
        assert match, name
        return match.group(1).strip()

    assert card("mrr") == "$49.333"
    assert card("arr") == "$592.000"
    assert card("subscribers") == "3"
    assert card("arpu") == "$16.444"
    assert card("failed") == "$25.000"
    assert card("recovered") == "$25.000"
    assert card("customer-churn").startswith("50")
    churn = re.search(r'data-movement="churn">(.*?)</li>', html, re.S).group(1)
    assert "-$35.000" in churn
    row = re.search(r'data-forecast="30">(.*?)</tr>', html, re.S).group(1)
    assert "$36.000" in row and "$54.000" in row and "$26.000" in row
    # The charts are inline SVG drawn on the server.
    assert html.count('<svg class="chart"') == 2
    assert "<polyline" in html


def test_period_selector_changes_the_window(org, owner_client, history):
    with clock.frozen(NOW):
        response = owner_client.get(reverse("dashboard:home"), {"period": "12m"})
    html = response.content.decode()
    assert '<option value="12m" selected>' in html
    # Twelve monthly points on the MRR line, July 2024 .. June 2025.
    assert html.count('class="chart-dot"') == 12
    with use_organization(org):
        m = metrics.metrics_for_home(organization=org, period="12m", now=NOW)
    # From the very beginning: everything A and B brought is "new" too.
    assert m.movement_totals["new"] == 49_333
    assert m.months[0].mrr_end == 0


def test_a_new_organization_sees_the_next_steps(org, owner_client):
    response = owner_client.get(reverse("dashboard:home"))
    html = response.content.decode()
    assert "Welcome to Cobro" in html or "Te damos la bienvenida" in html
    assert 'data-metric="mrr"' not in html
    assert reverse("billing:product_list") in html


def test_amounts_in_other_currencies_stay_out(org, history):
    usd = PriceFactory(organization=org, currency="USD", amount_minor=999)
    with use_organization(org):
        billing_settings_allow_usd(org)
        _subscribe(CustomerFactory(organization=org), usd, at(6, 14))
    assert _home(org).mrr_minor == 49_333


def billing_settings_allow_usd(org):
    from billing.models import BillingSettings

    settings_row, _ = BillingSettings.objects.get_or_create(organization=org)
    settings_row.extra_currencies = ["USD"]
    settings_row.save()


def test_spanish_home_keeps_svg_coordinates_parseable(org, owner_client, history):
    with clock.frozen(NOW):
        response = owner_client.get(
            reverse("dashboard:home"), {"period": "3m"}, HTTP_ACCEPT_LANGUAGE="es-419"
        )
    html = response.content.decode()
    assert "Ingreso recurrente mensual" in html
    assert "Bajas" in html
    # A decimal comma inside an SVG attribute would break the chart.
    assert not re.search(r'(?:x|y|height|width)="\d+,\d', html)
    assert re.search(r'<rect x="\d+\.\d" y="\d+\.\d"', html)
