"""Forms of the loyalty staff and portal pages (they parse input; services write)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from cobro.money import Money
from loyalty.models import LoyaltyProgramme, LoyaltyTier, Reward
from loyalty.services.programme import PROGRAMME_FIELDS


class ProgrammeForm(forms.ModelForm):
    # Settings added later than the first version of the page: left out of a post (an old
    # page, an integration), they keep their current value instead of failing the form.
    OPTIONAL = (
        "on_time_rule",
        "anniversary_points",
        "referrer_points",
        "referred_points",
        "referral_cap",
    )

    class Meta:
        model = LoyaltyProgramme
        fields = list(PROGRAMME_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.OPTIONAL:
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in self.OPTIONAL:
            if data.get(name) in (None, ""):
                data[name] = getattr(self.instance, name)
        return data


class TierForm(forms.ModelForm):
    # Declared here: the model field's default queryset would need a tenant at import time.
    gift_reward = forms.ModelChoiceField(
        label=_("gift on reaching this tier"), queryset=Reward.unscoped.none(), required=False
    )

    class Meta:
        model = LoyaltyTier
        fields = [
            "name",
            "threshold_points",
            "benefit",
            "renewal_discount_percent",
            "early_access",
            "gift_reward",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        gift = self.fields["gift_reward"]
        assert isinstance(gift, forms.ModelChoiceField)
        gift.queryset = Reward.objects.filter(kind=Reward.Kind.GIFT)
        gift.help_text = _("Reaching the tier puts this gift in the fulfilment queue, once.")


class RewardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Reward.Kind.choices)
    points_cost = forms.IntegerField(label=_("Points"), min_value=1)
    credit_amount = forms.DecimalField(
        label=_("Credit amount"),
        required=False,
        min_value=0,
        help_text=_("For credit rewards, in the organization's currency."),
    )
    percent_off = forms.DecimalField(
        label=_("Percentage off"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("For a discount on the next renewal."),
    )
    stock = forms.IntegerField(
        label=_("Stock"), required=False, min_value=0, help_text=_("Empty means unlimited.")
    )
    per_customer_limit = forms.IntegerField(
        label=_("Limit per customer"), required=False, min_value=1
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self):
        data = super().clean()
        if data.get("kind") == Reward.Kind.INVOICE_CREDIT:
            amount = data.get("credit_amount")
            if not amount:
                self.add_error("credit_amount", _("A credit reward needs an amount."))
            else:
                try:
                    data["credit_amount_minor"] = Money.from_major(
                        amount, self.currency
                    ).amount_minor
                except ValueError as exc:
                    self.add_error("credit_amount", str(exc))
        if data.get("kind") == Reward.Kind.RENEWAL_DISCOUNT:
            percent = data.get("percent_off")
            if not percent or percent <= 0:
                self.add_error("percent_off", _("A discount reward needs a percentage above 0."))
        return data

    def reward_values(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "description": d["description"],
            "kind": d["kind"],
            "points_cost": d["points_cost"],
            "credit_amount_minor": d.get("credit_amount_minor", 0),
            "percent_off": (
                d.get("percent_off") or Decimal("0")
                if d["kind"] == Reward.Kind.RENEWAL_DISCOUNT
                else Decimal("0")
            ),
            "currency": self.currency if d["kind"] == Reward.Kind.INVOICE_CREDIT else "",
            "stock": d["stock"],
            "per_customer_limit": d["per_customer_limit"],
            "active": d["active"],
        }


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), help_text=_("Positive to add, negative to remove.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        return points


class ReferralCodeForm(forms.Form):
    """Staff apply a referral code to an existing customer (before their first payment)."""

    code = forms.CharField(label=_("Referral code"), max_length=32)
