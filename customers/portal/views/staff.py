"""Staff hook: email a customer a sign-in link to the portal (a POST button on the
customer's page in the dashboard)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from cobro.views.base import StaffView
from customers.models import Customer
from customers.portal.services import portal_link_send


class PortalLinkSendView(StaffView):
    required_permission = "view"
    unsafe_permission = "bill"
    http_method_names = ["post"]

    def post(self, request, org_slug: str, pk: int):
        if org_slug != self.organization.slug:
            raise Http404
        customer = get_object_or_404(Customer.objects.all(), pk=pk)
        portal_link_send(customer=customer, actor=request.user, request=request)
        messages.success(
            request, _("We emailed %(email)s a link to the portal.") % {"email": customer.email}
        )
        try:
            target = reverse("customers:detail", kwargs={"pk": customer.pk})
        except NoReverseMatch:
            target = reverse("dashboard:home")
        return redirect(target)
