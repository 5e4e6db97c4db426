"""The end customer's loyalty page in the portal: points, tier, rewards to redeem, history."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from customers.portal.views.base import PortalView
from loyalty.error_codes import LoyaltyError
from loyalty.models import Redemption, Reward
from loyalty.selectors import customer_history, customer_standing, rewards_available
from loyalty.services.benefits import RENEWAL_KINDS, customer_has_early_access
from loyalty.services.programme import programme_active
from loyalty.services.referrals import referral_code_for, referral_link, referrals_of
from loyalty.services.rewards import reward_redeem


class LoyaltyPortalView(PortalView):
    nav_key = "loyalty"

    def get(self, request):
        programme = programme_active(self.organization)
        referrals_on = programme is not None and programme.referrals_enabled
        rewards = list(rewards_available())
        used = {}
        for reward_id in (
            Redemption.objects.filter(customer=self.customer)
            .exclude(status=Redemption.Status.CANCELED)
            .values_list("reward_id", flat=True)
        ):
            used[reward_id] = used.get(reward_id, 0) + 1
        for reward in rewards:
            limit = reward.per_customer_limit
            reward.limit_reached = limit is not None and used.get(reward.pk, 0) >= limit
        return self.render(
            request,
            "loyalty/portal/points.html",
            programme=programme,
            standing=customer_standing(customer=self.customer),
            rewards=rewards,
            entries=customer_history(customer=self.customer, limit=50),
            redemptions=Redemption.objects.filter(customer=self.customer).select_related(
                "reward", "applied_invoice"
            )[:20],
            early_access=customer_has_early_access(customer=self.customer),
            referrals=referrals_of(customer=self.customer) if referrals_on else None,
            referral_code=referral_code_for(customer=self.customer) if referrals_on else None,
            referral_link=referral_link(customer=self.customer) if referrals_on else "",
        )


class RedeemPortalView(PortalView):
    nav_key = "loyalty"

    def post(self, request, pk: int):
        reward = get_object_or_404(Reward.objects.all(), pk=pk)
        try:
            reward_redeem(customer=self.customer, reward=reward, channel="portal")
        except LoyaltyError as exc:
            messages.error(request, exc.message)
        else:
            if reward.kind == Reward.Kind.INVOICE_CREDIT:
                messages.success(
                    request, _("Done! The credit will be applied to your next invoice.")
                )
            elif reward.kind in RENEWAL_KINDS:
                messages.success(
                    request, _("Done! Your next renewal invoice will show the discount.")
                )
            else:
                messages.success(request, _("Done! We will let you know when it is on its way."))
        return redirect(self.url("loyalty"))
