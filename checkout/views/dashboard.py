"""Staff pages of checkout: checkout links (conversions, QR, disable), the pricing page's
settings and which prices it shows, and the sign-ups (where each subscription came from)."""

from __future__ import annotations

from urllib.parse import quote

import segno
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.models import Price
from billing.views.common import BillingView, format_amount
from checkout.error_codes import CheckoutError
from checkout.forms import CheckoutLinkForm, PricingPageForm
from checkout.models import CheckoutLink, CheckoutSession, CheckoutSource, PublicPrice
from checkout.quotes import interval_label
from checkout.services.settings import (
    PAGE_FIELDS,
    checkout_link_create,
    checkout_link_disable,
    pricing_page_for,
    pricing_page_update,
    public_price_set,
)
from cobro import clock


class CheckoutStaffView(BillingView):
    """Reads need "view"; creating links and changing the pricing page need "manage"."""

    unsafe_permission = "manage"

    def context(self, tab: str, **extra) -> dict:
        return {"checkout_tab": tab, **self.perms(), **extra}


def _rate(part: int, whole: int) -> int | None:
    return round(part * 100 / whole) if whole else None


def link_public_url(request, link: CheckoutLink) -> str:
    path = reverse("public:link", kwargs={"org_slug": link.organization.slug, "code": link.code})
    return request.build_absolute_uri(path)


def link_qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


class LinkListView(CheckoutStaffView):
    def get(self, request):
        links = list(CheckoutLink.objects.select_related("price__product", "coupon"))
        now = clock.now(self.organization)
        for link in links:
            link.conversion = _rate(link.completed, link.visits)  # type: ignore[attr-defined]
            link.expired = bool(link.expires_at and link.expires_at <= now)  # type: ignore[attr-defined]
            link.used_up = bool(link.max_uses and link.completed >= link.max_uses)  # type: ignore[attr-defined]
        page = pricing_page_for(organization=self.organization)
        page_completed = CheckoutSession.objects.filter(
            source=CheckoutSource.PRICING_PAGE, status="completed"
        ).count()
        return render(
            request,
            "checkout/dashboard/links.html",
            self.context(
                "links",
                links=links,
                page=page,
                page_completed=page_completed,
                page_conversion=_rate(page_completed, page.visits),
                pricing_url=reverse("public:pricing", kwargs={"org_slug": self.organization.slug}),
            ),
        )


class LinkCreateView(CheckoutStaffView):
    required_permission = "manage"

    def get(self, request):
        form = CheckoutLinkForm(organization=self.organization)
        price_id = request.GET.get("price")
        if price_id and price_id.isdigit():
            form.initial["price"] = int(price_id)
        return self._render(form)

    def post(self, request):
        form = CheckoutLinkForm(request.POST, organization=self.organization)
        if form.is_valid():
            d = form.cleaned_data
            try:
                link = checkout_link_create(
                    organization=self.organization,
                    name=d["name"],
                    price=d["price"],
                    coupon=d["coupon"],
                    quantity=d["quantity"],
                    trial_days=d["trial_days"],
                    expires_at=d["expires_at"],
                    max_uses=d["max_uses"],
                    actor=request.user,
                )
            except CheckoutError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                messages.success(request, _("Link “%(name)s” created.") % {"name": link.name})
                return redirect("checkout:link_detail", pk=link.pk)
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "checkout/dashboard/link_form.html",
            self.context("links", form=form),
            status=status,
        )


class LinkDetailView(CheckoutStaffView):
    def get(self, request, pk: int):
        link = get_object_or_404(
            CheckoutLink.objects.select_related("price__product", "coupon"), pk=pk
        )
        url = link_public_url(request, link)
        qr = link_qr(url)
        share_text = _("Subscribe to %(plan)s: %(url)s") % {
            "plan": link.price.product.name,
            "url": url,
        }
        sessions = CheckoutSession.objects.filter(link=link).select_related(
            "customer", "subscription"
        )[:50]
        return render(
            request,
            "checkout/dashboard/link_detail.html",
            self.context(
                "links",
                link=link,
                url=url,
                qr_svg=qr.svg_inline(scale=5, border=2, title=_("QR code of the link")),
                whatsapp_url="https://wa.me/?text=" + quote(share_text),
                mailto_url="mailto:?subject="
                + quote(link.price.product.name)
                + "&body="
                + quote(share_text),
                amount=format_amount(
                    link.price.amount_minor, link.price.currency, link.organization
                ),
                interval=interval_label(link.price.interval, link.price.interval_count),
                conversion=_rate(link.completed, link.visits),
                sessions=sessions,
                now=clock.now(self.organization),
            ),
        )


class LinkQrView(CheckoutStaffView):
    def get(self, request, pk: int):
        link = get_object_or_404(CheckoutLink.objects.all(), pk=pk)
        qr = link_qr(link_public_url(request, link))
        import io

        buffer = io.BytesIO()
        qr.save(buffer, kind="svg", scale=10, border=2, xmldecl=True)
        response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
        response["Content-Disposition"] = f'attachment; filename="link-{link.code}.svg"'
        return response


class LinkDisableView(CheckoutStaffView):
    required_permission = "manage"

    def get(self, request, pk: int):
        link = get_object_or_404(CheckoutLink.objects.all(), pk=pk)
        return render(
            request,
            "billing/confirm.html",
            {
                "title": _("Disable this link?"),
                "body": _(
                    "Nobody can subscribe through it any more; people who open it see that it "
                    "was disabled. Subscriptions it already created are not affected."
                ),
                "subject": link.name,
                "confirm_label": _("Disable link"),
                "danger": True,
                "cancel_url": reverse("checkout:link_detail", kwargs={"pk": link.pk}),
            },
        )

    def post(self, request, pk: int):
        link = get_object_or_404(CheckoutLink.objects.all(), pk=pk)
        checkout_link_disable(link=link, actor=request.user)
        messages.success(request, _("Link “%(name)s” disabled.") % {"name": link.name})
        return redirect("checkout:links")


class PricingPageSettingsView(CheckoutStaffView):
    required_permission = "view"

    def _prices(self):
        prices = list(
            Price.objects.filter(active=True, product__active=True)
            .select_related("product")
            .order_by("product__name", "amount_minor")
        )
        listing = {row.price_id: row for row in PublicPrice.objects.all()}
        rows = []
        for price in prices:
            row = listing.get(price.pk)
            rows.append(
                {
                    "price": price,
                    "public": bool(row and row.public),
                    "position": row.position if row else 0,
                    "highlighted": bool(row and row.highlighted),
                    "amount": format_amount(price.amount_minor, price.currency, self.organization),
                    "interval": interval_label(price.interval, price.interval_count),
                }
            )
        return rows

    def get(self, request):
        page = pricing_page_for(organization=self.organization)
        form = PricingPageForm(initial={f: getattr(page, f) for f in PAGE_FIELDS})
        return self._render(form)

    def post(self, request):
        form = PricingPageForm(request.POST)
        rows = self._prices()
        errors = []
        for row in rows:
            raw = request.POST.get(f"position_{row['price'].pk}", "0").strip() or "0"
            if not raw.isdigit() or int(raw) > 1000:
                errors.append(row["price"])
        if form.is_valid() and not errors:
            pricing_page_update(
                organization=self.organization, actor=request.user, **form.cleaned_data
            )
            for row in rows:
                pk = row["price"].pk
                public_price_set(
                    price=row["price"],
                    public=request.POST.get(f"public_{pk}") == "on",
                    position=int(request.POST.get(f"position_{pk}", "0").strip() or 0),
                    highlighted=request.POST.get(f"highlighted_{pk}") == "on",
                )
            messages.success(request, _("Pricing page saved."))
            return redirect("checkout:pricing_settings")
        if errors:
            form.add_error(None, _("The order must be a whole number between 0 and 1000."))
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "checkout/dashboard/pricing_settings.html",
            self.context(
                "pricing",
                form=form,
                rows=self._prices(),
                pricing_url=reverse("public:pricing", kwargs={"org_slug": self.organization.slug}),
            ),
            status=status,
        )


class SessionListView(CheckoutStaffView):
    def get(self, request):
        sessions = CheckoutSession.objects.select_related(
            "customer", "subscription", "link", "price__product"
        )
        link_id = request.GET.get("link", "")
        link = None
        if link_id.isdigit():
            link = CheckoutLink.objects.filter(pk=int(link_id)).first()
            sessions = sessions.filter(link_id=int(link_id))
        counts = CheckoutSession.objects.aggregate(
            completed=Count("pk", filter=Q(status="completed")),
            awaiting=Count("pk", filter=Q(status="awaiting_payment")),
            expired=Count("pk", filter=Q(status="expired")),
        )
        return render(
            request,
            "checkout/dashboard/sessions.html",
            self.context("sessions", sessions=sessions[:200], link=link, counts=counts),
        )
