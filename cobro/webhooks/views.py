"""Staff pages of outgoing webhooks (settings hub, "Integrations"): the endpoints, their
signing secrets and the delivery log with replay.

Every member may look (viewers read only); creating, editing, enabling or disabling an
endpoint, rotating its secret and replaying a delivery need "manage" (owners and admins).
Writes go through ``cobro.webhooks.services``, which also refuse destinations such as
private or loopback addresses. A new secret is rendered once in the response, never stored in
the session or a message, and the page is not cached.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cobro.listing import paginate
from cobro.views.base import StaffView
from cobro.webhooks import services
from cobro.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DELIVERIES_PER_PAGE = 50


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=2000,
        help_text=gettext_lazy("An HTTPS address of your system that accepts POST requests."),
    )
    event_types = forms.CharField(
        label=gettext_lazy("Events"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy(
            "Leave empty to receive every event. Otherwise separate event types with spaces "
            "or commas, e.g. “invoice.paid payment.failed”; “invoice.*” means every invoice "
            "event."
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("What this endpoint is for, e.g. “ERP”."),
    )

    @staticmethod
    def initial_for(endpoint: WebhookEndpoint) -> dict:
        return {
            "url": endpoint.url,
            "event_types": " ".join(endpoint.event_types),
            "description": endpoint.description,
        }

    def types(self) -> list[str]:
        return [t for t in re.split(r"[\s,]+", self.cleaned_data.get("event_types") or "") if t]


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError on the field it names (``url``, ``event_types``)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


class WebhookView(StaffView):
    required_permission = "view"
    unsafe_permission = "manage"

    def endpoint(self, pk: int) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint.objects, pk=pk)

    def base_context(self) -> dict:
        return {"can_manage": self.membership.has_perm("manage")}


class WebhookEndpointListView(WebhookView):
    """The endpoints and, for owners and admins, the form to add one. The new endpoint's
    secret is shown once, on the response to the POST."""

    def get(self, request):
        return self._render(WebhookEndpointForm())

    def post(self, request):
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    organization=self.organization,
                    url=form.cleaned_data["url"],
                    event_types=form.types(),
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, _("Webhook endpoint created."))
                return self._render(WebhookEndpointForm(), created=endpoint, secret=secret)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200, **extra):
        endpoints = WebhookEndpoint.objects.order_by("-created_at", "-pk")
        return _no_store(
            render(
                self.request,
                "webhooks/endpoints.html",
                {**self.base_context(), "form": form, "endpoints": endpoints, **extra},
                status=status,
            )
        )


class WebhookEndpointDetailView(WebhookView):
    """One endpoint: its settings, its secrets' ages and the delivery log (newest first,
    filterable by status)."""

    def get(self, request, pk: int):
        endpoint = self.endpoint(pk)
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).order_by(
            "-created_at", "-pk"
        )
        status = request.GET.get("status", "")
        if status in DeliveryStatus.values:
            deliveries = deliveries.filter(status=status)
        else:
            status = ""
        page = paginate(deliveries, request.GET.get("page"), per_page=DELIVERIES_PER_PAGE)
        return render(
            request,
            "webhooks/endpoint_detail.html",
            {
                **self.base_context(),
                "endpoint": endpoint,
                "page": page,
                "status": status,
                "statuses": DeliveryStatus.choices,
                "secrets": endpoint.secrets.order_by("-created_at", "-pk"),
            },
        )


class WebhookEndpointUpdateView(WebhookView):
    required_permission = "manage"

    def get(self, request, pk: int):
        endpoint = self.endpoint(pk)
        form = WebhookEndpointForm(initial=WebhookEndpointForm.initial_for(endpoint))
        return self._render(endpoint, form)

    def post(self, request, pk: int):
        endpoint = self.endpoint(pk)
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    event_types=form.types(),
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, _("Webhook endpoint saved."))
                return redirect("dashboard:webhook_endpoint_detail", pk=endpoint.pk)
        return self._render(endpoint, form, status=400)

    def _render(self, endpoint, form, status: int = 200):
        return render(
            self.request,
            "webhooks/endpoint_form.html",
            {**self.base_context(), "endpoint": endpoint, "form": form},
            status=status,
        )


class WebhookEndpointToggleView(WebhookView):
    """POST: disable an enabled endpoint, or enable a disabled one (its failure streak is
    cleared and pending deliveries go out again)."""

    def get(self, request, pk: int):
        return redirect("dashboard:webhook_endpoint_detail", pk=self.endpoint(pk).pk)

    def post(self, request, pk: int):
        endpoint = self.endpoint(pk)
        enable = not endpoint.enabled
        services.webhook_endpoint_update(endpoint=endpoint, enabled=enable)
        if enable:
            messages.success(request, _("Webhook endpoint enabled."))
        else:
            messages.success(request, _("Webhook endpoint disabled: nothing is sent to it."))
        return redirect("dashboard:webhook_endpoint_detail", pk=endpoint.pk)


class WebhookEndpointRotateView(WebhookView):
    """GET: the confirmation; POST: a new secret, shown once on the response."""

    required_permission = "manage"

    def get(self, request, pk: int):
        endpoint = self.endpoint(pk)
        return render(
            request,
            "webhooks/endpoint_rotate.html",
            {
                **self.base_context(),
                "endpoint": endpoint,
                "overlap_hours": int(services.SECRET_ROTATION_OVERLAP.total_seconds() // 3600),
            },
        )

    def post(self, request, pk: int):
        endpoint = self.endpoint(pk)
        secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return _no_store(
            render(
                request,
                "webhooks/endpoint_rotate.html",
                {
                    **self.base_context(),
                    "endpoint": endpoint,
                    "secret": secret,
                    "overlap_hours": int(services.SECRET_ROTATION_OVERLAP.total_seconds() // 3600),
                },
            )
        )


class WebhookDeliveryReplayView(WebhookView):
    """POST: send a delivery of the log again (same ``webhook-id``, so receivers dedupe)."""

    def delivery(self, pk: int) -> WebhookDelivery:
        return get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)

    def get(self, request, pk: int):
        delivery = self.delivery(pk)
        return redirect("dashboard:webhook_endpoint_detail", pk=delivery.endpoint_id)

    def post(self, request, pk: int):
        delivery = self.delivery(pk)
        services.webhook_delivery_replay(delivery=delivery)
        if delivery.endpoint.enabled:
            messages.success(
                request,
                _("Delivery of %(type)s queued again.") % {"type": delivery.event_type},
            )
        else:
            messages.warning(
                request,
                _("Delivery queued again; it goes out when the endpoint is enabled."),
            )
        return redirect("dashboard:webhook_endpoint_detail", pk=delivery.endpoint_id)
