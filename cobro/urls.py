"""The one place that composes every app's URLs."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from cobro.views import dashboard, events, exports, members, organizations
from cobro.views import settings as settings_views
from cobro.webhooks import views as webhook_views

dashboard_patterns = (
    [
        path("", dashboard.HomeView.as_view(), name="home"),
        path("events/", events.EventListView.as_view(), name="event_list"),
        path("events/export.csv", events.EventExportView.as_view(), name="event_export"),
        path("events/<uuid:pk>/", events.EventDetailView.as_view(), name="event_detail"),
        path("exports/<str:job_id>/", exports.ExportJobView.as_view(), name="export_job"),
        path(
            "exports/<str:job_id>/download/",
            exports.ExportJobDownloadView.as_view(),
            name="export_job_download",
        ),
        path(
            "organizations/new/",
            organizations.OrganizationCreateView.as_view(),
            name="organization_create",
        ),
        path(
            "organizations/switch/",
            organizations.OrganizationSwitchView.as_view(),
            name="organization_switch",
        ),
        path(
            "settings/organization/",
            organizations.OrganizationSettingsView.as_view(),
            name="organization_settings",
        ),
        path("settings/", settings_views.SettingsHubView.as_view(), name="settings"),
        path("settings/api-keys/", settings_views.ApiKeysView.as_view(), name="api_keys"),
        path(
            "settings/api-keys/<int:pk>/revoke/",
            settings_views.ApiKeyRevokeView.as_view(),
            name="api_key_revoke",
        ),
        path(
            "settings/webhooks/",
            webhook_views.WebhookEndpointListView.as_view(),
            name="webhook_endpoints",
        ),
        path(
            "settings/webhooks/<int:pk>/",
            webhook_views.WebhookEndpointDetailView.as_view(),
            name="webhook_endpoint_detail",
        ),
        path(
            "settings/webhooks/<int:pk>/edit/",
            webhook_views.WebhookEndpointUpdateView.as_view(),
            name="webhook_endpoint_update",
        ),
        path(
            "settings/webhooks/<int:pk>/toggle/",
            webhook_views.WebhookEndpointToggleView.as_view(),
            name="webhook_endpoint_toggle",
        ),
        path(
            "settings/webhooks/<int:pk>/rotate/",
            webhook_views.WebhookEndpointRotateView.as_view(),
            name="webhook_endpoint_rotate",
        ),
        path(
            "settings/webhooks/deliveries/<int:pk>/replay/",
            webhook_views.WebhookDeliveryReplayView.as_view(),
            name="webhook_delivery_replay",
        ),
        path("settings/members/", members.MembersView.as_view(), name="members"),
        path(
            "settings/members/<int:pk>/role/",
            members.MemberRoleView.as_view(),
            name="member_role",
        ),
        path(
            "settings/members/<int:pk>/remove/",
            members.MemberRemoveView.as_view(),
            name="member_remove",
        ),
        path(
            "settings/invitations/<int:pk>/revoke/",
            members.InvitationRevokeView.as_view(),
            name="invitation_revoke",
        ),
        path(
            "invitations/<str:token>/",
            members.InvitationAcceptView.as_view(),
            name="invitation_accept",
        ),
    ],
    "dashboard",
)

urlpatterns = [
    path("healthz", dashboard.healthz, name="healthz"),
    # The REST API for integrators (API-key authentication), versioned by path. First: URLs
    # resolve in order, and the API is the busiest (no other pattern starts with api/).
    path("api/v1/", include("cobro.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include(dashboard_patterns)),
    # Staff dashboard sections, one namespace per app.
    path("customers/", include("customers.urls", namespace="customers")),
    path("billing/", include("billing.urls", namespace="billing")),
    path("loyalty/", include("loyalty.urls", namespace="loyalty")),
    path("documents/", include("billing.documents.urls", namespace="documents")),
    path("payments/", include("billing.payments.urls", namespace="payments")),
    path("messaging/", include("customers.messaging.urls", namespace="messaging")),
    path("feedback/", include("feedback.urls", namespace="feedback")),
    path("checkout/", include("checkout.urls", namespace="checkout")),
    path("support/", include("support.urls", namespace="support")),
    # Public subscribe pages (pricing page and checkout links), no login.
    path("s/<slug:org_slug>/", include("checkout.public_urls", namespace="public")),
    # Inbound payment gateway webhooks (signed by the gateway; CSRF-exempt).
    path("webhooks/", include("billing.payments.webhook_urls")),
    # The customer portal: every app contributes pages under one organization's address.
    path(
        "p/<slug:org_slug>/",
        include(
            (
                [
                    path("", include("customers.portal_urls")),
                    path("", include("billing.portal_urls")),
                    path("", include("loyalty.portal_urls")),
                    path("", include("feedback.portal_urls")),
                    path("", include("support.portal_urls")),
                ],
                "portal",
            ),
            namespace="portal",
        ),
    ),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
