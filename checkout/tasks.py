"""Tasks of checkout: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="checkout.expire_incomplete", ignore_result=True)
def checkout_expire_incomplete_task() -> int:
    from checkout.services.checkout import checkout_expire_incomplete

    return checkout_expire_incomplete()
