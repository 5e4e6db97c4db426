"""Staff pages of the portal: email a customer a sign-in link (a POST button on the
customer's page in the dashboard) and the organization's portal settings."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cobro.views.base import StaffView
from customers.models import Customer
from customers.portal.models import PortalSettings
from customers.portal.services import (
    portal_link_send,
    portal_settings_for,
    portal_settings_update,
)


class PortalLinkSendView(StaffView):
    required_permission = "view"
    unsafe_permission = "bill"
    http_method_names = ["post"]

    def post(self, request, org_slug: str, pk: int):
        if org_slug != self.organization.slug:
            raise Http404
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        portal_link_send(customer=customer, actor=request.user, request=request)
        messages.success(
            request, _("We emailed %(email)s a link to the portal.") % {"email": customer.email}
        )
        try:
            target = reverse("customers:detail", kwargs={"pk": customer.pk})
        except NoReverseMatch:
            target = reverse("dashboard:home")
        return redirect(target)


# -- portal settings (staff) -----------------------------------------------------------------


class PortalSettingsForm(forms.ModelForm):
    class Meta:
        model = PortalSettings
        fields = [
            "max_pause_days",
            "pauses_per_year",
            "cancel_mode",
            "allow_plan_change",
            "retention_offer_text",
            "retention_coupon_code",
        ]
        widgets = {"retention_offer_text": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "pauses_per_year": gettext_lazy("0 turns pausing off."),
            "retention_coupon_code": gettext_lazy(
                "Optional. Shown with the offer; create the coupon in Catalog › Coupons."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["max_pause_days"].max_value = 365
        self.fields["max_pause_days"].widget.attrs["max"] = 365
        self.fields["pauses_per_year"].max_value = 12
        self.fields["pauses_per_year"].widget.attrs["max"] = 12

    def clean_max_pause_days(self):
        value = self.cleaned_data["max_pause_days"]
        if value > 365:
            raise forms.ValidationError(_("A pause can last at most 365 days."))
        return value

    def clean_pauses_per_year(self):
        value = self.cleaned_data["pauses_per_year"]
        if value > 12:
            raise forms.ValidationError(_("At most 12 pauses a year."))
        return value

    def clean_retention_coupon_code(self):
        code = (self.cleaned_data.get("retention_coupon_code") or "").strip().upper()
        if code and not re.fullmatch(r"[A-Z0-9_-]{1,40}", code):
            raise forms.ValidationError(
                _("Use only letters, digits, hyphens and underscores, without spaces.")
            )
        return code


class PortalSettingsView(StaffView):
    """What customers may do alone in the portal. Owners and admins ("manage")."""

    required_permission = "manage"

    def get(self, request):
        form = PortalSettingsForm(instance=portal_settings_for(self.organization))
        return self._render(form)

    def post(self, request):
        # Bound to a copy: a refused form must not look saved.
        form = PortalSettingsForm(request.POST, instance=portal_settings_for(self.organization))
        if form.is_valid():
            try:
                portal_settings_update(
                    organization=self.organization,
                    actor=request.user,
                    **{name: form.cleaned_data[name] for name in PortalSettingsForm.Meta.fields},
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Portal settings saved."))
                return redirect("customers:portal_settings")
        return self._render(form, status=400)

    def _render(self, form, status: int = 200):
        return render(
            self.request,
            "portal/staff_settings.html",
            {
                "form": form,
                "portal_url": reverse("portal:home", kwargs={"org_slug": self.organization.slug}),
            },
            status=status,
        )
