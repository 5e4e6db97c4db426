"""Creating, switching and configuring organizations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from cobro.forms import (
    OrganizationCreateForm,
    OrganizationSettingsForm,
    pending_invitation,
)
from cobro.models import Invitation, Membership
from cobro.services.organizations import organization_update
from cobro.tenancy.middleware import SESSION_KEY
from cobro.views.base import StaffView


class OrganizationCreateView(LoginRequiredMixin, FormView):
    """A signed-in user creates (another) organization and becomes its owner.

    Users without any membership land here; if an invitation is waiting for them they are
    offered it first.
    """

    template_name = "cobro/organization_create.html"
    form_class = OrganizationCreateForm

    def get(self, request, *args, **kwargs):
        invitation = pending_invitation(request)
        if invitation is not None and request.membership is None:
            return redirect("dashboard:invitation_accept", token=invitation.token)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invitations"] = [
            i
            for i in Invitation.objects.select_related("organization").filter(
                email__iexact=self.request.user.email, accepted_at__isnull=True
            )
            if i.is_usable()
        ]
        return context

    def form_valid(self, form):
        try:
            organization = form.create_organization(owner=self.request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        self.request.session[SESSION_KEY] = organization.pk
        messages.success(
            self.request, _("%(name)s is ready.") % {"name": organization.display_name}
        )
        return redirect("dashboard:home")


class OrganizationSwitchView(LoginRequiredMixin, View):
    """POST ``organization``: make it the current organization, if the user is a member."""

    http_method_names = ["post"]

    def post(self, request):
        try:
            org_id = int(request.POST.get("organization", ""))
        except ValueError:
            org_id = 0
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=request.user, organization_id=org_id)
            .first()
        )
        if membership is None:
            messages.error(request, _("You are not a member of that organization."))
            return redirect("dashboard:home")
        request.session[SESSION_KEY] = membership.organization_id
        messages.success(
            request,
            _("You are now working in %(name)s.") % {"name": membership.organization.display_name},
        )
        next_url = request.POST.get("next", "")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(next_url)
        return redirect("dashboard:home")


class OrganizationSettingsView(StaffView, FormView):
    """Profile and branding; only members who may ``manage`` the organization."""

    required_permission = "manage"
    template_name = "cobro/organization_settings.html"
    form_class = OrganizationSettingsForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # A copy, so a failed validation does not leak into the shell (name, colour).
        kwargs["instance"] = type(self.organization).objects.get(pk=self.organization.pk)
        return kwargs

    def form_valid(self, form):
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if "logo" in fields and fields["logo"] is False:
            fields["logo"] = ""
        with transaction.atomic():
            organization_update(
                organization=form.instance, actor_membership=self.membership, **fields
            )
        messages.success(self.request, _("Organization settings saved."))
        return redirect("dashboard:organization_settings")
