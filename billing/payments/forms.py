"""Forms of the payments staff pages. Amounts are typed in major units and converted to
minor units of the given currency with ``Money.from_major`` (exact, no floats)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.payments.models import FinalAction, PaymentMethodType
from cobro.money import Money


class AmountField(forms.DecimalField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(*args, **kwargs)


def to_minor(form: forms.Form, field: str, value: Decimal | None, currency: str) -> int | None:
    if value is None:
        return None
    try:
        return Money.from_major(value, currency).amount_minor
    except ValueError:
        form.add_error(field, _("Too many decimals for %(currency)s.") % {"currency": currency})
        return None


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        from billing.payments.models import AttemptStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *AttemptStatus.choices]


class RefundForm(forms.Form):
    amount = AmountField(label=_("Amount to refund"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class MarkPaidForm(forms.Form):
    amount = AmountField(label=_("Amount received"))
    method = forms.ChoiceField(
        label=_("Paid by"),
        choices=[
            (PaymentMethodType.BANK_TRANSFER, _("bank transfer")),
            (PaymentMethodType.CASH, _("cash")),
        ],
    )
    reference = forms.CharField(
        label=_("Receipt or bank transaction"), max_length=200, required=False
    )


class StatementImportForm(forms.Form):
    file = forms.FileField(label=_("Bank statement (CSV)"))
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CLP")

    def clean_currency(self):
        from cobro.money import is_currency

        code = self.cleaned_data["currency"].upper()
        if not is_currency(code):
            raise forms.ValidationError(_("Unknown currency."))
        return code


class StatementLineApplyForm(forms.Form):
    invoice_number = forms.CharField(
        label=_("Invoice number"),
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": _("Invoice number")}),
    )
    amount = AmountField(
        label=_("Amount"),
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": _("Whole line")}),
    )


class DunningPolicyForm(forms.Form):
    retry_days = forms.CharField(
        label=_("Retry on days after the first failure"),
        help_text=_("Comma-separated, increasing. Example: 3, 7, 14, 21"),
        required=False,
    )
    grace_period_days = forms.IntegerField(label=_("Grace period (days)"), min_value=0)
    final_action = forms.ChoiceField(label=_("Then"), choices=FinalAction.choices)

    def clean_retry_days(self):
        raw = self.cleaned_data["retry_days"].replace(";", ",")
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("Use whole numbers separated by commas.")) from None


class GatewayForm(forms.Form):
    """One gateway's credentials. Secret fields are never pre-filled: blank keeps them."""

    LABELS = {
        "secret_key": _("Secret key"),
        "publishable_key": _("Publishable key"),
        "access_token": _("Access token"),
        "public_key": _("Public key"),
        "webhook_secret": _("Webhook signing secret"),
        "bank_name": _("Bank"),
        "account_holder": _("Account holder"),
        "tax_id": _("Tax ID (RUT)"),
        "account_type": _("Account type"),
        "account_number": _("Account number"),
        "email": _("Email for payment receipts"),
    }

    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, gateway: str, shown: dict[str, str], **kwargs):
        from billing.payments.services.accounts import GATEWAY_FIELDS, WEBHOOK_GATEWAYS

        super().__init__(*args, **kwargs)
        self.gateway = gateway
        fields = list(GATEWAY_FIELDS[gateway])
        if gateway in WEBHOOK_GATEWAYS:
            fields.append(("webhook_secret", True))
        for name, secret in fields:
            self.fields[name] = forms.CharField(
                label=self.LABELS[name],
                required=False,
                max_length=500,
                widget=forms.PasswordInput(attrs={"autocomplete": "off"}) if secret else None,
                help_text=(
                    _("Stored: %(masked)s. Leave blank to keep it.") % {"masked": shown[name]}
                    if secret and shown.get(name)
                    else ""
                ),
                initial=None if secret else shown.get(name, ""),
            )
        if gateway in self.CARD_KEYS:
            self.fields["is_default"] = forms.BooleanField(
                label=_("Use for card payments"),
                required=False,
                help_text=_(
                    "Customers add their cards and are charged through this gateway "
                    "(one gateway at a time)."
                ),
            )
        self._shown = shown

    #: Card gateways: the secret and the public key their hosted card form needs.
    CARD_KEYS = {
        "stripe": ("secret_key", "publishable_key"),
        "mercadopago": ("access_token", "public_key"),
    }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_default"):
            secret, public = self.CARD_KEYS[self.gateway]
            if not (cleaned.get(secret) or self._shown.get(secret)):
                self.add_error(secret, _("Required to take card payments through this gateway."))
            if not cleaned.get(public):
                self.add_error(public, _("Required to take card payments through this gateway."))
        return cleaned
