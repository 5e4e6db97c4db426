"""Loyalty points API: a customer's balance and tier, the points ledger, the rewards
catalogue, redeeming a reward for a customer, redemptions, and staff-style adjustments.
Scope ``loyalty:read`` / ``loyalty:write``.

Views parse input, call one service of ``loyalty.services`` and render the output. Refusals
are the loyalty app's stable ``LoyaltyError`` codes in the API's one error body (400 for bad
input, 409 for "not possible in this state": ``insufficient_points``,
``reward_out_of_stock``, ``reward_limit_reached``, ``reward_inactive``,
``programme_disabled``...); the services raise before writing, so a refusal changes nothing.
POSTs accept ``Idempotency-Key``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from billing.api.serializers import ObjectIdField
from cobro.api import filters as f
from cobro.api.base import ApiView, ApiViewSet, Response, status
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError
from cobro.api.fields import InputSerializer, StrictIntegerField
from customers.models import Customer
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import LoyaltyTier, PointsEntry, Redemption, Reward
from loyalty.selectors import customer_standing
from loyalty.services.ledger import points_adjust
from loyalty.services.programme import programme_active
from loyalty.services.rewards import reward_redeem

MAX_POINTS = 10**9

# Bad input (400); every other loyalty refusal is "not possible in this state" (409).
BAD_INPUT = frozenset({LoyaltyErrorCode.INVALID_POINTS, LoyaltyErrorCode.REASON_REQUIRED})


def api_error(exc: LoyaltyError, param: str | None = None) -> ApiError:
    return ApiError(
        exc.code.value,
        exc.message,
        param=param,
        status_code=400 if exc.code in BAD_INPUT else 409,
    )


def _customer_or_404(raw_id) -> Customer:
    raw = str(raw_id)
    customer = (
        Customer.objects.filter(pk=int(raw)).first()
        if raw.isdigit() and raw.isascii() and int(raw) <= 2**63 - 1
        else None
    )
    if customer is None:
        raise ApiError(ApiErrorCode.NOT_FOUND, _("Not found."), status_code=404)
    return customer


# -- serializers -------------------------------------------------------------------------------


class LoyaltyTierOutputSerializer(serializers.ModelSerializer):
    renewal_discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True
    )

    class Meta:
        model = LoyaltyTier
        fields = ["id", "name", "threshold_points", "benefit", "renewal_discount_percent"]
        read_only_fields = fields
        ref_name = "LoyaltyTier"


class LoyaltyBalanceOutputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(help_text="Id of the customer.")
    programme_active = serializers.BooleanField(
        help_text="Whether the organization's loyalty programme is on."
    )
    balance = serializers.IntegerField(
        help_text="Points available to spend (always the sum of the ledger's entries)."
    )
    lifetime_points = serializers.IntegerField(
        help_text="Points earned minus points reversed; decides the tier."
    )
    streak = serializers.IntegerField(help_text="Consecutive invoices paid on time.")
    tier = LoyaltyTierOutputSerializer(allow_null=True, help_text="Current tier, if any.")
    next_tier = LoyaltyTierOutputSerializer(allow_null=True, help_text="Next tier, if any.")
    points_to_next_tier = serializers.IntegerField(
        allow_null=True, help_text="Lifetime points still needed for the next tier."
    )

    class Meta:
        ref_name = "LoyaltyBalance"


class PointsEntryOutputSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", help_text="Id of the customer.")
    invoice = serializers.IntegerField(
        source="invoice_id", allow_null=True, help_text="The invoice that earned or reversed."
    )
    credit_note = serializers.IntegerField(
        source="credit_note_id", allow_null=True, help_text="The credit note that reversed."
    )
    redemption = serializers.IntegerField(
        source="redemption_id", allow_null=True, help_text="The redemption that spent."
    )
    points = serializers.IntegerField(help_text="Positive: earned or added; negative: spent.")

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "customer",
            "kind",
            "points",
            "description",
            "invoice",
            "credit_note",
            "redemption",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields
        ref_name = "PointsEntry"


class RewardOutputSerializer(serializers.ModelSerializer):
    percent_off = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    credit_amount_minor = serializers.IntegerField(
        help_text="Credit on the next invoice, in the currency's minor unit (0 unless "
        "`kind` is `invoice_credit`)."
    )
    stock = serializers.IntegerField(allow_null=True, help_text="Units left (null: unlimited).")
    per_customer_limit = serializers.IntegerField(
        allow_null=True, help_text="Redemptions allowed per customer (null: no limit)."
    )

    class Meta:
        model = Reward
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "points_cost",
            "credit_amount_minor",
            "currency",
            "percent_off",
            "stock",
            "per_customer_limit",
            "active",
            "created_at",
        ]
        read_only_fields = fields
        ref_name = "Reward"


class RedemptionOutputSerializer(serializers.ModelSerializer):
    reward = serializers.IntegerField(source="reward_id", help_text="Id of the reward.")
    customer = serializers.IntegerField(source="customer_id", help_text="Id of the customer.")
    applied_invoice = serializers.IntegerField(
        source="applied_invoice_id",
        allow_null=True,
        help_text="The renewal invoice that applied a renewal reward.",
    )

    class Meta:
        model = Redemption
        fields = [
            "id",
            "reward",
            "customer",
            "points",
            "status",
            "channel",
            "applied_invoice",
            "created_at",
            "fulfilled_at",
        ]
        read_only_fields = fields
        ref_name = "Redemption"


class RedeemInputSerializer(InputSerializer):
    customer = ObjectIdField(model=Customer, help_text="The customer who spends the points.")

    class Meta:
        ref_name = "RedeemReward"


class PointsAdjustInputSerializer(InputSerializer):
    points = StrictIntegerField(
        min_value=-MAX_POINTS,
        max_value=MAX_POINTS,
        help_text="Points to add (positive) or take (negative); not zero.",
    )
    reason = serializers.CharField(
        max_length=300,
        allow_blank=True,  # blank: the service's stable ``reason_required``
        help_text="Why (shown to the customer and kept in the audit log); required.",
    )

    class Meta:
        ref_name = "PointsAdjustment"


# -- views ---------------------------------------------------------------------------------------

PointsEntryFilter = f.filterset(
    "PointsEntryFilter",
    customer=f.id_filter("customer"),
    kind=f.choice_filter("kind", PointsEntry.Kind.choices),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)

RewardFilter = f.filterset(
    "RewardFilter",
    active=f.bool_filter("active"),
    kind=f.choice_filter("kind", Reward.Kind.choices),
)

RedemptionFilter = f.filterset(
    "RedemptionFilter",
    customer=f.id_filter("customer"),
    reward=f.id_filter("reward"),
    status=f.choice_filter("status", Redemption.Status.choices),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)


@extend_schema_view(
    list=extend_schema(
        summary="List points ledger entries",
        description="Every movement of points, newest first. Filter by `customer`, `kind` "
        "(`earn`, `redeem`, `expire`, `reverse`, `adjust`) and creation date.",
        tags=["loyalty"],
    ),
    retrieve=extend_schema(summary="Retrieve a points ledger entry", tags=["loyalty"]),
)
class PointsEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "loyalty"
    serializer_class = PointsEntryOutputSerializer
    filterset_class = PointsEntryFilter
    model = PointsEntry


@extend_schema_view(
    list=extend_schema(
        summary="List rewards",
        description="The rewards catalogue (cheapest first in the dashboard; here newest "
        "first). Filter by `active` and `kind`.",
        tags=["loyalty"],
    ),
    retrieve=extend_schema(summary="Retrieve a reward", tags=["loyalty"]),
)
class RewardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "loyalty"
    serializer_class = RewardOutputSerializer
    filterset_class = RewardFilter
    model = Reward

    @extend_schema(
        summary="Redeem a reward for a customer",
        description="Spends the reward's points from the customer's balance and records a "
        "redemption (an invoice-credit reward is fulfilled at once as customer credit; gifts "
        "wait for staff; renewal rewards apply to the next renewal). Send an "
        "`Idempotency-Key`: a retried request replays the first answer and redeems once. "
        "Error codes: 400 `does_not_exist` (customer); 409 `insufficient_points`, "
        "`reward_out_of_stock`, `reward_limit_reached`, `reward_inactive`, "
        "`reward_no_subscription`, `programme_disabled`. Nothing changes on an error.",
        tags=["loyalty"],
        request=RedeemInputSerializer,
        responses={201: RedemptionOutputSerializer},
        examples=[OpenApiExample("Redeem", value={"customer": 42}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def redeem(self, request, pk=None):
        reward = self.get_object()
        data = RedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            redemption = reward_redeem(
                customer=data.validated_data["customer"],
                reward=reward,
                actor=request.auth,
                channel="api",
                request=request._request,
            )
        except LoyaltyError as exc:
            raise api_error(exc) from exc
        return Response(RedemptionOutputSerializer(redemption).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List redemptions",
        description="Rewards customers redeemed, newest first. Filter by `customer`, "
        "`reward`, `status` and creation date.",
        tags=["loyalty"],
    ),
    retrieve=extend_schema(summary="Retrieve a redemption", tags=["loyalty"]),
)
class RedemptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "loyalty"
    serializer_class = RedemptionOutputSerializer
    filterset_class = RedemptionFilter
    model = Redemption


CUSTOMER_ID = OpenApiParameter("customer_id", int, OpenApiParameter.PATH)


class CustomerLoyaltyView(ApiView):
    resource = "loyalty"

    @extend_schema(
        summary="Retrieve a customer's points balance and tier",
        description="The balance to spend, lifetime points, on-time streak, current and next "
        "tier. A customer who never earned points has a balance of 0.",
        tags=["loyalty"],
        parameters=[CUSTOMER_ID],
        responses={200: LoyaltyBalanceOutputSerializer},
    )
    def get(self, request, customer_id: str):
        customer = _customer_or_404(customer_id)
        standing = customer_standing(customer=customer)
        return Response(
            LoyaltyBalanceOutputSerializer(
                {
                    "customer": customer.pk,
                    "programme_active": programme_active(customer.organization) is not None,
                    "balance": standing.balance,
                    "lifetime_points": standing.lifetime_points,
                    "streak": standing.streak,
                    "tier": standing.tier,
                    "next_tier": standing.next_tier,
                    "points_to_next_tier": standing.points_to_next,
                }
            ).data
        )


class CustomerPointsAdjustmentView(ApiView):
    resource = "loyalty"

    @extend_schema(
        summary="Adjust a customer's points",
        description="Adds (positive) or takes (negative) points with a mandatory reason, as "
        "staff do in the dashboard; recorded in the ledger (kind `adjust`) and the audit log "
        "under the API key. Error codes: 400 `invalid_points`, `reason_required`, "
        "`not_integer`; 409 `insufficient_points` (the balance never goes below zero).",
        tags=["loyalty"],
        parameters=[CUSTOMER_ID],
        request=PointsAdjustInputSerializer,
        responses={201: PointsEntryOutputSerializer},
        examples=[
            OpenApiExample(
                "Goodwill points",
                value={"points": 500, "reason": "Sorry for the outage"},
                request_only=True,
            )
        ],
    )
    def post(self, request, customer_id: str):
        customer = _customer_or_404(customer_id)
        data = PointsAdjustInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            entry = points_adjust(
                customer=customer,
                points=data.validated_data["points"],
                reason=data.validated_data["reason"],
                actor=request.auth,
                request=request._request,
            )
        except LoyaltyError as exc:
            param = "reason" if exc.code == LoyaltyErrorCode.REASON_REQUIRED else "points"
            raise api_error(exc, param) from exc
        return Response(PointsEntryOutputSerializer(entry).data, status=status.HTTP_201_CREATED)
