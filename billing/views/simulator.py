"""The plan simulator (staff): a year of invoices for a price or a subscription, computed by
the real billing code (``billing.simulation`` over ``billing.planning``) and saved nowhere.

Reading-only, so "view" is enough. The form is a GET form: the page is shareable and a reload
recomputes it. Nothing is written: the view only reads the price, coupon, subscription and the
customer's credit balance, and the simulation is pure (tests/billing/test_simulator.py counts
every table's rows before and after)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from dateutil.relativedelta import relativedelta
from django import forms
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import calendar
from billing.error_codes import BillingError, BillingErrorCode
from billing.forms import price_label
from billing.models import Coupon, Price, Subscription, SubscriptionStatus
from billing.planning import CouponInfo, PriceInfo
from billing.services.credit import customer_credit_balance
from billing.services.subscriptions import subscription_snapshot
from billing.simulation import PlannedChange, Simulation, simulate_price, simulate_subscription
from billing.views.common import BillingView
from cobro import clock

WHEN_NOW, WHEN_NEXT = "now", "next_period"


class SimulatorForm(forms.Form):
    """What to simulate. Price mode adds the start fields; both modes take a horizon and an
    optional plan change on a date."""

    months = forms.IntegerField(
        label=gettext_lazy("Months to simulate"), min_value=1, max_value=36, initial=12
    )
    change_on = forms.DateField(
        label=gettext_lazy("Change plan on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Optional: a date within the simulated months."),
    )
    change_price = forms.ModelChoiceField(
        label=gettext_lazy("New price"), queryset=Price.unscoped.none(), required=False
    )
    change_quantity = forms.IntegerField(
        label=gettext_lazy("New quantity"), min_value=1, max_value=100_000, required=False
    )
    change_when = forms.ChoiceField(
        label=gettext_lazy("The change applies"),
        choices=[
            (WHEN_NOW, gettext_lazy("On that date, with proration")),
            (WHEN_NEXT, gettext_lazy("At the next period after that date")),
        ],
        initial=WHEN_NOW,
        required=False,
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["change_price"])
        field.queryset = (
            Price.objects.filter(currency=currency, active=True, product__active=True)
            .select_related("product", "tax_rate")
            .order_by("product__name", "amount_minor")
        )
        field.label_from_instance = price_label  # type: ignore[method-assign,assignment]
        field.empty_label = _("Keep the same price")

    def clean(self):
        data = super().clean()
        wants_change = data.get("change_price") is not None or data.get("change_quantity")
        if wants_change and not data.get("change_on"):
            self.add_error("change_on", _("Choose the date of the plan change."))
        if data.get("change_on") and not wants_change:
            self.add_error("change_price", _("Choose a new price or a new quantity."))
        return data


class PriceSimulatorForm(SimulatorForm):
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), min_value=1, max_value=100_000, initial=1
    )
    start_on = forms.DateField(
        label=gettext_lazy("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: today."),
    )
    trial_days = forms.IntegerField(
        label=gettext_lazy("Trial days"),
        min_value=0,
        max_value=730,
        required=False,
        help_text=gettext_lazy("Empty: the price's trial."),
    )
    anchor_day = forms.IntegerField(
        label=gettext_lazy("Billing day of the month"),
        min_value=1,
        max_value=31,
        required=False,
        help_text=gettext_lazy("Empty: the start day."),
    )
    coupon = forms.ModelChoiceField(
        label=gettext_lazy("Coupon"), queryset=Coupon.unscoped.none(), required=False
    )
    field_order = ["quantity", "start_on", "trial_days", "anchor_day", "coupon", "months"]

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, currency=currency, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["coupon"])
        field.queryset = Coupon.objects.filter(active=True).filter(
            Q(amount_off_minor__isnull=True) | Q(currency=currency)
        )
        field.label_from_instance = lambda c: f"{c.code} — {c.name}"  # type: ignore[method-assign,assignment]


def _change(form: SimulatorForm, *, base_price: Price, base_quantity: int, tz: str):
    d = form.cleaned_data
    if not d.get("change_on"):
        return None
    price = d.get("change_price") or base_price
    return PlannedChange(
        at=calendar.local_midnight(d["change_on"], tz),
        price=PriceInfo.from_model(price),
        quantity=d.get("change_quantity") or base_quantity,
        next_period=d.get("change_when") == WHEN_NEXT,
    )


_ERROR_FIELDS = {
    BillingErrorCode.INVALID_INTERVAL: "change_when",
    BillingErrorCode.NOTHING_TO_CHANGE: "change_price",
    BillingErrorCode.CURRENCY_MISMATCH: "change_price",
    BillingErrorCode.INVALID_QUANTITY: "change_quantity",
}


def _error(form: SimulatorForm, exc: BillingError) -> None:
    messages = {
        BillingErrorCode.INVALID_INTERVAL: _(
            "A price with another billing interval can only apply at the next period."
        ),
        BillingErrorCode.NOTHING_TO_CHANGE: _("The new price and quantity are the current ones."),
    }
    form.add_error(_ERROR_FIELDS.get(exc.code), messages.get(exc.code, exc.message))


def _check_change_date(form: SimulatorForm, start: date, until: date) -> bool:
    change_on = form.cleaned_data.get("change_on")
    if change_on and not start <= change_on < until:
        form.add_error(
            "change_on",
            _("The change date must be between %(start)s and %(end)s.")
            % {
                "start": formats.date_format(start, "SHORT_DATE_FORMAT"),
                "end": formats.date_format(until - timedelta(days=1), "SHORT_DATE_FORMAT"),
            },
        )
        return False
    return True


class _SimulatorView(BillingView):
    template = "billing/simulator.html"

    def _render(self, *, form, simulation: Simulation | None, **extra):
        return render(
            self.request,
            self.template,
            {
                **self.perms(),
                "form": form,
                "simulation": simulation,
                **extra,
            },
            status=400 if form.is_bound and form.errors else 200,
        )


class PriceSimulatorView(_SimulatorView):
    """A new subscription to this price, from a start date, for N months."""

    def get(self, request, pk: int):
        price = get_object_or_404(Price.objects.select_related("product", "tax_rate"), pk=pk)
        org = self.organization
        tz = org.time_zone
        today = calendar.local_date(clock.now(org), tz)
        bound = bool(request.GET)
        form = PriceSimulatorForm(request.GET if bound else None, currency=price.currency)
        simulation = None
        if bound and form.is_valid():
            d = form.cleaned_data
            start_on = d.get("start_on") or today
            until_on = start_on + relativedelta(months=d["months"])
            if _check_change_date(form, start_on, until_on):
                coupon = d.get("coupon")
                try:
                    simulation = simulate_price(
                        price=PriceInfo.from_model(price),
                        quantity=d["quantity"],
                        time_zone=tz,
                        start_at=calendar.local_midnight(start_on, tz),
                        until=calendar.local_midnight(until_on, tz),
                        trial_days=price.trial_days
                        if d.get("trial_days") is None
                        else d["trial_days"],
                        anchor_day=d.get("anchor_day"),
                        coupon=CouponInfo.from_model(coupon) if coupon else None,
                        change=_change(form, base_price=price, base_quantity=d["quantity"], tz=tz),
                    )
                except BillingError as exc:
                    _error(form, exc)
        return self._render(
            form=form,
            simulation=simulation,
            price=price,
            price_label=price_label(price),
            back_url=reverse("billing:product_detail", args=[price.product_id]),
        )


class SubscriptionSimulatorView(_SimulatorView):
    """This subscription from now on (test clock aware), with its credit balance, coupon,
    pending change, pause and scheduled cancellation, plus an optional change."""

    def get(self, request, pk: int):
        sub = get_object_or_404(
            Subscription.objects.select_related(
                "organization",
                "customer",
                "price__product",
                "price__tax_rate",
                "pending_price__product",
                "pending_price__tax_rate",
                "coupon",
            ),
            pk=pk,
        )
        org = self.organization
        tz = org.time_zone
        now = clock.now(org)
        today = calendar.local_date(now, tz)
        form = SimulatorForm(request.GET or None, currency=sub.currency)
        simulation = None
        if not request.GET:
            form = SimulatorForm({"months": 12, "change_when": WHEN_NOW}, currency=sub.currency)
        if sub.status == SubscriptionStatus.CANCELED:
            form.is_valid()
        elif form.is_valid():
            d = form.cleaned_data
            until_on = today + relativedelta(months=d["months"])
            if _check_change_date(form, today, until_on):
                change = _change(form, base_price=sub.price, base_quantity=sub.quantity, tz=tz)
                if change is not None and change.at < now:
                    change = PlannedChange(
                        at=now,
                        price=change.price,
                        quantity=change.quantity,
                        next_period=change.next_period,
                    )
                try:
                    simulation = simulate_subscription(
                        subscription_snapshot(sub),
                        now=now,
                        until=calendar.local_midnight(until_on, tz),
                        credit_balance_minor=customer_credit_balance(
                            customer=sub.customer, currency=sub.currency
                        ),
                        change=change,
                    )
                except BillingError as exc:
                    _error(form, exc)
        return self._render(
            form=form,
            simulation=simulation,
            sub=sub,
            price_label=price_label(sub.price),
            canceled=sub.status == SubscriptionStatus.CANCELED,
        )
