"""The end customer's billing pages in the portal: overview, invoices (PDF, pay now),
payment methods, and subscription self-service (change plan with a proration preview,
pause/resume within the organization's limits, cancel with a reason, undo a cancellation).

Every view subclasses ``PortalView`` (organization from the URL, the session's customer);
objects are looked up through the tenant-scoped managers AND filtered by the customer, so a
tampered id is a 404. Writes go through the billing and payments services.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from billing import calendar
from billing.error_codes import BillingError
from billing.models import Invoice, InvoiceStatus, Price, Subscription, SubscriptionStatus
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_pause,
    subscription_preview_change,
    subscription_preview_invoices,
    subscription_resume,
    subscription_undo_cancel,
)
from cobro import clock
from customers.models import Customer
from customers.portal.models import CancellationReason
from customers.portal.services import (
    PortalError,
    PortalErrorCode,
    cancel_modes,
    cancellation_feedback_record,
    pause_allowance,
    pause_check,
    portal_settings_for,
)
from customers.portal.slots import portal_panels
from customers.portal.views.base import PortalView

St = SubscriptionStatus
LIVE_STATUSES = (St.TRIALING, St.ACTIVE, St.PAST_DUE, St.UNPAID, St.PAUSED, St.INCOMPLETE)
CHANGEABLE_STATUSES = (St.ACTIVE, St.TRIALING, St.PAST_DUE)
PAYABLE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
CHANGE_SALT = "portal.subscription_change"
CHANGE_MAX_AGE = 15 * 60


def _payments():
    """The payments app's models and services, or None while it is not installed."""
    try:
        from billing.payments import models as pm
        from billing.payments.services import charging, methods
    except ImportError:  # pragma: no cover - payments is part of the project
        return None
    return pm, charging, methods


class CustomerObjectsMixin:
    """Lookups limited to the signed-in customer (the tenant is already scoped)."""

    customer: Customer

    def subscriptions(self):
        return (
            Subscription.objects.filter(customer=self.customer)
            .select_related("price", "price__product")
            .order_by("-created_at", "-pk")
        )

    def get_subscription(self, pk: int) -> Subscription:
        return get_object_or_404(self.subscriptions(), pk=pk)

    def invoices(self):
        return (
            # Issued invoices only: drafts and discarded (voided) drafts have no number.
            Invoice.objects.filter(customer=self.customer, number__isnull=False).order_by(
                "-issued_at", "-pk"
            )
        )

    def get_invoice(self, pk: int) -> Invoice:
        return get_object_or_404(self.invoices(), pk=pk)

    def methods(self):
        p = _payments()
        if p is None:
            return None
        return (
            p[0]
            .PaymentMethod.objects.filter(customer=self.customer, removed_at__isnull=True)
            .order_by("-is_default", "-created_at", "-pk")
        )

    def default_method(self):
        methods = self.methods()
        return None if methods is None else methods.filter(is_default=True).first()


def _local_date(instant: datetime | None, organization):
    if instant is None:
        return None
    return calendar.local_date(instant, organization.time_zone)


def _next_charge(sub: Subscription) -> dict | None:
    """Date (local) and amount of the next invoice of a live subscription, or None."""
    if sub.status not in (St.ACTIVE, St.TRIALING, St.PAST_DUE, St.PAUSED):
        return None
    if sub.cancel_at_period_end or sub.next_billing_at is None:
        return None
    try:
        plans = subscription_preview_invoices(subscription=sub, count=1)
    except BillingError:
        return None
    document = plans[0].document if plans else None
    if document is None:
        return None
    return {
        "date": _local_date(plans[0].period_start or sub.next_billing_at, sub.organization),
        "amount_minor": document.amount_due_minor,
        "currency": document.currency,
    }


# -- overview ----------------------------------------------------------------------------------


class OverviewView(CustomerObjectsMixin, PortalView):
    nav_key = "home"

    def get(self, request):
        org = self.organization
        subs = [s for s in self.subscriptions() if s.status in LIVE_STATUSES]
        rows = [
            {
                "sub": s,
                "next": _next_charge(s),
                "ends_on": _local_date(s.current_period_end, org)
                if s.cancel_at_period_end
                else None,
                "resumes_on": _local_date(s.resume_at, org),
            }
            for s in subs
        ]
        open_invoices = list(self.invoices().filter(status__in=PAYABLE_STATUSES))
        return self.render(
            request,
            "portal/overview.html",
            rows=rows,
            open_invoices=open_invoices,
            alerts=self._alerts(subs, open_invoices),
            overview_panels=portal_panels("overview"),
        )

    def _alerts(self, subs, open_invoices) -> list[dict]:
        alerts: list[dict] = []
        p = _payments()
        if p is None:
            return alerts
        pm = p[0]
        method = self.default_method()
        now = clock.now(self.organization)
        if method is not None and method.exp_year and method.exp_month:
            exp_index = method.exp_year * 12 + method.exp_month
            if exp_index <= now.year * 12 + now.month + 1:
                alerts.append(
                    {
                        "level": "warning",
                        "text": _("Your card ending in %(last4)s expires on %(month)02d/%(year)s.")
                        % {
                            "last4": method.last4,
                            "month": method.exp_month,
                            "year": method.exp_year,
                        },
                        "url": self.url("payment_methods"),
                        "action": _("Update card"),
                    }
                )
        auto = [
            s
            for s in subs
            if s.collection_method == "charge_automatically"
            and s.status in (St.ACTIVE, St.TRIALING, St.PAST_DUE)
        ]
        if auto and method is None:
            alerts.append(
                {
                    "level": "warning",
                    "text": _("Add a payment method so your subscription keeps running."),
                    "url": self.url("payment_method_add"),
                    "action": _("Add a card"),
                }
            )
        for invoice in open_invoices:
            last = (
                pm.PaymentAttempt.objects.filter(invoice=invoice)
                .order_by("-attempt_number")
                .first()
            )
            if last is not None and last.status == pm.AttemptStatus.FAILED:
                alerts.append(
                    {
                        "level": "danger",
                        "text": _("The payment of invoice %(number)s failed.")
                        % {"number": invoice.number},
                        "url": self.url("invoice_detail", pk=invoice.pk),
                        "action": _("Pay now"),
                    }
                )
        return alerts


# -- invoices ----------------------------------------------------------------------------------


class InvoiceListView(CustomerObjectsMixin, PortalView):
    nav_key = "invoices"

    def get(self, request):
        return self.render(request, "portal/invoices.html", invoices=self.invoices()[:200])


class InvoiceDetailView(CustomerObjectsMixin, PortalView):
    nav_key = "invoices"

    def get(self, request, pk: int):
        invoice = self.get_invoice(pk)
        attempts = []
        in_flight = False
        p = _payments()
        if p is not None:
            pm = p[0]
            attempts = list(
                pm.PaymentAttempt.objects.filter(invoice=invoice).order_by("-attempt_number")[:5]
            )
            in_flight = any(a.status in pm.IN_FLIGHT for a in attempts)
        method = self.default_method()
        return self.render(
            request,
            "portal/invoice_detail.html",
            invoice=invoice,
            lines=list(invoice.lines.order_by("position", "pk")),
            taxes=list(invoice.taxes.all()),
            attempts=attempts,
            in_flight=in_flight,
            payable=invoice.status in PAYABLE_STATUSES and invoice.amount_due_minor > 0,
            method=method if method is not None and method.type in ("card", "wallet") else None,
            documents_ready=_documents_ready(),
        )


def _documents_ready() -> bool:
    try:
        from billing.documents import services  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


class InvoicePdfView(CustomerObjectsMixin, PortalView):
    def get(self, request, pk: int):
        invoice = self.get_invoice(pk)
        from billing.documents.services import DocumentNotIssued, invoice_pdf_bytes

        try:
            filename, pdf = invoice_pdf_bytes(invoice_id=invoice.pk)
        except DocumentNotIssued:
            raise Http404 from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


class InvoicePayView(CustomerObjectsMixin, PortalView):
    """Pay an open invoice now with the default card. The payments service locks the invoice
    and refuses while another attempt (e.g. the automatic charge) is in flight."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        invoice = self.get_invoice(pk)
        detail = self.url("invoice_detail", pk=invoice.pk)
        p = _payments()
        if p is None:
            messages.error(request, _("Online payments are not available yet."))
            return redirect(detail)
        pm, charging, _methods = p
        method = self.default_method()
        if method is None or method.type not in ("card", "wallet"):
            # Never record a failed attempt for "no card": ask for one, then come back.
            messages.info(request, _("Add a card to pay this invoice."))
            return redirect(f"{self.url('payment_method_add')}?next={detail}")
        from billing.payments.error_codes import PaymentError

        try:
            attempt = charging.invoice_pay_now(invoice=invoice)
        except PaymentError as exc:
            messages.error(request, exc.message)
            return redirect(detail)
        if attempt.status == pm.AttemptStatus.SUCCEEDED:
            messages.success(request, _("Thank you! Your payment was received."))
        elif attempt.status in pm.IN_FLIGHT:
            messages.info(
                request, _("Your payment is being confirmed. This page will show the result.")
            )
        else:
            messages.error(
                request,
                _("Your card was declined (%(reason)s). Try another card.")
                % {"reason": attempt.decline_code or _("unknown reason")},
            )
        return redirect(detail)


# -- payment methods ----------------------------------------------------------------------------


class PaymentMethodListView(CustomerObjectsMixin, PortalView):
    nav_key = "payment_methods"

    def get(self, request):
        methods = self.methods()
        return self.render(
            request,
            "portal/payment_methods.html",
            methods=list(methods) if methods is not None else [],
            payments_ready=methods is not None,
        )


def _hosted_form():
    """The gateway's hosted card form (``billing.payments.hosted.hosted_form_context``), or
    None while the payments app does not provide one. Card numbers are entered there, never
    into our forms; the page posts back only a token."""
    try:
        from billing.payments import hosted
    except ImportError:  # pragma: no cover - payments is part of the project
        return None
    return getattr(hosted, "hosted_form_context", None)


class PaymentMethodAddView(CustomerObjectsMixin, PortalView):
    nav_key = "payment_methods"

    def _next(self, request) -> str:
        candidate = request.GET.get("next") or request.POST.get("next") or ""
        prefix = f"/p/{self.organization.slug}/"
        return candidate if candidate.startswith(prefix) else self.url("payment_methods")

    def get(self, request):
        builder = _hosted_form()
        hosted = None
        if builder is not None:
            hosted = builder(
                organization=self.organization,
                customer=self.customer,
                return_url=request.build_absolute_uri(self.url("payment_method_add")),
            )
        response = self.render(
            request,
            "portal/payment_method_add.html",
            hosted=hosted,
            next=self._next(request),
        )
        if hosted is not None:
            from billing.payments.hosted import hosted_csp_apply

            # Only this page, and only for a configured Stripe account, may load Stripe.js.
            hosted_csp_apply(response, hosted)
        return response

    def post(self, request):
        """The hosted form hands back a token (never a card number); save it."""
        token = request.POST.get("token", "")
        gateway = request.POST.get("gateway", "sandbox")
        if not token or _hosted_form() is None:
            messages.error(request, _("The card could not be saved. Please try again."))
            return redirect(self.url("payment_method_add"))
        from billing.gateways.base import GatewayError
        from billing.payments.error_codes import PaymentError
        from billing.payments.hosted import organization_card_gateway
        from billing.payments.services.methods import payment_method_add_card

        if gateway != organization_card_gateway(organization=self.organization):
            # A token for another gateway than the one this organization charges with.
            messages.error(request, _("The card could not be saved. Please try again."))
            return redirect(self.url("payment_method_add"))
        try:
            method = payment_method_add_card(customer=self.customer, gateway=gateway, token=token)
        except (GatewayError, PaymentError):
            messages.error(request, _("The card could not be saved. Please try again."))
            return redirect(self.url("payment_method_add"))
        messages.success(
            request,
            _("Card ending in %(last4)s saved as your default.") % {"last4": method.last4},
        )
        return redirect(self._next(request))


class PaymentMethodDefaultView(CustomerObjectsMixin, PortalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        methods = self.methods()
        if methods is None:
            raise Http404
        method = get_object_or_404(methods, pk=pk)
        from billing.payments.services.methods import payment_method_set_default

        payment_method_set_default(method=method)
        messages.success(request, _("Default payment method updated."))
        return redirect(self.url("payment_methods"))


class PaymentMethodRemoveView(CustomerObjectsMixin, PortalView):
    """Remove a method, but never the last chargeable one while a subscription is charged
    automatically (add a replacement first). Removing the default promotes the newest other
    chargeable method."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        methods = self.methods()
        if methods is None:
            raise Http404
        method = get_object_or_404(methods, pk=pk)
        from billing.payments.services.methods import (
            payment_method_remove,
            payment_method_set_default,
        )

        others = [m for m in methods.exclude(pk=method.pk) if m.type in ("card", "wallet")]
        needs_method = (
            self.subscriptions()
            .filter(
                status__in=(St.ACTIVE, St.TRIALING, St.PAST_DUE, St.UNPAID),
                collection_method="charge_automatically",
            )
            .exists()
        )
        if needs_method and method.type in ("card", "wallet") and not others:
            messages.error(
                request,
                _(
                    "This card pays an active subscription. Add another card before removing "
                    "this one."
                ),
            )
            return redirect(self.url("payment_methods"))
        with transaction.atomic():
            was_default = method.is_default
            payment_method_remove(method=method)
            if was_default and others:
                payment_method_set_default(method=others[0])
        messages.success(request, _("Payment method removed."))
        return redirect(self.url("payment_methods"))


# -- subscriptions -----------------------------------------------------------------------------


class SubscriptionDetailView(CustomerObjectsMixin, PortalView):
    nav_key = "home"

    def get(self, request, pk: int):
        sub = self.get_subscription(pk)
        org = self.organization
        now = clock.now(org)
        allowance = pause_allowance(subscription=sub, now=now)
        conf = portal_settings_for(org)
        return self.render(
            request,
            "portal/subscription_detail.html",
            sub=sub,
            next=_next_charge(sub),
            period_end=_local_date(sub.current_period_end, org),
            resumes_on=_local_date(sub.resume_at, org),
            can_change=conf.allow_plan_change and sub.status in CHANGEABLE_STATUSES,
            can_pause=allowance.enabled
            and allowance.remaining > 0
            and sub.status in (St.ACTIVE, St.TRIALING)
            and not sub.cancel_at_period_end,
            can_cancel=sub.status != St.CANCELED and not sub.cancel_at_period_end,
            allowance=allowance,
        )


def _change_token(sub: Subscription, price: Price, quantity: int, when: str, now) -> str:
    return signing.dumps(
        {
            "s": sub.pk,
            "p": price.pk,
            "q": quantity,
            "w": when,
            "n": now.isoformat(),
            "u": sub.updated_at.isoformat(),
        },
        salt=CHANGE_SALT,
    )


class SubscriptionChangeView(CustomerObjectsMixin, PortalView):
    """Step 1 (GET): choose a plan and quantity. Step 2 (POST preview): the proration preview
    from ``subscription_preview_change``. Step 3 (POST confirm): ``subscription_change`` with
    exactly the previewed inputs and instant (signed, 15 minutes), so what is confirmed is
    what was shown. A change of the subscription in between asks for a new preview."""

    nav_key = "home"

    def _prices(self, sub: Subscription):
        return (
            Price.objects.filter(active=True, currency=sub.currency)
            .select_related("product")
            .order_by("product__name", "amount_minor", "pk")
        )

    def _guard(self, request, sub):
        conf = portal_settings_for(self.organization)
        if not conf.allow_plan_change or sub.status not in CHANGEABLE_STATUSES:
            messages.error(request, _("This subscription cannot be changed here."))
            return redirect(self.url("subscription_detail", pk=sub.pk))
        return None

    def get(self, request, pk: int):
        sub = self.get_subscription(pk)
        refused = self._guard(request, sub)
        if refused:
            return refused
        return self._form(request, sub)

    def _form(self, request, sub, *, error: str = "", status: int = 200, chosen=None, qty=None):
        return self.render(
            request,
            "portal/subscription_change.html",
            status=status,
            sub=sub,
            prices=self._prices(sub),
            error=error,
            chosen_price=chosen or sub.price_id,
            chosen_quantity=qty or sub.quantity,
        )

    def post(self, request, pk: int):
        sub = self.get_subscription(pk)
        refused = self._guard(request, sub)
        if refused:
            return refused
        if request.POST.get("step") == "confirm":
            return self._confirm(request, sub)
        return self._preview(request, sub)

    def _parse(self, request):
        try:
            price_id = int(request.POST.get("price", ""))
            quantity = int(request.POST.get("quantity", "1"))
        except ValueError:
            raise Http404 from None
        # Another organization's price is not found (404); another currency is refused by the
        # service with a clear message.
        price = get_object_or_404(Price.objects.select_related("product"), pk=price_id)
        return price, quantity

    def _when(self, sub: Subscription, price: Price) -> str:
        same_interval = (price.interval, price.interval_count) == (
            sub.price.interval,
            sub.price.interval_count,
        )
        return "now" if same_interval or sub.status == St.TRIALING else "next_period"

    def _preview(self, request, sub):
        price, quantity = self._parse(request)
        when = self._when(sub, price)
        now = clock.now(self.organization)
        try:
            plan = subscription_preview_change(
                subscription=sub, price=price, quantity=quantity, when=when, now=now
            )
        except BillingError as exc:
            return self._form(
                request, sub, error=exc.message, status=400, chosen=price.pk, qty=quantity
            )
        return self.render(
            request,
            "portal/subscription_change_preview.html",
            sub=sub,
            price=price,
            quantity=quantity,
            when=when,
            plan=plan,
            document=plan.document,
            effective_on=_local_date(sub.current_period_end, self.organization),
            token=_change_token(sub, price, quantity, when, now),
        )

    def _confirm(self, request, sub):
        try:
            data = signing.loads(
                request.POST.get("token", ""), salt=CHANGE_SALT, max_age=CHANGE_MAX_AGE
            )
        except signing.BadSignature:
            messages.error(request, _("This preview has expired. Please review the change again."))
            return redirect(self.url("subscription_change", pk=sub.pk))
        if data.get("s") != sub.pk:
            raise Http404
        price = get_object_or_404(Price.objects.all(), pk=data["p"])
        if data.get("u") != sub.updated_at.isoformat():
            messages.error(
                request, _("Your subscription changed meanwhile. Please review the change again.")
            )
            return redirect(self.url("subscription_change", pk=sub.pk))
        now = parse_datetime(data["n"])
        try:
            result = subscription_change(
                subscription=sub, price=price, quantity=data["q"], when=data["w"], now=now
            )
        except BillingError as exc:
            messages.error(request, exc.message)
            return redirect(self.url("subscription_change", pk=sub.pk))
        if data["w"] == "next_period":
            messages.success(request, _("Done. Your new plan starts with your next period."))
        else:
            messages.success(request, _("Done. Your plan was changed."))
        if result.invoice is not None and result.invoice.status in PAYABLE_STATUSES:
            return redirect(self.url("invoice_detail", pk=result.invoice.pk))
        return redirect(self.url("subscription_detail", pk=sub.pk))


class SubscriptionPauseView(CustomerObjectsMixin, PortalView):
    nav_key = "home"

    def _context(self, sub):
        now = clock.now(self.organization)
        allowance = pause_allowance(subscription=sub, now=now)
        today = calendar.local_date(now, self.organization.time_zone)
        return {
            "sub": sub,
            "allowance": allowance,
            "min_date": today + timedelta(days=1),
            "max_date": today + timedelta(days=max(allowance.max_days, 1)),
            "today": today,
        }

    def get(self, request, pk: int):
        sub = self.get_subscription(pk)
        return self.render(request, "portal/subscription_pause.html", **self._context(sub))

    def post(self, request, pk: int):
        sub = self.get_subscription(pk)
        context = self._context(sub)
        resume_on = parse_date(request.POST.get("resume_on", "") or "")
        try:
            if resume_on is None:
                raise PortalError(PortalErrorCode.PAUSE_IN_PAST)
            pause_check(allowance=context["allowance"], today=context["today"], resume_on=resume_on)
            resume_at = calendar.local_midnight(resume_on, self.organization.time_zone)
            subscription_pause(subscription=sub, resume_at=resume_at)
        except (PortalError, BillingError) as exc:
            return self.render(
                request,
                "portal/subscription_pause.html",
                status=400,
                error=exc.message,
                resume_on=request.POST.get("resume_on", ""),
                **context,
            )
        messages.success(
            request,
            _("Your subscription is paused. It resumes on %(date)s.")
            % {"date": _format_date(resume_on)},
        )
        return redirect(self.url("subscription_detail", pk=sub.pk))


def _format_date(d) -> str:
    from django.utils import formats

    return formats.date_format(d, "DATE_FORMAT")


class SubscriptionResumeView(CustomerObjectsMixin, PortalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        sub = self.get_subscription(pk)
        try:
            subscription_resume(subscription=sub)
        except BillingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Welcome back! Your subscription is active again."))
        return redirect(self.url("subscription_detail", pk=sub.pk))


class SubscriptionCancelView(CustomerObjectsMixin, PortalView):
    """One page, one confirmation: timing (as the organization allows), an optional reason,
    and the retention offer shown alongside, never in the way."""

    nav_key = "home"

    def _context(self, sub):
        conf = portal_settings_for(self.organization)
        modes = cancel_modes(self.organization)
        if sub.status == St.PAUSED:
            modes = [m for m in modes if m == "now"] or ["now"]
        return {
            "sub": sub,
            "modes": modes,
            "period_end": _local_date(sub.current_period_end, self.organization),
            "reasons": CancellationReason.choices,
            "offer_text": conf.retention_offer_text,
            "offer_coupon": conf.retention_coupon_code,
        }

    def get(self, request, pk: int):
        sub = self.get_subscription(pk)
        if sub.status == St.CANCELED or sub.cancel_at_period_end:
            return redirect(self.url("subscription_detail", pk=sub.pk))
        return self.render(request, "portal/subscription_cancel.html", **self._context(sub))

    def post(self, request, pk: int):
        sub = self.get_subscription(pk)
        context = self._context(sub)
        when = request.POST.get("when") or context["modes"][0]
        reason = request.POST.get("reason", "")
        if reason not in CancellationReason.values:
            reason = ""
        if when not in context["modes"]:
            return self.render(
                request,
                "portal/subscription_cancel.html",
                status=400,
                error=_("This cancellation option is not available."),
                **context,
            )
        at_period_end = when == "period_end"
        try:
            with transaction.atomic():
                subscription_cancel(subscription=sub, at_period_end=at_period_end)
                cancellation_feedback_record(
                    customer=self.customer,
                    subscription=sub,
                    reason=reason,
                    comment=request.POST.get("comment", ""),
                    at_period_end=at_period_end,
                    retention_offer_shown=bool(context["offer_text"]),
                )
        except BillingError as exc:
            return self.render(
                request,
                "portal/subscription_cancel.html",
                status=400,
                error=exc.message,
                **context,
            )
        if at_period_end:
            messages.success(
                request,
                _("Your subscription will end on %(date)s. You can undo this until then.")
                % {"date": _format_date(context["period_end"])},
            )
        else:
            messages.success(request, _("Your subscription was cancelled."))
        return redirect(self.url("subscription_detail", pk=sub.pk))


class SubscriptionRetentionOfferView(CustomerObjectsMixin, PortalView):
    """Accept the organization's retention offer from the cancellation page: its coupon is
    attached to the subscription and nothing is cancelled. An offer whose coupon is gone,
    used up or already applied says so and changes nothing."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        from billing.models import Coupon
        from billing.services.subscriptions import subscription_coupon_apply

        sub = self.get_subscription(pk)
        code = portal_settings_for(self.organization).retention_coupon_code.strip()
        coupon = Coupon.objects.filter(code__iexact=code).first() if code else None
        if coupon is None:
            messages.error(request, _("This offer is no longer available."))
            return redirect(self.url("subscription_cancel", pk=sub.pk))
        try:
            subscription_coupon_apply(subscription=sub, coupon=coupon)
        except BillingError as exc:
            messages.error(request, exc.message)
            return redirect(self.url("subscription_cancel", pk=sub.pk))
        messages.success(
            request,
            _("Thank you for staying! The offer applies from your next invoice."),
        )
        return redirect(self.url("subscription_detail", pk=sub.pk))


class SubscriptionUndoCancelView(CustomerObjectsMixin, PortalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        sub = self.get_subscription(pk)
        try:
            subscription_undo_cancel(subscription=sub)
        except BillingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Great! Your subscription will continue."))
        return redirect(self.url("subscription_detail", pk=sub.pk))
