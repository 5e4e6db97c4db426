"""``Idempotency-Key`` on POST: the first response is stored and replayed for 24 hours.

The key row is inserted (committed) before the request runs; the unique (organization, key)
constraint decides which of two concurrent requests runs. The other one gets 409
``idempotency_key_in_progress``; after completion it gets the stored response replayed. The
same key with another request (method, path or body) gets 409 ``idempotency_key_reused``. A
5xx or an unexpected exception releases the key so the client can retry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _

from cobro import clock
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError
from cobro.models import Organization
from cobro.webhooks.models import IdempotencyKey

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
# A claim older than this whose request never completed (a crashed worker) may be taken over.
STALE_CLAIM = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


class Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body or b"")
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type=record.response_content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_claim(*, organization: Organization, key: str, request) -> IdempotencyKey:
    """Claim ``key`` for this request, or raise ``Replay`` / ``ApiError`` (409)."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            ApiErrorCode.IDEMPOTENCY_KEY_INVALID,
            _("Idempotency-Key must be 1 to 255 printable characters."),
            param=HEADER,
        )
    fingerprint = request_hash(request)
    now = clock.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.unscoped.create(
                    organization=organization,
                    key=key,
                    request_hash=fingerprint,
                    created_at=now,
                    locked_at=now,
                )
        except IntegrityError:
            pass
        existing = IdempotencyKey.unscoped.filter(organization=organization, key=key).first()
        if existing is None:
            continue  # released or purged meanwhile: try to claim again
        if existing.created_at < now - RETENTION:
            IdempotencyKey.unscoped.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != fingerprint:
            raise ApiError(
                ApiErrorCode.IDEMPOTENCY_KEY_REUSED,
                _("This Idempotency-Key was used with a different request."),
                param=HEADER,
                status_code=409,
            )
        if existing.state == IdempotencyKey.State.COMPLETED:
            raise Replay(_replay(existing))
        if existing.locked_at < now - STALE_CLAIM:
            taken = IdempotencyKey.unscoped.filter(
                pk=existing.pk,
                state=IdempotencyKey.State.IN_PROGRESS,
                locked_at=existing.locked_at,
            ).update(locked_at=now)
            if taken:
                existing.locked_at = now
                return existing
        raise ApiError(
            ApiErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
            _("A request with this Idempotency-Key is still being processed; retry later."),
            param=HEADER,
            status_code=409,
        )
    raise ApiError(
        ApiErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
        _("A request with this Idempotency-Key is still being processed; retry later."),
        param=HEADER,
        status_code=409,
    )


def idempotency_complete(record: IdempotencyKey, response) -> None:
    """Store the response (any status below 500) or release the key (5xx)."""
    if response.status_code >= 500:
        idempotency_release(record)
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    IdempotencyKey.unscoped.filter(pk=record.pk).update(
        state=IdempotencyKey.State.COMPLETED,
        response_status=response.status_code,
        response_body=bytes(response.content),
        response_content_type=response.get("Content-Type", "application/json"),
    )


def idempotency_release(record: IdempotencyKey) -> None:
    IdempotencyKey.unscoped.filter(pk=record.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()
