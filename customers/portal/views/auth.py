"""Sign-in by emailed code or magic link, and sign-out."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from customers.portal.forms import CodeForm, EmailForm
from customers.portal.services import (
    PortalError,
    login_code_request,
    login_code_verify,
    login_link_verify,
)
from customers.portal.session import portal_session_end, portal_session_start
from customers.portal.views.base import PortalPublicView, client_ip

PENDING_KEY = "cobro_portal_pending"


def _safe_next(request, organization, candidate: str | None) -> str | None:
    if not candidate:
        return None
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return None
    if not candidate.startswith(f"/p/{organization.slug}/"):
        return None
    return candidate


class LoginView(PortalPublicView):
    def get(self, request):
        if self.customer is not None:
            return redirect(self.url("home"))
        form = EmailForm()
        return self.render(request, "portal/login.html", form=form, next=request.GET.get("next"))

    def post(self, request):
        form = EmailForm(request.POST)
        if not form.is_valid():
            return self.render(request, "portal/login.html", status=400, form=form)
        email = form.cleaned_data["email"]
        try:
            login_code_request(organization=self.organization, email=email, ip=client_ip(request))
        except PortalError as exc:
            form.add_error(None, exc.message)
            return self.render(request, "portal/login.html", status=429, form=form)
        request.session[PENDING_KEY] = {
            "org": self.organization.pk,
            "email": email,
            "next": _safe_next(request, self.organization, request.POST.get("next")),
        }
        return redirect(self.url("login_code"))


class CodeView(PortalPublicView):
    def _pending(self, request) -> dict | None:
        pending = request.session.get(PENDING_KEY)
        if isinstance(pending, dict) and pending.get("org") == self.organization.pk:
            return pending
        return None

    def get(self, request):
        pending = self._pending(request)
        if pending is None:
            return redirect(self.url("login"))
        return self.render(request, "portal/code.html", form=CodeForm(), email=pending["email"])

    def post(self, request):
        pending = self._pending(request)
        if pending is None:
            return redirect(self.url("login"))
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                customer = login_code_verify(
                    organization=self.organization,
                    email=pending["email"],
                    code=form.cleaned_data["code"],
                    ip=client_ip(request),
                )
            except PortalError as exc:
                form.add_error("code", exc.message)
            else:
                request.session.pop(PENDING_KEY, None)
                portal_session_start(request, customer=customer)
                return redirect(pending.get("next") or self.url("home"))
        return self.render(
            request, "portal/code.html", status=400, form=form, email=pending["email"]
        )


class LinkView(PortalPublicView):
    """The magic link. GET only shows a button: mail scanners that prefetch links must not
    burn the single-use token; the POST signs in."""

    def get(self, request):
        token = request.GET.get("token", "")
        return self.render(request, "portal/link.html", token=token)

    def post(self, request):
        try:
            customer = login_link_verify(
                organization=self.organization, token=request.POST.get("token", "")
            )
        except PortalError as exc:
            messages.error(request, exc.message)
            return redirect(self.url("login"))
        portal_session_start(request, customer=customer)
        return redirect(self.url("home"))


class LogoutView(PortalPublicView):
    allow_foreign_session = True
    http_method_names = ["post"]

    def post(self, request):
        portal_session_end(request)
        messages.info(request, _("You have signed out."))
        return redirect(self.url("login"))
