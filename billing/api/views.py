"""Billing API: catalog (tax rates, products, prices, coupons), subscriptions with their
actions, invoices with theirs, credit notes and the sandbox test clock. Views parse input,
call one service of ``billing.services`` (or payments/documents), and render the output."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action

from billing import selectors
from billing.api import serializers as s
from billing.models import (
    Coupon,
    CreditNote,
    Interval,
    Invoice,
    InvoiceStatus,
    Price,
    Product,
    Subscription,
    SubscriptionStatus,
    TaxRate,
)
from billing.services import catalog, catalog_status, invoices, subscriptions
from cobro import clock
from cobro.api import filters as f
from cobro.api.base import ApiView, ApiViewSet, Response, status
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError
from cobro.api.pagination import ApiCursorPagination


def _ordered_by(*fields: str) -> type[ApiCursorPagination]:
    return type("Pagination", (ApiCursorPagination,), {"ordering": fields})


def _input(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


# -- tax rates ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List tax rates", tags=["tax rates"]),
    retrieve=extend_schema(summary="Retrieve a tax rate", tags=["tax rates"]),
)
class TaxRateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "tax_rates"
    serializer_class = s.TaxRateOutputSerializer
    filterset_class = f.filterset(
        "TaxRateFilter", active=f.bool_filter("active"), country=f.char_filter("country", "iexact")
    )

    model = TaxRate

    @extend_schema(
        summary="Create a tax rate",
        tags=["tax rates"],
        request=s.TaxRateCreateInputSerializer,
        responses={201: s.TaxRateOutputSerializer},
        examples=[
            OpenApiExample(
                "IVA Chile",
                value={"name": "IVA", "percentage": "19", "country": "CL"},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = _input(s.TaxRateCreateInputSerializer, request)
        rate = catalog.tax_rate_create(organization=self.organization, **data)
        return Response(s.TaxRateOutputSerializer(rate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Deactivate a tax rate",
        tags=["tax rates"],
        request=s.EmptyInputSerializer,
        responses=s.TaxRateOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        rate = self.get_object()
        _input(s.EmptyInputSerializer, request)
        rate = catalog_status.tax_rate_deactivate(tax_rate=rate)
        return Response(s.TaxRateOutputSerializer(rate).data)


# -- products ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List products", tags=["products"]),
    retrieve=extend_schema(summary="Retrieve a product", tags=["products"]),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "products"
    serializer_class = s.ProductOutputSerializer
    filterset_class = f.filterset("ProductFilter", active=f.bool_filter("active"))
    http_method_names = ["get", "post", "patch", "head", "options"]

    model = Product

    @extend_schema(
        summary="Create a product",
        tags=["products"],
        request=s.ProductCreateInputSerializer,
        responses={201: s.ProductOutputSerializer},
        examples=[
            OpenApiExample("A plan", value={"name": "Plan Pro"}, request_only=True),
        ],
    )
    def create(self, request):
        data = _input(s.ProductCreateInputSerializer, request)
        product = catalog.product_create(organization=self.organization, **data)
        return Response(s.ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update a product",
        tags=["products"],
        request=s.ProductUpdateInputSerializer,
        responses=s.ProductOutputSerializer,
    )
    def partial_update(self, request, pk=None):
        product = self.get_object()
        data = _input(s.ProductUpdateInputSerializer, request)
        product = catalog_status.product_update(
            product=product,
            name=data.get("name", product.name),
            description=data.get("description", product.description),
            active=data.get("active", product.active),
        )
        return Response(s.ProductOutputSerializer(product).data)


# -- prices ------------------------------------------------------------------------------------


PriceFilter = f.filterset(
    "PriceFilter",
    product=f.id_filter("product"),
    active=f.bool_filter("active"),
    currency=f.char_filter("currency", "iexact"),
    interval=f.choice_filter("interval", Interval.choices),
)


@extend_schema_view(
    list=extend_schema(summary="List prices", tags=["prices"]),
    retrieve=extend_schema(summary="Retrieve a price", tags=["prices"]),
)
class PriceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "prices"
    serializer_class = s.PriceOutputSerializer
    filterset_class = PriceFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    model = Price

    @extend_schema(
        summary="Create a price",
        tags=["prices"],
        request=s.PriceCreateInputSerializer,
        responses={201: s.PriceOutputSerializer},
        examples=[
            OpenApiExample(
                "CLP 9.990 a month",
                value={"product": 1, "currency": "CLP", "amount_minor": 9990, "interval": "month"},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = _input(s.PriceCreateInputSerializer, request)
        price = catalog.price_create(**data)
        return Response(s.PriceOutputSerializer(price).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update a price",
        description=(
            "An unused price is edited in place. A price in use is never edited: a new "
            "version is created (returned, with `replaces`) and the old one archived; "
            "subscriptions keep the old version."
        ),
        tags=["prices"],
        request=s.PriceUpdateInputSerializer,
        responses=s.PriceOutputSerializer,
    )
    def partial_update(self, request, pk=None):
        price = self.get_object()
        data = _input(s.PriceUpdateInputSerializer, request)
        price = catalog.price_update(price=price, **data)
        return Response(s.PriceOutputSerializer(price).data)

    @extend_schema(
        summary="Archive a price",
        tags=["prices"],
        request=s.EmptyInputSerializer,
        responses=s.PriceOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        price = self.get_object()
        _input(s.EmptyInputSerializer, request)
        price = catalog.price_archive(price=price)
        return Response(s.PriceOutputSerializer(price).data)


# -- coupons -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List coupons", tags=["coupons"]),
    retrieve=extend_schema(summary="Retrieve a coupon", tags=["coupons"]),
)
class CouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "coupons"
    serializer_class = s.CouponOutputSerializer
    filterset_class = f.filterset(
        "CouponFilter", active=f.bool_filter("active"), code=f.char_filter("code", "iexact")
    )

    model = Coupon

    @extend_schema(
        summary="Create a coupon",
        tags=["coupons"],
        request=s.CouponCreateInputSerializer,
        responses={201: s.CouponOutputSerializer},
        examples=[
            OpenApiExample(
                "10% off the first invoice",
                value={"code": "BIENVENIDA", "name": "Bienvenida", "percent_off": "10"},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = _input(s.CouponCreateInputSerializer, request)
        coupon = catalog.coupon_create(organization=self.organization, **data)
        return Response(s.CouponOutputSerializer(coupon).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Deactivate a coupon",
        tags=["coupons"],
        request=s.EmptyInputSerializer,
        responses=s.CouponOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        coupon = self.get_object()
        _input(s.EmptyInputSerializer, request)
        coupon = catalog_status.coupon_deactivate(coupon=coupon)
        return Response(s.CouponOutputSerializer(coupon).data)


# -- subscriptions -----------------------------------------------------------------------------


SubscriptionFilter = f.filterset(
    "SubscriptionFilter",
    customer=f.id_filter("customer"),
    price=f.id_filter("price"),
    status=f.choice_filter("status", SubscriptionStatus.choices),
)


def _sub_action(summary: str, request_serializer, responses=s.SubscriptionOutputSerializer):
    return extend_schema(
        summary=summary, tags=["subscriptions"], request=request_serializer, responses=responses
    )


@extend_schema_view(
    list=extend_schema(summary="List subscriptions", tags=["subscriptions"]),
    retrieve=extend_schema(summary="Retrieve a subscription", tags=["subscriptions"]),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "subscriptions"
    serializer_class = s.SubscriptionOutputSerializer
    filterset_class = SubscriptionFilter

    model = Subscription

    def _out(self, sub: Subscription) -> Response:
        return Response(s.SubscriptionOutputSerializer(sub).data)

    @extend_schema(
        summary="Create a subscription",
        description=(
            "Starts billing at once: without a trial the first period is invoiced and "
            "finalized now."
        ),
        tags=["subscriptions"],
        request=s.SubscriptionCreateInputSerializer,
        responses={201: s.SubscriptionOutputSerializer},
        examples=[
            OpenApiExample(
                "Monthly plan",
                value={"customer": 1, "price": 1, "quantity": 1},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = _input(s.SubscriptionCreateInputSerializer, request)
        sub = subscriptions.subscription_create(**data)
        return Response(s.SubscriptionOutputSerializer(sub).data, status=status.HTTP_201_CREATED)

    @_sub_action("Pause a subscription", s.SubscriptionPauseInputSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        sub = self.get_object()
        data = _input(s.SubscriptionPauseInputSerializer, request)
        return self._out(
            subscriptions.subscription_pause(subscription=sub, resume_at=data.get("resume_at"))
        )

    @_sub_action("Resume a paused subscription", s.EmptyInputSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        sub = self.get_object()
        _input(s.EmptyInputSerializer, request)
        return self._out(subscriptions.subscription_resume(subscription=sub))

    @_sub_action("Cancel a subscription", s.SubscriptionCancelInputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        sub = self.get_object()
        data = _input(s.SubscriptionCancelInputSerializer, request)
        return self._out(subscriptions.subscription_cancel(subscription=sub, **data))

    @_sub_action("Undo a cancellation scheduled at period end", s.EmptyInputSerializer)
    @action(detail=True, methods=["post"])
    def undo_cancel(self, request, pk=None):
        sub = self.get_object()
        _input(s.EmptyInputSerializer, request)
        return self._out(subscriptions.subscription_undo_cancel(subscription=sub))

    @_sub_action(
        "Change price or quantity",
        s.SubscriptionChangeInputSerializer,
        s.SubscriptionChangeOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def change(self, request, pk=None):
        sub = self.get_object()
        data = _input(s.SubscriptionChangeInputSerializer, request)
        result = subscriptions.subscription_change(subscription=sub, **data)
        sub = Subscription.objects.get(pk=sub.pk)
        body = {
            "subscription": s.SubscriptionOutputSerializer(sub).data,
            "invoice": result.invoice.pk if result.invoice is not None else None,
        }
        return Response(body)

    @_sub_action(
        "Preview a change (proration), writing nothing",
        s.SubscriptionChangeInputSerializer,
        s.ChangePreviewOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def preview_change(self, request, pk=None):
        sub = self.get_object()
        data = _input(s.SubscriptionChangeInputSerializer, request)
        plan = subscriptions.subscription_preview_change(subscription=sub, **data)
        return Response(s.ChangePreviewOutputSerializer(plan).data)


# -- invoices ----------------------------------------------------------------------------------


InvoiceFilter = f.filterset(
    "InvoiceFilter",
    customer=f.id_filter("customer"),
    subscription=f.id_filter("subscription"),
    status=f.choice_filter("status", InvoiceStatus.choices),
    currency=f.char_filter("currency", "iexact"),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)


def _inv_action(summary: str, request_serializer=s.EmptyInputSerializer, **kwargs):
    return extend_schema(
        summary=summary,
        tags=["invoices"],
        request=request_serializer,
        responses=kwargs.pop("responses", s.InvoiceOutputSerializer),
        **kwargs,
    )


def _with_lines_and_taxes(invoices: list[Invoice]) -> list[Invoice]:
    lines, taxes = selectors.invoice_lines_and_taxes(invoice_ids=[i.pk for i in invoices])
    for invoice in invoices:
        setattr(invoice, s.PREFETCHED_LINES, lines[invoice.pk])
        setattr(invoice, s.PREFETCHED_TAXES, taxes[invoice.pk])
    return invoices


@extend_schema_view(
    list=extend_schema(summary="List invoices", tags=["invoices"]),
    retrieve=extend_schema(summary="Retrieve an invoice", tags=["invoices"]),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "invoices"
    serializer_class = s.InvoiceOutputSerializer
    filterset_class = InvoiceFilter

    model = Invoice

    # The API's hottest reads: the detail and the list load lines and taxes with two queries
    # of SQL written once (billing.selectors), not a prefetch, and the detail without filters
    # loads the invoice the same way.
    def get_object(self):
        if self.action != "retrieve" or self.request.query_params:
            return super().get_object()
        invoice = selectors.invoice_by_id(invoice_id=self.lookup_id())
        if invoice is None:
            raise Http404
        self.check_object_permissions(self.request, invoice)
        return _with_lines_and_taxes([invoice])[0]

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return page if page is None else _with_lines_and_taxes(page)

    def _out(self, invoice: Invoice) -> Response:
        invoice = self.get_queryset().get(pk=invoice.pk)
        return Response(s.InvoiceOutputSerializer(invoice).data)

    @extend_schema(
        summary="Create a one-off invoice",
        tags=["invoices"],
        request=s.InvoiceCreateInputSerializer,
        responses={201: s.InvoiceOutputSerializer},
        examples=[
            OpenApiExample(
                "Installation",
                value={
                    "customer": 1,
                    "currency": "CLP",
                    "items": [{"description": "Instalación", "unit_amount_minor": 25000}],
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = dict(_input(s.InvoiceCreateInputSerializer, request))
        items = [
            invoices.ManualItem(
                description=item["description"],
                unit_amount_minor=item["unit_amount_minor"],
                quantity=item.get("quantity", 1),
                tax_rate=item.get("tax_rate"),
                tax_inclusive=item.get("tax_inclusive"),
            )
            for item in data.pop("items")
        ]
        invoice = invoices.invoice_create_one_off(items=items, **data)
        invoice = self.get_queryset().get(pk=invoice.pk)
        return Response(s.InvoiceOutputSerializer(invoice).data, status=status.HTTP_201_CREATED)

    @_inv_action("Finalize a draft invoice (number it and make it payable)")
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        invoice = self.get_object()
        _input(s.EmptyInputSerializer, request)
        return self._out(invoices.invoice_finalize(invoice=invoice))

    @_inv_action("Void an invoice")
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        invoice = self.get_object()
        _input(s.EmptyInputSerializer, request)
        return self._out(invoices.invoice_void(invoice=invoice))

    @_inv_action("Mark an invoice uncollectible")
    @action(detail=True, methods=["post"])
    def mark_uncollectible(self, request, pk=None):
        invoice = self.get_object()
        _input(s.EmptyInputSerializer, request)
        return self._out(invoices.invoice_mark_uncollectible(invoice=invoice))

    @_inv_action(
        "Pay an invoice",
        s.InvoicePayInputSerializer,
        description=(
            "Charges the customer's default payment method now, or records a payment "
            "received outside Cobro with `paid_out_of_band`. A declined charge leaves the "
            "invoice open (check `status`)."
        ),
    )
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        invoice = self.get_object()
        data = _input(s.InvoicePayInputSerializer, request)
        if data["paid_out_of_band"]:
            invoices.invoice_mark_paid(invoice=invoice)
        else:
            from billing.payments.services.charging import invoice_pay_now

            invoice_pay_now(invoice=invoice)
        return self._out(invoice)

    @extend_schema(
        summary="Download the PDF of an issued invoice",
        tags=["invoices"],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
        },
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        invoice = self.get_object()
        from billing.documents.services import DocumentNotIssued, invoice_pdf_bytes

        try:
            filename, content = invoice_pdf_bytes(invoice_id=invoice.pk)
        except DocumentNotIssued:
            raise ApiError(
                ApiErrorCode.DOCUMENT_NOT_AVAILABLE,
                "Draft invoices have no PDF; finalize the invoice first.",
                status_code=409,
            ) from None
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response


# -- credit notes ------------------------------------------------------------------------------


CreditNoteFilter = f.filterset(
    "CreditNoteFilter", invoice=f.id_filter("invoice"), customer=f.id_filter("customer")
)


@extend_schema_view(
    list=extend_schema(summary="List credit notes", tags=["credit notes"]),
    retrieve=extend_schema(summary="Retrieve a credit note", tags=["credit notes"]),
)
class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "credit_notes"
    serializer_class = s.CreditNoteOutputSerializer
    filterset_class = CreditNoteFilter
    pagination_class = _ordered_by("-issued_at", "-pk")

    model = CreditNote

    def scope_queryset(self, queryset):
        return queryset.prefetch_related("lines")

    @extend_schema(
        summary="Issue a credit note against an invoice",
        tags=["credit notes"],
        request=s.CreditNoteCreateInputSerializer,
        responses={201: s.CreditNoteOutputSerializer},
    )
    def create(self, request):
        data = dict(_input(s.CreditNoteCreateInputSerializer, request))
        items = data.pop("items", None)
        note = invoices.credit_note_issue(
            invoice=data["invoice"],
            reason=data.get("reason", ""),
            items=[
                invoices.CreditItem(description=i["description"], amount_minor=i["amount_minor"])
                for i in items
            ]
            if items is not None
            else None,
        )
        note = self.get_queryset().get(pk=note.pk)
        return Response(s.CreditNoteOutputSerializer(note).data, status=status.HTTP_201_CREATED)


# -- test clock (sandbox organizations) ----------------------------------------------------


class TestClockView(ApiView):
    """The organization's test clock. Only sandbox organizations may advance it."""

    resource = "test_clock"

    @extend_schema(
        summary="The organization's clock",
        tags=["test clock"],
        responses=s.TestClockOutputSerializer,
        operation_id="test_clock_retrieve",
    )
    def get(self, request):
        org = self.organization
        return Response(
            s.TestClockOutputSerializer({"is_sandbox": org.is_sandbox, "now": clock.now(org)}).data
        )


class TestClockAdvanceView(ApiView):
    resource = "test_clock"

    @extend_schema(
        summary="Advance a sandbox organization's test clock",
        description=(
            "Moves the clock forward and runs billing period by period on the way, "
            "synchronously. Refused (409) for organizations that are not sandboxes."
        ),
        tags=["test clock"],
        request=s.TestClockAdvanceInputSerializer,
        responses=s.TestClockAdvanceOutputSerializer,
        operation_id="test_clock_advance",
    )
    def post(self, request):
        from billing.services.test_clock import test_clock_advance

        data = _input(s.TestClockAdvanceInputSerializer, request)
        result = test_clock_advance(organization=self.organization, to=data["to"], actor=None)
        return Response(s.TestClockAdvanceOutputSerializer(result).data)
