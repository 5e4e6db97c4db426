"""Organizations, memberships and invitations: every write of the staff-accounts area.

Services are keyword-only and transactional. They raise ``ValidationError`` (user input) or
``PermissionDenied`` (role rules) with messages meant for the person who acted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.ar import cuit
from stdnum.cl import rut
from stdnum.mx import rfc

from cobro.models import Invitation, Membership, Organization, Role
from cobro.services.audit import audit_record

CURRENCY_BY_COUNTRY = {
    "CL": "CLP",
    "AR": "ARS",
    "MX": "MXN",
    "CO": "COP",
    "PE": "PEN",
    "UY": "UYU",
    "BR": "BRL",
    "US": "USD",
}

TIME_ZONE_BY_COUNTRY = {
    "CL": "America/Santiago",
    "AR": "America/Argentina/Buenos_Aires",
    "MX": "America/Mexico_City",
    "CO": "America/Bogota",
    "PE": "America/Lima",
    "UY": "America/Montevideo",
    "BR": "America/Sao_Paulo",
    "US": "America/New_York",
}

# Country -> (python-stdnum module, name shown in errors, store the printed form?).
# RUT and CUIT are printed with separators (76.086.428-5); an RFC is written compact.
_TAX_ID_VALIDATORS = {
    "CL": (rut, "RUT", True),
    "AR": (cuit, "CUIT", True),
    "MX": (rfc, "RFC", False),
}

# Fields staff may change on the profile/branding page.
ORGANIZATION_EDITABLE_FIELDS = frozenset(
    {
        "legal_name",
        "display_name",
        "tax_id",
        "address",
        "logo",
        "brand_color",
        "time_zone",
        "locale",
        "require_mfa",
    }
)


class InvitationError(Exception):
    """An invitation cannot be accepted (expired, already used, unknown)."""


def tax_id_normalize(*, country: str, tax_id: str) -> str:
    """Validate a tax id for ``country`` and return it in its usual printed form.

    Chile (RUT), Argentina (CUIT) and Mexico (RFC) are checked with python-stdnum, check digit
    included; other countries accept free text (trimmed).
    """
    tax_id = (tax_id or "").strip()
    entry = _TAX_ID_VALIDATORS.get(country)
    if entry is None or not tax_id:
        return tax_id
    module, name, printed = entry
    try:
        compact = module.validate(tax_id)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            _("This is not a valid %(name)s. Check the number and its check digit.")
            % {"name": name},
            code="invalid_tax_id",
        ) from exc
    return module.format(compact) if printed else compact


def organization_slug_is_free(*, slug: str, exclude_pk: int | None = None) -> bool:
    qs = Organization.objects.filter(slug__iexact=slug)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return not qs.exists()


@transaction.atomic
def organization_create(
    *,
    owner,
    display_name: str,
    legal_name: str,
    slug: str,
    country: str,
    tax_id: str = "",
    default_currency: str | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
) -> Organization:
    """Create an organization and make ``owner`` its owner.

    Currency and time zone default from the country (CL -> CLP, America/Santiago).
    """
    slug = slug.strip().lower()
    if country not in Organization.Country.values:
        raise ValidationError(_("Choose a supported country."), code="invalid_country")
    if not organization_slug_is_free(slug=slug):
        raise ValidationError(
            _("The address “%(slug)s” is already taken. Choose another one.") % {"slug": slug},
            code="slug_taken",
        )
    organization = Organization(
        display_name=display_name.strip(),
        legal_name=legal_name.strip(),
        slug=slug,
        country=country,
        tax_id=tax_id_normalize(country=country, tax_id=tax_id),
        default_currency=default_currency or CURRENCY_BY_COUNTRY.get(country, "USD"),
        time_zone=time_zone or TIME_ZONE_BY_COUNTRY.get(country, settings.TIME_ZONE),
        locale=locale or settings.LANGUAGE_CODE,
    )
    organization.full_clean()
    organization.save()
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    audit_record(
        organization=organization, actor=owner, action="organization.created", target=organization
    )
    return organization


@transaction.atomic
def organization_update(
    *, organization: Organization, actor_membership: Membership, **fields: Any
) -> Organization:
    """Change profile/branding settings. Needs the ``manage`` permission."""
    if actor_membership.organization_id != organization.pk or not actor_membership.has_perm(
        "manage"
    ):
        raise PermissionDenied(_("You may not change this organization's settings."))
    unknown = set(fields) - ORGANIZATION_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "tax_id" in fields:
        fields["tax_id"] = tax_id_normalize(country=organization.country, tax_id=fields["tax_id"])
    changes = {}
    for name, value in fields.items():
        old = getattr(organization, name)
        setattr(organization, name, value)
        if name == "logo":
            changes[name] = [str(old or ""), "(uploaded)" if value else ""]
        elif old != value:
            changes[name] = [old, value]
    organization.full_clean()
    organization.save()
    if changes:
        audit_record(
            organization=organization,
            actor=actor_membership.user,
            action="organization.updated",
            target=organization,
            changes=changes,
        )
    return organization


def _require_manage_members(actor_membership: Membership, organization: Organization) -> None:
    if actor_membership.organization_id != organization.pk or not actor_membership.has_perm(
        "manage_members"
    ):
        raise PermissionDenied(_("You may not manage the members of this organization."))


def _invitation_email_send(invitation: Invitation, language: str) -> None:
    accept_url = settings.SITE_URL + reverse("dashboard:invitation_accept", args=[invitation.token])
    context = {"invitation": invitation, "organization": invitation.organization}
    context["accept_url"] = accept_url
    with translation.override(language):
        subject = render_to_string("cobro/email/invitation_subject.txt", context).strip()
        body = render_to_string("cobro/email/invitation_body.txt", context)
    send_mail(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )


@transaction.atomic
def membership_invite(
    *, organization: Organization, email: str, role: str, actor_membership: Membership
) -> Invitation:
    """Invite ``email`` with ``role``; the email with the accept link goes out after commit.

    A still-pending invitation for the same address is replaced (its link stops working).
    """
    _require_manage_members(actor_membership, organization)
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError(_("Choose a valid role."), code="invalid_role")
    if role == Role.OWNER and not actor_membership.has_perm("own"):
        raise PermissionDenied(_("Only an owner can invite another owner."))
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError(
            _("%(email)s is already a member of this organization.") % {"email": email},
            code="already_member",
        )
    Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True
    ).delete()
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor_membership.user
    )
    audit_record(
        organization=organization,
        actor=actor_membership.user,
        action="member.invited",
        target=invitation,
        changes={"email": [None, email], "role": [None, role]},
    )
    language = translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(lambda: _invitation_email_send(invitation, language))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor_membership: Membership) -> None:
    _require_manage_members(actor_membership, invitation.organization)
    if invitation.accepted_at is None:
        audit_record(
            organization=invitation.organization,
            actor=actor_membership.user,
            action="member.invitation_revoked",
            target=invitation,
            changes={"email": [invitation.email, None]},
        )
        invitation.delete()


def invitation_get_usable(*, token: str) -> Invitation:
    """The invitation for ``token`` if it can still be accepted, else ``InvitationError``."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by").filter(token=token).first()
    )
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid. Ask for a new invitation."))
    if invitation.accepted_at is not None:
        raise InvitationError(
            _("This invitation has already been used. Sign in to reach the organization.")
        )
    if not invitation.is_usable(timezone.now()):
        raise InvitationError(
            _("This invitation has expired. Ask an administrator to invite you again.")
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Turn the invitation into a membership of ``user``. Usable once, before it expires."""
    # Lock the row so two clicks on the link cannot both accept it.
    list(Invitation.objects.select_for_update().filter(token=token))
    invitation = invitation_get_usable(token=token)
    membership, _created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(
        organization=invitation.organization,
        actor=user,
        action="member.joined",
        target=membership,
        changes={"role": [None, membership.role]},
    )
    return membership


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor_membership: Membership
) -> Membership:
    """Change a member's role. Only owners grant or take away the owner role, and the last
    owner always stays an owner."""
    organization = membership.organization
    _require_manage_members(actor_membership, organization)
    if role not in Role.values:
        raise ValidationError(_("Choose a valid role."), code="invalid_role")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and not actor_membership.has_perm("own"):
        raise PermissionDenied(_("Only an owner can grant or remove the owner role."))
    if membership.role == Role.OWNER and role != Role.OWNER:
        # Lock the owners so two concurrent demotions cannot leave none.
        owners = list(
            Membership.objects.select_for_update().filter(
                organization=organization, role=Role.OWNER
            )
        )
        if len(owners) <= 1:
            raise ValidationError(
                _("An organization needs at least one owner. Make someone else owner first."),
                code="last_owner",
            )
    old_role = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        organization=organization,
        actor=actor_membership.user,
        action="member.role_changed",
        target=membership,
        changes={"role": [old_role, role]},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor_membership: Membership) -> None:
    """Remove a member. Owners are removed only by owners; the last owner never."""
    organization = membership.organization
    _require_manage_members(actor_membership, organization)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.OWNER:
        if not actor_membership.has_perm("own"):
            raise PermissionDenied(_("Only an owner can remove another owner."))
        owners = list(
            Membership.objects.select_for_update().filter(
                organization=organization, role=Role.OWNER
            )
        )
        if len(owners) <= 1:
            raise ValidationError(
                _("An organization needs at least one owner. Make someone else owner first."),
                code="last_owner",
            )
    audit_record(
        organization=organization,
        actor=actor_membership.user,
        action="member.removed",
        target=membership,
        changes={"user": [membership.user.email, None], "role": [membership.role, None]},
    )
    membership.delete()
