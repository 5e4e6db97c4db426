"""Outgoing webhooks: Standard Webhooks signatures (verified by the standardwebhooks
library), retries with backoff until a failing receiver recovers, the delivery log with
replay, disabling after persistent failure, and the SSRF guard."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import transaction
from standardwebhooks import Webhook

from cobro import clock
from cobro.events import event_emit, events_dispatch_pending
from cobro.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from cobro.webhooks.services import (
    webhook_deliveries_send_due,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_url_check,
)
from tests.factories import MembershipFactory, UserFactory


class Receiver:
    """A local HTTP receiver that fails the first ``fail_first`` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict, str, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                status = 503 if len(receiver.requests) < receiver.fail_first else 204
                receiver.requests.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, status)
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

    def delivered(self) -> list[tuple[dict, str]]:
        return [(h, b) for h, b, s in self.requests if s < 300]


@pytest.fixture
def receiver(settings):
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = True
    r = Receiver()
    yield r
    r.close()


def _emit(org, type_, **payload):
    with transaction.atomic():
        return event_emit(organization=org, type=type_, payload=payload)


@pytest.mark.django_db
def test_events_are_delivered_signed_per_standard_webhooks(org, receiver):
    endpoint, secret = webhook_endpoint_create(organization=org, url=receiver.url)
    event = _emit(org, "demo.paid", invoice_id=7)
    events_dispatch_pending()
    assert webhook_deliveries_send_due() == 1
    ((headers, body),) = receiver.delivered()
    payload = Webhook(secret).verify(body, headers)  # raises if the signature is wrong
    assert payload["type"] == "demo.paid" and payload["data"] == {"invoice_id": 7}
    assert headers["webhook-id"] == f"msg_{event.id.hex}"
    delivery = WebhookDelivery.unscoped.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.last_response_status == 204


@pytest.mark.django_db
def test_rotation_signs_with_old_and_new_secret_until_the_old_expires(org, receiver):
    endpoint, old = webhook_endpoint_create(organization=org, url=receiver.url)
    new = webhook_endpoint_rotate_secret(endpoint=endpoint)
    _emit(org, "other.created", customer_id=1)
    events_dispatch_pending()
    webhook_deliveries_send_due()
    ((headers, body),) = receiver.delivered()
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


@pytest.mark.django_db
def test_event_type_filters(org, receiver):
    webhook_endpoint_create(organization=org, url=receiver.url, event_types=["demo.*"])
    _emit(org, "other.created", customer_id=1)
    _emit(org, "demo.finalized", invoice_id=1)
    events_dispatch_pending()
    assert list(WebhookDelivery.unscoped.values_list("event_type", flat=True)) == ["demo.finalized"]


@pytest.mark.django_db
def test_a_receiver_failing_for_hours_gets_every_event_once_logically(org, settings):
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = True
    receiver = Receiver(fail_first=24)
    try:
        _, secret = webhook_endpoint_create(organization=org, url=receiver.url)
        events = [_emit(org, "demo.paid", invoice_id=i) for i in range(3)]
        events_dispatch_pending()
        now = clock.now()
        # Move the clock instead of sleeping: 10-minute steps for up to two days.
        for _ in range(6 * 48):
            with clock.frozen(now):
                webhook_deliveries_send_due()
            if len(receiver.delivered()) == 3:
                break
            now += timedelta(minutes=10)
        delivered_ids = sorted(h["webhook-id"] for h, _ in receiver.delivered())
        assert delivered_ids == sorted(f"msg_{e.id.hex}" for e in events)
        assert now - clock.now() >= timedelta(hours=1)  # it really was failing for a while
        # Every retry of one event carried the same webhook-id and a valid signature.
        for headers, body, _status in receiver.requests:
            Webhook(secret).verify(body, headers)
        assert all(
            d.status == "succeeded" and d.attempts > 1 for d in WebhookDelivery.unscoped.all()
        )
        assert WebhookEndpoint.unscoped.get().failure_streak == 0
    finally:
        receiver.close()


@pytest.mark.django_db
def test_persistent_failure_disables_the_endpoint_and_emails_owners(org, settings):
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = True
    MembershipFactory(organization=org, user=UserFactory(email="boss@acme.test"), role="owner")
    receiver = Receiver(fail_first=10**6)
    try:
        webhook_endpoint_create(organization=org, url=receiver.url)
        _emit(org, "demo.paid", invoice_id=1)
        events_dispatch_pending()
        now = clock.now()
        with django_capture():
            for _ in range(4 * 24 * 4):
                with clock.frozen(now):
                    webhook_deliveries_send_due()
                now += timedelta(minutes=15)
        endpoint = WebhookEndpoint.unscoped.get()
        assert endpoint.enabled is False and endpoint.disabled_reason
        delivery = WebhookDelivery.unscoped.get()
        assert delivery.status == DeliveryStatus.FAILED
        assert receiver.delivered() == []
        assert [m.to for m in mail.outbox] == [["boss@acme.test"]]
        assert receiver.url in mail.outbox[0].body
    finally:
        receiver.close()


def django_capture():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.mark.django_db
def test_replay_from_the_log_resends_with_the_same_webhook_id(org, receiver, api_a=None):
    from tests.api.conftest import make_tenant

    tenant = make_tenant("replayer")
    endpoint, secret = webhook_endpoint_create(organization=tenant.org, url=receiver.url)
    _emit(tenant.org, "demo.paid", invoice_id=1)
    events_dispatch_pending()
    webhook_deliveries_send_due()
    delivery = WebhookDelivery.unscoped.get()
    client = tenant.client()
    log = client.get("/api/v1/webhook_deliveries").json()["results"]
    assert [d["id"] for d in log] == [delivery.pk] and log[0]["status"] == "succeeded"
    replayed = client.post(f"/api/v1/webhook_deliveries/{delivery.pk}/replay", {}, format="json")
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    webhook_deliveries_send_due()
    ids = [h["webhook-id"] for h, _ in receiver.delivered()]
    assert ids == [delivery.webhook_id, delivery.webhook_id]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "http://example.com/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_loopback_and_link_local_destinations_are_refused(url, settings):
    from django.core.exceptions import ValidationError

    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as info:
        webhook_url_check(url)
    assert info.value.error_dict["url"][0].code == "webhook_url_refused"


@pytest.mark.django_db
def test_api_refuses_private_endpoint_urls(settings, tenant_a):
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = False
    response = tenant_a.client().post(
        "/api/v1/webhook_endpoints", {"url": "https://127.0.0.1:8000/x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_refused"
    assert response.json()["error"]["param"] == "url"


@pytest.mark.django_db
def test_api_creates_endpoint_and_shows_secret_once(settings, tenant_a):
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = True
    client = tenant_a.client()
    created = client.post(
        "/api/v1/webhook_endpoints",
        {"url": "http://127.0.0.1:9/x", "event_types": ["demo.*"]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    shown = client.get(f"/api/v1/webhook_endpoints/{created.json()['id']}").json()
    assert "secret" not in shown and shown["event_types"] == ["demo.*"]
    assert "whsec_" not in json.dumps(client.get("/api/v1/webhook_endpoints").json())
