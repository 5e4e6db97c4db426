from __future__ import annotations

from django.http import HttpResponse
from django.views.generic import TemplateView

from cobro.models import Invitation, Membership
from cobro.views.base import StaffView


class HomeView(StaffView, TemplateView):
    """The staff landing page: a welcome and the next steps (metrics arrive later)."""

    template_name = "cobro/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        org = self.organization
        context["member_count"] = Membership.objects.filter(organization=org).count()
        context["pending_invitations"] = Invitation.objects.filter(
            organization=org, accepted_at__isnull=True
        ).count()
        context["can_manage"] = self.membership.has_perm("manage")
        context["can_manage_members"] = self.membership.has_perm("manage_members")
        return context


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
