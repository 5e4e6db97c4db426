"""Staff pages of subscriptions: list, create, detail with timeline, and every action (pause,
resume, cancel, undo cancel, change with a proration preview, invoice preview, migrate to a
newer price version). Reading needs "view"; every action needs "bill"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.error_codes import BillingError, BillingErrorCode
from billing.forms import (
    CancelForm,
    ChangeForm,
    MigratePriceForm,
    PauseForm,
    PreviewInvoicesForm,
    SubscriptionCreateForm,
    price_label,
)
from billing.list_filters import SubscriptionListFilterForm
from billing.models import Invoice, Price, Subscription, SubscriptionStatus
from billing.selectors import filtered_subscriptions
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_migrate_price,
    subscription_pause,
    subscription_preview_change,
    subscription_preview_invoices,
    subscription_resume,
    subscription_undo_cancel,
)
from billing.views.common import BillingView, add_billing_error
from billing.views.timelines import subscription_timeline
from cobro.listing import paginate

St = SubscriptionStatus


def _subscriptions():
    return Subscription.objects.select_related("customer", "price__product", "coupon")


def _get_subscription(pk: int) -> Subscription:
    return get_object_or_404(
        _subscriptions().select_related("pending_price__product", "organization"), pk=pk
    )


def newer_versions(price: Price):
    """Active prices that replace ``price`` (directly or through later versions)."""
    ids = []
    current = price
    for _i in range(100):  # a version chain, bounded
        nxt = Price.objects.filter(replaces=current).first()
        if nxt is None:
            break
        if nxt.active:
            ids.append(nxt.pk)
        current = nxt
    return Price.objects.filter(pk__in=ids).select_related("product").order_by("-version")


def available_actions(sub: Subscription) -> dict[str, bool]:
    """Which actions make sense in the subscription's current state (the services decide)."""
    live = sub.status in (St.ACTIVE, St.TRIALING, St.PAST_DUE)
    return {
        "pause": live,
        "resume": sub.status == St.PAUSED,
        "cancel": sub.status != St.CANCELED,
        "undo_cancel": sub.cancel_at_period_end and sub.status != St.CANCELED,
        "change": live,
        "preview": sub.status != St.CANCELED,
        "migrate": sub.status != St.CANCELED and newer_versions(sub.price).exists(),
    }


class SubscriptionListView(BillingView):
    def get(self, request):
        form = SubscriptionListFilterForm(request.GET or None, organization=self.organization)
        subs = filtered_subscriptions(organization=self.organization, data=form.filters())
        page = paginate(
            subs.select_related("customer", "price__product", "coupon"), request.GET.get("page")
        )
        return render(
            request,
            "billing/subscriptions/list.html",
            {
                **self.perms(),
                "form": form,
                "page": page,
                "filtered": form.is_filtered(),
            },
        )


class SubscriptionCreateView(BillingView):
    required_permission = "bill"

    def get(self, request):
        initial = {}
        if request.GET.get("customer", "").isdigit():
            initial["customer"] = int(request.GET["customer"])
        return self._render(SubscriptionCreateForm(initial=initial, organization=self.organization))

    def post(self, request):
        form = SubscriptionCreateForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                sub = subscription_create(**form.service_kwargs())
            except BillingError as exc:
                add_billing_error(
                    form,
                    exc,
                    {
                        BillingErrorCode.CURRENCY_NOT_ENABLED: "price",
                        BillingErrorCode.INVALID_DATE: "start_date",
                        BillingErrorCode.INVALID_TRANSITION: "collection_method",
                    },
                )
            else:
                messages.success(
                    request,
                    _("Subscription created for %(customer)s.") % {"customer": sub.customer.name},
                )
                return redirect("billing:subscription_detail", pk=sub.pk)
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "billing/subscriptions/form.html",
            {**self.perms(), "form": form},
            status=status,
        )


class SubscriptionDetailView(BillingView):
    def get(self, request, pk: int):
        sub = _get_subscription(pk)
        invoices = list(
            Invoice.objects.filter(subscription=sub).order_by("-created_at", "-pk")[:20]
        )
        timeline = subscription_timeline(sub, invoices=invoices)
        return render(
            request,
            "billing/subscriptions/detail.html",
            {
                **self.perms(),
                "sub": sub,
                "invoices": invoices,
                "timeline": timeline,
                "actions": available_actions(sub),
                "price_label": price_label(sub.price),
                "pending_price_label": price_label(sub.pending_price)
                if sub.pending_price is not None
                else "",
            },
        )


class _SubscriptionActionView(BillingView):
    """GET shows the action's form (the confirmation step); POST performs it."""

    required_permission = "bill"
    template = "billing/subscriptions/action.html"
    title: Any = ""
    explanation: Any = ""
    submit_label: Any = ""
    danger = False
    error_fields: dict = {}

    def form_class(self, sub, data=None):
        return None

    def perform(self, sub, form) -> str:
        raise NotImplementedError

    def get(self, request, pk: int):
        sub = _get_subscription(pk)
        return self._render(sub, self.form_class(sub))

    def post(self, request, pk: int):
        sub = _get_subscription(pk)
        form = self.form_class(sub, request.POST)
        if form is None or form.is_valid():
            try:
                message = self.perform(sub, form)
            except BillingError as exc:
                if form is None:
                    messages.error(request, exc.message)
                    return redirect("billing:subscription_detail", pk=sub.pk)
                add_billing_error(form, exc, self.error_fields)
            else:
                messages.success(request, message)
                return redirect("billing:subscription_detail", pk=sub.pk)
        return self._render(sub, form, status=400)

    def _render(self, sub, form, status=200, **extra):
        return render(
            self.request,
            self.template,
            {
                **self.perms(),
                "sub": sub,
                "form": form,
                "title": self.title,
                "explanation": self.explanation,
                "submit_label": self.submit_label,
                "danger": self.danger,
                **extra,
            },
            status=status,
        )


class SubscriptionPauseView(_SubscriptionActionView):
    title = gettext_lazy("Pause subscription")
    explanation = gettext_lazy(
        "No invoices are issued while a subscription is paused. When it resumes, if its paid "
        "period is over, a new period starts that day and is invoiced at once."
    )
    submit_label = gettext_lazy("Pause")
    error_fields = {BillingErrorCode.INVALID_DATE: "resume_on"}

    def form_class(self, sub, data=None):
        return PauseForm(data, organization=self.organization)

    def perform(self, sub, form) -> str:
        subscription_pause(subscription=sub, resume_at=form.cleaned_data["resume_at"])
        return _("Subscription paused.")


class SubscriptionResumeView(_SubscriptionActionView):
    title = gettext_lazy("Resume subscription")
    explanation = gettext_lazy(
        "Billing restarts now. If the paid period is over, a new period starts today and is "
        "invoiced at once."
    )
    submit_label = gettext_lazy("Resume")

    def perform(self, sub, form) -> str:
        subscription_resume(subscription=sub)
        return _("Subscription resumed.")


class SubscriptionCancelView(_SubscriptionActionView):
    title = gettext_lazy("Cancel subscription")
    explanation = gettext_lazy(
        "At the end of the period: the customer keeps the service until then and you can undo "
        "it. Now: billing stops immediately; this cannot be undone."
    )
    submit_label = gettext_lazy("Cancel subscription")
    danger = True

    def form_class(self, sub, data=None):
        return CancelForm(data)

    def perform(self, sub, form) -> str:
        now = form.cleaned_data["when"] == CancelForm.WHEN_NOW
        subscription_cancel(
            subscription=sub,
            at_period_end=not now,
            prorated_credit=now and form.cleaned_data["prorated_credit"],
        )
        if now:
            return _("Subscription canceled.")
        return _("The subscription will be canceled at the end of the current period.")


class SubscriptionUndoCancelView(_SubscriptionActionView):
    title = gettext_lazy("Keep subscription")
    explanation = gettext_lazy(
        "The scheduled cancellation is removed and the subscription renews as usual."
    )
    submit_label = gettext_lazy("Undo cancellation")

    def perform(self, sub, form) -> str:
        subscription_undo_cancel(subscription=sub)
        return _("The scheduled cancellation was undone.")


class SubscriptionMigrateView(_SubscriptionActionView):
    title = gettext_lazy("Move to a newer price version")
    explanation = gettext_lazy(
        "From the next period on, the subscription is billed at the version you choose. The "
        "current period is not changed."
    )
    submit_label = gettext_lazy("Migrate")

    def form_class(self, sub, data=None):
        return MigratePriceForm(data, versions=newer_versions(sub.price))

    def perform(self, sub, form) -> str:
        subscription_migrate_price(subscription=sub, price=form.cleaned_data["price"])
        return _("The subscription moves to the new version at the next period.")


class SubscriptionChangeView(BillingView):
    """Change price and/or quantity. Step 1: the form. Step 2 (POST ``step=preview``): what
    the change would do, computed by ``subscription_preview_change`` (the same code path as
    the change itself). Step 3 (POST ``step=confirm``): ``subscription_change``."""

    required_permission = "bill"

    def get(self, request, pk: int):
        sub = _get_subscription(pk)
        form = ChangeForm(initial={"quantity": sub.quantity}, subscription=sub)
        return self._render(sub, form)

    def post(self, request, pk: int):
        sub = _get_subscription(pk)
        form = ChangeForm(request.POST, subscription=sub)
        if not form.is_valid():
            return self._render(sub, form, status=400)
        kwargs = {
            "price": form.cleaned_data["price"],
            "quantity": form.cleaned_data["quantity"],
            "when": form.cleaned_data["when"],
        }
        if request.POST.get("step") == "confirm":
            try:
                result = subscription_change(subscription=sub, **kwargs)
            except BillingError as exc:
                add_billing_error(form, exc, {BillingErrorCode.NOTHING_TO_CHANGE: None})
                return self._render(sub, form, status=400)
            if kwargs["when"] == "next_period":
                messages.success(request, _("The change will apply from the next period."))
            elif result.invoice is not None:
                messages.success(
                    request,
                    _("Subscription changed. Invoice %(number)s was issued for the difference.")
                    % {"number": result.invoice.number},
                )
            elif result.plan.credit_minor:
                messages.success(
                    request,
                    _("Subscription changed. The difference was credited to the customer."),
                )
            else:
                messages.success(request, _("Subscription changed."))
            return redirect("billing:subscription_detail", pk=sub.pk)
        try:
            plan = subscription_preview_change(subscription=sub, **kwargs)
        except BillingError as exc:
            add_billing_error(form, exc, {BillingErrorCode.NOTHING_TO_CHANGE: None})
            return self._render(sub, form, status=400)
        return self._render(sub, form, plan=plan, preview=True)

    def _render(self, sub, form, status=200, plan=None, preview=False):
        doc = plan.document if plan is not None else None
        return render(
            self.request,
            "billing/subscriptions/change.html",
            {
                **self.perms(),
                "sub": sub,
                "form": form,
                "preview": preview,
                "plan": plan,
                "doc": doc,
                "new_price_label": price_label(
                    (form.cleaned_data.get("price") if form.is_bound and form.is_valid() else None)
                    or sub.price
                ),
                "price_label": price_label(sub.price),
            },
            status=status,
        )


class SubscriptionPreviewInvoicesView(BillingView):
    """The next N invoices, dry-run through the billing planner (nothing is written)."""

    def get(self, request, pk: int):
        sub = _get_subscription(pk)
        form = PreviewInvoicesForm(request.GET or {"count": 3})
        plans = []
        if form.is_valid():
            plans = subscription_preview_invoices(
                subscription=sub, count=form.cleaned_data["count"]
            )
        return render(
            request,
            "billing/subscriptions/preview_invoices.html",
            {
                **self.perms(),
                "sub": sub,
                "form": form,
                "plans": plans,
                "detail_url": reverse("billing:subscription_detail", kwargs={"pk": sub.pk}),
            },
        )
