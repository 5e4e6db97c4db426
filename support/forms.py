"""Forms of the support pages (portal and staff). They parse and check input; the services
write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cobro.money import Money
from support.attachments import MAX_BYTES, MAX_FILES, CheckedFile, attachment_check
from support.error_codes import SupportError, SupportErrorCode
from support.models import CannedReply, Status, Topic
from support.services.conversations import MAX_BODY, MAX_SUBJECT

ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,.pdf,.png,.jpg,.jpeg,.gif,.webp"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class _AttachmentsMixin(forms.Form):
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = gettext(
            "Images (PNG, JPEG, GIF, WebP) or PDF, up to %(mb)s MB each, %(n)s files."
        ) % {"mb": MAX_BYTES // (1024 * 1024), "n": MAX_FILES}

    def clean_attachments(self) -> list[CheckedFile]:
        uploads = self.cleaned_data.get("attachments") or []
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(
                str(SupportError(SupportErrorCode.TOO_MANY_ATTACHMENTS, limit=MAX_FILES).message)
            )
        checked = []
        for upload in uploads:
            try:
                if upload.size > MAX_BYTES:  # refuse before reading it into memory
                    attachment_check(filename=upload.name, content=b"\0" * (MAX_BYTES + 1))
                checked.append(attachment_check(filename=upload.name, content=upload.read()))
            except SupportError as exc:
                raise forms.ValidationError(exc.message) from None
        return checked


class PortalConversationForm(_AttachmentsMixin):
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices)
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT)
    link = forms.ChoiceField(label=_("About (optional)"), required=False)
    body = forms.CharField(
        label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 6})
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        from billing.models import Invoice, Subscription

        choices: list[tuple[str, str]] = [("", _("Nothing in particular"))]
        for sub in (
            Subscription.objects.filter(customer=customer)
            .select_related("price__product")
            .order_by("-created_at")[:20]
        ):
            choices.append(
                (f"subscription:{sub.pk}", _("Plan %(name)s") % {"name": sub.price.product.name})
            )
        for inv in (
            Invoice.objects.filter(customer=customer)
            .exclude(number__isnull=True)
            .order_by("-created_at")[:20]
        ):
            choices.append((f"invoice:{inv.pk}", _("Invoice %(number)s") % {"number": inv.number}))
        self.fields["link"].choices = choices
        self.fields["topic"].choices = [("", _("Choose…")), *Topic.choices]

    def links(self) -> dict:
        kind, _sep, pk = (self.cleaned_data.get("link") or "").partition(":")
        if kind == "invoice":
            return {"invoice_id": int(pk)}
        if kind == "subscription":
            return {"subscription_id": int(pk)}
        return {}


class PortalReplyForm(_AttachmentsMixin):
    body = forms.CharField(
        label=_("Your message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the customer"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    resolve = forms.BooleanField(label=_("Send and mark as resolved"), required=False)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only your team sees notes."),
    )


class ManageForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(m.user_id): m.user for m in members}
        self.fields["assignee"].choices = [("", _("Unassigned"))] + [
            (uid, user.get_full_name() or user.email) for uid, user in self.members.items()
        ]

    def assignee_user(self):
        return self.members.get(self.cleaned_data.get("assignee") or "")


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}


class CreditForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, decimal_places=3, max_digits=15)
    currency = forms.ChoiceField(label=_("Currency"))
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, currencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]

    def amount_minor(self) -> int:
        return Money.from_major(
            self.cleaned_data["amount"], self.cleaned_data["currency"]
        ).amount_minor

    def clean(self):
        data = super().clean()
        if data.get("amount") is not None and data.get("currency"):
            try:
                if self.amount_minor() <= 0:
                    self.add_error("amount", _("Enter an amount greater than zero."))
            except ValueError as exc:
                self.add_error("amount", str(exc))
        return data


class InvoiceChoiceForm(forms.Form):
    invoice = forms.TypedChoiceField(label=_("Invoice"), coerce=int)

    def __init__(self, *args, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].choices = [(i.pk, i.number or _("draft")) for i in invoices]


class PauseForm(forms.Form):
    subscription = forms.TypedChoiceField(label=_("Subscription"), coerce=int)
    resume_on = forms.DateField(
        label=_("Resume on (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, subscriptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].choices = [(s.pk, s.price.product.name) for s in subscriptions]
