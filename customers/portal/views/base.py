"""The portal face's base views. Every portal page subclasses ``PortalView``.

``PortalPublicView`` (sign-in pages) resolves the organization from the URL's ``org_slug``,
refuses a browser whose portal session belongs to another organization (a neutral 403 page
that names no organization, with a way to sign out), and sets the current organization for
the request. ``PortalView`` additionally requires the portal session's customer, loaded as
``self.customer``; without one it redirects to sign-in.

Pages render immediately (``render``), inside the tenant context.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views import View

from cobro.models import Organization
from cobro.tenancy.context import reset_current_organization, set_current_organization
from customers.models import Customer
from customers.portal.session import portal_session_end, portal_session_get
from customers.portal.slots import portal_nav_entries


def client_ip(request) -> str | None:
    # REMOTE_ADDR only (see cobro.services.audit): X-Forwarded-For is client-controlled.
    return request.META.get("REMOTE_ADDR") or None


class PortalPublicView(View):
    #: Pages that sign out may run with another organization's portal session.
    allow_foreign_session = False
    nav_key = ""

    def dispatch(self, request, *args, **kwargs):
        slug = kwargs.pop("org_slug", "")
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise Http404
        binding = portal_session_get(request)
        if (
            binding is not None
            and binding.organization_id != organization.pk
            and not self.allow_foreign_session
        ):
            return self.foreign_session_response(request, organization)
        self.organization = organization
        self.customer = None
        if binding is not None and binding.organization_id == organization.pk:
            self.customer = (
                Customer.unscoped.select_related("organization")
                .filter(pk=binding.customer_id, organization=organization)
                .first()
            )
            if self.customer is None:  # the customer was deleted meanwhile
                portal_session_end(request)
        request.organization = organization
        token = set_current_organization(organization)
        try:
            response = self.portal_dispatch(request, *args, **kwargs)
        finally:
            reset_current_organization(token)
        if self.customer is not None:
            add_never_cache_headers(response)
        return response

    def portal_dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def foreign_session_response(self, request, organization):
        """This browser is signed in to another organization's portal: say so without
        showing anything of either organization, and offer to sign out."""
        logout_url = reverse("portal:logout", kwargs={"org_slug": organization.slug})
        return render(
            request,
            "portal/foreign_session.html",
            {"logout_url": logout_url, "organization": None},
            status=403,
        )

    # -- helpers ----------------------------------------------------------------------------

    def url(self, name: str, **kwargs) -> str:
        return reverse(f"portal:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})

    def portal_context(self, **extra) -> dict:
        context = {
            "organization": self.organization,
            "customer": self.customer,
            "portal_url_kwargs": {"org_slug": self.organization.slug},
            "org_slug": self.organization.slug,
            "portal_nav": portal_nav_entries(org_slug=self.organization.slug, current=self.nav_key)
            if self.customer is not None
            else [],
        }
        context.update(extra)
        return context

    def render(self, request, template: str, status: int = 200, **extra):
        return render(request, template, self.portal_context(**extra), status=status)


class PortalView(PortalPublicView):
    """A page for the signed-in customer of this organization."""

    def portal_dispatch(self, request, *args, **kwargs):
        if self.customer is None:
            login = reverse("portal:login", kwargs={"org_slug": self.organization.slug})
            if request.method == "GET":
                return redirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
            return redirect(login)
        return super().portal_dispatch(request, *args, **kwargs)
