"""Loyalty API: referrals (list, retrieve, apply a code to a new customer) and a customer's
referral code. Scope ``referrals:read`` / ``referrals:write``.

Refusals are ``LoyaltyError`` codes (``referral_code_unknown``,
``referral_code_other_organization``, ``referral_self``, ``referral_cap_reached``,
``referral_already_referred``, ``referral_not_new_customer``, ``referrals_disabled``) in the
API's one error body; nothing is written then. POST accepts ``Idempotency-Key``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins

from cobro.api import filters as f
from cobro.api.base import ApiView, ApiViewSet, Response, status
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError
from customers.models import Customer
from loyalty.api.serializers import (
    ReferralCodeOutputSerializer,
    ReferralCreateInputSerializer,
    ReferralOutputSerializer,
)
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import Referral
from loyalty.services.referrals import referral_apply, referral_code_for, referral_link

# "Not in this state" rather than bad input.
CONFLICT = frozenset(
    {
        LoyaltyErrorCode.REFERRAL_ALREADY_REFERRED,
        LoyaltyErrorCode.REFERRAL_NOT_NEW_CUSTOMER,
        LoyaltyErrorCode.REFERRAL_CAP_REACHED,
        LoyaltyErrorCode.REFERRALS_DISABLED,
    }
)

ReferralFilter = f.filterset(
    "ReferralFilter",
    referrer=f.id_filter("referrer"),
    referred=f.id_filter("referred"),
    status=f.choice_filter("status", Referral.Status.choices),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)


def api_error(exc: LoyaltyError, param: str = "code") -> ApiError:
    return ApiError(
        exc.code.value,
        exc.message,
        param=param,
        status_code=409 if exc.code in CONFLICT else 400,
    )


@extend_schema_view(
    list=extend_schema(
        summary="List referrals",
        description="Newest first. Filter by `referrer` to see the referrals a customer made.",
        tags=["referrals"],
    ),
    retrieve=extend_schema(summary="Retrieve a referral", tags=["referrals"]),
)
class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "referrals"
    serializer_class = ReferralOutputSerializer
    filterset_class = ReferralFilter
    http_method_names = ["get", "post", "head", "options"]

    model = Referral

    @extend_schema(
        summary="Apply a referral code to a new customer",
        description="Records that `customer` signed up with `code`. Both sides receive the "
        "programme's referral reward when the customer's first payment succeeds (once). "
        "Refused for the referrer themselves (same customer, email or card fingerprint), a "
        "code of another organization, a customer already referred or who already paid, and "
        "when the referrer reached the programme's cap. Error codes: 400 "
        "`referral_code_unknown`, `referral_code_other_organization`, `referral_self`; 409 "
        "`referral_already_referred`, `referral_not_new_customer`, `referral_cap_reached`, "
        "`referrals_disabled`.",
        tags=["referrals"],
        request=ReferralCreateInputSerializer,
        responses={201: ReferralOutputSerializer},
        examples=[
            OpenApiExample(
                "Apply a code", value={"customer": 42, "code": "K7M2QX9P"}, request_only=True
            )
        ],
    )
    def create(self, request):
        data = ReferralCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            referral = referral_apply(
                customer=data.validated_data["customer"],
                code=data.validated_data["code"],
                source=Referral.Source.API,
            )
        except LoyaltyError as exc:
            raise api_error(exc) from exc
        return Response(ReferralOutputSerializer(referral).data, status=status.HTTP_201_CREATED)


class CustomerReferralCodeView(ApiView):
    resource = "referrals"

    @extend_schema(
        summary="Retrieve a customer's referral code",
        description="The code and sign-up link the customer shares (created on first use).",
        tags=["referrals"],
        parameters=[OpenApiParameter("customer_id", int, OpenApiParameter.PATH)],
        responses={200: ReferralCodeOutputSerializer},
    )
    def get(self, request, customer_id: str):
        raw = str(customer_id)
        customer = (
            Customer.objects.filter(pk=int(raw)).first()
            if raw.isdigit() and raw.isascii() and int(raw) <= 2**63 - 1
            else None
        )
        if customer is None:
            raise ApiError(ApiErrorCode.NOT_FOUND, _("Not found."), status_code=404)
        code = referral_code_for(customer=customer)
        return Response(
            ReferralCodeOutputSerializer(
                {
                    "customer": customer.pk,
                    "code": code.code,
                    "link": referral_link(customer=customer),
                }
            ).data
        )
