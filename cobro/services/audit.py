"""Writing the audit log. Services call ``audit_record`` for every staff (or API) action,
inside the same transaction as the change, so the entry exists if and only if the change does.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from cobro import clock
from cobro.models import ApiKey, AuditEntry, Organization


def _actor_fields(actor: Any) -> tuple[Any, str]:
    if actor is None or isinstance(actor, AnonymousUser):
        return None, "system"
    actor = getattr(actor, "api_key", actor)  # an API request's principal acts through its key
    if isinstance(actor, ApiKey):
        return None, f"api key {actor.prefix} ({actor.name})"
    if isinstance(actor, AbstractBaseUser):
        label = getattr(actor, "email", "") or actor.get_username()
        return actor, label[:200]
    return None, str(actor)[:200]


def _client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites
    # it, and the deployment terminates TLS in front of gunicorn, which sets REMOTE_ADDR.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    organization: Organization,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry to ``organization``'s audit log.

    ``actor`` is a user, an ``ApiKey`` or ``None`` (the system). ``action`` is a stable dotted
    verb (``customer.updated``, ``member.role_changed``). ``changes`` is JSON, conventionally
    ``{"field": [old, new]}``. The entry can never be changed or deleted afterwards.
    """
    user, label = _actor_fields(actor)
    return AuditEntry.unscoped.create(
        organization=organization,
        actor=user,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        changes=changes or {},
        ip=_client_ip(request),
        created_at=clock.now(),
    )
