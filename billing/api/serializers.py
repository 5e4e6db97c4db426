"""Input and output serializers of the billing API. Amounts are integers in minor units next
to an ISO 4217 ``currency``; timestamps ISO 8601 UTC. No domain writes here: views call the
services of ``billing.services``."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from billing.models import (
    CollectionMethod,
    Coupon,
    CreditNote,
    CreditNoteLine,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Price,
    Product,
    Subscription,
    TaxBehavior,
    TaxRate,
)
from cobro.api.fields import (
    CurrencyField,
    InputSerializer,
    MinorUnitsField,
    StrictBooleanField,
    StrictIntegerField,
)
from customers.models import Customer


class ObjectIdField(StrictIntegerField):
    """The id of an object of the key's organization (another organization's: no such)."""

    def __init__(self, *, model, **kwargs):
        self.model = model
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        pk = super().run_validation(data)
        if pk is None or pk is serializers.empty:
            return pk
        obj = self.model.objects.filter(pk=pk).first()
        if obj is None:
            raise serializers.ValidationError(
                _("No such %(model)s: %(id)s.")
                % {"model": self.model._meta.verbose_name, "id": pk},
                code="does_not_exist",
            )
        return obj


# -- catalog -----------------------------------------------------------------------------------


class TaxRateOutputSerializer(serializers.ModelSerializer):
    percentage = serializers.DecimalField(max_digits=7, decimal_places=4, coerce_to_string=True)

    class Meta:
        model = TaxRate
        fields = ["id", "name", "percentage", "inclusive", "country", "active", "created_at"]
        read_only_fields = fields


class TaxRateCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=50)
    percentage = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=100,
        help_text='Exact decimal as a string, e.g. "19" or "19.5".',
    )
    inclusive = StrictBooleanField(required=False, default=False)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, default="")


class ProductOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "description", "active", "created_at"]
        read_only_fields = fields


class ProductCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProductUpdateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    active = StrictBooleanField(required=False)


class PriceOutputSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id")
    tax_rate = serializers.IntegerField(source="tax_rate_id", allow_null=True)
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True)

    class Meta:
        model = Price
        fields = [
            "id",
            "product",
            "nickname",
            "currency",
            "amount_minor",
            "interval",
            "interval_count",
            "trial_days",
            "setup_fee_minor",
            "tax_behavior",
            "tax_rate",
            "active",
            "archived_at",
            "version",
            "replaces",
            "created_at",
        ]
        read_only_fields = fields


class PriceCreateInputSerializer(InputSerializer):
    product = ObjectIdField(model=Product)
    currency = CurrencyField()
    amount_minor = MinorUnitsField(min_value=1)
    interval = serializers.ChoiceField(choices=Interval.choices, required=False)
    interval_count = StrictIntegerField(min_value=1, max_value=366, required=False)
    trial_days = StrictIntegerField(min_value=0, max_value=730, required=False)
    setup_fee_minor = MinorUnitsField(required=False)
    tax_behavior = serializers.ChoiceField(choices=TaxBehavior.choices, required=False)
    tax_rate = ObjectIdField(model=TaxRate, required=False, allow_null=True)
    nickname = serializers.CharField(max_length=100, required=False, allow_blank=True)


class PriceUpdateInputSerializer(InputSerializer):
    currency = CurrencyField(required=False)
    amount_minor = MinorUnitsField(min_value=1, required=False)
    interval = serializers.ChoiceField(choices=Interval.choices, required=False)
    interval_count = StrictIntegerField(min_value=1, max_value=366, required=False)
    trial_days = StrictIntegerField(min_value=0, max_value=730, required=False)
    setup_fee_minor = MinorUnitsField(required=False)
    tax_behavior = serializers.ChoiceField(choices=TaxBehavior.choices, required=False)
    tax_rate = ObjectIdField(model=TaxRate, required=False, allow_null=True)
    nickname = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CouponOutputSerializer(serializers.ModelSerializer):
    percent_off = serializers.DecimalField(
        max_digits=7, decimal_places=4, coerce_to_string=True, allow_null=True
    )

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "name",
            "percent_off",
            "amount_off_minor",
            "currency",
            "duration",
            "duration_periods",
            "max_redemptions",
            "times_redeemed",
            "redeem_by",
            "active",
            "created_at",
        ]
        read_only_fields = fields


class CouponCreateInputSerializer(InputSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{1,40}$")
    name = serializers.CharField(max_length=100)
    percent_off = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, required=False
    )
    amount_off_minor = MinorUnitsField(min_value=1, required=False)
    currency = CurrencyField(required=False)
    duration = serializers.ChoiceField(choices=Coupon.Duration.choices, required=False)
    duration_periods = StrictIntegerField(min_value=1, max_value=1000, required=False)
    max_redemptions = StrictIntegerField(min_value=1, max_value=2**31 - 1, required=False)
    redeem_by = serializers.DateTimeField(required=False)


# -- subscriptions -------------------------------------------------------------------------


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    price = serializers.IntegerField(source="price_id")
    coupon = serializers.IntegerField(source="coupon_id", allow_null=True)
    pending_price = serializers.IntegerField(source="pending_price_id", allow_null=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "customer",
            "price",
            "quantity",
            "status",
            "currency",
            "started_at",
            "billing_anchor_day",
            "current_period_start",
            "current_period_end",
            "trial_end",
            "cancel_at_period_end",
            "canceled_at",
            "paused_at",
            "resume_at",
            "collection_method",
            "days_until_due",
            "coupon",
            "pending_price",
            "pending_quantity",
            "next_billing_at",
            "metadata",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionCreateInputSerializer(InputSerializer):
    customer = ObjectIdField(model=Customer)
    price = ObjectIdField(model=Price)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000, required=False)
    trial_days = StrictIntegerField(min_value=0, max_value=730, required=False)
    anchor_day = StrictIntegerField(min_value=1, max_value=31, required=False)
    coupon = ObjectIdField(model=Coupon, required=False, allow_null=True)
    collection_method = serializers.ChoiceField(choices=CollectionMethod.choices, required=False)
    days_until_due = StrictIntegerField(min_value=0, max_value=365, required=False)


class SubscriptionPauseInputSerializer(InputSerializer):
    resume_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When billing resumes; omit for never."
    )


class SubscriptionCancelInputSerializer(InputSerializer):
    at_period_end = StrictBooleanField(required=False, default=False)
    prorated_credit = StrictBooleanField(
        required=False,
        default=False,
        help_text="Cancelling now: credit the unused part of the period to the balance.",
    )


class EmptyInputSerializer(InputSerializer):
    pass


class SubscriptionChangeInputSerializer(InputSerializer):
    price = ObjectIdField(model=Price, required=False)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000, required=False)
    when = serializers.ChoiceField(choices=["now", "next_period"], required=False, default="now")
    prorate = StrictBooleanField(required=False, default=True)


class DraftLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount_minor = serializers.IntegerField(source="unit_amount")
    amount_minor = serializers.IntegerField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)


class DraftDocumentSerializer(serializers.Serializer):
    currency = serializers.CharField()
    lines = DraftLineSerializer(many=True)
    subtotal_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    tax_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    credit_applied_minor = serializers.IntegerField()
    amount_due_minor = serializers.IntegerField()


class ChangePreviewOutputSerializer(serializers.Serializer):
    """What a change would do, computed by the same planner, with nothing written."""

    status = serializers.CharField(source="after.status")
    price = serializers.IntegerField(source="after.price.id", allow_null=True)
    quantity = serializers.IntegerField(source="after.quantity")
    pending_price = serializers.SerializerMethodField()
    pending_quantity = serializers.IntegerField(source="after.pending_quantity", allow_null=True)
    invoice = DraftDocumentSerializer(source="document", allow_null=True)
    credit_minor = serializers.IntegerField(
        help_text="Credit added to the customer's balance (a net credit of the change)."
    )

    def get_pending_price(self, plan) -> int | None:
        pending = plan.after.pending_price
        return pending.id if pending is not None else None


class SubscriptionChangeOutputSerializer(serializers.Serializer):
    subscription = SubscriptionOutputSerializer()
    invoice = serializers.IntegerField(
        allow_null=True, help_text="The proration invoice, when one was issued."
    )


# -- invoices ----------------------------------------------------------------------------------


# The invoice serializers are the API's hottest read path (detail and list). DRF builds every
# ModelSerializer's fields anew for each instance of the serializer (model introspection, a
# deep copy, lazy translations), which cost several times the rest of the request. Their
# ``to_representation`` is therefore written out by hand, field by field, with DRF's own field
# representations (ISO 8601 datetimes in the current time zone, "Z" for UTC; decimals as
# strings). The declared fields still describe the output (OpenAPI schema), and a test checks
# that both give the same output for every field.
_DATETIME = serializers.DateTimeField()
_PERCENTAGE = serializers.DecimalField(max_digits=7, decimal_places=4, coerce_to_string=True)
# InvoiceViewSet loads lines and taxes into these attributes (a plain list per invoice);
# without them the serializer reads the related managers.
PREFETCHED_LINES = "api_lines"
PREFETCHED_TAXES = "api_taxes"


def _int(value):
    return None if value is None else int(value)


def _str(value):
    return None if value is None else str(value)


def _choice(value):
    return value if value in ("", None) else str(value)


def _datetime(value, tz):
    """DRF's DateTimeField output: ISO 8601 in the current time zone ``tz``, "Z" for UTC."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return _DATETIME.to_representation(value)
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class InvoiceLineOutputSerializer(serializers.ModelSerializer):
    price = serializers.IntegerField(source="price_id", allow_null=True)
    tax_rate = serializers.IntegerField(source="tax_rate_id", allow_null=True)

    def to_representation(self, line: InvoiceLine) -> dict:
        return _line_representation(line, timezone.get_current_timezone())

    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "kind",
            "description",
            "quantity",
            "unit_amount_minor",
            "amount_minor",
            "price",
            "tax_rate",
            "tax_inclusive",
            "period_start",
            "period_end",
        ]
        read_only_fields = fields


def _line_representation(line, tz) -> dict:
    """``line``: an InvoiceLine, or a row with its attribute names (billing.selectors)."""
    return {
        "id": _int(line.id),
        "kind": _choice(line.kind),
        "description": _str(line.description),
        "quantity": _int(line.quantity),
        "unit_amount_minor": _int(line.unit_amount_minor),
        "amount_minor": _int(line.amount_minor),
        "price": _int(line.price_id),
        "tax_rate": _int(line.tax_rate_id),
        "tax_inclusive": None if line.tax_inclusive is None else bool(line.tax_inclusive),
        "period_start": _datetime(line.period_start, tz),
        "period_end": _datetime(line.period_end, tz),
    }


class InvoiceTaxOutputSerializer(serializers.ModelSerializer):
    tax_rate = serializers.IntegerField(source="tax_rate_id")
    percentage = serializers.DecimalField(max_digits=7, decimal_places=4, coerce_to_string=True)

    def to_representation(self, tax: InvoiceTax) -> dict:
        return _tax_representation(tax)

    class Meta:
        model = InvoiceTax
        fields = [
            "tax_rate",
            "name",
            "percentage",
            "inclusive",
            "taxable_base_minor",
            "amount_minor",
        ]
        read_only_fields = fields


def _tax_representation(tax) -> dict:
    """``tax``: an InvoiceTax, or a row with its attribute names (billing.selectors)."""
    return {
        "tax_rate": _int(tax.tax_rate_id),
        "name": _str(tax.name),
        "percentage": None
        if tax.percentage is None
        else _PERCENTAGE.to_representation(tax.percentage),
        "inclusive": None if tax.inclusive is None else bool(tax.inclusive),
        "taxable_base_minor": _int(tax.taxable_base_minor),
        "amount_minor": _int(tax.amount_minor),
    }


class InvoiceOutputSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    subscription = serializers.IntegerField(source="subscription_id", allow_null=True)
    coupon = serializers.IntegerField(source="coupon_id", allow_null=True)
    lines = InvoiceLineOutputSerializer(many=True)
    taxes = InvoiceTaxOutputSerializer(many=True)

    def to_representation(self, invoice: Invoice) -> dict:
        tz = timezone.get_current_timezone()
        lines = getattr(invoice, PREFETCHED_LINES, None)
        if lines is None:
            lines = invoice.lines.all()
        taxes = getattr(invoice, PREFETCHED_TAXES, None)
        if taxes is None:
            taxes = invoice.taxes.all()
        return {
            "id": _int(invoice.id),
            "number": _str(invoice.number),
            "customer": _int(invoice.customer_id),
            "subscription": _int(invoice.subscription_id),
            "status": _choice(invoice.status),
            "billing_reason": _choice(invoice.billing_reason),
            "currency": _str(invoice.currency),
            "period_start": _datetime(invoice.period_start, tz),
            "period_end": _datetime(invoice.period_end, tz),
            "created_at": _datetime(invoice.created_at, tz),
            "issued_at": _datetime(invoice.issued_at, tz),
            "due_at": _datetime(invoice.due_at, tz),
            "paid_at": _datetime(invoice.paid_at, tz),
            "voided_at": _datetime(invoice.voided_at, tz),
            "subtotal_minor": _int(invoice.subtotal_minor),
            "discount_minor": _int(invoice.discount_minor),
            "tax_minor": _int(invoice.tax_minor),
            "total_minor": _int(invoice.total_minor),
            "credit_applied_minor": _int(invoice.credit_applied_minor),
            "amount_due_minor": _int(invoice.amount_due_minor),
            "amount_paid_minor": _int(invoice.amount_paid_minor),
            "collection_method": _choice(invoice.collection_method),
            "coupon": _int(invoice.coupon_id),
            "memo": _str(invoice.memo),
            "lines": [_line_representation(x, tz) for x in lines],
            "taxes": [_tax_representation(x) for x in taxes],
        }

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "customer",
            "subscription",
            "status",
            "billing_reason",
            "currency",
            "period_start",
            "period_end",
            "created_at",
            "issued_at",
            "due_at",
            "paid_at",
            "voided_at",
            "subtotal_minor",
            "discount_minor",
            "tax_minor",
            "total_minor",
            "credit_applied_minor",
            "amount_due_minor",
            "amount_paid_minor",
            "collection_method",
            "coupon",
            "memo",
            "lines",
            "taxes",
        ]
        read_only_fields = fields


class InvoiceItemInputSerializer(InputSerializer):
    description = serializers.CharField(max_length=300)
    unit_amount_minor = MinorUnitsField(min_value=1)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    tax_rate = ObjectIdField(model=TaxRate, required=False, allow_null=True)
    tax_inclusive = StrictBooleanField(required=False, allow_null=True)


class InvoiceCreateInputSerializer(InputSerializer):
    customer = ObjectIdField(model=Customer)
    currency = CurrencyField()
    items = InvoiceItemInputSerializer(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]
    collection_method = serializers.ChoiceField(choices=CollectionMethod.choices, required=False)
    memo = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    finalize = StrictBooleanField(required=False, default=True)


class InvoicePayInputSerializer(InputSerializer):
    paid_out_of_band = StrictBooleanField(
        required=False,
        default=False,
        help_text=(
            "true: record a payment received outside Cobro (cash, transfer); false: charge "
            "the customer's default payment method now."
        ),
    )


class CreditNoteLineOutputSerializer(serializers.ModelSerializer):
    invoice_line = serializers.IntegerField(source="invoice_line_id", allow_null=True)

    class Meta:
        model = CreditNoteLine
        fields = ["id", "invoice_line", "description", "amount_minor", "tax_inclusive", "tax_minor"]
        read_only_fields = fields


class CreditNoteOutputSerializer(serializers.ModelSerializer):
    invoice = serializers.IntegerField(source="invoice_id")
    customer = serializers.IntegerField(source="customer_id")
    lines = CreditNoteLineOutputSerializer(many=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "invoice",
            "customer",
            "currency",
            "reason",
            "subtotal_minor",
            "tax_minor",
            "total_minor",
            "applied_to_invoice_minor",
            "credited_to_balance_minor",
            "issued_at",
            "lines",
        ]
        read_only_fields = fields


class CreditNoteItemInputSerializer(InputSerializer):
    description = serializers.CharField(max_length=300)
    amount_minor = MinorUnitsField(min_value=1)


class CreditNoteCreateInputSerializer(InputSerializer):
    invoice = ObjectIdField(model=Invoice)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    items = CreditNoteItemInputSerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=100,
        help_text="Omit to credit the whole invoice.",
    )  # type: ignore[call-arg]


# -- test clock ----------------------------------------------------------------------------


class TestClockOutputSerializer(serializers.Serializer):
    is_sandbox = serializers.BooleanField()
    now = serializers.DateTimeField()


class TestClockAdvanceInputSerializer(InputSerializer):
    to = serializers.DateTimeField(help_text="ISO 8601 instant later than the clock's current.")


class TestClockAdvanceOutputSerializer(serializers.Serializer):
    previous = serializers.DateTimeField()
    current = serializers.DateTimeField()
    steps = serializers.IntegerField()
    invoices = serializers.IntegerField()
    subscriptions = serializers.IntegerField()
