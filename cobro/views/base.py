"""The staff face's base views: tenant resolved by the middleware, permission checked here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View


class StaffView(LoginRequiredMixin, View):
    """Base of every dashboard view.

    ``required_permission`` is a role verb (view, bill, manage, manage_members, own); GET needs
    ``view`` at least, and unsafe methods need ``required_permission``. A user without any
    membership is sent to create an organization, and a member of an organization that
    requires two-factor authentication is sent to set it up first.
    """

    required_permission = "view"
    unsafe_permission: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.membership is None:
            return redirect("dashboard:organization_create")
        perm = self.required_permission
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.unsafe_permission:
            perm = self.unsafe_permission
        if not request.membership.has_perm(perm):
            raise PermissionDenied
        if request.organization.require_mfa and not _mfa_enabled(request.user):
            messages.warning(
                request,
                _("%(name)s requires two-factor authentication. Set it up to continue.")
                % {"name": request.organization.display_name},
            )
            return redirect("mfa_activate_totp")
        self.organization = request.organization
        self.membership = request.membership
        return super().dispatch(request, *args, **kwargs)


def _mfa_enabled(user) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)
