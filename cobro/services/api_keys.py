"""API keys: creation (the secret is shown once) and revocation."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cobro import clock
from cobro.models import ApiKey, Organization
from cobro.services.audit import audit_record

KEY_PREFIX = "cobro"
_SCOPE_RE = re.compile(r"^(\*|[a-z][a-z_]*:(read|write))$")
_ALPHABET = string.ascii_letters + string.digits


def _random(length: int) -> str:
    # Letters and digits only: "_" separates the parts of a key.
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _clean_scopes(scopes: list[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s and s.strip()})
    if not cleaned:
        raise ValidationError(_("Choose at least one permission for the key."), code="scopes")
    bad = [s for s in cleaned if not _SCOPE_RE.match(s)]
    if bad:
        raise ValidationError(
            _("Unknown permission: %(scopes)s. Use resource:read or resource:write."),
            params={"scopes": ", ".join(bad)},
            code="scopes",
        )
    return cleaned


def api_key_create(
    *, organization: Organization, name: str, scopes: list[str], actor: Any
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value ``cobro_<prefix>_<secret>``.

    Only a SHA-256 of the secret is stored, so the raw key is shown to the user once, now.
    Scopes are ``<resource>:read`` / ``<resource>:write`` (write implies read) or ``*``.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the key a name."), code="name")
    cleaned = _clean_scopes(scopes)
    secret = _random(40)
    with transaction.atomic():
        while True:
            prefix = _random(10)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        key = ApiKey.objects.create(
            organization=organization,
            name=name[:100],
            prefix=prefix,
            secret_hash=ApiKey.hash_secret(secret),
            scopes=cleaned,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="api_key.created",
            target=key,
            changes={"name": name, "prefix": prefix, "scopes": cleaned},
        )
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, api_key: ApiKey, actor: Any) -> ApiKey:
    """Revoke a key for good; requests with it get 401 from now on. Revoking twice is a no-op."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            key.save(update_fields=["revoked_at"])
            audit_record(
                organization=key.organization,
                actor=actor,
                action="api_key.revoked",
                target=key,
                changes={"prefix": key.prefix},
            )
    api_key.revoked_at = key.revoked_at
    return key
