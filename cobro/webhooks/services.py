"""Outgoing webhooks: endpoints and secrets, fan-out from the outbox, signed delivery with
retries, the delivery log and replay.

Retry policy: the first attempt goes out as soon as the event is dispatched; after the n-th
failed attempt the next one waits ``30 s * 2**(n-1)`` (capped at 12 hours) times a random
jitter in [0.75, 1.25), for up to ``RETRY_WINDOW`` (3 days) after the delivery was created;
then the delivery is ``failed`` (it can still be replayed). An endpoint whose attempts have
all failed for ``RETRY_WINDOW`` (and at least ``DISABLE_AFTER_FAILURES`` times) is disabled and
its owners get an email.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from cobro import clock
from cobro.models import Membership, Organization, OutboxEvent, Role
from cobro.webhooks import transport
from cobro.webhooks.error_codes import WebhookErrorCode
from cobro.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSecret

logger = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=12)
RETRY_WINDOW = timedelta(days=3)
DISABLE_AFTER_FAILURES = 10
SECRET_ROTATION_OVERLAP = timedelta(hours=24)
_random = secrets.SystemRandom()


# -- endpoints ---------------------------------------------------------------------------------


def webhook_url_check(url: str) -> str:
    """The URL, if webhooks may deliver to it; otherwise a ValidationError with a stable code."""
    url = (url or "").strip()
    try:
        transport.resolve_target(url)
    except transport.DestinationRefused as exc:
        raise ValidationError(
            {
                "url": [
                    ValidationError(
                        _("This URL cannot receive webhooks: %(reason)s."),
                        code=WebhookErrorCode.URL_REFUSED.value,
                        params={"reason": str(exc)},
                    )
                ]
            }
        ) from None
    return url


def _clean_event_types(event_types: list[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in event_types if t and t.strip()})
    for t in cleaned:
        if len(t) > 64 or " " in t:
            raise ValidationError(
                {
                    "event_types": [
                        ValidationError(
                            _("Invalid event type: %(type)s."),
                            code=WebhookErrorCode.EVENT_TYPE_INVALID.value,
                            params={"type": t[:64]},
                        )
                    ]
                }
            )
    return cleaned


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@transaction.atomic
def webhook_endpoint_create(
    *,
    organization: Organization,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and its first signing secret (returned in clear, once)."""
    url = webhook_url_check(url)
    now = clock.now()
    endpoint = WebhookEndpoint.unscoped.create(
        organization=organization,
        url=url,
        event_types=_clean_event_types(event_types or []),
        description=description[:200],
        created_at=now,
        updated_at=now,
    )
    secret = _new_secret()
    WebhookSecret.unscoped.create(
        organization=organization, endpoint=endpoint, secret=secret, created_at=now
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint. Enabling it again clears the failure streak; pending deliveries
    are then retried."""
    endpoint = WebhookEndpoint.unscoped.select_for_update().get(pk=endpoint.pk)
    if url is not None:
        endpoint.url = webhook_url_check(url)
    if event_types is not None:
        endpoint.event_types = _clean_event_types(event_types)
    if description is not None:
        endpoint.description = description[:200]
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        if enabled:
            endpoint.failure_streak = 0
            endpoint.failing_since = None
            endpoint.disabled_reason = ""
        else:
            endpoint.disabled_reason = "disabled by the organization"
    endpoint.updated_at = clock.now()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, overlap: timedelta = SECRET_ROTATION_OVERLAP
) -> str:
    """Add a new secret; the current ones keep signing for ``overlap`` and then expire."""
    now = clock.now()
    WebhookSecret.unscoped.filter(endpoint=endpoint).filter(expires_at__isnull=True).update(
        expires_at=now + overlap
    )
    secret = _new_secret()
    WebhookSecret.unscoped.create(
        organization_id=endpoint.organization_id, endpoint=endpoint, secret=secret, created_at=now
    )
    return secret


def webhook_active_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    rows = WebhookSecret.unscoped.filter(endpoint=endpoint).order_by("-created_at", "-pk")
    return [s.secret for s in rows if s.expires_at is None or s.expires_at > now]


# -- fan-out -----------------------------------------------------------------------------------


def webhook_payload(event: OutboxEvent) -> dict[str, Any]:
    """The JSON body sent for ``event`` (Standard Webhooks: type, timestamp, data)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }


def webhook_deliveries_fanout(event: OutboxEvent) -> list[WebhookDelivery]:
    """One pending delivery per enabled endpoint of the event's organization that wants the
    event. A second call for the same event creates nothing (unique endpoint + event)."""
    created = []
    now = clock.now()
    endpoints = WebhookEndpoint.unscoped.filter(organization_id=event.organization_id, enabled=True)
    for endpoint in endpoints:
        if not endpoint.wants(event.type):
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.unscoped.create(
                    organization_id=event.organization_id,
                    endpoint=endpoint,
                    event_id=event.id,
                    event_type=event.type,
                    webhook_id=f"msg_{event.id.hex}",
                    payload=webhook_payload(event),
                    next_attempt_at=now,
                    created_at=now,
                )
        except IntegrityError:
            continue
        created.append(delivery)
    return created


# -- sending -----------------------------------------------------------------------------------


def retry_delay(failed_attempts: int) -> timedelta:
    """Wait before the next attempt after ``failed_attempts`` (>= 1) failures, with jitter."""
    base = min(RETRY_BASE * 2 ** max(failed_attempts - 1, 0), RETRY_CAP)
    return base * _random.uniform(0.75, 1.25)


def _body(delivery: WebhookDelivery) -> str:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)


def webhook_sign(*, secrets_: list[str], webhook_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per active secret."""
    return " ".join(Webhook(s).sign(msg_id=webhook_id, timestamp=at, data=body) for s in secrets_)


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one pending delivery now (if it is still pending and its endpoint enabled) and
    record the outcome. The row is locked while sending so two workers never send it at once.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.unscoped.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None or not delivery.endpoint.enabled:
            return None
        now = clock.now()
        body = _body(delivery)
        # The signed timestamp is the real sending time (receivers reject stale ones), not
        # the billing clock, which a test clock may have moved.
        sent_at = timezone.now()
        headers = {
            "content-type": "application/json",
            "user-agent": "Cobro-Webhooks/1",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": webhook_sign(
                secrets_=webhook_active_secrets(delivery.endpoint, now=now),
                webhook_id=delivery.webhook_id,
                at=sent_at,
                body=body,
            ),
        }
        result = transport.post(delivery.endpoint.url, body=body.encode(), headers=headers)
        _record(delivery, result, now=now)
    return delivery


def _record(delivery: WebhookDelivery, result: transport.PostResult, *, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_status = result.status
    delivery.last_response_body = result.body_excerpt
    delivery.last_error = result.error
    endpoint = WebhookEndpoint.unscoped.select_for_update().get(pk=delivery.endpoint_id)
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.failure_streak = 0
        endpoint.failing_since = None
    else:
        next_at = now + retry_delay(delivery.attempts)
        gave_up = next_at > delivery.created_at + RETRY_WINDOW
        if gave_up:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = next_at
        endpoint.failure_streak += 1
        endpoint.failing_since = endpoint.failing_since or now
        # Persistent failure: every attempt failed for the whole retry window (a delivery
        # exhausted its retries while nothing succeeded since), or simply for that long.
        persistent = now - endpoint.failing_since >= RETRY_WINDOW or (
            gave_up and endpoint.failing_since <= delivery.created_at + RETRY_BASE
        )
        if endpoint.enabled and endpoint.failure_streak >= DISABLE_AFTER_FAILURES and persistent:
            _disable(endpoint, now=now)
    endpoint.save(update_fields=["failure_streak", "failing_since", "enabled", "disabled_reason"])
    delivery.save()


def _disable(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    endpoint.enabled = False
    since = endpoint.failing_since or now
    endpoint.disabled_reason = f"failing since {since.isoformat()}"
    org_id = endpoint.organization_id
    url = endpoint.url
    transaction.on_commit(lambda: _notify_disabled(org_id, url))


def _notify_disabled(organization_id: int, url: str) -> None:
    """Email the organization's owners that an endpoint was disabled."""
    org = Organization.objects.get(pk=organization_id)
    emails = list(
        Membership.objects.filter(organization=org, role=Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if not emails:
        return
    send_mail(
        _("[%(org)s] A webhook endpoint was disabled") % {"org": org.display_name},
        _(
            "Deliveries to %(url)s have failed for three days, so Cobro stopped sending "
            "events to it. Fix the endpoint and enable it again in the API or the dashboard; "
            "pending events will then be delivered."
        )
        % {"url": url},
        settings.DEFAULT_FROM_EMAIL,
        emails,
        fail_silently=True,
    )


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or clock.now()
    return list(
        WebhookDelivery.unscoped.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_deliveries_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Attempt every due delivery in this process (beat's sweep and tests). Returns how many
    succeeded."""
    ok = 0
    for pk in webhook_deliveries_due(now=now, limit=limit):
        delivery = webhook_delivery_attempt(delivery_id=pk)
        if delivery is not None and delivery.status == DeliveryStatus.SUCCEEDED:
            ok += 1
    return ok


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again from the log (same ``webhook-id``): back to pending, due now."""
    delivery = WebhookDelivery.unscoped.select_for_update().get(pk=delivery.pk)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = clock.now()
    delivery.created_at = clock.now()  # a fresh retry window
    delivery.save(update_fields=["status", "next_attempt_at", "created_at"])
    pk = delivery.pk
    transaction.on_commit(lambda: _enqueue(pk))
    return delivery


def _enqueue(delivery_id: int) -> None:
    try:
        from cobro.webhooks.tasks import webhooks_deliver

        webhooks_deliver.apply_async(args=(delivery_id,), queue="notifications")
    except Exception:
        logger.warning("could not enqueue webhook delivery %s", delivery_id, exc_info=True)


def webhook_deliveries_enqueue(deliveries: list[WebhookDelivery]) -> None:
    """After commit, send each new delivery on the notifications queue (beat sweeps too)."""
    ids = [d.pk for d in deliveries]

    def send_all() -> None:
        for pk in ids:
            _enqueue(pk)

    transaction.on_commit(send_all)
