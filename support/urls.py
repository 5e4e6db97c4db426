"""Staff dashboard URLs of the support app (namespace "support"), and the inbound mail
webhook (signed, CSRF-exempt)."""

from django.urls import path

from support.views import dashboard as v
from support.views.inbound import InboundWebhookView

app_name = "support"

urlpatterns: list = [
    path("", v.InboxView.as_view(), name="inbox"),
    path("conversations/<int:pk>/", v.ConversationView.as_view(), name="conversation"),
    path("conversations/<int:pk>/reply/", v.ReplyView.as_view(), name="reply"),
    path("conversations/<int:pk>/note/", v.NoteView.as_view(), name="note"),
    path("conversations/<int:pk>/manage/", v.ManageView.as_view(), name="manage"),
    path("conversations/<int:pk>/actions/<slug:action>/", v.ActionView.as_view(), name="action"),
    path("attachments/<int:pk>/", v.AttachmentView.as_view(), name="attachment"),
    path("canned/", v.CannedListView.as_view(), name="canned_list"),
    path("canned/new/", v.CannedFormView.as_view(), name="canned_create"),
    path("canned/<int:pk>/", v.CannedFormView.as_view(), name="canned_update"),
    path("canned/<int:pk>/delete/", v.CannedDeleteView.as_view(), name="canned_delete"),
    path("inbound/", InboundWebhookView.as_view(), name="inbound"),
]
