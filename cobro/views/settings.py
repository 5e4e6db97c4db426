"""The settings hub (every setting area on one page, each with what it does) and the API keys
page. Like the dashboard home, the hub composes every app, but only through URL names: an
area whose app is not installed simply does not show.

Each area names the role verb needed to open it; a member who lacks it sees the area and
who can change it, without a link (the page itself refuses the URL anyway)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cobro.models import ApiKey
from cobro.services.api_keys import api_key_create, api_key_revoke
from cobro.views.base import StaffView


@dataclass(frozen=True)
class SettingArea:
    key: str
    title: str | Promise
    description: str | Promise
    url_name: str | None
    permission: str = "manage"
    anchor: str = ""
    # For an area with no page in the dashboard: where it is managed instead.
    elsewhere: str | Promise = ""
    sandbox_only: bool = False


SECTIONS: list[tuple[Promise, list[SettingArea]]] = [
    (
        gettext_lazy("Your organization"),
        [
            SettingArea(
                "organization",
                gettext_lazy("Profile and branding"),
                gettext_lazy(
                    "Trade and legal name, tax id, address, time zone, main currency, language, "
                    "logo and colour. They appear on invoices, emails and the customer portal."
                ),
                "dashboard:organization_settings",
            ),
            SettingArea(
                "members",
                gettext_lazy("Members and roles"),
                gettext_lazy(
                    "Who works in Cobro and what each may do: owners and admins change settings, "
                    "billing staff run billing, viewers only look."
                ),
                "dashboard:members",
                permission="view",
            ),
        ],
    ),
    (
        gettext_lazy("Billing"),
        [
            SettingArea(
                "taxes",
                gettext_lazy("Taxes"),
                gettext_lazy("Tax rates such as IVA 19% that prices add on top or include."),
                "billing:tax_list",
                permission="view",
            ),
            SettingArea(
                "numbering",
                gettext_lazy("Numbering, currencies and payment terms"),
                gettext_lazy(
                    "The prefixes of invoice and credit note numbers (gap-free sequences), the "
                    "extra currencies you bill in and the default days to pay an invoice."
                ),
                "billing:settings",
            ),
            SettingArea(
                "dunning",
                gettext_lazy("Dunning policy"),
                gettext_lazy(
                    "What happens when a charge fails: when to retry, how many times, and "
                    "whether the subscription is then canceled or left unpaid."
                ),
                "payments:dunning_settings",
            ),
            SettingArea(
                "gateways",
                gettext_lazy("Payment gateways"),
                gettext_lazy(
                    "The providers that charge your customers' cards (sandbox, Stripe, "
                    "MercadoPago) and the bank transfer details shown on invoices."
                ),
                "payments:gateway_settings",
            ),
            SettingArea(
                "test_clock",
                gettext_lazy("Test clock"),
                gettext_lazy(
                    "Sandbox organizations only: move time forward to see renewals and dunning."
                ),
                "billing:test_clock",
                permission="view",
                sandbox_only=True,
            ),
        ],
    ),
    (
        gettext_lazy("Communication"),
        [
            SettingArea(
                "sender",
                gettext_lazy("Email sender"),
                gettext_lazy(
                    "The sender name and the reply-to address of every email your customers "
                    "receive from you, so replies reach your business."
                ),
                "messaging:settings",
            ),
            SettingArea(
                "reminders",
                gettext_lazy("Reminder timing"),
                gettext_lazy(
                    "How many days ahead customers are reminded of a charge or a trial ending."
                ),
                "messaging:settings",
                anchor="id_upcoming_charge_days",
            ),
            SettingArea(
                "templates",
                gettext_lazy("Email templates"),
                gettext_lazy(
                    "The subject and text of each email (invoice, receipt, failed payment...), "
                    "in Spanish and English, with a live preview."
                ),
                "messaging:templates",
            ),
        ],
    ),
    (
        gettext_lazy("Customers"),
        [
            SettingArea(
                "portal",
                gettext_lazy("Customer portal"),
                gettext_lazy(
                    "What customers may do alone: pause limits, when cancellations take "
                    "effect, plan changes, and a retention offer before cancelling."
                ),
                "customers:portal_settings",
            ),
            SettingArea(
                "loyalty",
                gettext_lazy("Loyalty programme"),
                gettext_lazy("Points per amount paid, tiers, rewards and referrals."),
                "loyalty:settings",
            ),
            SettingArea(
                "feedback",
                gettext_lazy("Surveys and feedback"),
                gettext_lazy(
                    "When customers are asked for their opinion (NPS) and what happens next."
                ),
                "feedback:settings",
            ),
            SettingArea(
                "pricing_page",
                gettext_lazy("Pricing page"),
                gettext_lazy("The public page where new customers choose a plan and subscribe."),
                "checkout:pricing_settings",
            ),
        ],
    ),
    (
        gettext_lazy("Integrations"),
        [
            SettingArea(
                "api_keys",
                gettext_lazy("API keys"),
                gettext_lazy(
                    "Keys that let your own systems use the Cobro REST API, each with its "
                    "permissions; the secret is shown once."
                ),
                "dashboard:api_keys",
            ),
            SettingArea(
                "webhooks",
                gettext_lazy("Webhook endpoints"),
                gettext_lazy(
                    "Addresses of your systems that Cobro notifies, signed, when something "
                    "happens (invoice paid, payment failed...)."
                ),
                "dashboard:webhook_endpoints",
                permission="view",
            ),
        ],
    ),
]


def _role_hint(permission: str) -> str:
    if permission == "view":
        return ""
    if permission == "bill":
        return _("Owners, admins and billing staff can open this.")
    return _("Only owners and admins can open this.")


def settings_areas(membership, organization) -> list[dict]:
    """The hub's sections for this member: every area with its URL when they may open it."""
    sections = []
    for title, areas in SECTIONS:
        rows = []
        for area in areas:
            if area.sandbox_only and not organization.is_sandbox:
                continue
            url = ""
            if area.url_name:
                try:
                    url = reverse(area.url_name)
                except NoReverseMatch:
                    continue  # the app is not installed
                if area.anchor:
                    url += f"#{area.anchor}"
            allowed = membership.has_perm(area.permission)
            rows.append(
                {
                    "key": area.key,
                    "title": area.title,
                    "description": area.description,
                    "url": url if allowed else "",
                    "elsewhere": area.elsewhere,
                    "locked": bool(url) and not allowed,
                    "role_hint": _role_hint(area.permission),
                }
            )
        if rows:
            sections.append({"title": title, "areas": rows})
    return sections


class SettingsHubView(StaffView):
    def get(self, request):
        return render(
            request,
            "cobro/settings.html",
            {"sections": settings_areas(self.membership, self.organization)},
        )


# -- API keys --------------------------------------------------------------------------------

# Resources of the REST API (``<resource>:read`` / ``<resource>:write``; write implies read).
API_RESOURCES = (
    "organization",
    "events",
    "customers",
    "tax_rates",
    "products",
    "prices",
    "coupons",
    "subscriptions",
    "invoices",
    "credit_notes",
    "payment_methods",
    "payments",
    "refunds",
    "test_clock",
    "webhooks",
    "survey_responses",
    "referrals",
    "loyalty",
)


class ApiKeyForm(forms.Form):
    FULL, READ_ONLY, CUSTOM = "full", "read_only", "custom"

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the key is for, e.g. “Online shop”."),
    )
    access = forms.ChoiceField(
        label=gettext_lazy("Permissions"),
        choices=[
            (FULL, gettext_lazy("Full access (read and write everything)")),
            (READ_ONLY, gettext_lazy("Read only")),
            (CUSTOM, gettext_lazy("Custom")),
        ],
        initial=READ_ONLY,
        widget=forms.RadioSelect,
    )
    custom_scopes = forms.CharField(
        label=gettext_lazy("Custom permissions"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy(
            "Only for “Custom”: separated by spaces, e.g. “customers:write invoices:read”."
        ),
    )

    def scopes(self) -> list[str]:
        access = self.cleaned_data["access"]
        if access == self.FULL:
            return ["*"]
        if access == self.READ_ONLY:
            return [f"{resource}:read" for resource in API_RESOURCES]
        return (self.cleaned_data.get("custom_scopes") or "").replace(",", " ").split()


class ApiKeysView(StaffView):
    """List, create (the raw key is shown once, on the response page) and revoke API keys.
    Owners and admins only ("manage")."""

    required_permission = "manage"

    def get(self, request):
        return self._render(ApiKeyForm())

    def post(self, request):
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                key, raw = api_key_create(
                    organization=self.organization,
                    name=form.cleaned_data["name"],
                    scopes=form.scopes(),
                    actor=request.user,
                )
            except ValidationError as exc:
                form.add_error("name" if exc.code == "name" else "custom_scopes", exc.messages)
            else:
                messages.success(request, _("API key “%(name)s” created.") % {"name": key.name})
                # Rendered (not redirected) so the secret is never stored anywhere.
                return self._render(ApiKeyForm(), created=key, raw_key=raw)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200, **extra):
        keys = ApiKey.objects.filter(organization=self.organization).order_by(
            "revoked_at", "-created_at"
        )
        response = render(
            self.request,
            "cobro/api_keys.html",
            {"form": form, "keys": keys, **extra},
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(StaffView):
    """GET: the confirmation; POST: revoke for good."""

    required_permission = "manage"

    def _key(self, pk: int) -> ApiKey:
        return get_object_or_404(ApiKey.objects.filter(organization=self.organization), pk=pk)

    def get(self, request, pk: int):
        return render(request, "cobro/api_key_revoke.html", {"key": self._key(pk)})

    def post(self, request, pk: int):
        key = self._key(pk)
        api_key_revoke(api_key=key, actor=request.user)
        messages.success(request, _("API key “%(name)s” revoked.") % {"name": key.name})
        return redirect("dashboard:api_keys")
