"""Staff pages of outgoing webhook endpoints: list, create (the secret shown once), edit,
disable/enable, rotate the secret, the delivery log and replay. Owners and admins change;
viewers only look. Nothing here sends a request: commit callbacks (the delivery tasks) are
never executed, and the endpoint's host resolves to a public address by a stub."""

from __future__ import annotations

import re
import socket
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from cobro import clock
from cobro.webhooks import transport
from cobro.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookSecret
from cobro.webhooks.services import webhook_endpoint_create
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "dashboard:webhook_endpoints"
HOST = "hooks.example.com"


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """``hooks.example.com`` resolves to a public address; every other name resolves as usual
    (IP literals such as 127.0.0.1 need no network)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)


@pytest.fixture
def viewer_client(org):
    user = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=user, role="viewer")
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def endpoint(org):
    endpoint, _secret = webhook_endpoint_create(
        organization=org, url=f"https://{HOST}/cobro", event_types=["invoice.*"], description="ERP"
    )
    return endpoint


def _delivery(org, endpoint, *, status="failed", code=500, attempts=3):
    event_id = uuid.uuid4()
    return WebhookDelivery.unscoped.create(
        organization=org,
        endpoint=endpoint,
        event_id=event_id,
        event_type="invoice.paid",
        webhook_id=f"msg_{event_id.hex}",
        payload={"type": "invoice.paid"},
        status=status,
        attempts=attempts,
        last_response_status=code,
        last_error="HTTP 500" if code >= 400 else "",
        created_at=clock.now(),
    )


def test_owner_creates_an_endpoint_and_sees_its_secret_once(org, owner_client):
    response = owner_client.post(
        reverse(LIST),
        {
            "url": f"https://{HOST}/hooks",
            "event_types": "invoice.paid, payment.failed",
            "description": "Tienda",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.unscoped.get(organization=org)
    assert endpoint.event_types == ["invoice.paid", "payment.failed"]
    assert endpoint.description == "Tienda"
    secret = WebhookSecret.unscoped.get(endpoint=endpoint).secret
    assert secret.startswith("whsec_") and secret in response.content.decode()
    # Never again: not on the list nor on the endpoint's page.
    assert secret not in owner_client.get(reverse(LIST)).content.decode()
    detail = owner_client.get(reverse("dashboard:webhook_endpoint_detail", args=[endpoint.pk]))
    assert secret not in detail.content.decode()
    assert f"https://{HOST}/hooks" in _text(detail)


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hook", "https://10.1.2.3/hook", f"http://{HOST}/plain", "ftp://x/y"],
)
def test_private_loopback_and_plain_http_destinations_are_refused(org, owner_client, url):
    response = owner_client.post(reverse(LIST), {"url": url, "event_types": ""})
    assert response.status_code == 400
    page = _text(response)
    assert "no puede recibir webhooks" in page or "cannot receive webhooks" in page
    assert not WebhookEndpoint.unscoped.filter(organization=org).exists()


def test_owner_edits_disables_and_enables_an_endpoint(org, owner_client, endpoint):
    url = reverse("dashboard:webhook_endpoint_update", args=[endpoint.pk])
    form = _text(owner_client.get(url))
    assert 'value="invoice.*"' in form
    response = owner_client.post(
        url, {"url": f"https://{HOST}/v2", "event_types": "payment.*", "description": "ERP 2"}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (
        f"https://{HOST}/v2",
        ["payment.*"],
        "ERP 2",
    )
    # A refused URL leaves the endpoint as it was.
    response = owner_client.post(url, {"url": "https://127.0.0.1/x", "event_types": ""})
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == f"https://{HOST}/v2"

    toggle = reverse("dashboard:webhook_endpoint_toggle", args=[endpoint.pk])
    owner_client.post(toggle)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    WebhookEndpoint.unscoped.filter(pk=endpoint.pk).update(failure_streak=7)
    owner_client.post(toggle)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failure_streak == 0


def test_rotating_the_secret_confirms_then_shows_the_new_one_once(org, owner_client, endpoint):
    url = reverse("dashboard:webhook_endpoint_rotate", args=[endpoint.pk])
    confirm = _text(owner_client.get(url))
    assert "24" in confirm and 'method="post"' in confirm
    assert WebhookSecret.unscoped.filter(endpoint=endpoint).count() == 1
    response = owner_client.post(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secrets = list(WebhookSecret.unscoped.filter(endpoint=endpoint).order_by("created_at", "pk"))
    assert len(secrets) == 2
    assert secrets[0].expires_at is not None and secrets[1].expires_at is None
    assert secrets[1].secret in response.content.decode()
    assert secrets[0].secret not in response.content.decode()
    detail = owner_client.get(reverse("dashboard:webhook_endpoint_detail", args=[endpoint.pk]))
    assert secrets[1].secret not in detail.content.decode()


def test_delivery_log_shows_status_attempts_and_code_and_replays(
    org, owner_client, endpoint, django_capture_on_commit_callbacks
):
    failed = _delivery(org, endpoint, status="failed", code=503, attempts=4)
    _delivery(org, endpoint, status="succeeded", code=200, attempts=1)
    detail_url = reverse("dashboard:webhook_endpoint_detail", args=[endpoint.pk])
    page = _text(owner_client.get(detail_url))
    assert "<code>503</code>" in page and "<code>200</code>" in page
    assert re.search(r'<td class="num">4</td>', page)
    replay = reverse("dashboard:webhook_delivery_replay", args=[failed.pk])
    assert replay in page
    only_failed = _text(owner_client.get(detail_url, {"status": "failed"}))
    assert "<code>503</code>" in only_failed and "<code>200</code>" not in only_failed

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(replay)
    assert response.status_code == 302 and response["Location"] == detail_url
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.next_attempt_at is not None
    assert len(callbacks) == 1  # the delivery task, after commit (not run here: no network)


def test_viewer_reads_but_cannot_change_anything(org, viewer_client, endpoint):
    delivery = _delivery(org, endpoint)
    page = _text(viewer_client.get(reverse(LIST)))
    assert f"https://{HOST}/cobro" in page and 'name="url"' not in page
    detail = _text(
        viewer_client.get(reverse("dashboard:webhook_endpoint_detail", args=[endpoint.pk]))
    )
    assert "<code>500</code>" in detail
    assert reverse("dashboard:webhook_delivery_replay", args=[delivery.pk]) not in detail
    assert reverse("dashboard:webhook_endpoint_rotate", args=[endpoint.pk]) not in detail
    refused = [
        viewer_client.post(reverse(LIST), {"url": f"https://{HOST}/x"}),
        viewer_client.get(reverse("dashboard:webhook_endpoint_update", args=[endpoint.pk])),
        viewer_client.post(
            reverse("dashboard:webhook_endpoint_update", args=[endpoint.pk]),
            {"url": f"https://{HOST}/x"},
        ),
        viewer_client.post(reverse("dashboard:webhook_endpoint_toggle", args=[endpoint.pk])),
        viewer_client.get(reverse("dashboard:webhook_endpoint_rotate", args=[endpoint.pk])),
        viewer_client.post(reverse("dashboard:webhook_endpoint_rotate", args=[endpoint.pk])),
        viewer_client.post(reverse("dashboard:webhook_delivery_replay", args=[delivery.pk])),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.enabled and endpoint.url == f"https://{HOST}/cobro"
    assert WebhookSecret.unscoped.filter(endpoint=endpoint).count() == 1
    assert delivery.status == "failed"
    assert WebhookEndpoint.unscoped.filter(organization=org).count() == 1


def test_another_organizations_endpoint_is_not_found(org, other_org, owner_client):
    theirs, _ = webhook_endpoint_create(organization=other_org, url=f"https://{HOST}/globex")
    delivery = _delivery(other_org, theirs)
    for name in (
        "dashboard:webhook_endpoint_detail",
        "dashboard:webhook_endpoint_update",
        "dashboard:webhook_endpoint_rotate",
        "dashboard:webhook_endpoint_toggle",
    ):
        assert owner_client.get(reverse(name, args=[theirs.pk])).status_code == 404, name
        if name != "dashboard:webhook_endpoint_detail":  # a page without POST (405)
            assert owner_client.post(reverse(name, args=[theirs.pk])).status_code == 404, name
    replay = reverse("dashboard:webhook_delivery_replay", args=[delivery.pk])
    assert owner_client.post(replay).status_code == 404
    assert "globex" not in owner_client.get(reverse(LIST)).content.decode()
    theirs.refresh_from_db()
    assert theirs.enabled
