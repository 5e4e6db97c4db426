"""Staff pages: template overrides with live preview, announcements, message log."""

from __future__ import annotations

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from cobro import clock
from cobro.views.base import StaffView
from customers.messaging import kinds as kind_registry
from customers.messaging.forms import AnnouncementForm, TemplateOverrideForm
from customers.messaging.models import (
    Announcement,
    AnnouncementStatus,
    Language,
    Message,
    TemplateOverride,
)
from customers.messaging.rendering import (
    TemplateSourceError,
    default_source,
    render_message,
    source_for,
)
from customers.messaging.services import (
    announcement_send,
    email_layout_context,
    segment_choices,
    segment_customers,
    unsubscribe_url,
)
from customers.models import Customer


def _kind_or_404(key: str, language: str):
    if language not in Language.values:
        raise Http404
    try:
        kind = kind_registry.kind_get(key)
    except KeyError:
        raise Http404 from None
    if not kind.overridable:
        raise Http404
    return kind


class TemplateListView(StaffView):
    required_permission = "manage"

    def get(self, request):
        overrides = set(TemplateOverride.objects.values_list("template_key", "language"))
        rows = [
            {
                "kind": kind,
                "languages": [
                    {"code": code, "label": label, "overridden": (kind.key, code) in overrides}
                    for code, label in Language.choices
                ],
            }
            for kind in kind_registry.kinds_overridable()
        ]
        return render(request, "messaging/templates_list.html", {"rows": rows})


class TemplateEditView(StaffView):
    required_permission = "manage"

    def get(self, request, key: str, language: str):
        kind = _kind_or_404(key, language)
        subject, body, overridden = source_for(
            organization=self.organization, template_key=key, language=language
        )
        form = TemplateOverrideForm(initial={"subject": subject, "body": body})
        return self._render(request, kind, language, form, overridden)

    def post(self, request, key: str, language: str):
        kind = _kind_or_404(key, language)
        if request.POST.get("action") == "reset":
            TemplateOverride.objects.filter(template_key=key, language=language).delete()
            messages.success(request, _("The default template is back in use."))
            return redirect("messaging:template_edit", key=key, language=language)
        form = TemplateOverrideForm(request.POST)
        if form.is_valid():
            override = TemplateOverride.objects.filter(template_key=key, language=language).first()
            override = override or TemplateOverride(template_key=key, language=language)
            override.subject = form.cleaned_data["subject"]
            override.body = form.cleaned_data["body"]
            override.updated_at = clock.now()
            override.updated_by = request.user
            try:
                override.full_clean(exclude=["organization", "updated_by"])
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                override.save()
                messages.success(request, _("Template saved."))
                return redirect("messaging:template_edit", key=key, language=language)
        return self._render(request, kind, language, form, overridden=True, status=400)

    def _render(self, request, kind, language, form, overridden, status=200):
        return render(
            request,
            "messaging/template_edit.html",
            {
                "kind": kind,
                "language": language,
                "language_label": Language(language).label,
                "form": form,
                "overridden": overridden,
                "variables": sorted(kind.sample(self.organization, language)),
            },
            status=status,
        )


_PREVIEW_CSP = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:", "https:"],
    "frame-ancestors": [SELF],
    "script-src": [NONE],
    "form-action": [NONE],
}


@method_decorator(xframe_options_sameorigin, name="dispatch")
@method_decorator(csp_replace(_PREVIEW_CSP), name="dispatch")
class TemplatePreviewView(StaffView):
    """The email as the customer would see it, rendered with sample data. Shown in a sandboxed
    iframe on the edit page (its own CSP: inline styles for email HTML, no scripts)."""

    required_permission = "manage"

    def get(self, request, key: str, language: str):
        _kind_or_404(key, language)
        subject, body, _ = source_for(
            organization=self.organization, template_key=key, language=language
        )
        return self._preview(key, language, subject, body)

    def post(self, request, key: str, language: str):
        _kind_or_404(key, language)
        default_subject, default_body = default_source(key, language)
        subject = request.POST.get("subject", default_subject)
        body = request.POST.get("body", default_body)
        return self._preview(key, language, subject, body)

    def _preview(self, key, language, subject, body):
        kind = kind_registry.kind_get(key)
        layout = email_layout_context(
            organization=self.organization,
            unsubscribe_url="#" if kind.topic != "billing" else "",
            topic=kind.topic,
        )
        try:
            rendered = render_message(
                subject_source=subject,
                body_source=body,
                context=kind.sample(self.organization, language),
                layout=layout,
                language=language,
            )
        except TemplateSourceError as exc:
            return HttpResponse(
                f'<p style="color:#b42318;font-family:sans-serif">{_escape(str(exc))}</p>',
                status=200,
            )
        header = (
            '<div style="font-family:sans-serif;font-size:13px;padding:8px 12px;'
            'background:#f3f4f6;border-bottom:1px solid #e5e7eb">'
            f"<strong>{_escape(_('Subject'))}:</strong> {_escape(rendered.subject)}</div>"
        )
        return HttpResponse(header + rendered.html)


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


class AnnouncementListView(StaffView):
    required_permission = "view"
    unsafe_permission = "bill"

    def get(self, request):
        form = AnnouncementForm(segments=segment_choices(self.organization))
        return self._render(request, form)

    def post(self, request):
        form = AnnouncementForm(request.POST, segments=segment_choices(self.organization))
        if form.is_valid():
            announcement = form.save(commit=False)
            announcement.created_by = request.user
            announcement.created_at = clock.now()
            try:
                announcement.full_clean(exclude=["organization", "created_by"])
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                announcement.save()
                return redirect("messaging:announcement_detail", pk=announcement.pk)
        return self._render(request, form, status=400)

    def _render(self, request, form, status=200):
        return render(
            request,
            "messaging/announcements.html",
            {"form": form, "announcements": Announcement.objects.all()[:50]},
            status=status,
        )


class AnnouncementDetailView(StaffView):
    required_permission = "view"
    unsafe_permission = "bill"

    def get(self, request, pk: int):
        announcement = get_object_or_404(Announcement.objects.all(), pk=pk)
        audience = segment_customers(organization=self.organization, segment=announcement.segment)
        sample = audience.first()
        preview = None
        if sample is not None:
            layout = email_layout_context(
                organization=self.organization,
                unsubscribe_url=unsubscribe_url(customer=sample, topic=announcement.topic),
                topic=announcement.topic,
            )
            preview = render_message(
                subject_source=announcement.subject,
                body_source=announcement.body,
                context=kind_registry.base_context(sample),
                layout=layout,
                language=sample.locale,
            )
        return render(
            request,
            "messaging/announcement_detail.html",
            {
                "announcement": announcement,
                "audience_count": audience.count(),
                "preview_subject": preview.subject if preview else "",
                "preview_text": preview.text if preview else "",
                "deliveries": announcement.deliveries.select_related("customer", "message")[:200],
                "is_draft": announcement.status == AnnouncementStatus.DRAFT,
            },
        )

    def post(self, request, pk: int):
        announcement = get_object_or_404(Announcement.objects.all(), pk=pk)
        if announcement.status != AnnouncementStatus.DRAFT:
            messages.info(request, _("This announcement was already sent."))
        else:
            announcement = announcement_send(announcement=announcement)
            messages.success(
                request,
                _("Sent to %(queued)s customers; %(skipped)s skipped (no consent).")
                % {"queued": announcement.queued_count, "skipped": announcement.skipped_count},
            )
        return redirect("messaging:announcement_detail", pk=announcement.pk)


class CustomerMessagesView(StaffView):
    required_permission = "view"

    def get(self, request, customer_id: int):
        customer = get_object_or_404(Customer.objects.all(), pk=customer_id)
        log = Message.objects.filter(customer=customer)[:200]
        return render(
            request,
            "messaging/customer_messages.html",
            {"customer": customer, "log": log},
        )
