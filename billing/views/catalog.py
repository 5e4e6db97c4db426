"""Staff pages of the catalog: products, prices (versioned), tax rates, coupons and the
organization's billing settings. Reading needs "view"; every write needs "manage"."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from billing.currencies import organization_currencies
from billing.error_codes import BillingError, BillingErrorCode
from billing.forms import BillingSettingsForm, CouponForm, PriceForm, ProductForm, TaxRateForm
from billing.models import BillingSettings, Coupon, Price, Product, TaxRate
from billing.services.catalog import (
    billing_settings_update,
    coupon_create,
    price_archive,
    price_create,
    price_is_used,
    price_update,
    product_create,
    tax_rate_create,
)
from billing.services.catalog_status import coupon_deactivate, product_update, tax_rate_deactivate
from billing.views.common import CatalogView, add_billing_error


def _catalog_context(view: CatalogView, tab: str, **extra) -> dict:
    return {"catalog_tab": tab, **view.perms(), **extra}


class CatalogHomeView(CatalogView):
    def get(self, request):
        return redirect("billing:product_list")


# -- products --------------------------------------------------------------------------------


class ProductListView(CatalogView):
    def get(self, request):
        products = Product.objects.annotate(
            active_prices=Count("prices", filter=Q(prices__active=True))
        ).order_by("-active", "name")
        return render(
            request,
            "billing/catalog/product_list.html",
            _catalog_context(self, "products", products=products),
        )


class ProductCreateView(CatalogView):
    required_permission = "manage"

    def get(self, request):
        return self._render(ProductForm())

    def post(self, request):
        form = ProductForm(request.POST)
        if form.is_valid():
            product = product_create(
                organization=self.organization,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
            messages.success(
                request,
                _("Product %(name)s created. Now give it a price.") % {"name": product.name},
            )
            return redirect("billing:price_create", pk=product.pk)
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "billing/catalog/product_form.html",
            _catalog_context(self, "products", form=form, product=None),
            status=status,
        )


class ProductUpdateView(CatalogView):
    required_permission = "manage"

    def get(self, request, pk: int):
        product = get_object_or_404(Product.objects.all(), pk=pk)
        form = ProductForm(
            initial={
                "name": product.name,
                "description": product.description,
                "active": product.active,
            }
        )
        return self._render(form, product)

    def post(self, request, pk: int):
        product = get_object_or_404(Product.objects.all(), pk=pk)
        form = ProductForm(request.POST)
        if form.is_valid():
            product_update(product=product, **form.cleaned_data)
            messages.success(request, _("Product %(name)s saved.") % {"name": product.name})
            return redirect("billing:product_detail", pk=product.pk)
        return self._render(form, product, status=400)

    def _render(self, form, product, status=200):
        return render(
            self.request,
            "billing/catalog/product_form.html",
            _catalog_context(self, "products", form=form, product=product),
            status=status,
        )


class ProductDetailView(CatalogView):
    def get(self, request, pk: int):
        product = get_object_or_404(Product.objects.all(), pk=pk)
        prices = (
            Price.objects.filter(product=product)
            .select_related("tax_rate", "replaces")
            .annotate(subscriptions_count=Count("subscriptions"))
            .order_by("-active", "currency", "amount_minor", "-version")
        )
        return render(
            request,
            "billing/catalog/product_detail.html",
            _catalog_context(self, "products", product=product, prices=prices),
        )


# -- prices ----------------------------------------------------------------------------------

_PRICE_ERROR_FIELDS = {
    BillingErrorCode.INVALID_PERCENTAGE: "tax_rate",
    BillingErrorCode.PRICE_ARCHIVED: None,
}


class PriceCreateView(CatalogView):
    required_permission = "manage"

    def get(self, request, pk: int):
        product = get_object_or_404(Product.objects.all(), pk=pk)
        return self._render(PriceForm(organization=self.organization), product)

    def post(self, request, pk: int):
        product = get_object_or_404(Product.objects.all(), pk=pk)
        form = PriceForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                price_create(product=product, **form.service_kwargs())
            except BillingError as exc:
                add_billing_error(form, exc, _PRICE_ERROR_FIELDS)  # type: ignore[arg-type]
            else:
                messages.success(request, _("Price added to %(name)s.") % {"name": product.name})
                return redirect("billing:product_detail", pk=product.pk)
        return self._render(form, product, status=400)

    def _render(self, form, product, status=200):
        return render(
            self.request,
            "billing/catalog/price_form.html",
            _catalog_context(self, "products", form=form, product=product, price=None),
            status=status,
        )


class PriceUpdateView(CatalogView):
    """Editing a price that a subscription or invoice already uses creates a new version;
    the page says so before saving and afterwards."""

    required_permission = "manage"

    def _price(self, pk: int) -> Price:
        return get_object_or_404(Price.objects.select_related("product"), pk=pk)

    def get(self, request, pk: int):
        price = self._price(pk)
        if not price.active:
            messages.error(request, _("This price is archived and can no longer be edited."))
            return redirect("billing:product_detail", pk=price.product_id)
        form = PriceForm(initial=PriceForm.initial_from(price), organization=self.organization)
        return self._render(form, price)

    def post(self, request, pk: int):
        price = self._price(pk)
        form = PriceForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                new = price_update(price=price, **form.service_kwargs())
            except BillingError as exc:
                add_billing_error(form, exc, _PRICE_ERROR_FIELDS)  # type: ignore[arg-type]
            else:
                if new.pk != price.pk:
                    messages.success(
                        request,
                        _(
                            "The price was in use, so version %(version)s was created. "
                            "Existing subscriptions keep version %(old)s until you migrate them."
                        )
                        % {"version": new.version, "old": price.version},
                    )
                else:
                    messages.success(request, _("Price saved."))
                return redirect("billing:product_detail", pk=price.product_id)
        return self._render(form, price, status=400)

    def _render(self, form, price, status=200):
        return render(
            self.request,
            "billing/catalog/price_form.html",
            _catalog_context(
                self,
                "products",
                form=form,
                product=price.product,
                price=price,
                price_used=price_is_used(price),
            ),
            status=status,
        )


class PriceArchiveView(CatalogView):
    required_permission = "manage"

    def get(self, request, pk: int):
        price = get_object_or_404(Price.objects.select_related("product"), pk=pk)
        return render(
            request,
            "billing/confirm.html",
            {
                "title": _("Archive this price?"),
                "body": _(
                    "No new subscriptions can use it. Existing subscriptions keep it and are "
                    "billed as before."
                ),
                "subject": str(price),
                "confirm_label": _("Archive price"),
                "danger": True,
                "cancel_url": _product_url(price),
            },
        )

    def post(self, request, pk: int):
        price = get_object_or_404(Price.objects.all(), pk=pk)
        if price.active:
            price_archive(price=price)
            messages.success(request, _("Price archived."))
        return redirect("billing:product_detail", pk=price.product_id)


def _product_url(price: Price) -> str:
    from django.urls import reverse

    return reverse("billing:product_detail", kwargs={"pk": price.product_id})


# -- tax rates -------------------------------------------------------------------------------


class TaxRateListView(CatalogView):
    def get(self, request):
        return self._render(TaxRateForm(initial={"country": self.organization.country}))

    def post(self, request):
        form = TaxRateForm(request.POST)
        if form.is_valid():
            try:
                rate = tax_rate_create(organization=self.organization, **form.cleaned_data)
            except BillingError as exc:
                add_billing_error(form, exc)
            else:
                messages.success(request, _("Tax rate %(name)s created.") % {"name": rate})
                return redirect("billing:tax_list")
        return self._render(form, status=400)

    def _render(self, form, status=200):
        rates = TaxRate.objects.order_by("-active", "name", "pk")
        return render(
            self.request,
            "billing/catalog/tax_list.html",
            _catalog_context(self, "taxes", form=form, rates=rates),
            status=status,
        )


class TaxRateDeactivateView(CatalogView):
    required_permission = "manage"

    def get(self, request, pk: int):
        rate = get_object_or_404(TaxRate.objects.all(), pk=pk)
        return render(
            request,
            "billing/confirm.html",
            {
                "title": _("Deactivate this tax rate?"),
                "body": _(
                    "New prices and invoice items can no longer use it. Issued invoices keep "
                    "it, and prices that already use it must be given another rate when edited."
                ),
                "subject": str(rate),
                "confirm_label": _("Deactivate"),
                "danger": True,
                "cancel_url": _url("billing:tax_list"),
            },
        )

    def post(self, request, pk: int):
        rate = get_object_or_404(TaxRate.objects.all(), pk=pk)
        if rate.active:
            tax_rate_deactivate(tax_rate=rate)
            messages.success(request, _("Tax rate %(name)s deactivated.") % {"name": rate})
        return redirect("billing:tax_list")


def _url(name: str, **kwargs) -> str:
    from django.urls import reverse

    return reverse(name, kwargs=kwargs or None)


# -- coupons ---------------------------------------------------------------------------------

_COUPON_ERROR_FIELDS = {
    BillingErrorCode.INVALID_PERCENTAGE: "percent_off",
    BillingErrorCode.AMOUNT_NOT_POSITIVE: "amount_off",
    BillingErrorCode.AMOUNT_TOO_LARGE: "amount_off",
    BillingErrorCode.COUPON_INVALID: None,
}


class CouponListView(CatalogView):
    def get(self, request):
        coupons = Coupon.objects.order_by("-active", "code")
        return render(
            request,
            "billing/catalog/coupon_list.html",
            _catalog_context(self, "coupons", coupons=coupons),
        )


class CouponCreateView(CatalogView):
    required_permission = "manage"

    def get(self, request):
        return self._render(CouponForm(organization=self.organization))

    def post(self, request):
        form = CouponForm(request.POST, organization=self.organization)
        if form.is_valid():
            code = form.cleaned_data["code"].strip().upper()
            if Coupon.objects.filter(code=code).exists():
                form.add_error("code", _("A coupon with this code already exists."))
            else:
                try:
                    with transaction.atomic():
                        coupon = coupon_create(
                            organization=self.organization, **form.service_kwargs()
                        )
                except BillingError as exc:
                    add_billing_error(form, exc, _COUPON_ERROR_FIELDS)  # type: ignore[arg-type]
                else:
                    messages.success(request, _("Coupon %(code)s created.") % {"code": coupon})
                    return redirect("billing:coupon_list")
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "billing/catalog/coupon_form.html",
            _catalog_context(self, "coupons", form=form),
            status=status,
        )


class CouponDeactivateView(CatalogView):
    required_permission = "manage"

    def get(self, request, pk: int):
        coupon = get_object_or_404(Coupon.objects.all(), pk=pk)
        return render(
            request,
            "billing/confirm.html",
            {
                "title": _("Deactivate this coupon?"),
                "body": _(
                    "Nobody can redeem it any more. Subscriptions that already use it keep "
                    "their discount."
                ),
                "subject": f"{coupon.code} — {coupon.name}",
                "confirm_label": _("Deactivate"),
                "danger": True,
                "cancel_url": _url("billing:coupon_list"),
            },
        )

    def post(self, request, pk: int):
        coupon = get_object_or_404(Coupon.objects.all(), pk=pk)
        if coupon.active:
            coupon_deactivate(coupon=coupon)
            messages.success(request, _("Coupon %(code)s deactivated.") % {"code": coupon})
        return redirect("billing:coupon_list")


# -- settings --------------------------------------------------------------------------------


class BillingSettingsView(CatalogView):
    required_permission = "manage"

    def _current(self) -> BillingSettings:
        return BillingSettings.objects.first() or BillingSettings(organization=self.organization)

    def get(self, request):
        s = self._current()
        form = BillingSettingsForm(
            initial={
                "extra_currencies": ", ".join(s.extra_currencies or []),
                "invoice_prefix": s.invoice_prefix,
                "credit_note_prefix": s.credit_note_prefix,
                "days_until_due": s.days_until_due,
            }
        )
        return self._render(form)

    def post(self, request):
        form = BillingSettingsForm(request.POST)
        if form.is_valid():
            try:
                billing_settings_update(organization=self.organization, **form.cleaned_data)
            except BillingError as exc:
                add_billing_error(
                    form, exc, {BillingErrorCode.CURRENCY_UNKNOWN: "extra_currencies"}
                )
            else:
                messages.success(request, _("Billing settings saved."))
                return redirect("billing:settings")
        return self._render(form, status=400)

    def _render(self, form, status=200):
        return render(
            self.request,
            "billing/catalog/settings.html",
            {
                **self.perms(),
                "form": form,
                "currencies": sorted(organization_currencies(self.organization)),
            },
            status=status,
        )
