"""Filter form of the staff payment list; its cleaned data feeds both the page and the CSV
export through ``billing.payments.selectors.filtered_payments``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.list_filters import AmountRangeFilterForm
from billing.payments.models import AttemptStatus, GatewayName
from billing.payments.selectors import PAYMENT_SORTS


class PaymentListFilterForm(AmountRangeFilterForm):
    SORTS = PAYMENT_SORTS

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *AttemptStatus.choices]
    )
    gateway = forms.ChoiceField(
        label=_("Gateway"), required=False, choices=[("", _("All")), *GatewayName.choices]
    )
    FILTER_FIELDS = (*AmountRangeFilterForm.FILTER_FIELDS, "status", "gateway")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = _("Customer, invoice or reference")
