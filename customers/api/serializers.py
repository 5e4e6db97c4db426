"""Input and output serializers of the customers API (no domain writes here)."""

from __future__ import annotations

from rest_framework import serializers

from cobro.api.fields import InputSerializer
from customers.models import Customer

CUSTOMER_OUTPUT_FIELDS = [
    "id",
    "name",
    "email",
    "phone",
    "country",
    "tax_id",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "locale",
    "metadata",
    "created_at",
    "updated_at",
]


class CustomerOutputSerializer(serializers.ModelSerializer):
    metadata = serializers.DictField(help_text="Free-form key/value pairs.")

    class Meta:
        model = Customer
        fields = CUSTOMER_OUTPUT_FIELDS
        read_only_fields = fields
        ref_name = "Customer"


class CustomerCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    locale = serializers.CharField(max_length=10, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)

    class Meta:
        ref_name = "CustomerCreate"


class CustomerUpdateInputSerializer(CustomerCreateInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.CharField(max_length=254, required=False)

    class Meta:
        ref_name = "CustomerUpdate"
