"""Customer portal URLs of the support app (mounted under /p/<org_slug>/, namespace "portal")."""

from django.urls import path

from support.views import portal as v

urlpatterns: list = [
    path("support/", v.SupportListView.as_view(), name="support"),
    path("support/new/", v.SupportNewView.as_view(), name="support_new"),
    path("support/<int:pk>/", v.SupportConversationView.as_view(), name="support_conversation"),
    path(
        "support/attachments/<int:pk>/",
        v.SupportAttachmentView.as_view(),
        name="support_attachment",
    ),
]
