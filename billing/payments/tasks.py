"""Tasks of payments (queue ``payments``): thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from billing.gateways.base import GatewayRateLimited


@shared_task(
    name="payments.attempt_execute",
    ignore_result=True,
    autoretry_for=(GatewayRateLimited,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=20,
)
def payment_attempt_execute_task(attempt_id: int) -> None:
    """Execute one attempt. A redelivery finds it claimed and does nothing."""
    from billing.payments.services.charging import payment_attempt_execute

    payment_attempt_execute(attempt_id=attempt_id)


@shared_task(name="payments.janitor", ignore_result=True)
def payments_janitor_task() -> None:
    from billing.payments.services.charging import payments_janitor_run

    payments_janitor_run()


@shared_task(name="payments.dunning_tick", ignore_result=True)
def dunning_tick_task() -> None:
    from billing.payments.services.dunning import dunning_tick

    dunning_tick()
