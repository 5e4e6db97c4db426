""" "Run billing now" in a real browser: the owner confirms, the progress page polls while the
worker bills (the bar and the live count move without a reload) and ends in the summary.
The worker is played by the test: the enqueue is held back so the page is seen waiting, then
the run's progress is reported and finally the run is executed as the Celery task would.
Screenshots go to artifacts/e2e/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import BillingRun, Invoice
from billing.services import billing_runs
from billing.services.billing_runs import billing_run_execute
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_run_billing_now_shows_a_live_progress_bar_and_a_summary(
    live_server, page, screenshot, monkeypatch
):
    org = OrganizationFactory(slug="cafe-run", display_name="Café Demo")
    owner = UserFactory(email="owner@cafe-run.test")
    MembershipFactory(organization=org, user=owner, role="owner")
    started = timezone.now() - timedelta(days=40)
    with use_organization(org), clock.frozen(started):
        price = PriceFactory(organization=org, amount_minor=9_990)
        subs = [
            subscription_create(
                customer=CustomerFactory(organization=org, name=name), price=price, now=started
            )
            for name in ("Ana", "Bruno", "Carla")
        ]
    # The worker has not picked the task up yet.
    queued: list[int] = []
    monkeypatch.setattr(billing_runs, "_enqueue_after_commit", queued.append)

    client = Client()
    client.force_login(owner)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/billing/subscriptions/")
    page.get_by_role("link", name="Facturar ahora").click()
    page.wait_for_url("**/billing/runs/new/")
    assert "3 suscripciones vencen ahora" in page.locator("main").inner_text()
    screenshot(page, "01-confirm")
    page.get_by_role("button", name="Sí, facturar ahora").click()
    page.wait_for_url("**/billing/runs/*/")
    run = BillingRun.unscoped.get(organization=org)
    assert queued == [run.pk]
    page.get_by_text("Esperando para comenzar…").wait_for()

    # The worker reports progress: the page shows it without a reload (htmx polling).
    BillingRun.unscoped.filter(pk=run.pk).update(status="running", total=3, done=1)
    page.get_by_text("1 de 3 suscripciones").wait_for()
    bar = page.locator("#billing-run-progress progress")
    assert bar.get_attribute("value") == "1" and bar.get_attribute("max") == "3"
    screenshot(page, "02-progress")

    # The worker finishes the run: the summary replaces the bar, and polling stops.
    BillingRun.unscoped.filter(pk=run.pk).update(status="queued", done=0)
    billing_run_execute(run_id=run.pk)
    page.get_by_text("Ejecución de facturación terminada").wait_for()
    summary = page.locator("#billing-run-summary dd").all_inner_texts()
    assert summary == ["3", "3", "3", "0"]  # renewed, invoices, charges enqueued, errors
    assert page.locator("#billing-run-progress[hx-trigger]").count() == 0
    screenshot(page, "03-summary")
    assert (
        Invoice.unscoped.filter(subscription__in=subs, billing_reason="subscription_cycle").count()
        == 3
    )
