"""Staff-facing forms: sign-up with its organization, organization profile, members."""

from __future__ import annotations

import zoneinfo

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from cobro.models import Invitation, Organization, Role
from cobro.services.organizations import (
    organization_create,
    organization_slug_is_free,
    tax_id_normalize,
)

INVITATION_SESSION_KEY = "cobro_invitation_token"
LOGO_MAX_BYTES = 1024 * 1024
LOGO_CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
RESERVED_SLUGS = frozenset(
    {"admin", "accounts", "api", "static", "media", "p", "i18n", "settings", "www", "cobro"}
)


def _time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and "Etc" not in z)
    return [(z, z.replace("_", " ")) for z in zones]


class OrganizationFieldsForm(forms.Form):
    """The organization part of sign-up and of the "new organization" page."""

    display_name = forms.CharField(
        label=_("Business name"),
        max_length=120,
        help_text=_("The name your customers see."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=200,
        help_text=_("As registered with the tax authority; printed on invoices."),
    )
    slug = forms.SlugField(
        label=_("Address"),
        max_length=60,
        min_length=3,
        help_text=_(
            "Lowercase letters, numbers and hyphens. Your customer portal will live at "
            "/p/your-address/."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    country = forms.ChoiceField(label=_("Country"), choices=Organization.Country.choices)
    tax_id = forms.CharField(
        label=_("Tax id"),
        max_length=32,
        help_text=_("RUT in Chile, CUIT in Argentina, RFC in Mexico."),
    )

    def clean_slug(self) -> str:
        slug = slugify(self.cleaned_data["slug"])
        if slug in RESERVED_SLUGS:
            raise ValidationError(_("This address is reserved. Choose another one."))
        if not organization_slug_is_free(slug=slug):
            raise ValidationError(
                _("The address “%(slug)s” is already taken. Choose another one."),
                params={"slug": slug},
            )
        return slug

    def clean(self):
        cleaned = super().clean()
        country, tax_id = cleaned.get("country"), cleaned.get("tax_id")
        if country and tax_id:
            try:
                cleaned["tax_id"] = tax_id_normalize(country=country, tax_id=tax_id)
            except ValidationError as exc:
                self.add_error("tax_id", exc)
        return cleaned

    def create_organization(self, owner) -> Organization:
        data = self.cleaned_data
        return organization_create(
            owner=owner,
            display_name=data["display_name"],
            legal_name=data["legal_name"],
            slug=data["slug"],
            country=data["country"],
            tax_id=data["tax_id"],
        )


def pending_invitation(request) -> Invitation | None:
    """The still-usable invitation the visitor arrived with (kept in the session), if any."""
    if request is None or not hasattr(request, "session"):
        return None
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return None
    invitation = Invitation.objects.select_related("organization").filter(token=token).first()
    if invitation is None or not invitation.is_usable():
        return None
    return invitation


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus the organization the new staff member owns.

    Someone who arrives through an invitation link joins that organization instead, so the
    organization fields are left out for them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = pending_invitation(allauth_context.request)
        self.organization_form: OrganizationFieldsForm | None = None
        if self.invitation is None:
            self.organization_form = OrganizationFieldsForm(
                data=self.data if self.is_bound else None
            )
            for name, field in self.organization_form.fields.items():
                self.fields[name] = field
        elif not self.is_bound:
            self.fields["email"].initial = self.invitation.email

    def clean(self):
        cleaned = super().clean()
        if self.organization_form is not None:
            # Reuse the organization form's validation (slug free, tax id per country).
            if not self.organization_form.is_valid():
                for name, errors in self.organization_form.errors.items():
                    for error in errors:
                        if name in self.fields and name not in self.errors:
                            self.add_error(name if name != "__all__" else None, error)
            else:
                cleaned.update(self.organization_form.cleaned_data)
        return cleaned

    def save(self, request):
        with transaction.atomic():
            user = super().save(request)
            if self.organization_form is not None:
                self.organization_form.cleaned_data = {
                    k: self.cleaned_data[k] for k in self.organization_form.fields
                }
                self.organization_form.create_organization(owner=user)
        return user


class OrganizationCreateForm(OrganizationFieldsForm):
    pass


class OrganizationSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices)
    locale = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    class Meta:
        model = Organization
        fields = [
            "display_name",
            "legal_name",
            "tax_id",
            "address",
            "logo",
            "brand_color",
            "time_zone",
            "locale",
            "require_mfa",
        ]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "brand_color": forms.TextInput(attrs={"type": "color"}),
            "logo": forms.ClearableFileInput(attrs={"accept": ",".join(LOGO_CONTENT_TYPES)}),
        }
        help_texts = {
            "logo": _("PNG, JPEG or WebP, at most 1 MB. Shown on invoices and the portal."),
            "require_mfa": _(
                "Members without two-factor authentication are sent to set it up before "
                "they can use the dashboard."
            ),
        }

    def clean_tax_id(self) -> str:
        return tax_id_normalize(country=self.instance.country, tax_id=self.cleaned_data["tax_id"])

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo or not hasattr(logo, "content_type"):
            return logo  # unchanged or cleared
        if logo.size > LOGO_MAX_BYTES:
            raise ValidationError(_("The logo is too large: the limit is 1 MB."))
        # ImageField already opened it with Pillow; trust the decoded format, not the name.
        image = getattr(logo, "image", None)
        if image is None or image.format not in LOGO_CONTENT_TYPES.values():
            raise ValidationError(_("Upload a PNG, JPEG or WebP image."))
        return logo


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
