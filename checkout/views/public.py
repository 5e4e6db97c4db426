"""Public subscribe pages under /s/<organization>/: the pricing page, the checkout (from the
pricing page or a checkout link) and the result page (with the retry of a declined card).

No login: the organization comes from the URL, every query is scoped to it, and a checkout
result is addressed by its unguessable session token. Bots are slowed by a per-address rate
limit and a honeypot field; double submits are absorbed by the form's idempotency token.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View

from billing.models import Invoice, Subscription
from checkout.error_codes import CheckoutError, CheckoutErrorCode
from checkout.forms import HONEYPOT_FIELD, CheckoutForm
from checkout.models import CheckoutLink, CheckoutSession, PaymentChoice, PublicPrice
from checkout.quotes import (
    checkout_quote,
    coupon_summary,
    interval_label,
    monthly_equivalent,
    price_display,
)
from checkout.services.checkout import (
    Offer,
    checkout_count_started,
    checkout_retry_card,
    checkout_retry_offline,
    checkout_submit,
    coupon_resolve,
    offer_for_link,
    offer_for_price,
    pricing_page_count_visit,
    retry_offline_choices,
)
from checkout.services.settings import checkout_link_count_visit, pricing_page_for
from cobro import clock
from cobro.models import Organization
from cobro.tenancy.context import use_organization

logger = logging.getLogger(__name__)

TAX_ID_LABELS = {"CL": "RUT", "AR": "CUIT", "MX": "RFC"}


def _client_ip(request) -> str:
    # REMOTE_ADDR only (see cobro.services.audit): X-Forwarded-For is client-controlled.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_limited(request, organization, *, bucket: str) -> bool:
    """True when this address sent too many checkout posts to this organization lately
    (``COBRO_CHECKOUT_RATE_LIMIT`` = (posts, seconds), default 20 per 10 minutes)."""
    limit, window = getattr(settings, "COBRO_CHECKOUT_RATE_LIMIT", (20, 600))
    key = f"checkout:rl:{bucket}:{organization.pk}:{_client_ip(request)}"
    if cache.add(key, 1, window):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        return False
    return count > limit


def decline_reason(code: str) -> str:
    reasons = {
        "card_declined": _("the bank declined the card"),
        "insufficient_funds": _("insufficient funds"),
        "expired_card": _("the card has expired"),
        "stolen_card": _("the card cannot be used"),
        "processing_error": _("a processing error at the bank"),
        "authentication_required": _("the bank asks for authentication"),
        "no_payment_method": _("no card on file"),
    }
    return reasons.get(code, _("the payment was not approved"))


class PublicView(View):
    """Resolves the organization from ``org_slug`` and scopes the request to it."""

    never_cache = True

    def dispatch(self, request, *args, **kwargs):
        slug = kwargs.pop("org_slug", "")
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise Http404
        self.organization = organization
        request.organization = organization
        # Dates (trial end, next charge, expiry) read in the organization's time zone.
        with use_organization(organization), timezone.override(ZoneInfo(organization.time_zone)):
            response = super().dispatch(request, *args, **kwargs)
        if self.never_cache:
            add_never_cache_headers(response)
        return response

    def url(self, name: str, **kwargs) -> str:
        return reverse(f"public:{name}", kwargs={"org_slug": self.organization.slug, **kwargs})

    def render(self, request, template: str, status: int = 200, **extra):
        context = {
            "organization": self.organization,
            "page": pricing_page_for(organization=self.organization),
            "pricing_url": self.url("pricing"),
            **extra,
        }
        return render(request, template, context, status=status)

    def unavailable(self, request, error: CheckoutError, status: int = 410):
        return self.render(request, "checkout/public/unavailable.html", status=status, error=error)


# -- pricing page ----------------------------------------------------------------------------


def pricing_groups(organization, *, now) -> list[dict]:
    """The public prices, grouped by product in display order, each with its display amount
    and, for longer intervals, the saving against the product's shortest one."""
    rows = (
        PublicPrice.unscoped.filter(
            organization=organization,
            public=True,
            price__active=True,
            price__archived_at__isnull=True,
            price__product__active=True,
        )
        .select_related("price__product", "price__tax_rate")
        .order_by("position", "pk")
    )
    groups: OrderedDict[int, dict] = OrderedDict()
    for row in rows:
        price = row.price
        display = price_display(price=price, organization=organization, now=now)
        group = groups.setdefault(
            price.product_id,
            {"product": price.product, "prices": [], "highlighted": False},
        )
        group["highlighted"] = group["highlighted"] or row.highlighted
        group["prices"].append(
            {
                "price": price,
                "display": display,
                "interval": interval_label(price.interval, price.interval_count),
                "monthly": monthly_equivalent(price, display.total_minor),
                "saving_percent": None,
                "saving_minor": None,
                "buy_url": reverse(
                    "public:buy", kwargs={"org_slug": organization.slug, "price_id": price.pk}
                ),
            }
        )
    for group in groups.values():
        by_currency: dict[str, list[dict]] = {}
        for item in group["prices"]:
            by_currency.setdefault(item["price"].currency, []).append(item)
        for items in by_currency.values():
            comparable = [i for i in items if i["monthly"] is not None]
            if len(comparable) < 2:
                continue
            base = max(comparable, key=lambda i: i["monthly"])
            for item in comparable:
                if item is base or item["monthly"] >= base["monthly"]:
                    continue
                months = item["display"].total_minor / item["monthly"]
                full = base["monthly"] * months
                item["saving_minor"] = int(full - item["display"].total_minor)
                item["saving_percent"] = int(
                    ((base["monthly"] - item["monthly"]) * 100 / base["monthly"]).to_integral_value(
                        rounding="ROUND_FLOOR"
                    )
                )
        group["prices"].sort(key=lambda i: (i["monthly"] is None, -(i["monthly"] or 0)))
    return list(groups.values())


class PricingView(PublicView):
    never_cache = False

    def get(self, request):
        page = pricing_page_for(organization=self.organization)
        if not page.enabled:
            return self.unavailable(
                request, CheckoutError(CheckoutErrorCode.PAGE_DISABLED), status=404
            )
        pricing_page_count_visit(organization=self.organization)
        groups = pricing_groups(self.organization, now=clock.now(self.organization))
        return self.render(request, "checkout/public/pricing.html", groups=groups)


# -- checkout --------------------------------------------------------------------------------


class CheckoutPageMixin(PublicView):
    def get_offer(self, **kwargs: Any) -> Offer:  # pragma: no cover - subclasses
        raise NotImplementedError

    def count_visit(self, offer: Offer) -> None:
        pass

    def form_url(self, **kwargs) -> str:  # pragma: no cover - subclasses
        raise NotImplementedError

    def get(self, request, **kwargs):
        try:
            offer = self.get_offer(**kwargs)
        except CheckoutError as exc:
            return self.unavailable(request, exc)
        self.count_visit(offer)
        form = CheckoutForm(
            initial={"checkout_token": secrets.token_urlsafe(24)},
            choices=offer.payment_choices(),
            tax_label=TAX_ID_LABELS.get(self.organization.country, ""),
        )
        return self.render_form(request, offer, form, coupon_code=request.GET.get("coupon", ""))

    def post(self, request, **kwargs):
        try:
            offer = self.get_offer(**kwargs)
        except CheckoutError as exc:
            # The same form submitted again after it used up the link: show its result.
            done = self._done_session(request)
            if done is not None:
                return redirect(self.url("result", token=done.token), permanent=False)
            return self.unavailable(request, exc)
        form = CheckoutForm(
            request.POST,
            choices=offer.payment_choices(),
            tax_label=TAX_ID_LABELS.get(self.organization.country, ""),
        )
        if request.POST.get(HONEYPOT_FIELD):
            logger.info("checkout honeypot filled for %s", self.organization.slug)
            return self.unavailable(
                request, CheckoutError(CheckoutErrorCode.BOT_SUSPECTED), status=400
            )
        if "apply_coupon" in request.POST:
            return self.render_form(
                request,
                offer,
                CheckoutForm(
                    initial=request.POST.dict(),
                    choices=offer.payment_choices(),
                    tax_label=TAX_ID_LABELS.get(self.organization.country, ""),
                ),
                coupon_code=request.POST.get("coupon_code", ""),
                coupon_applied=True,
            )
        if rate_limited(request, self.organization, bucket="submit"):
            form.add_error(None, CheckoutError(CheckoutErrorCode.RATE_LIMITED).message)
            return self.render_form(request, offer, form, status=429)
        if not form.is_valid():
            return self.render_form(request, offer, form, status=400)
        token = form.cleaned_data["checkout_token"]
        checkout_count_started(offer=offer, token=token)
        try:
            session = checkout_submit(offer=offer, token=token, data=form.to_input())
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target, error)
            return self.render_form(request, offer, form, status=400)
        except CheckoutError as exc:
            target = exc.field if exc.field in form.fields else None
            form.add_error(target, exc.message)
            return self.render_form(request, offer, form, status=400)
        return redirect(self.url("result", token=session.token))

    def _done_session(self, request):
        token = request.POST.get("checkout_token", "")
        if not token:
            return None
        return CheckoutSession.objects.filter(token=token).first()

    def render_form(
        self,
        request,
        offer: Offer,
        form: CheckoutForm,
        *,
        status: int = 200,
        coupon_code: str | None = None,
        coupon_applied: bool = False,
    ):
        from billing.payments.hosted import hosted_csp_apply, hosted_form_context

        now = clock.now(self.organization)
        coupon = offer.coupon
        coupon_error = ""
        if coupon_code is None:
            coupon_code = form.data.get("coupon_code", "") if form.is_bound else ""
        if coupon is None and coupon_code:
            try:
                coupon = coupon_resolve(offer=offer, code=coupon_code, now=now)
            except CheckoutError as exc:
                coupon_error = exc.message
                coupon = None
        quote = checkout_quote(
            price=offer.price,
            organization=self.organization,
            quantity=offer.quantity,
            coupon=coupon,
            trial_days=offer.trial_days,
            now=now,
        )
        hosted = hosted_form_context(
            organization=self.organization,
            customer=None,
            return_url=request.build_absolute_uri(request.path),
        )
        response = self.render(
            request,
            "checkout/public/checkout.html",
            status=status,
            offer=offer,
            price=offer.price,
            product=offer.price.product,
            display=price_display(
                price=offer.price, organization=self.organization, quantity=1, now=now
            ),
            interval=interval_label(offer.price.interval, offer.price.interval_count),
            quote=quote,
            coupon=coupon,
            coupon_text=coupon_summary(coupon) if coupon is not None else "",
            coupon_error=coupon_error,
            coupon_applied=coupon_applied and coupon is not None,
            form=form,
            hosted=hosted,
            form_url=request.path,
        )
        return hosted_csp_apply(response, hosted)


class PriceCheckoutView(CheckoutPageMixin):
    def get_offer(self, **kwargs: Any) -> Offer:
        return offer_for_price(organization=self.organization, price_id=kwargs["price_id"])


class LinkCheckoutView(CheckoutPageMixin):
    def get_offer(self, **kwargs: Any) -> Offer:
        try:
            return offer_for_link(organization=self.organization, code=kwargs["code"])
        except CheckoutLink.DoesNotExist:
            raise Http404 from None

    def count_visit(self, offer: Offer) -> None:
        if offer.link is not None:
            checkout_link_count_visit(link=offer.link)


# -- result and retry ------------------------------------------------------------------------


class ResultView(PublicView):
    def _session(self, token: str) -> CheckoutSession:
        session = (
            CheckoutSession.objects.select_related("customer", "price__product", "link")
            .filter(token=token)
            .first()
        )
        if session is None:
            raise Http404
        return session

    def get(self, request, token: str):
        return self._render(request, self._session(token))

    def post(self, request, token: str):
        session = self._session(token)
        if rate_limited(request, self.organization, bucket="retry"):
            return self._render(
                request,
                session,
                error=CheckoutError(CheckoutErrorCode.RATE_LIMITED).message,
                status=429,
            )
        choice = request.POST.get("payment_choice", PaymentChoice.CARD)
        try:
            if choice == PaymentChoice.CARD:
                session = checkout_retry_card(
                    session=session,
                    gateway=request.POST.get("gateway", ""),
                    token=request.POST.get("token", ""),
                )
            else:
                session = checkout_retry_offline(session=session, payment_choice=choice)
        except CheckoutError as exc:
            return self._render(request, session, error=exc.message, status=400)
        return redirect(self.url("result", token=session.token))

    def _render(self, request, session: CheckoutSession, *, error: str = "", status: int = 200):
        from billing.payments.hosted import hosted_csp_apply, hosted_form_context
        from billing.payments.models import IN_FLIGHT, PaymentAttempt

        sub = (
            Subscription.objects.filter(pk=session.subscription_id).first()
            if session.subscription_id
            else None
        )
        invoice = (
            Invoice.objects.filter(pk=session.invoice_id).first() if session.invoice_id else None
        )
        processing = False
        instructions = None
        hosted = None
        if invoice is not None:
            processing = PaymentAttempt.objects.filter(
                invoice=invoice, status__in=IN_FLIGHT
            ).exists()
            if session.payment_choice == PaymentChoice.BANK_TRANSFER and invoice.status == "open":
                from billing.payments.services.manual import bank_transfer_instructions

                instructions = bank_transfer_instructions(invoice=invoice)
        retry = (
            session.status == "awaiting_payment"
            and sub is not None
            and sub.status == "incomplete"
            and not processing
        )
        offline_choices: list[str] = []
        if retry:
            offline_choices = retry_offline_choices(organization=self.organization)
            hosted = hosted_form_context(
                organization=self.organization,
                customer=session.customer,
                return_url=request.build_absolute_uri(request.path),
            )
        response = self.render(
            request,
            "checkout/public/result.html",
            status=status,
            session=session,
            subscription=sub,
            invoice=invoice,
            processing=processing,
            retry=retry,
            offline_choices=offline_choices,
            hosted=hosted,
            instructions=instructions,
            error=error,
            decline=decline_reason(session.last_error) if session.last_error else "",
            portal_url=reverse("portal:home", kwargs={"org_slug": self.organization.slug}),
            interval=interval_label(session.price.interval, session.price.interval_count),
        )
        return hosted_csp_apply(response, hosted) if hosted else response
