"""Portal services: sign-in by one-time code or magic link, staff-sent portal links, the
organization's portal settings, pause limits and cancellation feedback.

Sign-in never tells whether an email belongs to a customer: an unknown email gets the same
answer (and the same rate limits and lockout) as a known one; only the email is missing.
Codes and link tokens are stored as keyed hashes only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from cobro import clock
from cobro.models import Organization
from customers.models import Customer
from customers.portal.models import CancellationFeedback, LoginCode, PortalSettings

CODE_TTL = timedelta(minutes=15)
STAFF_LINK_TTL = timedelta(hours=24)
# Rate limits (django cache, fixed windows): code requests per email and per IP, and wrong
# codes per email (the lockout also applies to emails that are not customers).
REQUESTS_PER_EMAIL = 5
REQUESTS_PER_IP = 30
REQUEST_WINDOW = 60 * 60
VERIFY_FAILURES_PER_EMAIL = LoginCode.MAX_ATTEMPTS
VERIFY_FAILURES_PER_IP = 50
VERIFY_WINDOW = 15 * 60


class PortalErrorCode(StrEnum):
    RATE_LIMITED = "rate_limited"
    INVALID_CODE = "invalid_code"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"
    PAUSE_DISABLED = "pause_disabled"
    PAUSE_TOO_LONG = "pause_too_long"
    PAUSE_IN_PAST = "pause_in_past"
    PAUSES_EXHAUSTED = "pauses_exhausted"
    CANCEL_MODE = "cancel_mode"


_MESSAGES = {
    PortalErrorCode.RATE_LIMITED: _("Too many requests. Please wait a few minutes and try again."),
    PortalErrorCode.INVALID_CODE: _("That code is not valid. Check the email we sent you."),
    PortalErrorCode.EXPIRED: _("That code has expired. Request a new one."),
    PortalErrorCode.USED: _("That code was already used. Request a new one."),
    PortalErrorCode.LOCKED: _("Too many wrong codes. Wait 15 minutes, then request a new code."),
    PortalErrorCode.PAUSE_DISABLED: _("Pausing is not available for this subscription."),
    PortalErrorCode.PAUSE_TOO_LONG: _("A pause can last at most %(days)s days."),
    PortalErrorCode.PAUSE_IN_PAST: _("Choose a resume date after today."),
    PortalErrorCode.PAUSES_EXHAUSTED: _("You can pause at most %(count)s times a year."),
    PortalErrorCode.CANCEL_MODE: _("This cancellation option is not available."),
}


class PortalError(Exception):
    """A portal rule refused the request. ``message`` is translated and safe to show."""

    def __init__(self, code: PortalErrorCode, **params) -> None:
        self.code = code
        self.params = params
        self.message = str(_MESSAGES[code]) % params if params else str(_MESSAGES[code])
        super().__init__(f"{code.value}: {self.message}")


# -- hashing and rate limits -----------------------------------------------------------------


def _keyed_hash(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _code_hash(*, organization_id: int, customer_id: int, code: str) -> str:
    return _keyed_hash(f"portal-code:{organization_id}:{customer_id}:{code.strip()}")


def _link_hash(token: str) -> str:
    return _keyed_hash(f"portal-link:{token}")


def _email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _hit(key: str, window: int) -> int:
    """Increment a fixed-window counter and return its new value."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def _verify_keys(organization: Organization, email: str, ip: str | None) -> tuple[str, str]:
    return (
        f"portal:verify:email:{organization.pk}:{_email_key(email)}",
        f"portal:verify:ip:{ip or '-'}",
    )


# -- sign-in ---------------------------------------------------------------------------------


def _find_customer(organization: Organization, email: str) -> Customer | None:
    email = (email or "").strip()
    if not email:
        return None
    return (
        Customer.unscoped.select_related("organization")
        .filter(organization=organization, email__iexact=email)
        .first()
    )


def _issue(*, customer: Customer, ttl: timedelta, ip: str | None, by_staff: bool):
    """Create a code + link for ``customer`` (retiring unused older ones) and queue the email
    after commit. Returns (login, code, token)."""
    now = clock.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        LoginCode.unscoped.filter(customer=customer, used_at__isnull=True).update(used_at=now)
        login = LoginCode.unscoped.create(
            organization_id=customer.organization_id,
            customer=customer,
            code_hash=_code_hash(
                organization_id=customer.organization_id, customer_id=customer.pk, code=code
            ),
            link_hash=_link_hash(token),
            created_at=now,
            expires_at=now + ttl,
            requested_ip=ip,
            sent_by_staff=by_staff,
        )
        from customers.portal.tasks import queue_login_email

        queue_login_email(login=login, code=code, token=token)
    return login, code, token


def login_code_request(*, organization: Organization, email: str, ip: str | None) -> None:
    """Email a sign-in code and magic link if ``email`` is a customer of ``organization``.

    Same outcome for unknown emails (no email is sent). Raises ``PortalError(RATE_LIMITED)``
    past the per-email or per-IP limit, whether or not the email is known."""
    per_email = _hit(f"portal:req:email:{organization.pk}:{_email_key(email)}", REQUEST_WINDOW)
    per_ip = _hit(f"portal:req:ip:{ip or '-'}", REQUEST_WINDOW)
    if per_email > REQUESTS_PER_EMAIL or per_ip > REQUESTS_PER_IP:
        raise PortalError(PortalErrorCode.RATE_LIMITED)
    customer = _find_customer(organization, email)
    if customer is None:
        # Spend comparable work so that the answer's timing says little.
        _code_hash(organization_id=organization.pk, customer_id=0, code="000000")
        _link_hash(secrets.token_urlsafe(32))
        return
    _issue(customer=customer, ttl=CODE_TTL, ip=ip, by_staff=False)


def login_code_verify(
    *, organization: Organization, email: str, code: str, ip: str | None
) -> Customer:
    """The customer whose latest code is ``code``; marks the code used.

    A wrong code counts against the code (locked after ``LoginCode.MAX_ATTEMPTS``) and
    against the email in the cache (so unknown emails lock out the same way). "Expired" and
    "already used" are only said to someone who typed the right code."""
    email_key, ip_key = _verify_keys(organization, email, ip)
    if _count(email_key) >= VERIFY_FAILURES_PER_EMAIL or _count(ip_key) >= VERIFY_FAILURES_PER_IP:
        raise PortalError(PortalErrorCode.LOCKED)
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    customer = _find_customer(organization, email)
    now = clock.now()
    error: PortalErrorCode | None = None
    with transaction.atomic():
        login = None
        if customer is not None:
            login = (
                LoginCode.unscoped.select_for_update()
                .filter(organization=organization, customer=customer)
                .order_by("-created_at", "-pk")
                .first()
            )
        expected = (
            login.code_hash
            if login is not None
            else _code_hash(organization_id=organization.pk, customer_id=0, code="x")
        )
        matches = len(code) == 6 and constant_time_compare(
            _code_hash(
                organization_id=organization.pk,
                customer_id=customer.pk if customer else 0,
                code=code,
            ),
            expected,
        )
        if login is None:
            error = PortalErrorCode.INVALID_CODE
        elif login.locked:
            error = PortalErrorCode.LOCKED
        elif not matches:
            login.attempts += 1
            login.save(update_fields=["attempts"])
            error = PortalErrorCode.LOCKED if login.locked else PortalErrorCode.INVALID_CODE
        elif login.used_at is not None:
            error = PortalErrorCode.USED
        elif login.expires_at <= now:
            error = PortalErrorCode.EXPIRED
        else:
            login.used_at = now
            login.save(update_fields=["used_at"])
    if error is not None:
        if error in (PortalErrorCode.INVALID_CODE, PortalErrorCode.LOCKED):
            failures = _hit(email_key, VERIFY_WINDOW)
            _hit(ip_key, VERIFY_WINDOW)
            if failures >= VERIFY_FAILURES_PER_EMAIL:
                error = PortalErrorCode.LOCKED
        raise PortalError(error)
    assert customer is not None
    return customer


def login_link_verify(*, organization: Organization, token: str) -> Customer:
    """The customer of a magic link; marks it (and its code) used. Links of another
    organization are invalid here."""
    now = clock.now()
    error: PortalErrorCode | None = None
    with transaction.atomic():
        login = (
            LoginCode.unscoped.select_for_update()
            .select_related("customer", "customer__organization")
            .filter(organization=organization, link_hash=_link_hash(token or ""))
            .first()
        )
        if login is None:
            error = PortalErrorCode.INVALID_CODE
        elif login.locked:
            error = PortalErrorCode.LOCKED
        elif login.used_at is not None:
            error = PortalErrorCode.USED
        elif login.expires_at <= now:
            error = PortalErrorCode.EXPIRED
        else:
            login.used_at = now
            login.save(update_fields=["used_at"])
    if error is not None:
        raise PortalError(error)
    assert login is not None
    return login.customer


def portal_link_send(*, customer: Customer, actor, request=None) -> LoginCode:
    """Staff send ``customer`` a sign-in link to the portal (valid 24 hours, single use).
    Recorded in the organization's audit log."""
    from cobro.services.audit import audit_record

    login, _code, _token = _issue(customer=customer, ttl=STAFF_LINK_TTL, ip=None, by_staff=True)
    audit_record(
        organization=customer.organization,
        actor=actor,
        action="portal.link_sent",
        target=customer,
        changes={"email": customer.email},
        request=request,
    )
    return login


# -- settings, pauses, cancellations --------------------------------------------------------


def portal_settings_for(organization: Organization) -> PortalSettings:
    """The organization's portal settings (defaults, unsaved, when it never set any)."""
    found = PortalSettings.unscoped.filter(organization=organization).first()
    return found or PortalSettings(organization=organization)


PORTAL_SETTINGS_FIELDS = frozenset(
    {
        "max_pause_days",
        "pauses_per_year",
        "cancel_mode",
        "allow_plan_change",
        "retention_offer_text",
        "retention_coupon_code",
    }
)


@transaction.atomic
def portal_settings_update(*, organization: Organization, actor, **fields) -> PortalSettings:
    """Save what customers may do alone in the portal (pause limits, cancellation timing, plan
    changes, retention offer). Validated before saving; the change goes to the audit log."""
    from cobro.services.audit import audit_record

    unknown = set(fields) - PORTAL_SETTINGS_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    row, _created = PortalSettings.unscoped.select_for_update().get_or_create(
        organization=organization
    )
    changes = {}
    for name, value in fields.items():
        old = getattr(row, name)
        if old != value:
            changes[name] = [old, value]
            setattr(row, name, value)
    row.full_clean()
    row.save()
    if changes:
        audit_record(
            organization=organization,
            actor=actor,
            action="portal.settings_updated",
            target=row,
            changes=changes,
        )
    return row


@dataclass(frozen=True)
class PauseAllowance:
    max_days: int
    per_year: int
    used_this_year: int

    @property
    def remaining(self) -> int:
        return max(0, self.per_year - self.used_this_year)

    @property
    def enabled(self) -> bool:
        return self.max_days > 0 and self.per_year > 0


def pause_allowance(*, subscription, now: datetime) -> PauseAllowance:
    """How long and how often this subscription may still be paused from the portal. Pauses
    are counted from the outbox's ``subscription.paused`` events of the last 365 days, so a
    pause made by staff counts too."""
    from cobro.models import OutboxEvent

    conf = portal_settings_for(subscription.organization)
    used = OutboxEvent.unscoped.filter(
        organization_id=subscription.organization_id,
        type="subscription.paused",
        subject_type="billing.subscription",
        subject_id=str(subscription.pk),
        created_at__gte=now - timedelta(days=365),
    ).count()
    return PauseAllowance(
        max_days=conf.max_pause_days, per_year=conf.pauses_per_year, used_this_year=used
    )


def pause_check(*, allowance: PauseAllowance, today: date, resume_on: date) -> None:
    """Raise ``PortalError`` unless a pause from ``today`` to ``resume_on`` (local dates) is
    within the organization's limits."""
    if not allowance.enabled:
        raise PortalError(PortalErrorCode.PAUSE_DISABLED)
    if resume_on <= today:
        raise PortalError(PortalErrorCode.PAUSE_IN_PAST)
    if (resume_on - today).days > allowance.max_days:
        raise PortalError(PortalErrorCode.PAUSE_TOO_LONG, days=allowance.max_days)
    if allowance.remaining <= 0:
        raise PortalError(PortalErrorCode.PAUSES_EXHAUSTED, count=allowance.per_year)


def cancel_modes(organization: Organization) -> list[str]:
    """The cancellation timings the organization offers: "period_end" and/or "now"."""
    mode = portal_settings_for(organization).cancel_mode
    if mode == "both":
        return ["period_end", "now"]
    return [mode]


def cancellation_feedback_record(
    *,
    customer: Customer,
    subscription,
    reason: str,
    comment: str,
    at_period_end: bool,
    retention_offer_shown: bool,
) -> CancellationFeedback:
    """Store the (optional) answer to the cancellation survey."""
    return CancellationFeedback.unscoped.create(
        organization_id=customer.organization_id,
        customer=customer,
        subscription=subscription,
        reason=reason,
        comment=(comment or "").strip()[:2000],
        at_period_end=at_period_end,
        retention_offer_shown=retention_offer_shown,
        created_at=clock.now(),
    )
