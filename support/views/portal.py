"""The customer's side of support in the portal: their conversations, asking a question (with
an optional link to one of their invoices or subscriptions and attachments), the thread (staff
replies and quick-action notices; never internal notes), answering, and their attachments."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.portal.views.base import PortalView
from support import selectors
from support.error_codes import SupportError
from support.files import attachment_response
from support.forms import PortalConversationForm, PortalReplyForm
from support.models import Attachment, Conversation, EntryKind
from support.services.conversations import conversation_open, customer_message_add


class SupportPortalView(PortalView):
    nav_key = "support"

    def portal_dispatch(self, request, *args, **kwargs):
        # Times of the thread read in the organization's time zone, as on the staff pages.
        with timezone.override(ZoneInfo(self.organization.time_zone)):
            return super().portal_dispatch(request, *args, **kwargs)

    def conversation(self, pk: int) -> Conversation:
        return get_object_or_404(Conversation.objects.filter(customer=self.customer), pk=pk)


class SupportListView(SupportPortalView):
    def get(self, request):
        return self.render(
            request,
            "support/portal/list.html",
            conversations=Conversation.objects.filter(customer=self.customer).order_by(
                "-updated_at", "-pk"
            ),
        )


class SupportNewView(SupportPortalView):
    def get(self, request):
        initial = {}
        for key in ("invoice", "subscription"):
            value = request.GET.get(key, "")
            if value.isdigit():
                initial["link"] = f"{key}:{value}"
        if request.GET.get("topic") in ("billing", "payment", "plan", "other"):
            initial["topic"] = request.GET["topic"]
        form = PortalConversationForm(initial=initial, customer=self.customer)
        if initial.get("link") and initial["link"] not in dict(form.fields["link"].choices):
            form.initial.pop("link")  # not one of theirs: offer the plain form
        return self.render(request, "support/portal/new.html", form=form)

    def post(self, request):
        form = PortalConversationForm(request.POST, request.FILES, customer=self.customer)
        if form.is_valid():
            try:
                conv = conversation_open(
                    customer=self.customer,
                    subject=form.cleaned_data["subject"],
                    topic=form.cleaned_data["topic"],
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["attachments"],
                    **form.links(),
                )
            except SupportError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("Thank you! We received your message and will answer soon.")
                )
                return redirect(self.url("support_conversation", pk=conv.pk))
        return self.render(request, "support/portal/new.html", status=400, form=form)


class SupportConversationView(SupportPortalView):
    def get(self, request, pk: int):
        return self._render(self.conversation(pk), PortalReplyForm())

    def _render(self, conv, form, status=200):
        return self.render(
            self.request,
            "support/portal/conversation.html",
            status=status,
            conversation=conv,
            entries=selectors.thread(conv, for_customer=True),
            form=form,
        )

    def post(self, request, pk: int):
        conv = self.conversation(pk)
        form = PortalReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                customer_message_add(
                    conversation=conv,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["attachments"],
                )
            except SupportError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Message sent."))
                return redirect(self.url("support_conversation", pk=conv.pk))
        return self._render(conv, form, status=400)


class SupportAttachmentView(SupportPortalView):
    def get(self, request, pk: int):
        attachment = get_object_or_404(
            Attachment.objects.select_related("entry", "entry__conversation"), pk=pk
        )
        entry = attachment.entry
        if entry.conversation.customer_id != self.customer.pk or entry.kind == EntryKind.NOTE:
            raise Http404
        return attachment_response(attachment)
