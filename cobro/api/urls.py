"""API v1 (mounted at /api/v1/ by cobro/urls.py): composes every app's API routes."""

from csp.constants import SELF
from csp.decorators import csp_replace
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from cobro.api import views
from cobro.webhooks import api as webhooks_api

# Swagger UI and Redoc set inline styles (and Redoc searches in a blob: worker). Only these two
# documentation pages relax style-src; scripts stay same-origin, and everything is served from
# our own static files (drf-spectacular-sidecar), never a CDN.
DOCS_CSP = {"style-src": [SELF, "'unsafe-inline'"], "worker-src": [SELF, "blob:"]}

app_name = "api"

router = SimpleRouter(trailing_slash=False)
router.register("events", views.EventViewSet, basename="event")
router.register(
    "webhook_endpoints", webhooks_api.WebhookEndpointViewSet, basename="webhook_endpoint"
)
router.register(
    "webhook_deliveries", webhooks_api.WebhookDeliveryViewSet, basename="webhook_delivery"
)

urlpatterns = [
    path("organization", views.OrganizationView.as_view(), name="organization"),
    path("", include("customers.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("feedback.api.urls")),
    path("", include("loyalty.api.urls")),
    *router.urls,
    path("schema/", views.SchemaView.as_view(api_version="v1"), name="schema"),
    path(
        "docs/",
        csp_replace(DOCS_CSP)(views.SwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc/",
        csp_replace(DOCS_CSP)(views.RedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
]
