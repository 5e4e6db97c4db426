"""Staff pages of loyalty: overview, programme settings, tiers, rewards, a customer's ledger
(with the staff adjustment form and staff redemption) and the gift fulfilment queue.

Reads need "view"; settings, tiers and rewards need "manage"; adjustments, staff
redemptions and fulfilment need "bill"."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceStatus
from cobro.views.base import StaffView
from customers.models import Customer
from loyalty.error_codes import LoyaltyError
from loyalty.forms import AdjustmentForm, ProgrammeForm, ReferralCodeForm, RewardForm, TierForm
from loyalty.models import LoyaltyAccount, LoyaltyTier, Redemption, Referral, Reward
from loyalty.selectors import customer_history, customer_standing, fulfilment_queue
from loyalty.services.benefits import customer_has_early_access, early_access_customer_ids
from loyalty.services.ledger import points_adjust
from loyalty.services.programme import programme_for, programme_update, tier_save
from loyalty.services.referrals import (
    referral_apply,
    referral_code_for,
    referral_link,
    referrals_of,
)
from loyalty.services.rewards import (
    redemption_cancel,
    redemption_fulfil,
    reward_redeem,
    reward_save,
)


class LoyaltyView(StaffView):
    unsafe_permission = "manage"

    def perms(self) -> dict:
        return {
            "can_manage": self.membership.has_perm("manage"),
            "can_bill": self.membership.has_perm("bill"),
        }


class HomeView(LoyaltyView):
    def get(self, request):
        accounts = LoyaltyAccount.objects.select_related("customer").order_by(
            "-balance", "customer__name"
        )[:50]
        return render(
            request,
            "loyalty/home.html",
            {
                "programme": programme_for(self.organization),
                "tiers": LoyaltyTier.objects.all(),
                "rewards": Reward.objects.all(),
                "accounts": accounts,
                "pending_count": fulfilment_queue().count(),
                "early_access_ids": early_access_customer_ids(organization=self.organization),
                "referral_counts": {
                    row["status"]: row["n"]
                    for row in Referral.objects.values("status").annotate(n=Count("id"))
                },
                **self.perms(),
            },
        )


class _FormView(LoyaltyView):
    title = ""
    template = "loyalty/form.html"

    def _render(self, form, status=200, **extra):
        return render(
            self.request,
            self.template,
            {"form": form, "page_heading": self.title, **self.perms(), **extra},
            status=status,
        )


class SettingsView(_FormView):
    required_permission = "view"

    @property
    def title(self):
        return _("Programme settings")

    def get(self, request):
        return self._render(ProgrammeForm(instance=programme_for(self.organization)))

    def post(self, request):
        form = ProgrammeForm(request.POST, instance=programme_for(self.organization))
        if not form.is_valid():
            return self._render(form, status=400)
        programme_update(
            organization=self.organization,
            actor=request.user,
            values=form.cleaned_data,
            request=request,
        )
        messages.success(request, _("Programme saved."))
        return redirect("loyalty:home")


class TierFormView(_FormView):
    @property
    def title(self):
        return _("Tier")

    def _tier(self, pk):
        return get_object_or_404(LoyaltyTier.objects.all(), pk=pk) if pk else None

    def get(self, request, pk: int | None = None):
        return self._render(TierForm(instance=self._tier(pk)))

    def post(self, request, pk: int | None = None):
        tier = self._tier(pk)
        form = TierForm(request.POST, instance=tier)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            tier_save(
                organization=self.organization,
                actor=request.user,
                tier=tier,
                request=request,
                **form.cleaned_data,
            )
        except IntegrityError:
            form.add_error(None, _("Another tier has this name or threshold."))
            return self._render(form, status=400)
        messages.success(request, _("Tier saved."))
        return redirect("loyalty:home")


class RewardFormView(_FormView):
    @property
    def title(self):
        return _("Reward")

    def _reward(self, pk):
        return get_object_or_404(Reward.objects.all(), pk=pk) if pk else None

    def get(self, request, pk: int | None = None):
        reward = self._reward(pk)
        initial = {}
        if reward is not None:
            initial = {
                "name": reward.name,
                "description": reward.description,
                "kind": reward.kind,
                "points_cost": reward.points_cost,
                "stock": reward.stock,
                "per_customer_limit": reward.per_customer_limit,
                "active": reward.active,
                "percent_off": reward.percent_off or None,
            }
            if reward.credit_amount_minor:
                from cobro.money import Money

                initial["credit_amount"] = Money(
                    reward.credit_amount_minor, reward.currency
                ).to_decimal()
        form = RewardForm(initial=initial, currency=self._currency(reward))
        return self._render(form)

    def _currency(self, reward):
        return (reward.currency if reward and reward.currency else None) or (
            self.organization.default_currency
        )

    def post(self, request, pk: int | None = None):
        reward = self._reward(pk)
        form = RewardForm(request.POST, currency=self._currency(reward))
        if not form.is_valid():
            return self._render(form, status=400)
        reward_save(
            organization=self.organization,
            actor=request.user,
            values=form.reward_values(),
            reward=reward,
            request=request,
        )
        messages.success(request, _("Reward saved."))
        return redirect("loyalty:home")


class CustomerLedgerView(LoyaltyView):
    unsafe_permission = "bill"

    def _render(self, customer, form=None, status=200, referral_form=None):
        return render(
            self.request,
            "loyalty/customer.html",
            {
                "customer": customer,
                "standing": customer_standing(customer=customer),
                "entries": customer_history(customer=customer),
                "redemptions": Redemption.objects.filter(customer=customer).select_related(
                    "reward"
                ),
                "rewards": Reward.objects.filter(active=True),
                "form": form or AdjustmentForm(),
                "referral_form": referral_form or ReferralCodeForm(),
                "early_access": customer_has_early_access(customer=customer),
                "referral_code": referral_code_for(customer=customer),
                "referral_link": referral_link(customer=customer),
                "referrals_made": referrals_of(customer=customer),
                "referred_by": Referral.objects.filter(referred=customer)
                .select_related("referrer")
                .first(),
                # A code can only be applied before the first payment.
                "can_be_referred": not Invoice.objects.filter(
                    customer=customer, status=InvoiceStatus.PAID, amount_paid_minor__gt=0
                ).exists(),
                **self.perms(),
            },
            status=status,
        )

    def get(self, request, pk: int):
        return self._render(get_object_or_404(Customer.objects.all(), pk=pk))

    def post(self, request, pk: int):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        form = AdjustmentForm(request.POST)
        if not form.is_valid():
            return self._render(customer, form, status=400)
        try:
            points_adjust(
                customer=customer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                request=request,
            )
        except LoyaltyError as exc:
            form.add_error(None, exc.message)
            return self._render(customer, form, status=400)
        messages.success(request, _("Points adjusted."))
        return redirect("loyalty:customer", pk=customer.pk)


class CustomerRedeemView(LoyaltyView):
    unsafe_permission = "bill"

    def post(self, request, pk: int):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        reward = get_object_or_404(Reward.objects.all(), pk=request.POST.get("reward"))
        try:
            reward_redeem(
                customer=customer,
                reward=reward,
                actor=request.user,
                channel="staff",
                request=request,
            )
        except LoyaltyError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reward %(name)s redeemed.") % {"name": reward.name})
        return redirect("loyalty:customer", pk=customer.pk)


class CustomerReferralApplyView(CustomerLedgerView):
    """Staff record that an existing customer (who has not paid yet) was referred."""

    def get(self, request, pk: int):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        return redirect("loyalty:customer", pk=customer.pk)

    def post(self, request, pk: int):
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        form = ReferralCodeForm(request.POST)
        if not form.is_valid():
            return self._render(customer, referral_form=form, status=400)
        try:
            referral = referral_apply(
                customer=customer,
                code=form.cleaned_data["code"],
                source=Referral.Source.STAFF,
                actor=request.user,
                request=request,
            )
        except LoyaltyError as exc:
            form.add_error("code", exc.message)
            return self._render(customer, referral_form=form, status=400)
        messages.success(
            request,
            _("Referral by %(name)s recorded: both get the reward after the first payment.")
            % {"name": referral.referrer.name},
        )
        return redirect("loyalty:customer", pk=customer.pk)


class ReferralListView(LoyaltyView):
    """Every referral of the organization with its status (filter by status)."""

    def get(self, request):
        referrals = Referral.objects.select_related("referrer", "referred", "qualifying_invoice")
        status = request.GET.get("status", "")
        if status in Referral.Status.values:
            referrals = referrals.filter(status=status)
        else:
            status = ""
        page = Paginator(referrals, 50).get_page(request.GET.get("page"))
        return render(
            request,
            "loyalty/referrals.html",
            {
                "page": page,
                "status": status,
                "statuses": Referral.Status.choices,
                "programme": programme_for(self.organization),
                **self.perms(),
            },
        )


class FulfilmentQueueView(LoyaltyView):
    def get(self, request):
        done = (
            Redemption.objects.filter(reward__kind=Reward.Kind.GIFT)
            .exclude(status=Redemption.Status.PENDING)
            .select_related("reward", "customer")[:50]
        )
        return render(
            request,
            "loyalty/fulfilment.html",
            {"pending": fulfilment_queue(), "done": done, **self.perms()},
        )


class RedemptionActionView(LoyaltyView):
    unsafe_permission = "bill"
    action = "fulfil"

    def post(self, request, pk: int):
        redemption = get_object_or_404(Redemption.objects.all(), pk=pk)
        service = redemption_fulfil if self.action == "fulfil" else redemption_cancel
        try:
            service(
                redemption=redemption,
                actor=request.user,
                note=request.POST.get("note", ""),
                request=request,
            )
        except LoyaltyError as exc:
            messages.error(request, exc.message)
        else:
            if self.action == "fulfil":
                messages.success(request, _("Marked as delivered."))
            else:
                messages.success(request, _("Redemption canceled; points returned."))
        return redirect("loyalty:fulfilment")
