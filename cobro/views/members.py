"""Members and invitations of the current organization."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from cobro.forms import INVITATION_SESSION_KEY, InvitationForm, RoleChangeForm
from cobro.models import Invitation, Membership, Role
from cobro.services.organizations import (
    InvitationError,
    invitation_accept,
    invitation_get_usable,
    invitation_revoke,
    membership_change_role,
    membership_invite,
    membership_remove,
)
from cobro.tenancy.middleware import SESSION_KEY
from cobro.views.base import StaffView


def _first_error(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else str(exc)


class MembersView(StaffView, TemplateView):
    """Everyone may see who is in the organization; managing needs ``manage_members``."""

    template_name = "cobro/members.html"
    unsafe_permission = "manage_members"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_manage = self.membership.has_perm("manage_members")
        is_owner = self.membership.has_perm("own")
        members = (
            Membership.objects.filter(organization=self.organization)
            .select_related("user")
            .order_by("created_at")
        )
        owner_count = sum(1 for m in members if m.role == Role.OWNER)
        rows = []
        for m in members:
            touches_owner = m.role == Role.OWNER
            last_owner = touches_owner and owner_count <= 1
            editable = can_manage and (is_owner or not touches_owner) and not last_owner
            roles = Role.choices if is_owner else [c for c in Role.choices if c[0] != Role.OWNER]
            rows.append({"membership": m, "editable": editable, "roles": roles})
        context.update(
            rows=rows,
            can_manage=can_manage,
            invitations=Invitation.objects.filter(
                organization=self.organization, accepted_at__isnull=True
            ).order_by("-created_at"),
            invite_form=kwargs.get("invite_form")
            or InvitationForm(
                initial={"role": Role.VIEWER},
            ),
        )
        if not is_owner:
            context["invite_form"].fields["role"].choices = [
                c for c in Role.choices if c[0] != Role.OWNER
            ]
        return context

    def post(self, request):
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = membership_invite(
                    organization=self.organization,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor_membership=self.membership,
                )
            except ValidationError as exc:
                form.add_error("email", exc)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
                return redirect("dashboard:members")
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


class MemberRoleView(StaffView):
    required_permission = "manage_members"
    http_method_names = ["post"]

    def post(self, request, pk):
        membership = get_object_or_404(Membership, pk=pk, organization=self.organization)
        form = RoleChangeForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a valid role."))
            return redirect("dashboard:members")
        try:
            membership_change_role(
                membership=membership,
                role=form.cleaned_data["role"],
                actor_membership=self.membership,
            )
        except ValidationError as exc:
            messages.error(request, _first_error(exc))
        else:
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label},
            )
        return redirect("dashboard:members")


class MemberRemoveView(StaffView):
    required_permission = "manage_members"
    http_method_names = ["post"]

    def post(self, request, pk):
        membership = get_object_or_404(Membership, pk=pk, organization=self.organization)
        email = membership.user.email
        try:
            membership_remove(membership=membership, actor_membership=self.membership)
        except ValidationError as exc:
            messages.error(request, _first_error(exc))
        else:
            messages.success(request, _("%(email)s was removed.") % {"email": email})
        return redirect("dashboard:members")


class InvitationRevokeView(StaffView):
    required_permission = "manage_members"
    http_method_names = ["post"]

    def post(self, request, pk):
        invitation = get_object_or_404(Invitation, pk=pk, organization=self.organization)
        invitation_revoke(invitation=invitation, actor_membership=self.membership)
        messages.success(
            request, _("The invitation to %(email)s was cancelled.") % {"email": invitation.email}
        )
        return redirect("dashboard:members")


class InvitationAcceptView(View):
    """The link in the invitation email.

    Signed-in users see whom they join and accept with a POST. Visitors are asked to sign in
    or sign up; the invitation waits in their session so sign-up skips creating an
    organization and the dashboard brings them back here.
    """

    template_name = "cobro/invitation_accept.html"

    def get(self, request, token):
        try:
            invitation = invitation_get_usable(token=token)
        except InvitationError as exc:
            request.session.pop(INVITATION_SESSION_KEY, None)
            return render(request, self.template_name, {"error": str(exc)}, status=410)
        if not request.user.is_authenticated:
            request.session[INVITATION_SESSION_KEY] = token
        return render(request, self.template_name, {"invitation": invitation})

    def post(self, request, token):
        if not request.user.is_authenticated:
            return redirect(f"{_login_url()}?next={request.path}")
        try:
            membership = invitation_accept(token=token, user=request.user)
        except InvitationError as exc:
            request.session.pop(INVITATION_SESSION_KEY, None)
            return render(request, self.template_name, {"error": str(exc)}, status=410)
        request.session.pop(INVITATION_SESSION_KEY, None)
        request.session[SESSION_KEY] = membership.organization_id
        messages.success(
            request,
            _("Welcome to %(name)s.") % {"name": membership.organization.display_name},
        )
        return redirect("dashboard:home")


def _login_url() -> str:
    from django.urls import reverse

    return reverse("account_login")
