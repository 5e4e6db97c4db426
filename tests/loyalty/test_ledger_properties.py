"""Ledger properties: balance == sum of entries and never negative, whatever the sequence of
awards, refunds, adjustments and redemptions; a refund (in parts, or a dispute after partial
refunds) reverses exactly what the payment earned; concurrent redemptions never overspend the
balance or the stock."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.services.invoices import CreditItem, credit_note_issue
from cobro import events
from cobro.tenancy.context import use_organization
from loyalty.error_codes import LoyaltyError
from loyalty.models import LoyaltyAccount, LoyaltyProgramme, PointsEntry, Redemption, Reward
from loyalty.services.ledger import points_adjust, points_balance_from_entries, points_expire
from loyalty.services.rewards import reward_redeem
from tests.billing.factories import CustomerFactory
from tests.factories import OrganizationFactory
from tests.loyalty.conftest import T0, paid_invoice


class _Rollback(Exception):
    """Raised at the end of an example so its rows vanish before the next one."""


def isolated(fn):
    """Run one hypothesis example inside a transaction that is always rolled back."""

    def run(*args, **kwargs):
        try:
            with transaction.atomic():
                fn(*args, **kwargs)
                raise _Rollback
        except _Rollback:
            pass

    return run


operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(1_000, 60_000), st.integers(0, 5)),
    st.tuples(st.just("refund"), st.integers(0, 10), st.integers(1, 100)),
    st.tuples(st.just("adjust"), st.integers(-300, 300), st.just(0)),
    st.tuples(st.just("redeem"), st.integers(1, 400), st.just(0)),
    st.tuples(st.just("expire"), st.integers(0, 40), st.just(0)),
)


@pytest.mark.django_db
# No shrinking: each example hits PostgreSQL many times and shrinking ran for minutes.
@settings(max_examples=25, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_balance_is_the_sum_of_entries_and_never_negative(ops):
    isolated(_check_ledger)(ops)


def _check_ledger(ops):
    org = OrganizationFactory(slug="prop")
    with use_organization(org):
        LoyaltyProgramme.unscoped.create(
            organization=org, enabled=True, points_per_amount=3, expiry_months=1, grace_days=1
        )
        customer = CustomerFactory(organization=org)
        invoices = []
        day = 0
        for op, a, b in ops:
            day += 7
            now = T0 + timedelta(days=day)
            if op == "pay":
                invoices.append(
                    paid_invoice(customer, amount=a, issued=now, paid=now + timedelta(days=b))
                )
            elif op == "refund" and invoices:
                invoice = invoices[a % len(invoices)]
                from billing.services.invoices import invoice_creditable_minor

                left = invoice_creditable_minor(invoice)
                if left > 0:
                    amount = max(1, left * b // 100)
                    credit_note_issue(
                        invoice=invoice, items=[CreditItem("Devolución", amount)], now=now
                    )
            elif op == "adjust" and a:
                with contextlib.suppress(LoyaltyError):
                    points_adjust(customer=customer, points=a, reason="prop", actor=None, now=now)
            elif op == "redeem":
                reward = Reward.unscoped.create(
                    organization=org, name="r", kind="gift", points_cost=a, created_at=now
                )
                with contextlib.suppress(LoyaltyError):
                    reward_redeem(customer=customer, reward=reward, now=now)
            elif op == "expire":
                points_expire(customer=customer, now=now + timedelta(days=a))
            events.events_dispatch_pending()
            account = LoyaltyAccount.unscoped.filter(customer=customer).first()
            if account is not None:
                assert account.balance >= 0
                assert account.balance == points_balance_from_entries(account=account)
        # Refund every invoice in full: what each earned is reversed, unless already spent.
        for invoice in invoices:
            from billing.services.invoices import invoice_creditable_minor

            left = invoice_creditable_minor(invoice)
            if left > 0:
                credit_note_issue(
                    invoice=invoice,
                    items=[CreditItem("Final", left)],
                    now=T0 + timedelta(days=day + 1),
                )
            events.events_dispatch_pending()
        account = LoyaltyAccount.unscoped.filter(customer=customer).first()
        if account is not None:
            assert account.balance == points_balance_from_entries(account=account)
            for invoice in invoices:
                earned = PointsEntry.unscoped.get(invoice=invoice, kind="earn").points
                reversals = PointsEntry.unscoped.filter(invoice=invoice, kind="reverse")
                reversed_total = -sum(r.points for r in reversals)
                shortfall = sum(r.details["shortfall"] for r in reversals)
                assert reversed_total + shortfall == earned


@pytest.mark.django_db
@settings(max_examples=30)
@given(
    amount=st.integers(1_000, 500_000),
    parts=st.lists(st.integers(1, 100), min_size=1, max_size=4),
)
def test_refund_in_parts_reverses_exactly_what_the_payment_earned(amount, parts):
    isolated(_check_refund)(amount, parts)


def _check_refund(amount, parts):
    org = OrganizationFactory(slug="prop2")
    with use_organization(org):
        LoyaltyProgramme.unscoped.create(organization=org, enabled=True, points_per_amount=7)
        customer = CustomerFactory(organization=org)
        invoice = paid_invoice(customer, amount=amount)
        events.events_dispatch_pending()
        earned = PointsEntry.unscoped.get(invoice=invoice, kind="earn").points
        from billing.services.invoices import invoice_creditable_minor

        for i, weight in enumerate(parts):
            left = invoice_creditable_minor(invoice)
            chunk = left if i == len(parts) - 1 else max(1, left * weight // 200)
            if chunk > 0:
                credit_note_issue(invoice=invoice, items=[CreditItem("Parte", chunk)])
            events.events_dispatch_pending()
        reversed_total = -sum(
            PointsEntry.unscoped.filter(invoice=invoice, kind="reverse").values_list(
                "points", flat=True
            )
        )
        assert reversed_total == earned
        assert LoyaltyAccount.unscoped.get(customer=customer).balance == 0


@pytest.mark.django_db
@settings(max_examples=20, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    amount=st.integers(1_000, 300_000),
    refunds=st.lists(st.integers(1, 90), max_size=3),
    spend=st.integers(0, 100),
)
def test_a_dispute_after_partial_refunds_reverses_exactly_what_the_payment_earned(
    amount, refunds, spend
):
    isolated(_check_dispute)(amount, refunds, spend)


def _check_dispute(amount, refunds, spend):
    from billing.services.invoices import invoice_creditable_minor
    from loyalty.services.ledger import points_reverse_for_dispute

    org = OrganizationFactory(slug="prop3")
    with use_organization(org):
        LoyaltyProgramme.unscoped.create(organization=org, enabled=True, points_per_amount=5)
        customer = CustomerFactory(organization=org)
        invoice = paid_invoice(customer, amount=amount)
        events.events_dispatch_pending()
        earned = PointsEntry.unscoped.get(invoice=invoice, kind="earn").points
        for weight in refunds:
            chunk = invoice_creditable_minor(invoice) * weight // 100
            if chunk > 0:
                credit_note_issue(invoice=invoice, items=[CreditItem("Parte", chunk)])
            events.events_dispatch_pending()
        # The customer may have spent some of the points meanwhile.
        account = LoyaltyAccount.unscoped.get(customer=customer)
        spent = account.balance * spend // 100
        if spent:
            points_adjust(customer=customer, points=-spent, reason="gasto", actor=None)
        points_reverse_for_dispute(invoice=invoice, dispute_key="dp_1")
        points_reverse_for_dispute(invoice=invoice, dispute_key="dp_1")  # webhook repeated
        reversals = PointsEntry.unscoped.filter(invoice=invoice, kind="reverse")
        taken = -sum(r.points for r in reversals)
        shortfall = sum(r.details["shortfall"] for r in reversals)
        assert taken + shortfall == earned  # exactly what it earned: taken or recorded short
        account.refresh_from_db()
        assert account.balance >= 0
        assert account.balance == points_balance_from_entries(account=account)


_race_counter = iter(range(10**6))


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    balance=st.integers(0, 1_000),
    costs=st.lists(st.integers(1, 400), min_size=2, max_size=6),
    stock=st.one_of(st.none(), st.integers(0, 3)),
)
def test_concurrent_redemptions_never_overspend_points_or_stock(balance, costs, stock):
    """Whatever the balance, costs and stock, parallel redemptions (one thread and one
    database connection each, released together) spend at most the balance and the stock,
    and the ledger still sums to the balance."""
    import threading

    from django.db import connections

    org = OrganizationFactory(slug=f"race-prop-{next(_race_counter)}")
    LoyaltyProgramme.unscoped.create(organization=org, enabled=True)
    customer = CustomerFactory(organization=org)
    limited = Reward.unscoped.create(
        organization=org, name="limitado", kind="gift", points_cost=1, stock=stock, created_at=T0
    )
    rewards = [
        Reward.unscoped.create(
            organization=org, name=f"r{i}", kind="gift", points_cost=c, created_at=T0
        )
        for i, c in enumerate(costs)
    ]
    with use_organization(org):
        if balance:
            points_adjust(customer=customer, points=balance, reason="seed", actor=None)
    targets = [*rewards, limited, limited]
    barrier = threading.Barrier(len(targets))
    spent: list[int] = []
    lock = threading.Lock()

    def work(reward) -> None:
        try:
            with use_organization(org):
                barrier.wait()
                with contextlib.suppress(LoyaltyError):
                    reward_redeem(customer=customer, reward=reward)
                    with lock:
                        spent.append(reward.points_cost)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(r,)) for r in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    account = LoyaltyAccount.unscoped.filter(customer=customer).first()
    final = account.balance if account else 0
    assert sum(spent) <= balance
    assert final == balance - sum(spent) >= 0
    if account is not None:
        assert final == points_balance_from_entries(account=account)
    redeemed_limited = Redemption.unscoped.filter(reward=limited).count()
    if stock is not None:
        assert redeemed_limited <= stock
        limited.refresh_from_db()
        assert limited.stock == stock - redeemed_limited
