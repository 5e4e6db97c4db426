"""Staff page: the organization's email sender (From name, Reply-To) and reminder timing.

Every email the organization sends (invoices, receipts, reminders, portal sign-in codes,
announcements) goes out through ``message_build``/the portal's code mail, which read these
settings: From is ``"<sender name>" <the platform's sending address>`` (the address must stay
the platform's so SPF/DKIM pass) and Reply-To is the organization's own address, so customer
replies reach the business."""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cobro.views.base import StaffView
from customers.messaging.services import messaging_settings_for, messaging_settings_update


def _no_control_characters(value: str) -> None:
    if any(ord(ch) < 32 or ch in "<>" for ch in value):
        raise ValidationError(
            gettext_lazy("The sender name cannot contain line breaks or the characters < >.")
        )


class SenderSettingsForm(forms.Form):
    sender_name = forms.CharField(
        label=gettext_lazy("Sender name"),
        max_length=100,
        required=False,
        validators=[_no_control_characters],
        help_text=gettext_lazy(
            "The name your customers see in their inbox. Empty: your organization's name."
        ),
    )
    reply_to = forms.EmailField(
        label=gettext_lazy("Reply-to address"),
        required=False,
        help_text=gettext_lazy(
            "Where your customers' replies go. Empty: replies go nowhere (no-reply)."
        ),
    )
    upcoming_charge_days = forms.IntegerField(
        label=gettext_lazy("Upcoming charge reminder (days before)"),
        min_value=0,
        max_value=60,
        help_text=gettext_lazy("0 turns the reminder off."),
    )
    trial_ending_days = forms.IntegerField(
        label=gettext_lazy("Trial ending reminder (days before)"),
        min_value=0,
        max_value=60,
        help_text=gettext_lazy("0 turns the reminder off."),
    )


def sender_preview(organization, sender_name: str) -> str:
    """The From header the organization's emails carry."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((sender_name or organization.display_name, address))


class SenderSettingsView(StaffView):
    required_permission = "manage"

    def get(self, request):
        row = messaging_settings_for(self.organization)
        form = SenderSettingsForm(
            initial={
                "sender_name": row.sender_name,
                "reply_to": row.reply_to,
                "upcoming_charge_days": row.upcoming_charge_days,
                "trial_ending_days": row.trial_ending_days,
            }
        )
        return self._render(form, row.sender_name, row.reply_to)

    def post(self, request):
        form = SenderSettingsForm(request.POST)
        if form.is_valid():
            try:
                messaging_settings_update(
                    organization=self.organization, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Email settings saved."))
                return redirect("messaging:settings")
        row = messaging_settings_for(self.organization)
        return self._render(form, row.sender_name, row.reply_to, status=400)

    def _render(self, form, sender_name: str, reply_to: str, status: int = 200):
        return render(
            self.request,
            "messaging/settings.html",
            {
                "form": form,
                "from_header": sender_preview(self.organization, sender_name),
                "reply_to": reply_to,
            },
            status=status,
        )
