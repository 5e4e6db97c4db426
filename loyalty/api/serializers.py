"""Input and output serializers of the loyalty API (no domain writes here)."""

from __future__ import annotations

from rest_framework import serializers

from billing.api.serializers import ObjectIdField
from cobro.api.fields import InputSerializer
from customers.models import Customer
from loyalty.models import Referral


class ReferralOutputSerializer(serializers.ModelSerializer):
    referrer = serializers.IntegerField(source="referrer_id", help_text="Id of the referrer.")
    referred = serializers.IntegerField(
        source="referred_id", help_text="Id of the referred (new) customer."
    )
    qualifying_invoice = serializers.IntegerField(
        source="qualifying_invoice_id",
        allow_null=True,
        help_text="The referred customer's first paid invoice, once it arrived.",
    )
    referrer_points = serializers.IntegerField(
        help_text="Points the referrer received (0 until rewarded)."
    )
    referred_points = serializers.IntegerField(
        help_text="Points the referred customer received (0 until rewarded)."
    )
    rejection_reason = serializers.CharField(
        help_text="Why a referral was rejected at payment time (`same_payment_method`), or empty."
    )
    decided_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was rewarded or rejected."
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "referrer",
            "referred",
            "code",
            "source",
            "status",
            "rejection_reason",
            "referrer_points",
            "referred_points",
            "qualifying_invoice",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields
        ref_name = "Referral"


class ReferralCreateInputSerializer(InputSerializer):
    customer = ObjectIdField(
        model=Customer, help_text="The new customer who signed up with the code."
    )
    code = serializers.CharField(max_length=32, help_text="The referrer's referral code.")

    class Meta:
        ref_name = "ReferralCreate"


class ReferralCodeOutputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(help_text="Id of the customer who owns the code.")
    code = serializers.CharField(help_text="The code to share (unique across Cobro).")
    link = serializers.URLField(help_text="Sign-up link that carries the code.")

    class Meta:
        ref_name = "ReferralCode"
