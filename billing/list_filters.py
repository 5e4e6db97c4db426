"""Filter forms of the billing staff lists (subscriptions, invoices). The same cleaned data
feeds the list page and its CSV export through the selectors in ``billing.selectors``.

Amounts are typed in major units of the chosen currency (the organization's default when none
is chosen) and compared in minor units; an amount filter keeps only rows in that currency.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from billing.currencies import organization_currencies
from billing.forms import parse_major_amount
from billing.models import InvoiceStatus, Price, SubscriptionStatus
from billing.selectors import INVOICE_SORTS, SUBSCRIPTION_SORTS
from cobro.listing import ListFilterForm


class AmountRangeFilterForm(ListFilterForm):
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    amount_min = forms.CharField(label=_("Amount from"), required=False, max_length=30)
    amount_max = forms.CharField(label=_("Amount to"), required=False, max_length=30)

    FILTER_FIELDS: tuple[str, ...] = (
        "q",
        "date_from",
        "date_to",
        "currency",
        "amount_min",
        "amount_max",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        default = organization.default_currency.upper()
        codes = sorted(organization_currencies(organization) - {default})
        self.fields["currency"].choices = [
            ("", _("All currencies")),
            *[(c, c) for c in [default, *codes]],
        ]
        self.fields["amount_min"].widget.attrs.update(inputmode="decimal", size=10)
        self.fields["amount_max"].widget.attrs.update(inputmode="decimal", size=10)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        currency = data.get("currency") or self.organization.default_currency.upper()
        bounds = {}
        for name in ("amount_min", "amount_max"):
            text = (data.get(name) or "").strip()
            if not text:
                continue
            try:
                bounds[name] = parse_major_amount(text, currency)
            except ValidationError as exc:
                self.add_error(name, exc)
        low, high = bounds.get("amount_min"), bounds.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The maximum amount is below the minimum amount."))
        if bounds and not self.errors:
            data["amount_currency"] = currency
            data["amount_min_minor"] = low
            data["amount_max_minor"] = high
        return data


class InvoiceListFilterForm(AmountRangeFilterForm):
    SORTS = INVOICE_SORTS

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *InvoiceStatus.choices]
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    date_field = forms.ChoiceField(
        label=_("Date"),
        required=False,
        choices=[
            ("created", _("Created")),
            ("issued", _("Issued")),
            ("due", _("Due")),
            ("paid", _("Paid")),
        ],
    )
    FILTER_FIELDS = (*AmountRangeFilterForm.FILTER_FIELDS, "status", "overdue")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = _("Customer or number")


class SubscriptionListFilterForm(AmountRangeFilterForm):
    SORTS = SUBSCRIPTION_SORTS

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *SubscriptionStatus.choices],
    )
    plan = forms.TypedChoiceField(label=_("Plan"), required=False, coerce=int, empty_value=None)
    FILTER_FIELDS = (*AmountRangeFilterForm.FILTER_FIELDS, "status", "plan")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = _("Customer")
        self.fields["date_from"].label = _("Started from")
        self.fields["date_to"].label = _("Started to")
        self.fields["amount_min"].label = _("Price from")
        self.fields["amount_max"].label = _("Price to")
        plans = Price.objects.select_related("product").order_by("product__name", "-version")
        self.fields["plan"].choices = [
            ("", _("All plans")),
            *[(p.pk, _price_label(p)) for p in plans[:500]],
        ]


def _price_label(price: Price) -> str:
    name = price.product.name
    if price.nickname and price.nickname != name:
        name = f"{name} · {price.nickname}"
    return f"{name} ({price.currency})"
