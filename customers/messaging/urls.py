"""Messaging URLs (mounted by cobro/urls.py at ``messaging/``): the public unsubscribe link
and the staff pages (template overrides with preview, announcements, message log)."""

from django.urls import path

from customers.messaging.views import dashboard, public
from customers.messaging.views import settings as settings_views

app_name = "messaging"

urlpatterns = [
    path("u/<str:token>/", public.UnsubscribeView.as_view(), name="unsubscribe"),
    path("settings/", settings_views.SenderSettingsView.as_view(), name="settings"),
    path("templates/", dashboard.TemplateListView.as_view(), name="templates"),
    path(
        "templates/<slug:key>/<str:language>/",
        dashboard.TemplateEditView.as_view(),
        name="template_edit",
    ),
    path(
        "templates/<slug:key>/<str:language>/preview/",
        dashboard.TemplatePreviewView.as_view(),
        name="template_preview",
    ),
    path("announcements/", dashboard.AnnouncementListView.as_view(), name="announcements"),
    path(
        "announcements/<int:pk>/",
        dashboard.AnnouncementDetailView.as_view(),
        name="announcement_detail",
    ),
    path(
        "customers/<int:customer_id>/messages/",
        dashboard.CustomerMessagesView.as_view(),
        name="customer_messages",
    ),
]
