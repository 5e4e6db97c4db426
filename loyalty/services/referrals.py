"""Referrals: codes, applying a code to a new customer, and rewarding both sides once.

Public entry points (other apps call these; keep their signatures stable):

- ``referral_code_for(*, customer) -> ReferralCode``: the customer's code (created on first
  use).
- ``referral_link(*, customer) -> str``: absolute link to share, ``/s/<org>/?ref=<code>``
  (the public subscribe pages read ``ref``).
- ``referral_apply(*, customer, code, source) -> Referral``: the new ``customer`` signs up
  with ``code``. Raises ``ReferralError`` (stable ``code``, translated ``message``) and writes
  nothing when refused.
- ``referral_qualify_for_invoice(*, invoice)``: called from the ``invoice.paid`` handler; the
  referred customer's first successful payment rewards both sides, exactly once.

Abuse controls: a customer cannot use their own code, nor a code of a customer with the same
normalised email (case, ``+tag`` and Gmail dots ignored) or a payment method with the same
card fingerprint (checked when applying and again when the first payment arrives, since the
card is often added after sign-up: a match then rejects the referral); a referrer can make at
most ``programme.referral_cap`` referrals that are not rejected (0 means no cap); a customer
can be referred once, and only before their first payment.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cobro import clock
from cobro.services.audit import audit_record
from loyalty.error_codes import LoyaltyErrorCode, ReferralError
from loyalty.models import LoyaltyProgramme, PointsEntry, Referral, ReferralCode
from loyalty.services.ledger import _append, account_lock
from loyalty.services.programme import programme_active

Code = LoyaltyErrorCode
Status = Referral.Status

# No 0/O, 1/I/L: codes are read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def referral_code_normalise(code: str) -> str:
    return "".join((code or "").split()).upper().replace("-", "")[:16]


def email_normalise(email: str) -> str:
    """Lower-case, drop a ``+tag`` and, for Gmail, the dots of the local part."""
    local, _sep, domain = (email or "").strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def referral_code_for(*, customer) -> ReferralCode:
    """The customer's referral code, created on first use (retrying a rare collision)."""
    existing = ReferralCode.unscoped.filter(customer=customer).first()
    if existing is not None:
        return existing
    now = clock.now(customer.organization)
    for _attempt in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.unscoped.create(
                    organization_id=customer.organization_id,
                    customer=customer,
                    code=code,
                    created_at=now,
                )
        except IntegrityError:
            existing = ReferralCode.unscoped.filter(customer=customer).first()
            if existing is not None:  # a concurrent first use created it
                return existing
    raise RuntimeError("could not generate a unique referral code")


def referral_link(*, customer) -> str:
    code = referral_code_for(customer=customer)
    return f"{settings.SITE_URL}/s/{customer.organization.slug}/?ref={code.code}"


def _fingerprints(customer) -> set[str]:
    from billing.payments.models import PaymentMethod

    return {
        fp
        for fp in PaymentMethod.unscoped.filter(customer=customer).values_list(
            "fingerprint", flat=True
        )
        if fp
    }


def _has_paid(customer) -> bool:
    from billing.models import Invoice, InvoiceStatus

    return Invoice.unscoped.filter(
        customer=customer, status=InvoiceStatus.PAID, amount_paid_minor__gt=0
    ).exists()


def _same_person(referrer, referred) -> bool:
    if referrer.pk == referred.pk:
        return True
    if email_normalise(referrer.email) == email_normalise(referred.email):
        return True
    return bool(_fingerprints(referrer) & _fingerprints(referred))


def _active_count(referrer) -> int:
    return Referral.unscoped.filter(referrer=referrer).exclude(status=Status.REJECTED).count()


def _programme_for_referrals(organization) -> LoyaltyProgramme:
    programme = programme_active(organization)
    if programme is None or not programme.referrals_enabled:
        raise ReferralError(Code.REFERRALS_DISABLED)
    return programme


def referral_check(*, organization, code: str, email: str = "") -> ReferralCode:
    """Validate a code before the customer exists (a sign-up form): same errors as
    ``referral_apply`` for unknown / other organization / same email / cap reached."""
    programme = _programme_for_referrals(organization)
    normalised = referral_code_normalise(code)
    row = (
        ReferralCode.unscoped.select_related("customer").filter(code=normalised).first()
        if normalised
        else None
    )
    if row is None:
        raise ReferralError(Code.REFERRAL_CODE_UNKNOWN)
    if row.organization_id != organization.pk:
        raise ReferralError(Code.REFERRAL_CODE_OTHER_ORGANIZATION)
    if email and email_normalise(row.customer.email) == email_normalise(email):
        raise ReferralError(Code.REFERRAL_SELF)
    if programme.referral_cap and _active_count(row.customer) >= programme.referral_cap:
        raise ReferralError(Code.REFERRAL_CAP_REACHED)
    return row


@transaction.atomic
def referral_apply(
    *, customer, code: str, source: str, actor=None, request=None, now: datetime | None = None
) -> Referral:
    """Record that the new ``customer`` was referred by the owner of ``code``.

    ``source`` is one of ``Referral.Source`` (staff, portal, checkout, api). The rewards come
    later, with the first successful payment. Raises ``ReferralError`` with code
    referrals_disabled, referral_code_unknown, referral_code_other_organization,
    referral_self, referral_cap_reached, referral_already_referred or
    referral_not_new_customer; nothing is written then.
    """
    organization = customer.organization
    programme = _programme_for_referrals(organization)
    normalised = referral_code_normalise(code)
    row = ReferralCode.unscoped.filter(code=normalised).first() if normalised else None
    if row is None:
        raise ReferralError(Code.REFERRAL_CODE_UNKNOWN)
    if row.organization_id != customer.organization_id:
        raise ReferralError(Code.REFERRAL_CODE_OTHER_ORGANIZATION)
    from customers.models import Customer

    # Lock the referrer row: serializes concurrent applications of the same code (the cap).
    referrer = Customer.unscoped.select_for_update().get(pk=row.customer_id)
    if _same_person(referrer, customer):
        raise ReferralError(Code.REFERRAL_SELF)
    if Referral.unscoped.filter(referred=customer).exists():
        raise ReferralError(Code.REFERRAL_ALREADY_REFERRED)
    if _has_paid(customer):
        raise ReferralError(Code.REFERRAL_NOT_NEW_CUSTOMER)
    if programme.referral_cap and _active_count(referrer) >= programme.referral_cap:
        raise ReferralError(Code.REFERRAL_CAP_REACHED)
    now = now or clock.now(organization)
    if source not in Referral.Source.values:
        source = Referral.Source.STAFF
    try:
        with transaction.atomic():
            referral = Referral.unscoped.create(
                organization_id=customer.organization_id,
                referrer=referrer,
                referred=customer,
                code=row.code,
                source=source,
                created_at=now,
            )
    except IntegrityError as exc:  # a concurrent apply for the same customer won
        raise ReferralError(Code.REFERRAL_ALREADY_REFERRED) from exc
    if actor is not None:
        audit_record(
            organization=organization,
            actor=actor,
            action="loyalty.referral_applied",
            target=referral,
            changes={"referrer": referrer.pk, "referred": customer.pk, "source": source},
            request=request,
        )
    return referral


@transaction.atomic
def referral_qualify_for_invoice(*, invoice, now: datetime | None = None) -> Referral | None:
    """The referred customer paid: reward both sides (once) or reject the referral when the
    payment method turns out to be the referrer's. No-op for anything but a pending referral
    and a paid invoice with money received."""
    from billing.models import InvoiceStatus

    if invoice.status != InvoiceStatus.PAID or invoice.amount_paid_minor <= 0:
        return None
    referral = (
        Referral.unscoped.select_for_update()
        .filter(referred_id=invoice.customer_id, status=Status.PENDING)
        .first()
    )
    if referral is None:
        return None
    programme = programme_active(invoice.organization)
    if programme is None or not programme.referrals_enabled:
        return None  # stays pending; the next payment after re-enabling qualifies it
    now = now or clock.now(invoice.organization)
    referrer, referred = referral.referrer, referral.referred
    referral.qualifying_invoice = invoice
    referral.decided_at = now
    if _same_person(referrer, referred):
        referral.status = Status.REJECTED
        referral.rejection_reason = "same_payment_method"
        referral.save(
            update_fields=["status", "rejection_reason", "qualifying_invoice", "decided_at"]
        )
        return referral
    # Lock both accounts in primary-key order so two qualifications cannot deadlock.
    sides = sorted(
        [
            (referrer, programme.referrer_points, "referrer"),
            (referred, programme.referred_points, "referred"),
        ],
        key=lambda s: s[0].pk,
    )
    for customer, points, role in sides:
        account = account_lock(customer=customer, now=now)
        if points <= 0:
            continue
        if role == "referrer":
            text = _("Referral reward: %(name)s made their first payment") % {"name": referred.name}
        else:
            text = _("Welcome reward: referred by %(name)s") % {"name": referrer.name}
        _append(
            account=account,
            kind=PointsEntry.Kind.EARN,
            points=points,
            description=text,
            now=now,
            source_key=f"referral:{referral.pk}:{role}",
            programme=programme,
            details={"referral_id": referral.pk, "role": role},
        )
    referral.status = Status.REWARDED
    referral.referrer_points = programme.referrer_points
    referral.referred_points = programme.referred_points
    referral.save(
        update_fields=[
            "status",
            "referrer_points",
            "referred_points",
            "qualifying_invoice",
            "decided_at",
        ]
    )
    return referral


def referrals_of(*, customer):
    """The referrals ``customer`` made, newest first."""
    return Referral.unscoped.filter(referrer=customer).select_related("referred")


__all__ = [
    "ReferralError",
    "email_normalise",
    "referral_apply",
    "referral_check",
    "referral_code_for",
    "referral_link",
    "referral_qualify_for_invoice",
    "referrals_of",
]


# -- the "new customer" form field (customers.create_extensions) ----------------------------


def _form_field():
    from django import forms
    from django.utils.translation import gettext_lazy

    return forms.CharField(
        label=gettext_lazy("Referral code"),
        required=False,
        max_length=32,
        help_text=gettext_lazy(
            "Optional: the code of the customer who referred this one. Both get the referral "
            "reward after the first payment."
        ),
    )


def _form_validate(organization, value, email: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        referral_check(organization=organization, code=value, email=email)
    except ReferralError as exc:
        raise ValidationError(exc.message, code=str(exc.code)) from exc


def _form_apply(customer, value, actor, request) -> None:
    from django.core.exceptions import ValidationError

    try:
        referral_apply(
            customer=customer,
            code=value,
            source=Referral.Source.STAFF,
            actor=actor,
            request=request,
        )
    except ReferralError as exc:
        raise ValidationError(exc.message, code=str(exc.code)) from exc


def referral_form_extension():
    from customers.create_extensions import CustomerCreateExtension

    return CustomerCreateExtension(
        name="referral_code", field=_form_field, validate=_form_validate, apply=_form_apply
    )
