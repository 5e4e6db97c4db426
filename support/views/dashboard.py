"""Staff pages of support: the inbox, a conversation with the customer's billing context,
replies, internal notes, status and assignee, quick actions, canned replies, attachments.

Reads need "view"; every write needs "bill" (buttons are hidden without it and the URLs
refuse). Quick actions show a confirmation page before they touch money or a subscription.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.currencies import organization_currencies
from billing.error_codes import BillingError
from billing.models import Invoice, Subscription, SubscriptionStatus
from billing.payments.error_codes import PaymentError
from billing.views.common import BillingView, format_amount
from cobro.models import Membership
from support import selectors
from support.error_codes import SupportError
from support.files import attachment_response
from support.forms import (
    CannedReplyForm,
    CreditForm,
    InvoiceChoiceForm,
    ManageForm,
    NoteForm,
    PauseForm,
    ReplyForm,
)
from support.models import Attachment, CannedReply, Conversation, Status, Topic
from support.services import actions
from support.services.canned import canned_reply_delete, canned_reply_save
from support.services.conversations import (
    conversation_assign,
    conversation_status_set,
    note_add,
    reply_send,
)

PAGE_SIZE = 50


class SupportView(BillingView):
    unsafe_permission = "bill"


def _conversation(pk: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("customer", "assignee", "invoice", "subscription"),
        pk=pk,
    )


def _duration(value) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    hours = minutes / 60
    if hours < 48:
        return _("%(n)s h") % {"n": f"{hours:.1f}".rstrip("0").rstrip(".")}
    return _("%(n)s days") % {"n": f"{hours / 24:.1f}".rstrip("0").rstrip(".")}


class InboxView(SupportView):
    def get(self, request):
        status = request.GET.get("status", "")
        topic = request.GET.get("topic", "")
        assignee = request.GET.get("assignee", "")
        q = request.GET.get("q", "").strip()[:100]
        conversations = list(
            selectors.inbox(
                status=status,
                topic=topic if topic in Topic.values else "",
                assignee=assignee,
                q=q,
                user=request.user,
            )[:PAGE_SIZE]
        )
        for conv in conversations:
            conv.first_response_label = _duration(
                conv.first_response_at - conv.created_at if conv.first_response_at else None
            )
        level = selectors.service_level()
        members = Membership.objects.filter(organization=self.organization).select_related("user")
        return render(
            request,
            "support/inbox.html",
            {
                "conversations": conversations,
                "level": level,
                "median_first_response": _duration(level.median_first_response),
                "median_resolution": _duration(level.median_resolution),
                "statuses": Status.choices,
                "topics": Topic.choices,
                "members": members,
                "filters": {"status": status, "topic": topic, "assignee": assignee, "q": q},
                "filtered": bool(status or topic or assignee or q),
                **self.perms(),
            },
        )


class ConversationView(SupportView):
    def get(self, request, pk: int):
        conv = _conversation(pk)
        initial = {}
        canned_id = request.GET.get("canned", "")
        if canned_id.isdigit():
            canned = CannedReply.objects.filter(pk=int(canned_id)).first()
            if canned is not None:
                initial["body"] = canned.body
        return self.render_page(conv, reply_form=ReplyForm(initial=initial, auto_id="reply_%s"))

    def render_page(self, conv, status=200, **forms):
        members = list(
            Membership.objects.filter(organization=self.organization).select_related("user")
        )
        context_forms = {
            "reply_form": forms.get("reply_form") or ReplyForm(auto_id="reply_%s"),
            "note_form": forms.get("note_form") or NoteForm(auto_id="note_%s"),
            "manage_form": ManageForm(
                initial={"status": conv.status, "assignee": conv.assignee_id or ""},
                members=members,
                auto_id="manage_%s",
            ),
        }
        return render(
            self.request,
            "support/conversation.html",
            {
                "conversation": conv,
                "entries": selectors.thread(conv, for_customer=False),
                "billing": selectors.billing_context(conv.customer),
                "canned_replies": CannedReply.objects.all(),
                "first_response": _duration(
                    conv.first_response_at - conv.created_at if conv.first_response_at else None
                ),
                "resolution": _duration(
                    conv.resolved_at - conv.created_at if conv.resolved_at else None
                ),
                "credit_form": CreditForm(
                    currencies=sorted(organization_currencies(self.organization)),
                    initial={"currency": self.organization.default_currency},
                    auto_id="credit_%s",
                ),
                **self._action_forms(conv),
                **context_forms,
                **self.perms(),
            },
            status=status,
        )

    def _action_forms(self, conv) -> dict:
        invoices = list(
            Invoice.objects.filter(customer=conv.customer)
            .exclude(number__isnull=True)
            .order_by("-created_at")[:20]
        )
        payable = [i for i in invoices if i.status in ("open", "uncollectible")]
        pausable = list(
            Subscription.objects.filter(
                customer=conv.customer,
                status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING),
            ).select_related("price__product")
        )
        return {
            "resend_form": InvoiceChoiceForm(
                invoices=[i for i in invoices if i.status in actions.RESENDABLE],
                initial={"invoice": conv.invoice_id},
                auto_id="resend_%s",
            ),
            "retry_form": InvoiceChoiceForm(
                invoices=payable, initial={"invoice": conv.invoice_id}, auto_id="retry_%s"
            ),
            "pause_form": PauseForm(
                subscriptions=pausable,
                initial={"subscription": conv.subscription_id},
                auto_id="pause_%s",
            ),
            "has_resendable": any(i.status in actions.RESENDABLE for i in invoices),
            "has_payable": bool(payable),
            "has_pausable": bool(pausable),
        }


class ReplyView(ConversationView):
    required_permission = "bill"

    def post(self, request, pk: int):
        conv = _conversation(pk)
        form = ReplyForm(request.POST, auto_id="reply_%s")
        if not form.is_valid():
            return self.render_page(conv, status=400, reply_form=form)
        try:
            reply_send(
                conversation=conv,
                body=form.cleaned_data["body"],
                resolve=form.cleaned_data["resolve"],
                actor=request.user,
                request=request,
            )
        except SupportError as exc:
            form.add_error("body", exc.message)
            return self.render_page(conv, status=400, reply_form=form)
        messages.success(request, _("Reply sent to %(email)s.") % {"email": conv.customer.email})
        return redirect("support:conversation", pk=conv.pk)


class NoteView(ConversationView):
    required_permission = "bill"

    def post(self, request, pk: int):
        conv = _conversation(pk)
        form = NoteForm(request.POST, auto_id="note_%s")
        if not form.is_valid():
            return self.render_page(conv, status=400, note_form=form)
        note_add(
            conversation=conv, body=form.cleaned_data["body"], actor=request.user, request=request
        )
        messages.success(request, _("Note added. The customer does not see it."))
        return redirect("support:conversation", pk=conv.pk)


class ManageView(ConversationView):
    required_permission = "bill"

    def post(self, request, pk: int):
        conv = _conversation(pk)
        members = Membership.objects.filter(organization=self.organization).select_related("user")
        form = ManageForm(request.POST, members=members)
        if not form.is_valid():
            messages.error(request, _("Choose a valid status and assignee."))
            return redirect("support:conversation", pk=conv.pk)
        try:
            assignee = form.assignee_user()
            if assignee != conv.assignee:
                conversation_assign(
                    conversation=conv, assignee=assignee, actor=request.user, request=request
                )
            conversation_status_set(
                conversation=conv,
                status=form.cleaned_data["status"],
                actor=request.user,
                request=request,
            )
        except SupportError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Conversation updated."))
        return redirect("support:conversation", pk=conv.pk)


class ActionView(ConversationView):
    """A quick action: POST without ``confirmed`` shows what will happen; POST with it does it."""

    required_permission = "bill"
    ACTIONS = ("credit", "resend", "retry", "pause")

    def get(self, request, pk: int, action: str = ""):
        return redirect("support:conversation", pk=_conversation(pk).pk)

    def post(self, request, pk: int, action: str):
        if action not in self.ACTIONS:
            raise Http404
        conv = _conversation(pk)
        form, summary = self._form_and_summary(conv, action)
        if form is None or not form.is_valid():
            messages.error(request, _("Check the quick action's fields."))
            if form is not None:
                for errors in form.errors.values():
                    for error in errors:
                        messages.error(request, error)
            return redirect("support:conversation", pk=conv.pk)
        if request.POST.get("confirmed") != "1":
            return render(
                request,
                "support/confirm_action.html",
                {
                    "conversation": conv,
                    "summary": summary(),
                    "fields": [
                        (k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"
                    ],
                    "action_url": reverse(
                        "support:action", kwargs={"pk": conv.pk, "action": action}
                    ),
                    "danger": action in ("credit", "pause"),
                },
            )
        try:
            self._perform(conv, action, form)
        except (SupportError, BillingError, PaymentError) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Done: %(what)s") % {"what": summary()})
        return redirect("support:conversation", pk=conv.pk)

    def _form_and_summary(self, conv, action):
        data = self.request.POST
        org = self.organization
        name = conv.customer.name
        if action == "credit":
            form = CreditForm(data, currencies=sorted(organization_currencies(org)))

            def summary():
                return _("apply a credit of %(amount)s to %(name)s (%(reason)s)") % {
                    "amount": format_amount(
                        form.amount_minor(), form.cleaned_data["currency"], org
                    ),
                    "name": name,
                    "reason": form.cleaned_data["reason"],
                }

            return form, summary
        if action in ("resend", "retry"):
            form = InvoiceChoiceForm(
                data,
                invoices=Invoice.objects.filter(customer=conv.customer).exclude(
                    number__isnull=True
                ),
            )

            def summary():
                invoice = Invoice.objects.get(pk=form.cleaned_data["invoice"])
                template = (
                    _("email invoice %(number)s to %(name)s again")
                    if action == "resend"
                    else _(
                        "charge invoice %(number)s (%(amount)s) to %(name)s's payment method now"
                    )
                )
                return template % {
                    "number": invoice.number,
                    "name": name,
                    "amount": format_amount(invoice.amount_due_minor, invoice.currency, org),
                }

            return form, summary
        subs = Subscription.objects.filter(customer=conv.customer).select_related("price__product")
        form = PauseForm(data, subscriptions=subs)

        def summary():
            sub = subs.get(pk=form.cleaned_data["subscription"])
            resume = form.cleaned_data.get("resume_on")
            if resume:
                return _("pause %(plan)s of %(name)s until %(date)s") % {
                    "plan": sub.price.product.name,
                    "name": name,
                    "date": resume.isoformat(),
                }
            return _("pause %(plan)s of %(name)s indefinitely") % {
                "plan": sub.price.product.name,
                "name": name,
            }

        return form, summary

    def _perform(self, conv, action, form) -> None:
        d = form.cleaned_data
        user, request = self.request.user, self.request
        if action == "credit":
            actions.support_credit_apply(
                conversation=conv,
                amount_minor=form.amount_minor(),
                currency=d["currency"],
                reason=d["reason"],
                actor=user,
                request=request,
            )
        elif action == "resend":
            actions.support_invoice_resend(
                conversation=conv, invoice_id=d["invoice"], actor=user, request=request
            )
        elif action == "retry":
            actions.support_payment_retry(
                conversation=conv, invoice_id=d["invoice"], actor=user, request=request
            )
        else:
            resume_at = None
            if d.get("resume_on"):
                tz = ZoneInfo(self.organization.time_zone)
                resume_at = datetime.combine(d["resume_on"], time.min, tzinfo=tz)
            actions.support_subscription_pause(
                conversation=conv,
                subscription_id=d["subscription"],
                resume_at=resume_at,
                actor=user,
                request=request,
            )


class AttachmentView(SupportView):
    def get(self, request, pk: int):
        attachment = get_object_or_404(Attachment.objects.all(), pk=pk)
        return attachment_response(attachment)


# -- canned replies --------------------------------------------------------------------------


class CannedListView(SupportView):
    def get(self, request):
        return render(
            request,
            "support/canned_list.html",
            {"canned_replies": CannedReply.objects.all(), **self.perms()},
        )


class CannedFormView(SupportView):
    def _get(self, pk):
        return get_object_or_404(CannedReply.objects.all(), pk=pk) if pk else None

    def _render(self, form, canned, status=200):
        return render(
            self.request,
            "support/canned_form.html",
            {"form": form, "canned": canned, **self.perms()},
            status=status,
        )

    def get(self, request, pk: int | None = None):
        canned = self._get(pk)
        return self._render(CannedReplyForm(instance=canned), canned)

    def post(self, request, pk: int | None = None):
        canned = self._get(pk)
        form = CannedReplyForm(request.POST, instance=canned)
        if not form.is_valid():
            return self._render(form, canned, status=400)
        try:
            canned_reply_save(
                organization=self.organization,
                canned=canned,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                actor=request.user,
                request=request,
            )
        except IntegrityError:
            form.add_error("title", _("Another canned reply has this title."))
            return self._render(form, canned, status=400)
        messages.success(request, _("Canned reply saved."))
        return redirect("support:canned_list")


class CannedDeleteView(SupportView):
    def get(self, request, pk: int):
        canned = get_object_or_404(CannedReply.objects.all(), pk=pk)
        return render(request, "support/canned_delete.html", {"canned": canned})

    def post(self, request, pk: int):
        canned = get_object_or_404(CannedReply.objects.all(), pk=pk)
        canned_reply_delete(canned=canned, actor=request.user, request=request)
        messages.success(request, _("Canned reply deleted."))
        return redirect("support:canned_list")
