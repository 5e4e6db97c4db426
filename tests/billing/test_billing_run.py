"""The billing run (single process): fan-out, catch-up after downtime, idempotency, and the
fast (batched) path writing exactly what the slow (one subscription at a time) path writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from billing.models import CreditLedgerEntry, Invoice, Subscription
from billing.services.billing_run import (
    billing_run_all,
    billing_run_chunk,
    billing_run_due_chunks,
    billing_run_tick,
)
from billing.services.credit import credit_ledger_add
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
)
from cobro.models import OutboxEvent
from cobro.tenancy.context import use_organization
from tests.billing.factories import (
    CouponFactory,
    CustomerFactory,
    PriceFactory,
    TaxRateFactory,
)
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 31, 15, 0, tzinfo=UTC)  # Jan 31, noon in Santiago


def _numbers(org) -> list[int]:
    return sorted(
        Invoice.unscoped.filter(organization=org).values_list("sequence_number", flat=True)
    )


def test_downtime_of_three_months_bills_each_missed_period_once_in_order(
    in_org, org, customer, monthly
):
    with use_organization(org):
        sub = subscription_create(customer=customer, price=monthly, now=T0)
    # The run was down from Feb 28 to May 2: three periods are due (Feb 28, Mar 31, Apr 30
    # local; the anchor day 31 is remembered across the short months).
    now = datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
    stats = billing_run_all(now=now)
    assert stats.invoices == 3

    invoices = list(Invoice.unscoped.filter(subscription=sub).order_by("period_start"))
    assert len(invoices) == 4
    local_starts = [inv.period_start.astimezone(ZoneInfo(org.time_zone)).date() for inv in invoices]
    assert [str(d) for d in local_starts] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
        "2025-04-30",
    ]
    for prev, nxt in zip(invoices, invoices[1:], strict=False):
        assert nxt.period_start == prev.period_end  # no gap, no overlap
        assert nxt.sequence_number == prev.sequence_number + 1  # numbered in period order
    assert [inv.number for inv in invoices] == ["F-000001", "F-000002", "F-000003", "F-000004"]
    sub.refresh_from_db()
    assert sub.next_billing_at == invoices[-1].period_end > now
    assert sub.current_period_start == invoices[-1].period_start

    # Every repeat is a no-op: same instant, a later tick before the next period, another path.
    assert billing_run_all(now=now).invoices == 0
    assert billing_run_all(now=now + timedelta(days=20), fast=False).invoices == 0
    assert Invoice.unscoped.filter(subscription=sub).count() == 4


def test_each_invoice_has_lines_tax_and_outbox_events(in_org, org, customer):
    iva = TaxRateFactory(organization=org, percentage=Decimal("19"))
    price = PriceFactory(
        organization=org, amount_minor=10_000, tax_behavior="exclusive", tax_rate=iva
    )
    with use_organization(org):
        sub = subscription_create(customer=customer, price=price, now=T0)
    OutboxEvent.unscoped.all().delete()
    billing_run_all(now=sub.next_billing_at + timedelta(hours=1))
    inv = Invoice.unscoped.filter(subscription=sub).order_by("-period_start").first()
    assert inv.status == "open"
    assert inv.subtotal_minor == 10_000
    assert inv.tax_minor == 1_900
    assert inv.total_minor == inv.amount_due_minor == 11_900
    assert list(inv.taxes.values_list("amount_minor", flat=True)) == [1_900]
    assert inv.lines.count() == 1
    types = sorted(OutboxEvent.unscoped.values_list("type", flat=True))
    assert types == ["invoice.created", "invoice.finalized", "subscription.renewed"]
    renewed = OutboxEvent.unscoped.get(type="subscription.renewed")
    assert renewed.payload["invoice_id"] == inv.pk
    assert renewed.subject_id == str(sub.pk)


def test_nothing_due_means_no_chunks_and_no_writes(in_org, org, customer, monthly):
    with use_organization(org):
        sub = subscription_create(customer=customer, price=monthly, now=T0)
    before = sub.next_billing_at - timedelta(seconds=1)
    assert billing_run_due_chunks(now=before) == []
    assert billing_run_all(now=before).invoices == 0
    assert Invoice.unscoped.count() == 1


def test_chunks_partition_due_subscriptions_by_organization_and_id_range(
    in_org, org, other_org, monthly
):
    with use_organization(other_org):
        other_price = PriceFactory(organization=other_org)
    subs = []
    with use_organization(org):
        for _ in range(5):
            subs.append(
                subscription_create(
                    customer=CustomerFactory(organization=org), price=monthly, now=T0
                )
            )
    with use_organization(other_org):
        subscription_create(
            customer=CustomerFactory(organization=other_org), price=other_price, now=T0
        )
    now = T0 + timedelta(days=40)
    chunks = billing_run_due_chunks(now=now, chunk_size=2)
    mine = [c for c in chunks if c.organization_id == org.pk]
    assert [c.due for c in mine] == [2, 2, 1]
    assert [(c.id_from, c.id_to) for c in mine] == [
        (subs[0].pk, subs[1].pk),
        (subs[2].pk, subs[3].pk),
        (subs[4].pk, subs[4].pk),
    ]
    assert [c.due for c in chunks if c.organization_id == other_org.pk] == [1]
    # A chunk renews only its own range.
    billing_run_chunk(organization_id=org.pk, id_from=mine[0].id_from, id_to=mine[0].id_to, now=now)
    renewed = (
        Invoice.unscoped.filter(organization=org).values("subscription").annotate(n=Count("id"))
    )
    assert sorted(r["n"] for r in renewed) == [1, 1, 1, 2, 2]


def test_sandbox_organization_is_billed_on_its_test_clock(in_org, org, monthly):
    sandbox = OrganizationFactory(slug="sandbox", is_sandbox=True, test_clock_at=T0)
    with use_organization(sandbox):
        price = PriceFactory(organization=sandbox)
        sandbox_sub = subscription_create(
            customer=CustomerFactory(organization=sandbox), price=price, now=T0
        )
    with use_organization(org):
        sub = subscription_create(customer=CustomerFactory(organization=org), price=monthly, now=T0)
    wall = T0 + timedelta(days=45)
    chunks = billing_run_due_chunks(now=wall)
    # The sandbox clock still reads Jan 31: nothing due there; the real organization is due.
    assert [c.organization_id for c in chunks] == [org.pk]
    sandbox.test_clock_at = T0 + timedelta(days=60)
    sandbox.save()
    chunks = billing_run_due_chunks(now=wall)
    by_org = {c.organization_id: c.now for c in chunks}
    assert by_org == {org.pk: wall, sandbox.pk: sandbox.test_clock_at}
    billing_run_all(now=wall)
    assert Invoice.unscoped.filter(subscription=sandbox_sub).count() == 3  # Jan, Feb, Mar
    assert Invoice.unscoped.filter(subscription=sub).count() == 2  # Jan, Feb


def test_tick_fans_out_chunks_to_the_billing_queue(in_org, org, customer, monthly, settings):
    # Celery runs eagerly in tests: the tick's tasks execute at once.
    with use_organization(org):
        sub = subscription_create(customer=customer, price=monthly, now=T0)
    chunks = billing_run_tick(now=T0 + timedelta(days=40))
    assert [(c.organization_id, c.due) for c in chunks] == [(org.pk, 1)]
    assert Invoice.unscoped.filter(subscription=sub).count() == 2
    assert settings.CELERY_TASK_ROUTES["billing.run_chunk"] == {"queue": "billing"}
    assert settings.CELERY_BEAT_SCHEDULE["billing-run-tick"]["task"] == "billing.tick"


# -- fast path == slow path ------------------------------------------------------------------


def _scenario(org) -> list[Subscription]:
    """A little of everything the renewal handles, identical for any organization."""
    with use_organization(org):
        return _build_scenario(org)


def _build_scenario(org) -> list[Subscription]:
    iva = TaxRateFactory(organization=org, percentage=Decimal("19"))
    iva_incl = TaxRateFactory(
        organization=org, name="IVA incl", percentage=Decimal("19"), inclusive=True
    )
    plain = PriceFactory(organization=org, nickname="Plain", amount_minor=9_990)
    taxed = PriceFactory(
        organization=org,
        nickname="Taxed",
        amount_minor=10_000,
        tax_behavior="exclusive",
        tax_rate=iva,
    )
    inclusive = PriceFactory(
        organization=org,
        nickname="Inclusive",
        amount_minor=11_900,
        tax_behavior="inclusive",
        tax_rate=iva_incl,
    )
    trial = PriceFactory(
        organization=org, nickname="Trial", amount_minor=5_000, trial_days=14, setup_fee_minor=2_500
    )
    weekly = PriceFactory(organization=org, nickname="Weekly", amount_minor=1_000, interval="week")
    bigger = PriceFactory(
        organization=org,
        nickname="Bigger",
        amount_minor=20_000,
        tax_behavior="exclusive",
        tax_rate=iva,
    )
    coupon = CouponFactory(
        organization=org,
        code="HALF",
        percent_off=Decimal("50"),
        duration="repeating",
        duration_periods=2,
    )
    subs = []
    with use_organization(org):

        def new(price, **kw):
            sub = subscription_create(
                customer=kw.pop("customer", None) or CustomerFactory(organization=org),
                price=price,
                now=kw.pop("now", T0),
                **kw,
            )
            subs.append(sub)
            return sub

        new(plain)
        new(taxed, quantity=3)
        new(inclusive, collection_method="send_invoice", days_until_due=15)
        new(trial)
        new(weekly)
        new(plain, coupon=coupon)
        new(taxed, anchor_day=1)
        rich = CustomerFactory(organization=org)
        credit_ledger_add(
            customer=rich, currency="CLP", amount_minor=25_000, kind="adjustment", now=T0
        )
        new(plain, customer=rich)
        new(taxed, customer=rich)
        ending = new(plain)
        subscription_cancel(subscription=ending, at_period_end=True, now=T0 + timedelta(days=3))
        paused = new(taxed)
        subscription_pause(
            subscription=paused, resume_at=T0 + timedelta(days=50), now=T0 + timedelta(days=2)
        )
        changing = new(taxed)
        subscription_change(
            subscription=changing,
            price=bigger,
            quantity=2,
            when="next_period",
            now=T0 + timedelta(days=5),
        )
    return subs


def _world(org, subs):
    """Everything the run wrote, with ids replaced by positions so two worlds compare."""
    with use_organization(org):
        return _read_world(org, subs)


def _read_world(org, subs):
    index = {s.pk: i for i, s in enumerate(subs)}
    invoices = []
    inv_pos = {}
    for inv in Invoice.unscoped.filter(organization=org).order_by("sequence_number"):
        inv_pos[inv.pk] = inv.sequence_number
        invoices.append(
            (
                index.get(inv.subscription_id),
                inv.number,
                inv.status,
                inv.billing_reason,
                inv.period_start,
                inv.period_end,
                inv.created_at,
                inv.issued_at,
                inv.due_at,
                inv.paid_at,
                inv.subtotal_minor,
                inv.discount_minor,
                inv.tax_minor,
                inv.total_minor,
                inv.credit_applied_minor,
                inv.amount_due_minor,
                inv.collection_method,
                inv.coupon_id is not None,
                tuple(
                    inv.lines.values_list(
                        "position",
                        "kind",
                        "description",
                        "quantity",
                        "unit_amount_minor",
                        "amount_minor",
                        "tax_inclusive",
                        "period_start",
                        "period_end",
                    )
                ),
                tuple(
                    inv.taxes.values_list(
                        "name", "percentage", "inclusive", "taxable_base_minor", "amount_minor"
                    )
                ),
            )
        )
    states = [
        Subscription.unscoped.filter(pk=s.pk)
        .values_list(
            "status",
            "quantity",
            "current_period_start",
            "current_period_end",
            "period_index",
            "next_billing_at",
            "cancel_at_period_end",
            "canceled_at",
            "paused_at",
            "resume_at",
            "coupon_periods_used",
            "pending_quantity",
            "setup_fee_invoiced",
            "anchor_date",
            "billing_anchor_day",
            "updated_at",
        )
        .get()
        for s in subs
    ]
    credits = sorted(
        (
            index.get(e.subscription_id),
            e.kind,
            e.amount_minor,
            e.description,
            inv_pos.get(e.invoice_id),
        )
        for e in CreditLedgerEntry.unscoped.filter(organization=org)
    )

    def norm(payload):
        out = dict(payload)
        for key in (
            "invoice_id",
            "subscription_id",
            "customer_id",
            "price_id",
            "new_price_id",
            "previous_price_id",
        ):
            out.pop(key, None)
        if "invoice_id" in payload:
            out["invoice"] = inv_pos.get(payload["invoice_id"])
        if "subscription_id" in payload:
            out["subscription"] = index.get(payload["subscription_id"])
        return sorted(out.items(), key=str)

    events = sorted(
        (e.type, str(norm(e.payload))) for e in OutboxEvent.unscoped.filter(organization=org)
    )
    return invoices, states, credits, events


def test_fast_path_writes_exactly_what_the_slow_path_writes():
    slow_org = OrganizationFactory(slug="slow")
    fast_org = OrganizationFactory(slug="fast")
    slow_subs = _scenario(slow_org)
    fast_subs = _scenario(fast_org)
    # Four months of downtime: trials end, coupons run out, a cancellation and a resume
    # happen, a pending change applies, credit is consumed across invoices.
    now = T0 + timedelta(days=120)
    slow = billing_run_chunk(
        organization_id=slow_org.pk, id_from=0, id_to=2**62, now=now, fast=False
    )
    fast = billing_run_chunk(
        organization_id=fast_org.pk, id_from=0, id_to=2**62, now=now, fast=True, batch_size=5
    )
    assert fast.invoices == slow.invoices > 30
    assert not fast.failed and not slow.failed
    slow_world = _world(slow_org, slow_subs)
    fast_world = _world(fast_org, fast_subs)
    for name, a, b in zip(
        ("invoices", "subscriptions", "credit", "events"), slow_world, fast_world, strict=True
    ):
        assert a == b, name
    # The scenario did exercise the interesting rules.
    invoices = slow_world[0]
    assert any(row[14] > 0 for row in invoices)  # credit applied
    assert any(row[11] > 0 for row in invoices)  # coupon discount
    assert any(row[12] > 0 and row[19] and row[19][0][2] for row in invoices)  # inclusive tax
    assert any(row[2] == "paid" for row in invoices)  # fully paid by credit
    assert slow_world[1][9][0] == "canceled"
    assert slow_world[1][11][1] == 2  # pending quantity applied
    # Gap-free in both worlds.
    assert _numbers(slow_org) == list(range(1, len(invoices) + 1))
    assert _numbers(fast_org) == _numbers(slow_org)


def _break_renewal_of(monkeypatch, quantity, modules):
    """Make planning raise for subscriptions with ``quantity`` in the given modules."""
    import billing.planning

    real = billing.planning.plan_renewal

    def broken(snap, **kwargs):
        if snap.quantity == quantity:
            raise RuntimeError("corrupt subscription")
        return real(snap, **kwargs)

    for module in modules:
        monkeypatch.setattr(module, "plan_renewal", broken)


def _three_subs(org, monthly):
    with use_organization(org):
        return [
            subscription_create(
                customer=CustomerFactory(organization=org), price=monthly, quantity=q, now=T0
            )
            for q in (1, 7, 2)
        ]


def test_a_failing_batch_falls_back_to_one_by_one_and_bills_everything(
    in_org, org, monthly, monkeypatch
):
    import billing.services.billing_run as run

    subs = _three_subs(org, monthly)
    _break_renewal_of(monkeypatch, 7, [run])  # only the batched planner fails
    stats = billing_run_all(now=T0 + timedelta(days=40))
    assert stats.invoices == 3 and not stats.failed
    assert [Invoice.unscoped.filter(subscription=s).count() for s in subs] == [2, 2, 2]
    assert _numbers(org) == list(range(1, 7))


def test_a_broken_subscription_is_skipped_and_does_not_block_the_others(
    in_org, org, monthly, monkeypatch
):
    import billing.services.billing_run as run
    import billing.services.subscriptions as service

    subs = _three_subs(org, monthly)
    _break_renewal_of(monkeypatch, 7, [run, service])
    stats = billing_run_all(now=T0 + timedelta(days=40))
    assert stats.failed == [subs[1].pk]
    assert [Invoice.unscoped.filter(subscription=s).count() for s in subs] == [2, 1, 2]
    # Nothing half-written, no number lost.
    assert _numbers(org) == list(range(1, 6))
    assert not Invoice.unscoped.annotate(n=Count("lines")).filter(n=0).exists()
