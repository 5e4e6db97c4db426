"""Billing runs from the dashboard: "Run billing now" (owners and admins, with confirmation)
and the background test-clock advance, their progress page and summary, one run at a time,
and resuming a run whose worker died. Celery is eager in tests: the run executes when the
request's transaction commits (``django_capture_on_commit_callbacks``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingRun, Invoice
from billing.services import billing_runs
from billing.services.billing_runs import billing_run_execute, billing_run_start
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.models import AuditEntry
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def due(org, catalog):
    """Three subscriptions started 40 days ago: each has one monthly renewal due now."""
    started = timezone.now() - timedelta(days=40)
    subs = []
    with use_organization(org), clock.frozen(started):
        for name in ("Ana", "Bruno", "Carla"):
            customer = CustomerFactory(organization=org, name=name)
            subs.append(subscription_create(customer=customer, price=catalog["price"], now=started))
    return subs


def _renewals(subs) -> int:
    return Invoice.unscoped.filter(
        subscription__in=subs, billing_reason="subscription_cycle"
    ).count()


def test_viewers_and_billing_members_cannot_run_billing(org, viewer_client, billing_client, due):
    url = reverse("billing:billing_run_start")
    page = _text(viewer_client.get(reverse("billing:subscription_list")))
    assert url not in page
    for client in (viewer_client, billing_client):
        assert client.get(url).status_code == 403
        assert client.post(url, {"confirm": "yes"}).status_code == 403
    assert not BillingRun.unscoped.exists()
    assert _renewals(due) == 0


def test_run_billing_now_confirms_then_runs_in_the_background_and_summarizes(
    org, owner_client, due, django_capture_on_commit_callbacks
):
    assert reverse("billing:billing_run_start") in _text(
        owner_client.get(reverse("billing:subscription_list"))
    )
    confirm = _text(owner_client.get(reverse("billing:billing_run_start")))
    assert "3 suscripciones vencen ahora" in confirm or "3 subscriptions are due now" in confirm
    assert 'name="confirm" value="yes"' in confirm
    # Without the confirmation nothing happens.
    response = owner_client.post(reverse("billing:billing_run_start"))
    assert response.status_code == 302 and not BillingRun.unscoped.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("billing:billing_run_start"), {"confirm": "yes"})
    run = BillingRun.unscoped.get(organization=org)
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:billing_run_detail", args=[run.pk])
    assert run.status == "succeeded" and run.kind == "manual"
    assert (run.total, run.done) == (3, 3)
    assert (run.subscriptions_renewed, run.invoices_issued, run.charges_enqueued) == (3, 3, 3)
    assert run.error_count == 0
    assert _renewals(due) == 3

    page = _text(owner_client.get(response["Location"]))
    assert "Ejecución de facturación terminada" in page or "Billing run finished" in page
    assert "hx-trigger" not in page  # finished: polling stops
    assert re.search(r"(Facturas emitidas|Invoices issued)</dt><dd>3</dd>", page)
    assert re.search(r"(Cobros en cola|Charges enqueued)</dt><dd>3</dd>", page)
    assert AuditEntry.unscoped.filter(organization=org, action="billing.run_started").count() == 1


def test_progress_page_polls_a_fragment_while_the_run_works(org, owner_client, due):
    # No commit callbacks run here, as when the worker has not picked the task up yet.
    response = owner_client.post(reverse("billing:billing_run_start"), {"confirm": "yes"})
    run = BillingRun.unscoped.get(organization=org)
    page = _text(owner_client.get(response["Location"]))
    assert "Esperando para comenzar" in page or "Waiting to start" in page
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
    BillingRun.unscoped.filter(pk=run.pk).update(status="running", total=10, done=4)
    fragment = _text(
        owner_client.get(
            reverse("billing:billing_run_detail", args=[run.pk]), HTTP_HX_REQUEST="true"
        )
    )
    assert fragment.startswith('<div id="billing-run-progress"')
    assert "<html" not in fragment
    assert 'value="4"' in fragment and 'max="10"' in fragment
    assert "4 de 10 suscripciones" in fragment or "4 of 10 subscriptions" in fragment


def test_pressing_twice_shows_the_run_in_progress(org, owner_client, due):
    first = owner_client.post(reverse("billing:billing_run_start"), {"confirm": "yes"})
    second = owner_client.post(
        reverse("billing:billing_run_start"), {"confirm": "yes"}, follow=True
    )
    assert BillingRun.unscoped.filter(organization=org).count() == 1
    assert second.redirect_chain[-1][0] == first["Location"]
    page = _text(second)
    assert "ya hay una ejecución" in page.lower() or "already in progress" in page
    # The confirmation page also points to it instead of offering a second run.
    confirm = _text(owner_client.get(reverse("billing:billing_run_start")))
    assert 'name="confirm"' not in confirm and first["Location"] in confirm


def test_one_active_run_per_organization_is_a_database_fact(org, owner, other_org):
    with use_organization(org):
        run, started = billing_run_start(organization=org, actor=owner, kind="manual")
        again, started_again = billing_run_start(organization=org, actor=owner, kind="manual")
    assert started and not started_again and again.pk == run.pk
    from django.db import IntegrityError, transaction

    with transaction.atomic(), pytest.raises(IntegrityError):
        BillingRun.unscoped.create(organization=org, kind="manual", now=timezone.now())
    # Another organization runs independently.
    with use_organization(other_org):
        _, other_started = billing_run_start(organization=other_org, actor=None, kind="manual")
    assert other_started


def test_a_killed_workers_run_is_resumed_without_billing_twice(
    org, owner_client, owner, due, django_capture_on_commit_callbacks
):
    with use_organization(org):
        run, _ = billing_run_start(organization=org, actor=owner, kind="manual")
    # The worker billed the first subscription, then died: the run says "running" and its
    # heartbeat gets old.
    from billing.services.billing_run import billing_run_chunk

    first = due[0]
    billing_run_chunk(organization_id=org.pk, id_from=first.pk, id_to=first.pk, now=run.now)
    old = timezone.now() - timedelta(minutes=30)
    BillingRun.unscoped.filter(pk=run.pk).update(
        status="running", attempts=1, heartbeat_at=old, total=3, done=1,
        subscriptions_renewed=1, invoices_issued=1, charges_enqueued=1,
    )  # fmt: skip
    detail = reverse("billing:billing_run_detail", args=[run.pk])
    page = _text(owner_client.get(detail))
    assert reverse("billing:billing_run_resume", args=[run.pk]) in page
    assert "no ha informado" in page or "has not reported" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("billing:billing_run_resume", args=[run.pk]))
    assert response["Location"] == detail
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2
    assert (run.done, run.total) == (3, 3)
    assert (run.subscriptions_renewed, run.invoices_issued) == (3, 3)
    assert _renewals(due) == 3  # each period exactly once
    # A finished run is not resumed again.
    owner_client.post(reverse("billing:billing_run_resume", args=[run.pk]))
    run.refresh_from_db()
    assert run.attempts == 2


def test_a_live_run_cannot_be_resumed_and_a_repeat_delivery_is_a_no_op(org, owner, due):
    with use_organization(org):
        run, _ = billing_run_start(organization=org, actor=owner, kind="manual")
        current, resumed = billing_runs.billing_run_resume(run=run, actor=owner)
    assert not resumed and current.status == "queued"
    billing_run_execute(run_id=run.pk)
    billing_run_execute(run_id=run.pk)  # a redelivered task
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 1 and run.invoices_issued == 3
    assert _renewals(due) == 3


def test_a_failing_run_ends_failed_and_can_be_resumed(
    org, owner_client, owner, due, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(billing_runs, "billing_run_chunk", boom)
    with use_organization(org):
        run, _ = billing_run_start(organization=org, actor=owner, kind="manual")
    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "database went away" in run.error
    page = _text(owner_client.get(reverse("billing:billing_run_detail", args=[run.pk])))
    assert "se detuvo" in page or "stopped" in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("billing:billing_run_resume", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "succeeded" and run.invoices_issued == 3 and run.error == ""


def test_viewer_can_watch_but_not_resume(org, viewer_client, owner, due):
    with use_organization(org):
        run, _ = billing_run_start(organization=org, actor=owner, kind="manual")
    BillingRun.unscoped.filter(pk=run.pk).update(status="failed")
    page = _text(viewer_client.get(reverse("billing:billing_run_detail", args=[run.pk])))
    assert reverse("billing:billing_run_resume", args=[run.pk]) not in page
    response = viewer_client.post(reverse("billing:billing_run_resume", args=[run.pk]))
    assert response.status_code == 403


# -- the test clock advance runs in the background too ---------------------------------------


@pytest.fixture
def sandbox(org):
    org.is_sandbox = True
    org.test_clock_at = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
    org.save()
    return org


def test_test_clock_advance_runs_in_the_background_with_the_progress_page(
    owner_client, sandbox, catalog, django_capture_on_commit_callbacks
):
    with use_organization(sandbox):
        sub = subscription_create(customer=catalog["customer"], price=catalog["price"])
    # Before the worker picks it up, the request has billed nothing.
    response = owner_client.post(reverse("billing:test_clock"), {"to": "2025-07-20T09:00"})
    run = BillingRun.unscoped.get(organization=sandbox)
    assert response["Location"] == reverse("billing:billing_run_detail", args=[run.pk])
    assert run.kind == "test_clock" and run.status == "queued"
    assert _renewals([sub]) == 0
    sandbox.refresh_from_db()
    assert sandbox.test_clock_at == datetime(2025, 1, 15, 15, 0, tzinfo=UTC)

    billing_run_execute(run_id=run.pk)
    run.refresh_from_db()
    sandbox.refresh_from_db()
    assert sandbox.test_clock_at == datetime(2025, 7, 20, 13, 0, tzinfo=UTC)
    assert run.status == "succeeded" and run.done == run.total > 0
    assert run.invoices_issued == 6 and _renewals([sub]) == 6
    page = _text(owner_client.get(response["Location"]))
    assert re.search(r"(Facturas emitidas|Invoices issued)</dt><dd>6</dd>", page)
    link = re.search(r'href="(/billing/test-clock/\?[^"]+)"', page)
    assert link is not None
    billed = _text(owner_client.get(link.group(1).replace("&amp;", "&")))
    for invoice in Invoice.unscoped.filter(subscription=sub, billing_reason="subscription_cycle"):
        assert invoice.number in billed


def test_test_clock_advance_while_a_run_is_in_progress_shows_that_run(owner_client, owner, sandbox):
    with use_organization(sandbox):
        run, _ = billing_run_start(organization=sandbox, actor=owner, kind="manual")
    response = owner_client.post(reverse("billing:test_clock"), {"to": "2025-07-20T09:00"})
    assert response["Location"] == reverse("billing:billing_run_detail", args=[run.pk])
    assert BillingRun.unscoped.count() == 1
