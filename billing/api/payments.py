"""Payments API: payment methods (attach a gateway token, default, remove), payments (the
attempts to collect invoices) with refunds, and refunds. Views parse input, call one service
of ``billing.payments.services`` and render the output; card numbers never pass through here,
only the tokens a gateway's own fields produced in the customer's browser."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from billing.api.serializers import EmptyInputSerializer, ObjectIdField
from billing.models import SubscriptionStatus
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import (
    AttemptStatus,
    GatewayName,
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodType,
    Refund,
)
from cobro.api import filters as f
from cobro.api.base import ApiViewSet, Response, status
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError
from cobro.api.fields import InputSerializer, MinorUnitsField, StrictBooleanField
from customers.models import Customer

CHARGEABLE = (PaymentMethodType.CARD, PaymentMethodType.WALLET)
OFFLINE = (PaymentMethodType.BANK_TRANSFER, PaymentMethodType.CASH)


def _input(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


# -- serializers -------------------------------------------------------------------------------


class PaymentMethodOutputSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    last4 = serializers.CharField()

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "customer",
            "type",
            "gateway",
            "brand",
            "last4",
            "exp_month",
            "exp_year",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


class PaymentMethodCreateInputSerializer(InputSerializer):
    customer = ObjectIdField(model=Customer)
    type = serializers.ChoiceField(
        choices=PaymentMethodType.choices,
        required=False,
        default=PaymentMethodType.CARD,
        help_text="`card` or `wallet` need a gateway `token`; `bank_transfer` and `cash` none.",
    )
    gateway = serializers.ChoiceField(
        choices=GatewayName.choices,
        required=False,
        default="sandbox",
        help_text="The gateway whose fields produced the token (not `manual`).",
    )
    token = serializers.CharField(
        max_length=200,
        required=False,
        help_text=(
            "What the gateway's own fields returned in the browser (Stripe: a PaymentMethod "
            "or SetupIntent id; sandbox: tok_sandbox_*). Never a card number."
        ),
    )
    make_default = StrictBooleanField(
        required=False,
        help_text="Make it the customer's default; omitted: yes for cards and wallets, no for "
        "bank transfer and cash.",
    )

    def validate(self, attrs):
        if attrs["type"] in CHARGEABLE and attrs["gateway"] == "manual":
            raise serializers.ValidationError(
                {"gateway": [_("Cards and wallets are saved through a payment gateway.")]},
                code="invalid",
            )
        if attrs["type"] in CHARGEABLE and not attrs.get("token"):
            raise serializers.ValidationError(
                {"token": [_("A gateway token is required for cards and wallets.")]},
                code="required",
            )
        if attrs["type"] in OFFLINE and attrs.get("token"):
            raise serializers.ValidationError(
                {"token": [_("Bank transfer and cash methods take no token.")]},
                code="invalid",
            )
        return attrs


class PaymentOutputSerializer(serializers.ModelSerializer):
    invoice = serializers.IntegerField(source="invoice_id")
    customer = serializers.IntegerField(source="customer_id")
    payment_method = serializers.IntegerField(source="payment_method_id", allow_null=True)
    refundable_minor = serializers.SerializerMethodField()

    class Meta:
        model = PaymentAttempt
        fields = [
            "id",
            "invoice",
            "customer",
            "attempt_number",
            "status",
            "trigger",
            "payment_method",
            "gateway",
            "amount_minor",
            "currency",
            "refunded_minor",
            "refundable_minor",
            "gateway_reference",
            "decline_code",
            "decline_message",
            "hard_decline",
            "disputed",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_refundable_minor(self, attempt: PaymentAttempt) -> int:
        if attempt.status not in (AttemptStatus.SUCCEEDED, AttemptStatus.PARTIALLY_REFUNDED):
            return 0
        return max(0, attempt.amount_minor - attempt.refunded_minor)


class RefundOutputSerializer(serializers.ModelSerializer):
    payment = serializers.IntegerField(source="attempt_id")
    credit_note = serializers.IntegerField(source="credit_note_id", allow_null=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "amount_minor",
            "currency",
            "status",
            "reason",
            "credit_note",
            "gateway_reference",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class RefundCreateInputSerializer(InputSerializer):
    amount_minor = MinorUnitsField(
        min_value=1,
        required=False,
        help_text="Minor units to refund; omitted: everything not yet refunded.",
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


# -- payment methods ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List payment methods", tags=["payment methods"]),
    retrieve=extend_schema(summary="Retrieve a payment method", tags=["payment methods"]),
)
class PaymentMethodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Saved methods of customers (removed ones are gone from the API)."""

    resource = "payment_methods"
    serializer_class = PaymentMethodOutputSerializer
    filterset_class = f.filterset(
        "PaymentMethodFilter",
        customer=f.id_filter("customer"),
        type=f.choice_filter("type", PaymentMethodType.choices),
        is_default=f.bool_filter("is_default"),
    )
    model = PaymentMethod

    def scope_queryset(self, queryset):
        return queryset.filter(removed_at__isnull=True)

    @extend_schema(
        summary="Attach a payment method to a customer",
        tags=["payment methods"],
        request=PaymentMethodCreateInputSerializer,
        responses={201: PaymentMethodOutputSerializer},
        examples=[
            OpenApiExample(
                "Sandbox card",
                value={"customer": 1, "gateway": "sandbox", "token": "tok_sandbox_success"},
                request_only=True,
            ),
            OpenApiExample(
                "Bank transfer", value={"customer": 1, "type": "bank_transfer"}, request_only=True
            ),
        ],
    )
    def create(self, request):
        from billing.payments.services.methods import (
            payment_method_add_card,
            payment_method_add_offline,
        )

        data = _input(PaymentMethodCreateInputSerializer, request)
        customer = data["customer"]
        make_default = data.get("make_default", data["type"] in CHARGEABLE)
        if data["type"] in OFFLINE:
            method = payment_method_add_offline(
                customer=customer, type=data["type"], make_default=make_default
            )
        else:
            method = payment_method_add_card(
                customer=customer,
                gateway=data["gateway"],
                token=data["token"],
                make_default=make_default,
            )
        method = self.get_queryset().get(pk=method.pk)
        return Response(PaymentMethodOutputSerializer(method).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Make a payment method the customer's default",
        description=(
            "A customer with failed payments gets an immediate retry with the new default."
        ),
        tags=["payment methods"],
        request=EmptyInputSerializer,
        responses=PaymentMethodOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def set_default(self, request, pk=None):
        from billing.payments.services.methods import payment_method_set_default

        method = self.get_object()
        _input(EmptyInputSerializer, request)
        payment_method_set_default(method=method)
        return Response(PaymentMethodOutputSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(
        summary="Remove a payment method",
        description=(
            "The last card or wallet of a customer with an automatically charged "
            "subscription cannot be removed (`payment_method_required`): attach another one "
            "first. Removing the default promotes the newest other card or wallet."
        ),
        tags=["payment methods"],
        responses={204: None},
    )
    def destroy(self, request, pk=None):
        from billing.models import Subscription
        from billing.payments.services.methods import (
            payment_method_remove,
            payment_method_set_default,
        )

        method = self.get_object()
        with transaction.atomic():
            Customer.objects.select_for_update().get(pk=method.customer_id)
            others = list(
                self.get_queryset()
                .filter(customer_id=method.customer_id, type__in=CHARGEABLE)
                .exclude(pk=method.pk)
                .order_by("-created_at", "-pk")
            )
            needs_method = Subscription.objects.filter(
                customer_id=method.customer_id,
                status__in=(
                    SubscriptionStatus.ACTIVE,
                    SubscriptionStatus.TRIALING,
                    SubscriptionStatus.PAST_DUE,
                    SubscriptionStatus.UNPAID,
                ),
                collection_method="charge_automatically",
            ).exists()
            if needs_method and method.type in CHARGEABLE and not others:
                raise ApiError(
                    ApiErrorCode.PAYMENT_METHOD_REQUIRED,
                    gettext(
                        "This method pays an automatically charged subscription; attach "
                        "another card first."
                    ),
                    status_code=409,
                )
            was_default = method.is_default
            payment_method_remove(method=method)
            if was_default and others:
                payment_method_set_default(method=others[0])
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- payments and refunds ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List payments", tags=["payments"]),
    retrieve=extend_schema(summary="Retrieve a payment", tags=["payments"]),
)
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Every attempt to collect an invoice (automatic charges, retries, pay-now, manual
    payments), with its state: pending, succeeded, failed, unknown (being settled with the
    gateway), refunded, partially_refunded."""

    resource = "payments"
    serializer_class = PaymentOutputSerializer
    filterset_class = f.filterset(
        "PaymentFilter",
        invoice=f.id_filter("invoice"),
        customer=f.id_filter("customer"),
        status=f.choice_filter("status", AttemptStatus.choices),
        created_gte=f.datetime_filter("created_at", "gte"),
        created_lt=f.datetime_filter("created_at", "lt"),
    )
    model = PaymentAttempt
    required_scopes = {"refund": "refunds:write"}

    @extend_schema(
        summary="Refund a payment, fully or partly",
        description=(
            "Refunds at the gateway and issues a credit note for the amount. A refund larger "
            "than what is left is `refund_exceeds_payment`; only succeeded or partially "
            "refunded payments can be refunded."
        ),
        tags=["payments"],
        request=RefundCreateInputSerializer,
        responses={201: RefundOutputSerializer},
        examples=[
            OpenApiExample(
                "Partial", value={"amount_minor": 5000, "reason": "Descuento"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        from billing.payments.services.refunds import payment_refund

        attempt = self.get_object()
        data = _input(RefundCreateInputSerializer, request)
        try:
            refund = payment_refund(
                attempt=attempt, amount_minor=data.get("amount_minor"), reason=data["reason"]
            )
        except PaymentError as exc:
            if exc.code == PaymentErrorCode.REFUND_FAILED:
                raise ApiError(ApiErrorCode.GATEWAY_ERROR, exc.message, status_code=502) from None
            raise
        refund = Refund.objects.get(pk=refund.pk)
        return Response(RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List refunds", tags=["refunds"]),
    retrieve=extend_schema(summary="Retrieve a refund", tags=["refunds"]),
)
class RefundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "refunds"
    serializer_class = RefundOutputSerializer
    filterset_class = f.filterset(
        "RefundFilter",
        payment=f.id_filter("attempt"),
        status=f.choice_filter("status", Refund.Status.choices),
    )
    model = Refund
