"""Customers API: list, create, retrieve, update. Writes go through customers.services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins

from cobro.api import filters as f
from cobro.api.base import ApiViewSet, Response, status
from customers.api.serializers import (
    CustomerCreateInputSerializer,
    CustomerOutputSerializer,
    CustomerUpdateInputSerializer,
)
from customers.models import Customer
from customers.services.customers import customer_create, customer_update

CustomerFilter = f.filterset(
    "CustomerFilter",
    email=f.char_filter("email", "iexact"),
    country=f.char_filter("country", "iexact"),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)


CUSTOMER_EXAMPLE = OpenApiExample(
    "A customer",
    value={"name": "Ana Pérez", "email": "ana@example.cl", "country": "CL", "locale": "es-419"},
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="List customers", tags=["customers"]),
    retrieve=extend_schema(summary="Retrieve a customer", tags=["customers"]),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "customers"
    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    model = Customer

    @extend_schema(
        summary="Create a customer",
        tags=["customers"],
        request=CustomerCreateInputSerializer,
        responses={201: CustomerOutputSerializer},
        examples=[CUSTOMER_EXAMPLE],
    )
    def create(self, request):
        data = CustomerCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_create(organization=self.organization, **data.validated_data)
        return Response(CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update a customer",
        tags=["customers"],
        request=CustomerUpdateInputSerializer,
        responses={200: CustomerOutputSerializer},
    )
    def partial_update(self, request, pk=None):
        customer = self.get_object()
        data = CustomerUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_update(customer=customer, **data.validated_data)
        return Response(CustomerOutputSerializer(customer).data)
