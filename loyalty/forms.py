"""Forms of the loyalty staff and portal pages (they parse input; services write)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cobro.money import Money
from loyalty.models import LoyaltyProgramme, LoyaltyTier, Reward
from loyalty.services.programme import PROGRAMME_FIELDS


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = LoyaltyProgramme
        fields = list(PROGRAMME_FIELDS)


class TierForm(forms.ModelForm):
    class Meta:
        model = LoyaltyTier
        fields = ["name", "threshold_points", "benefit", "renewal_discount_percent"]


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
        return data

    def reward_values(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "description": d["description"],
            "kind": d["kind"],
            "points_cost": d["points_cost"],
            "credit_amount_minor": d.get("credit_amount_minor", 0),
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
