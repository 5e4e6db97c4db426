"""Staff pages of payments: list and detail (timeline), refund, mark paid, bank statement
import and review, dunning policy and gateway settings. Views parse input, call one
service, render; refusals are shown as messages."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.models import Invoice
from billing.payments.error_codes import PaymentError
from billing.payments.forms import (
    DunningPolicyForm,
    GatewayForm,
    MarkPaidForm,
    RefundForm,
    StatementImportForm,
    StatementLineApplyForm,
    to_minor,
)
from billing.payments.list_filters import PaymentListFilterForm
from billing.payments.models import (
    BankStatementImport,
    BankStatementLine,
    GatewayAccount,
    GatewayName,
    PaymentAttempt,
)
from billing.payments.selectors import (
    dunning_active_count,
    filtered_payments,
    payment_activity,
    payment_timeline,
    recovered_revenue,
    statement_lines_for_review,
)
from billing.payments.services.accounts import (
    GATEWAY_FIELDS,
    gateway_account_display,
    gateway_account_update,
)
from billing.payments.services.dunning import dunning_policy_for, dunning_policy_update
from billing.payments.services.manual import (
    bank_transfer_reference_for,
    invoice_outstanding_minor,
    payment_record_manual,
    statement_import,
    statement_line_apply,
    statement_line_dismiss,
)
from billing.payments.services.refunds import payment_refund
from billing.views.common import BillingView
from cobro import clock
from cobro.listing import paginate
from cobro.money import Money


def _major(amount_minor: int, currency: str):
    return Money(amount_minor, currency).to_decimal()


class PaymentListView(BillingView):
    def get(self, request):
        form = PaymentListFilterForm(request.GET or None, organization=self.organization)
        attempts = filtered_payments(organization=self.organization, data=form.filters())
        page = paginate(attempts.select_related("invoice", "customer"), request.GET.get("page"))
        return render(
            request,
            "payments/list.html",
            {
                **self.perms(),
                "form": form,
                "filtered": form.is_filtered(),
                "page": page,
                "recovered": recovered_revenue(now=clock.now(self.organization)),
                "in_dunning": dunning_active_count(),
                "review_count": statement_lines_for_review().count(),
            },
        )


def _get_attempt(pk: int) -> PaymentAttempt:
    return get_object_or_404(
        PaymentAttempt.objects.select_related("invoice", "customer", "payment_method"), pk=pk
    )


class PaymentDetailView(BillingView):
    def get(self, request, pk: int):
        attempt = _get_attempt(pk)
        invoice = attempt.invoice
        return render(
            request,
            "payments/detail.html",
            {
                **self.perms(),
                "attempt": attempt,
                "invoice": invoice,
                "timeline": sorted(
                    payment_timeline(attempt) + payment_activity(attempt),
                    key=lambda e: e["at"],
                ),
                "outstanding_minor": invoice_outstanding_minor(invoice=invoice),
                "refunds": attempt.refunds.all(),
            },
        )


class PaymentRefundView(BillingView):
    """GET: the refund form; POST without ``confirm``: the confirmation page; POST with
    ``confirm``: the refund."""

    required_permission = "bill"

    def _render(self, request, attempt, form, *, confirming=False, amount_minor=None):
        return render(
            request,
            "payments/refund.html",
            {
                **self.perms(),
                "attempt": attempt,
                "form": form,
                "confirming": confirming,
                "amount_minor": amount_minor,
            },
        )

    def get(self, request, pk: int):
        attempt = _get_attempt(pk)
        form = RefundForm(initial={"amount": _major(attempt.refundable_minor, attempt.currency)})
        return self._render(request, attempt, form)

    def post(self, request, pk: int):
        attempt = _get_attempt(pk)
        form = RefundForm(request.POST)
        amount = None
        if form.is_valid():
            amount = to_minor(form, "amount", form.cleaned_data["amount"], attempt.currency)
        if amount is None or not form.is_valid():
            return self._render(request, attempt, form)
        if "confirm" not in request.POST:
            return self._render(request, attempt, form, confirming=True, amount_minor=amount)
        try:
            payment_refund(attempt=attempt, amount_minor=amount, reason=form.cleaned_data["reason"])
        except PaymentError as exc:
            form.add_error("amount", exc.message)
            return self._render(request, attempt, form)
        messages.success(request, _("The refund was made and a credit note issued."))
        return redirect("payments:detail", pk=attempt.pk)


class InvoiceMarkPaidView(BillingView):
    required_permission = "bill"

    def _render(self, request, invoice, form):
        return render(
            request,
            "payments/mark_paid.html",
            {
                **self.perms(),
                "invoice": invoice,
                "form": form,
                "outstanding_minor": invoice_outstanding_minor(invoice=invoice),
                "reference": bank_transfer_reference_for(invoice=invoice),
            },
        )

    def _invoice(self, pk: int) -> Invoice:
        return get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)

    def get(self, request, pk: int):
        invoice = self._invoice(pk)
        outstanding = invoice_outstanding_minor(invoice=invoice)
        form = MarkPaidForm(initial={"amount": _major(outstanding, invoice.currency)})
        return self._render(request, invoice, form)

    def post(self, request, pk: int):
        invoice = self._invoice(pk)
        form = MarkPaidForm(request.POST)
        amount = None
        if form.is_valid():
            amount = to_minor(form, "amount", form.cleaned_data["amount"], invoice.currency)
        if amount is None or not form.is_valid():
            return self._render(request, invoice, form)
        try:
            attempt = payment_record_manual(
                invoice=invoice,
                amount_minor=amount,
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
            )
        except PaymentError as exc:
            form.add_error("amount", exc.message)
            return self._render(request, invoice, form)
        messages.success(request, _("Payment recorded."))
        return redirect("payments:detail", pk=attempt.pk)


class StatementImportView(BillingView):
    required_permission = "bill"

    def get(self, request):
        return self._render(request, StatementImportForm())

    def _render(self, request, form):
        return render(
            request,
            "payments/statement_import.html",
            {
                **self.perms(),
                "form": form,
                "imports": BankStatementImport.objects.all()[:20],
            },
        )

    def post(self, request):
        form = StatementImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form)
        upload = form.cleaned_data["file"]
        try:
            content = upload.read(5_000_000).decode("utf-8-sig")
            statement = statement_import(
                organization=self.organization,
                content=content,
                currency=form.cleaned_data["currency"],
                filename=upload.name,
                actor=request.user,
            )
        except UnicodeDecodeError:
            form.add_error("file", _("The file must be UTF-8 text (CSV)."))
            return self._render(request, form)
        except PaymentError as exc:
            form.add_error("file", exc.message)
            return self._render(request, form)
        messages.success(
            request,
            _("%(matched)s payments matched, %(review)s left for review, %(skipped)s skipped.")
            % {
                "matched": statement.lines_matched,
                "review": statement.lines_review,
                "skipped": statement.lines_skipped,
            },
        )
        return redirect("payments:statement_review")


class StatementReviewView(BillingView):
    def get(self, request):
        lines = list(statement_lines_for_review())
        for line in lines:
            line.apply_form = StatementLineApplyForm(
                prefix=f"line{line.pk}",
                initial={"invoice_number": line.invoice.number if line.invoice else ""},
            )
        return render(request, "payments/statement_review.html", {**self.perms(), "lines": lines})


class StatementLineApplyView(BillingView):
    required_permission = "bill"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        line = get_object_or_404(BankStatementLine.objects.all(), pk=pk)
        form = StatementLineApplyForm(request.POST, prefix=f"line{line.pk}")
        back = redirect("payments:statement_review")
        if not form.is_valid():
            messages.error(request, _("Enter an invoice number."))
            return back
        invoice = Invoice.objects.filter(number=form.cleaned_data["invoice_number"]).first()
        if invoice is None:
            messages.error(request, _("No invoice with that number."))
            return back
        amount = to_minor(form, "amount", form.cleaned_data.get("amount"), line.currency)
        try:
            statement_line_apply(line=line, invoice=invoice, amount_minor=amount)
        except PaymentError as exc:
            messages.error(request, exc.message)
            return back
        messages.success(
            request, _("Payment recorded on invoice %(number)s.") % {"number": invoice.number}
        )
        return back


class StatementLineDismissView(BillingView):
    required_permission = "bill"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        line = get_object_or_404(BankStatementLine.objects.all(), pk=pk)
        try:
            statement_line_dismiss(line=line)
        except PaymentError as exc:
            messages.error(request, exc.message)
        return redirect("payments:statement_review")


class DunningSettingsView(BillingView):
    required_permission = "manage"
    unsafe_permission = "manage"

    def get(self, request):
        policy = dunning_policy_for(organization=self.organization)
        form = DunningPolicyForm(
            initial={
                "retry_days": ", ".join(str(d) for d in policy.retry_days),
                "grace_period_days": policy.grace_period_days,
                "final_action": policy.final_action,
            }
        )
        return self._render(request, form)

    def _render(self, request, form):
        return render(request, "payments/dunning.html", {**self.perms(), "form": form})

    def post(self, request):
        form = DunningPolicyForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        try:
            dunning_policy_update(organization=self.organization, **form.cleaned_data)
        except PaymentError as exc:
            form.add_error("retry_days", exc.message)
            return self._render(request, form)
        messages.success(request, _("Dunning policy saved."))
        return redirect("payments:dunning_settings")


class GatewaySettingsView(BillingView):
    required_permission = "manage"
    unsafe_permission = "manage"

    def _forms(self, bound: GatewayForm | None = None) -> list[dict]:
        accounts = {a.gateway: a for a in GatewayAccount.objects.all()}
        sections = []
        for gateway in GATEWAY_FIELDS:
            account = accounts.get(gateway)
            shown = gateway_account_display(account, gateway)
            form = bound if bound is not None and bound.gateway == gateway else None
            if form is None:
                form = GatewayForm(
                    gateway=gateway,
                    shown=shown,
                    prefix=gateway,
                    initial={
                        "enabled": account.enabled if account else True,
                        "is_default": bool(account and account.is_default),
                    },
                )
            sections.append(
                {
                    "gateway": gateway,
                    "label": GatewayName(gateway).label,
                    "account": account,
                    "form": form,
                    "webhook_url": self.request.build_absolute_uri(
                        reverse(f"webhooks:{gateway}", kwargs={"org_slug": self.organization.slug})
                    )
                    if gateway in ("stripe", "mercadopago")
                    else "",
                }
            )
        return sections

    def get(self, request):
        return render(
            request, "payments/gateways.html", {**self.perms(), "sections": self._forms()}
        )

    def post(self, request):
        gateway = request.POST.get("gateway", "")
        if gateway not in GATEWAY_FIELDS:
            messages.error(request, _("Unknown gateway."))
            return redirect("payments:gateway_settings")
        account = GatewayAccount.objects.filter(gateway=gateway).first()
        form = GatewayForm(
            request.POST,
            gateway=gateway,
            shown=gateway_account_display(account, gateway),
            prefix=gateway,
        )
        if not form.is_valid():
            return render(
                request,
                "payments/gateways.html",
                {**self.perms(), "sections": self._forms(bound=form)},
            )
        values = {k: v for k, v in form.cleaned_data.items() if k not in ("enabled", "is_default")}
        gateway_account_update(
            organization=self.organization,
            gateway=gateway,
            values=values,
            enabled=form.cleaned_data["enabled"],
            is_default=form.cleaned_data.get("is_default") if "is_default" in form.fields else None,
        )
        messages.success(
            request, _("%(gateway)s settings saved.") % {"gateway": GatewayName(gateway).label}
        )
        return redirect("payments:gateway_settings")


class CustomerMethodsView(BillingView):
    """A customer's payment methods, and adding a card for them through the organization's
    card gateway's hosted form (the card is typed by the customer on the phone, or by staff
    from a card present; either way only the gateway's token reaches us). Adding needs
    "bill" (``unsafe_permission``); viewers see the list."""

    def _customer(self, pk: int):
        from customers.models import Customer

        return get_object_or_404(Customer.objects.all(), pk=pk)

    def get(self, request, pk: int):
        from billing.payments.hosted import hosted_csp_apply, hosted_form_context
        from billing.payments.models import PaymentMethod

        customer = self._customer(pk)
        hosted = None
        if self.can("bill"):
            hosted = hosted_form_context(
                organization=self.organization,
                customer=customer,
                return_url=request.build_absolute_uri(),
            )
        response = render(
            request,
            "payments/customer_methods.html",
            {
                **self.perms(),
                "customer": customer,
                "methods": PaymentMethod.objects.filter(
                    customer=customer, removed_at__isnull=True
                ).order_by("-is_default", "-created_at", "-pk"),
                "hosted": hosted,
            },
        )
        # Only this page, and only for the organization's configured card gateway, may load
        # that gateway's script (Stripe.js, MercadoPago.js).
        return hosted_csp_apply(response, hosted)

    def post(self, request, pk: int):
        from billing.gateways.base import GatewayError
        from billing.payments.hosted import organization_card_gateway
        from billing.payments.services.methods import payment_method_add_card

        customer = self._customer(pk)
        token = request.POST.get("token", "")
        gateway = request.POST.get("gateway", "")
        if not token or gateway != organization_card_gateway(organization=self.organization):
            messages.error(request, _("The card could not be saved. Please try again."))
            return redirect("payments:customer_methods", pk=customer.pk)
        try:
            method = payment_method_add_card(
                customer=customer,
                gateway=gateway,
                token=token,
                make_default=request.POST.get("make_default") == "on",
            )
        except (GatewayError, PaymentError):
            messages.error(request, _("The card could not be saved. Please try again."))
            return redirect("payments:customer_methods", pk=customer.pk)
        messages.success(request, _("Card ending in %(last4)s saved.") % {"last4": method.last4})
        return redirect("payments:customer_methods", pk=customer.pk)
