"""Staff forms of the billing app.

Amounts are typed in major units ("12.990" CLP, "12.99" USD) and converted exactly to minor
units with ``Money.from_major`` (never through a float). Forms only parse and shape input;
business rules (enabled currencies, limits, state transitions) are the services' job, and
their ``BillingError`` is shown on the form by the views.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.currencies import organization_currencies
from billing.models import (
    CollectionMethod,
    Coupon,
    Interval,
    InvoiceStatus,
    Price,
    SubscriptionStatus,
    TaxBehavior,
    TaxRate,
)
from cobro.money import CurrencyError, Money, currency_exponent

# Model choices are filled in ``__init__`` with the current organization's rows; at import
# time there is no organization, so the class-level queryset is an empty unscoped one.
QS = Price.unscoped.none()

_AMOUNT_RE = re.compile(r"^[0-9][0-9.,]*$")


def parse_major_amount(text: str, currency: str) -> int:
    """``text`` in major units of ``currency`` -> int minor units, exactly.

    Both "," and "." are accepted. With both present, the last one is the decimal separator.
    A lone separator followed by exactly three digits is a thousands separator when the
    currency has fewer than three decimals ("12.990" CLP is 12990; "1,234" USD is 1234.00);
    otherwise it is the decimal separator ("12,99" USD is 12.99). Raises ``ValidationError``.
    """
    raw = (text or "").strip().replace(" ", "").replace("\xa0", "").replace("$", "")
    if raw.startswith("-"):
        raise ValidationError(_("The amount cannot be negative."), code="negative")
    if not raw or not _AMOUNT_RE.match(raw):
        raise ValidationError(_("Enter an amount, e.g. 12.990 or 12,99."), code="invalid")
    try:
        exponent = currency_exponent(currency)
    except CurrencyError:
        raise ValidationError(_("Unknown currency code."), code="currency") from None
    seps = [c for c in raw if c in ",."]
    integer, fraction = raw, ""
    if seps:
        last = seps[-1]
        if len(set(seps)) == 2:
            head, _sep, fraction = raw.rpartition(last)
            integer = head
        elif len(seps) > 1:
            integer = raw  # the same separator repeated: thousands separators only
        else:
            head, _sep, tail = raw.partition(last)
            if len(tail) == 3 and exponent < 3:
                integer = raw
            else:
                integer, fraction = head, tail
    groups = re.split(r"[.,]", integer)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise ValidationError(_("Enter an amount, e.g. 12.990 or 12,99."), code="invalid")
    if any(c in ",." for c in fraction):
        raise ValidationError(_("Enter an amount, e.g. 12.990 or 12,99."), code="invalid")
    normalized = "".join(groups) + (f".{fraction}" if fraction else "")
    try:
        return Money.from_major(normalized, currency).amount_minor
    except ValueError:
        if exponent == 0:
            msg = _("%(currency)s amounts have no decimals.") % {"currency": currency}
        else:
            msg = _("%(currency)s amounts have at most %(digits)s decimals.") % {
                "currency": currency,
                "digits": exponent,
            }
        raise ValidationError(msg, code="decimals") from None


def format_major_amount(amount_minor: int, currency: str) -> str:
    """The inverse for form initial values: 12990 CLP -> "12990", 1299 USD -> "12.99"."""
    return str(Money(amount_minor, currency).to_decimal())


def _currency_choices(organization) -> list[tuple[str, str]]:
    default = organization.default_currency.upper()
    codes = sorted(organization_currencies(organization) - {default})
    return [(c, c) for c in [default, *codes]]


def _local_midnight(day, organization) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(organization.time_zone))


# -- catalog ---------------------------------------------------------------------------------


class ProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown on invoices below the product name."),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Inactive products are hidden when creating subscriptions."),
    )


class PriceForm(forms.Form):
    nickname = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Optional, e.g. “Monthly” or “Annual”. Defaults to the product name."),
    )
    currency = forms.ChoiceField(label=_("Currency"))
    amount = forms.CharField(
        label=_("Amount"),
        help_text=_("In the currency's units, e.g. 12.990 (CLP) or 12.99 (USD)."),
    )
    interval_count = forms.IntegerField(label=_("Every"), min_value=1, max_value=366, initial=1)
    interval = forms.ChoiceField(label=_("Interval"), choices=Interval.choices, initial="month")
    trial_days = forms.IntegerField(
        label=_("Trial days"),
        min_value=0,
        max_value=730,
        initial=0,
        help_text=_("New subscriptions start with this many free days."),
    )
    setup_fee = forms.CharField(
        label=_("Setup fee"),
        required=False,
        help_text=_("Charged once on the first invoice. Leave empty for none."),
    )
    tax_behavior = forms.ChoiceField(
        label=_("Tax"), choices=TaxBehavior.choices, initial=TaxBehavior.NONE
    )
    tax_rate = forms.ModelChoiceField(label=_("Tax rate"), queryset=QS, required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["currency"].choices = _currency_choices(organization)
        self.fields["currency"].initial = organization.default_currency
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        currency = data.get("currency")
        if currency:
            if data.get("amount"):
                try:
                    data["amount_minor"] = parse_major_amount(data["amount"], currency)
                except ValidationError as exc:
                    self.add_error("amount", exc)
            try:
                data["setup_fee_minor"] = (
                    parse_major_amount(data["setup_fee"], currency) if data.get("setup_fee") else 0
                )
            except ValidationError as exc:
                self.add_error("setup_fee", exc)
        if data.get("tax_behavior") and data["tax_behavior"] != TaxBehavior.NONE:
            if not data.get("tax_rate"):
                self.add_error("tax_rate", _("Choose the tax rate to apply."))
        else:
            data["tax_rate"] = None
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "nickname": d["nickname"],
            "currency": d["currency"],
            "amount_minor": d["amount_minor"],
            "interval": d["interval"],
            "interval_count": d["interval_count"],
            "trial_days": d["trial_days"],
            "setup_fee_minor": d["setup_fee_minor"],
            "tax_behavior": d["tax_behavior"],
            "tax_rate": d["tax_rate"],
        }

    @staticmethod
    def initial_from(price: Price) -> dict:
        return {
            "nickname": price.nickname,
            "currency": price.currency,
            "amount": format_major_amount(price.amount_minor, price.currency),
            "interval_count": price.interval_count,
            "interval": price.interval,
            "trial_days": price.trial_days,
            "setup_fee": format_major_amount(price.setup_fee_minor, price.currency)
            if price.setup_fee_minor
            else "",
            "tax_behavior": price.tax_behavior,
            "tax_rate": price.tax_rate_id,
        }


class TaxRateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, help_text=_("E.g. IVA."))
    percentage = forms.DecimalField(
        label=_("Percentage"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=4,
        max_digits=7,
        help_text=_("E.g. 19 for 19%."),
    )
    inclusive = forms.BooleanField(
        label=_("Included in prices"),
        required=False,
        help_text=_(
            "For manual invoice items: the amount typed already includes this tax. Prices "
            "choose their own behaviour."
        ),
    )
    country = forms.ChoiceField(label=_("Country"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from cobro.models import Organization

        self.fields["country"].choices = [("", "—"), *Organization.Country.choices]


class CouponForm(forms.Form):
    KIND_PERCENT = "percent"
    KIND_AMOUNT = "amount"

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("What staff and customers type, e.g. WELCOME10. Stored in capitals."),
    )
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Shown on invoices."))
    kind = forms.ChoiceField(
        label=_("Discount type"),
        choices=[(KIND_PERCENT, _("Percentage")), (KIND_AMOUNT, _("Fixed amount"))],
        widget=forms.RadioSelect,
        initial=KIND_PERCENT,
    )
    percent_off = forms.DecimalField(
        label=_("Percent off"),
        required=False,
        min_value=Decimal("0.0001"),
        max_value=Decimal("100"),
        decimal_places=4,
    )
    amount_off = forms.CharField(label=_("Amount off"), required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    duration = forms.ChoiceField(
        label=_("Duration"), choices=Coupon.Duration.choices, initial=Coupon.Duration.ONCE
    )
    duration_periods = forms.IntegerField(
        label=_("Number of periods"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_("Only for “for a number of periods”."),
    )
    max_redemptions = forms.IntegerField(
        label=_("Redemption limit"),
        required=False,
        min_value=1,
        help_text=_("How many subscriptions may use it. Empty: no limit."),
    )
    redeem_by = forms.DateField(
        label=_("Redeem by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Last day it can be applied. Empty: no expiry."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["currency"].choices = _currency_choices(organization)
        self.fields["currency"].initial = organization.default_currency

    def clean(self):
        data = super().clean()
        if data.get("kind") == self.KIND_PERCENT:
            if data.get("percent_off") is None and "percent_off" not in self.errors:
                self.add_error("percent_off", _("Enter the percentage."))
            data["amount_off_minor"] = None
        elif data.get("kind") == self.KIND_AMOUNT:
            data["percent_off"] = None
            if not data.get("amount_off"):
                self.add_error("amount_off", _("Enter the amount."))
            elif data.get("currency"):
                try:
                    data["amount_off_minor"] = parse_major_amount(
                        data["amount_off"], data["currency"]
                    )
                except ValidationError as exc:
                    self.add_error("amount_off", exc)
        if data.get("duration") == Coupon.Duration.REPEATING and not data.get("duration_periods"):
            self.add_error("duration_periods", _("Enter for how many periods."))
        if data.get("redeem_by"):
            # The whole last day counts: expire at the start of the next local day.
            from datetime import timedelta

            day = data["redeem_by"] + timedelta(days=1)
            data["redeem_by_at"] = _local_midnight(day, self.organization)
        else:
            data["redeem_by_at"] = None
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "code": d["code"],
            "name": d["name"],
            "percent_off": d.get("percent_off"),
            "amount_off_minor": d.get("amount_off_minor"),
            "currency": d.get("currency") or "",
            "duration": d["duration"],
            "duration_periods": d.get("duration_periods"),
            "max_redemptions": d.get("max_redemptions"),
            "redeem_by": d.get("redeem_by_at"),
        }


class BillingSettingsForm(forms.Form):
    extra_currencies = forms.CharField(
        label=_("Extra currencies"),
        required=False,
        max_length=200,
        help_text=_(
            "Your organization always bills in its main currency. List other ISO 4217 codes "
            "you also bill in, separated by commas (e.g. USD, EUR). Prices, coupons and "
            "invoices in any other currency are refused."
        ),
    )
    invoice_prefix = forms.CharField(
        label=_("Invoice number prefix"),
        max_length=10,
        help_text=_(
            "Goes before every invoice number, e.g. F- gives F-000123. Numbers are sequential "
            "without gaps; changing the prefix does not restart them."
        ),
    )
    credit_note_prefix = forms.CharField(
        label=_("Credit note number prefix"),
        max_length=10,
        help_text=_("Goes before every credit note number, e.g. NC- gives NC-000042."),
    )
    days_until_due = forms.IntegerField(
        label=_("Payment terms (days)"),
        min_value=0,
        max_value=365,
        help_text=_(
            "For invoices sent to be paid by the customer (not charged automatically): how "
            "many days after issue an invoice is due. Subscriptions can set their own."
        ),
    )

    def clean_extra_currencies(self) -> list[str]:
        from cobro.money import is_currency

        raw = self.cleaned_data["extra_currencies"]
        codes = [c.strip().upper() for c in re.split(r"[,\s]+", raw)]
        codes = [c for c in codes if c]
        unknown = [c for c in codes if not is_currency(c)]
        if unknown:
            raise ValidationError(
                _("Unknown currency code: %(codes)s.") % {"codes": ", ".join(unknown)}
            )
        return sorted(set(codes))


# -- subscriptions ---------------------------------------------------------------------------


class SubscriptionFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *SubscriptionStatus.choices],
    )


class SubscriptionCreateForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=QS)
    price = forms.ModelChoiceField(label=_("Price"), queryset=QS)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000, initial=1)
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: starts now. A date starts at midnight in your time zone."),
    )
    trial_days = forms.IntegerField(
        label=_("Trial days"),
        required=False,
        min_value=0,
        max_value=730,
        help_text=_("Empty: the price's trial."),
    )
    anchor_day = forms.IntegerField(
        label=_("Billing day of the month"),
        required=False,
        help_text=_(
            "1 to 31. Empty: the start day. On the 31st, shorter months bill on their last day."
        ),
    )
    coupon = forms.ModelChoiceField(label=_("Coupon"), queryset=QS, required=False)
    collection_method = forms.ChoiceField(
        label=_("Collection"),
        choices=CollectionMethod.choices,
        initial=CollectionMethod.CHARGE_AUTOMATICALLY,
        help_text=_(
            "Charge the saved payment method automatically, or send the invoice for the "
            "customer to pay within the payment terms."
        ),
    )
    days_until_due = forms.IntegerField(
        label=_("Payment terms (days)"),
        required=False,
        min_value=0,
        max_value=365,
        help_text=_("Only when sending invoices. Empty: 30 days."),
    )

    def __init__(self, *args, organization, **kwargs):
        from customers.models import Customer

        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["customer"].queryset = Customer.objects.order_by("name")
        self.fields["price"].queryset = Price.objects.filter(
            active=True, product__active=True
        ).select_related("product")
        self.fields["price"].label_from_instance = price_label
        self.fields["coupon"].queryset = Coupon.objects.filter(active=True)
        self.fields["coupon"].label_from_instance = lambda c: f"{c.code} — {c.name}"

    def clean_anchor_day(self):
        day = self.cleaned_data.get("anchor_day")
        if day is not None and not 1 <= day <= 31:
            raise ValidationError(_("The billing day must be between 1 and 31."))
        return day

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        start = d.get("start_date")
        return {
            "customer": d["customer"],
            "price": d["price"],
            "quantity": d["quantity"],
            "start_at": _local_midnight(start, self.organization) if start else None,
            "trial_days": d.get("trial_days"),
            "anchor_day": d.get("anchor_day"),
            "coupon": d.get("coupon"),
            "collection_method": d["collection_method"],
            "days_until_due": d.get("days_until_due"),
        }


def price_label(price: Price) -> str:
    """E.g. "Plan Pro · Monthly — CLP 12990 / 1 month (v2)"."""
    amount = Money(price.amount_minor, price.currency).format(_money_locale_default())
    name = price.product.name + (f" · {price.nickname}" if price.nickname else "")
    every = (
        price.get_interval_display()
        if price.interval_count == 1
        else f"{price.interval_count} {price.get_interval_display()}"
    )
    version = f" (v{price.version})" if price.version > 1 else ""
    return f"{name} — {amount} {price.currency} / {every}{version}"


def _money_locale_default() -> str:
    from billing.views.common import money_locale
    from cobro.tenancy.context import get_current_organization

    org = get_current_organization()
    return money_locale(org) if org else "es_CL"


class PauseForm(forms.Form):
    MODE_INDEFINITE = "indefinite"
    MODE_UNTIL = "until"
    mode = forms.ChoiceField(
        label=_("Pause"),
        choices=[(MODE_INDEFINITE, _("Indefinitely")), (MODE_UNTIL, _("Until a date"))],
        widget=forms.RadioSelect,
        initial=MODE_INDEFINITE,
    )
    resume_on = forms.DateField(
        label=_("Resume on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Billing restarts at midnight of this day (your time zone)."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean(self):
        data = super().clean()
        data["resume_at"] = None
        if data.get("mode") == self.MODE_UNTIL:
            if not data.get("resume_on"):
                self.add_error("resume_on", _("Choose the day billing resumes."))
            else:
                data["resume_at"] = _local_midnight(data["resume_on"], self.organization)
        return data


class CancelForm(forms.Form):
    WHEN_NOW = "now"
    WHEN_PERIOD_END = "period_end"
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            (WHEN_PERIOD_END, _("At the end of the current period")),
            (WHEN_NOW, _("Now")),
        ],
        widget=forms.RadioSelect,
        initial=WHEN_PERIOD_END,
    )
    prorated_credit = forms.BooleanField(
        label=_("Credit the unused time"),
        required=False,
        help_text=_(
            "Only when canceling now: the unused part of the paid period goes to the "
            "customer's credit balance."
        ),
    )


class ChangeForm(forms.Form):
    price = forms.ModelChoiceField(label=_("New price"), queryset=QS, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000)
    when = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Now, with proration")), ("next_period", _("At the next period"))],
        widget=forms.RadioSelect,
        initial="now",
    )

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = Price.objects.filter(
            Q(currency=subscription.currency, active=True, product__active=True)
            | Q(pk=subscription.price_id)
        ).select_related("product")
        self.fields["price"].label_from_instance = price_label
        self.fields["price"].empty_label = _("Keep the current price")


class PreviewInvoicesForm(forms.Form):
    count = forms.IntegerField(label=_("Invoices"), min_value=1, max_value=24, initial=3)


class MigratePriceForm(forms.Form):
    price = forms.ModelChoiceField(label=_("Newer version"), queryset=QS)

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = versions
        self.fields["price"].label_from_instance = price_label


# -- invoices --------------------------------------------------------------------------------


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer or number"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *InvoiceStatus.choices]
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class CreditNoteForm(forms.Form):
    KIND_FULL = "full"
    KIND_PARTIAL = "partial"
    kind = forms.ChoiceField(
        label=_("Credit"),
        choices=[(KIND_FULL, _("The whole invoice")), (KIND_PARTIAL, _("Part of it"))],
        widget=forms.RadioSelect,
        initial=KIND_FULL,
    )
    amount = forms.CharField(
        label=_("Amount to credit"),
        required=False,
        help_text=_("Tax included, like the invoice total."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, invoice, creditable_minor: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.creditable_minor = creditable_minor

    def clean(self):
        data = super().clean()
        if data.get("kind") == self.KIND_PARTIAL:
            if not data.get("amount"):
                self.add_error("amount", _("Enter the amount to credit."))
            else:
                try:
                    amount = parse_major_amount(data["amount"], self.invoice.currency)
                except ValidationError as exc:
                    self.add_error("amount", exc)
                else:
                    if amount <= 0:
                        self.add_error("amount", _("The amount must be greater than zero."))
                    elif amount > self.creditable_minor:
                        self.add_error(
                            "amount",
                            _("At most %(amount)s can still be credited on this invoice.")
                            % {"amount": _shown(self.creditable_minor, self.invoice)},
                        )
                    data["amount_minor"] = amount
        return data


def _shown(amount_minor: int, invoice) -> str:
    from billing.views.common import format_amount

    return format_amount(amount_minor, invoice.currency, invoice.organization)


class OneOffInvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=QS)
    currency = forms.ChoiceField(label=_("Currency"))
    collection_method = forms.ChoiceField(
        label=_("Collection"),
        choices=CollectionMethod.choices,
        initial=CollectionMethod.SEND_INVOICE,
    )
    memo = forms.CharField(
        label=_("Memo"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Printed on the invoice."),
    )
    finalize = forms.BooleanField(
        label=_("Issue now"),
        required=False,
        initial=True,
        help_text=_("Numbered and sent at once. Leave unchecked to keep it as a draft."),
    )

    def __init__(self, *args, organization, **kwargs):
        from customers.models import Customer

        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.order_by("name")
        self.fields["currency"].choices = _currency_choices(organization)
        self.fields["currency"].initial = organization.default_currency


class InvoiceItemForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=100_000, initial=1)
    unit_amount = forms.CharField(label=_("Unit amount"), required=False)
    tax_rate = forms.ModelChoiceField(
        label=_("Tax"), queryset=QS, required=False, empty_label=_("No tax")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(active=True)

    def is_blank(self) -> bool:
        d = getattr(self, "cleaned_data", {})
        return not d.get("description") and not d.get("unit_amount")


InvoiceItemFormSet = forms.formset_factory(InvoiceItemForm, extra=3, max_num=50)


class TestClockForm(forms.Form):
    __test__ = False  # not a pytest class

    to = forms.DateTimeField(
        label=_("Advance to"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=_("In your organization's time zone. The clock only moves forward."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_to(self):
        value = self.cleaned_data["to"]
        tz = ZoneInfo(self.organization.time_zone)
        # Django made it aware in the active zone; reinterpret the wall time locally.
        return timezone.make_naive(value).replace(tzinfo=tz)
