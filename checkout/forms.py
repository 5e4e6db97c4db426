"""Forms of the checkout pages (public and staff)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from checkout.models import PaymentChoice
from checkout.services.checkout import CheckoutInput

HONEYPOT_FIELD = "website"


class CheckoutForm(forms.Form):
    """The public checkout. Card numbers never reach it: the gateway's hosted fields post a
    ``token`` and a ``gateway`` instead. ``website`` is a honeypot: hidden from people, bots
    fill it in."""

    checkout_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    name = forms.CharField(label=_("Full name or company"), max_length=200)
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    tax_id = forms.CharField(label=_("Tax id"), max_length=32, required=False)
    address_line1 = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (line 2)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    coupon_code = forms.CharField(label=_("Discount code"), max_length=40, required=False)
    referral_code = forms.CharField(label=_("Referral code"), max_length=40, required=False)
    payment_choice = forms.ChoiceField(
        label=_("Payment method"), choices=PaymentChoice.choices, widget=forms.RadioSelect
    )
    accept_terms = forms.BooleanField(label=_("I accept the terms and conditions"), required=False)
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    gateway = forms.CharField(required=False, widget=forms.HiddenInput)
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, choices: list[str], tax_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["payment_choice"]
        field.choices = [(v, label) for v, label in PaymentChoice.choices if v in choices]  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("payment_choice", choices[0])
        if tax_label:
            self.fields["tax_id"].label = tax_label

    def to_input(self) -> CheckoutInput:
        d = self.cleaned_data
        return CheckoutInput(
            name=d["name"],
            email=d["email"],
            phone=d.get("phone", ""),
            tax_id=d.get("tax_id", ""),
            address_line1=d.get("address_line1", ""),
            address_line2=d.get("address_line2", ""),
            city=d.get("city", ""),
            region=d.get("region", ""),
            postal_code=d.get("postal_code", ""),
            coupon_code=d.get("coupon_code", ""),
            referral_code=d.get("referral_code", ""),
            payment_choice=d["payment_choice"],
            accept_terms=bool(d.get("accept_terms")),
            card_token=d.get("token", ""),
            card_gateway=d.get("gateway", ""),
        )


class PricingPageForm(forms.Form):
    enabled = forms.BooleanField(label=_("Publish the pricing page"), required=False)
    headline = forms.CharField(label=_("Headline"), max_length=120, required=False)
    intro = forms.CharField(
        label=_("Introduction"), max_length=1000, required=False, widget=forms.Textarea
    )
    terms_url = forms.URLField(label=_("Terms and conditions address"), required=False)
    terms_text = forms.CharField(
        label=_("Terms and conditions"),
        max_length=5000,
        required=False,
        widget=forms.Textarea,
        help_text=_("Shown on the checkout page when there is no address."),
    )
    require_tax_id = forms.BooleanField(label=_("Ask for the customer's tax id"), required=False)
    allow_bank_transfer = forms.BooleanField(label=_("Accept bank transfer"), required=False)
    allow_cash = forms.BooleanField(label=_("Accept cash"), required=False)
    incomplete_expiry_hours = forms.IntegerField(
        label=_("Hours to complete a failed first payment"),
        min_value=1,
        max_value=720,
        help_text=_(
            "A card subscription whose first payment fails stays incomplete this long, then "
            "it is canceled."
        ),
    )


class CheckoutLinkForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    price: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Price"),
        queryset=None,  # type: ignore[arg-type]
    )
    coupon: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Coupon"),
        queryset=None,  # type: ignore[arg-type]
        required=False,
        empty_label=_("No coupon"),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=1000, initial=1)
    trial_days = forms.IntegerField(
        label=_("Trial days"),
        min_value=0,
        max_value=730,
        required=False,
        help_text=_("Empty: the price's own trial."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    max_uses = forms.IntegerField(
        label=_("Usage limit"),
        min_value=1,
        required=False,
        help_text=_("How many subscriptions the link may create. Empty: no limit."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        from billing.models import Coupon, Price

        prices = Price.unscoped.filter(
            organization=organization, active=True, product__active=True
        ).select_related("product")
        self.fields["price"].queryset = prices  # type: ignore[attr-defined]
        self.fields["price"].label_from_instance = _price_label  # type: ignore[attr-defined]
        self.fields["coupon"].queryset = Coupon.unscoped.filter(  # type: ignore[attr-defined]
            organization=organization, active=True
        )


def _price_label(price) -> str:
    from billing.views.common import format_amount
    from checkout.quotes import interval_label

    return (
        f"{price.product.name} · {price.nickname or ''} · "
        f"{format_amount(price.amount_minor, price.currency, price.organization)} / "
        f"{interval_label(price.interval, price.interval_count)}"
    )
