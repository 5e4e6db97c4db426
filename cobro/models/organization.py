"""Organizations (tenants), memberships with roles, invitations and API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

COLOR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f6feb."))


class Organization(models.Model):
    """A tenant: one SME using Cobro. Not itself tenant-scoped."""

    class Country(models.TextChoices):
        CL = "CL", _("Chile")
        AR = "AR", _("Argentina")
        MX = "MX", _("Mexico")
        CO = "CO", _("Colombia")
        PE = "PE", _("Peru")
        UY = "UY", _("Uruguay")
        BR = "BR", _("Brazil")
        US = "US", _("United States")

    legal_name = models.CharField(_("legal name"), max_length=200)
    display_name = models.CharField(_("display name"), max_length=120)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices, default="CL")
    default_currency = models.CharField(_("currency"), max_length=3, default="CLP")
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/Santiago")
    locale = models.CharField(_("language"), max_length=10, default="es-419")
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True)
    address = models.TextField(_("address"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    brand_color = models.CharField(
        _("brand colour"), max_length=7, default="#1f6feb", validators=[COLOR_VALIDATOR]
    )
    require_mfa = models.BooleanField(_("require two-factor authentication"), default=False)
    is_sandbox = models.BooleanField(_("sandbox (test clock)"), default=False)
    # Sandbox organizations run on a test clock: billing reads this instead of the wall clock.
    test_clock_at = models.DateTimeField(_("test clock"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    BILLING = "billing", _("Billing")
    VIEWER = "viewer", _("Viewer")


# What each role may do. Permissions are coarse verbs that views and services check.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({"view", "bill", "manage", "manage_members", "own"}),
    Role.ADMIN: frozenset({"view", "bill", "manage", "manage_members"}),
    Role.BILLING: frozenset({"view", "bill"}),
    Role.VIEWER: frozenset({"view"}),
}


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    def has_perm(self, perm: str) -> bool:
        return perm in ROLE_PERMISSIONS[self.role]


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} -> {self.organization_id} ({self.role})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.expires_at > now


class ApiKey(models.Model):
    """An integrator's key. Only a SHA-256 of the secret is stored; the prefix is visible.

    The full key is ``cobro_<prefix>_<secret>`` and is shown once, at creation.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def parse(cls, raw: str) -> tuple[str, str] | None:
        parts = raw.split("_")
        if len(parts) != 3 or parts[0] != "cobro":
            return None
        return parts[1], parts[2]

    def check_secret(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, self.hash_secret(secret))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Scopes look like ``customers:read``; ``*:write`` implies read, ``*`` is everything."""
        resource, _, action = scope.partition(":")
        granted = set(self.scopes)
        if "*" in granted or scope in granted or f"{resource}:write" in granted:
            return True
        return action == "read" and f"{resource}:read" in granted
