"""Invoices, their lines and per-rate taxes, credit notes, numbering and the credit ledger.

Document invariants (kept by ``billing.invoicing.build_document`` and checked by tests):
``sum(line.amount_minor) + sum(exclusive tax) == total_minor``;
``subtotal_minor - discount_minor + exclusive tax == total_minor``;
``total_minor - credit_applied_minor == amount_due_minor``.
Inclusive taxes are part of the line amounts and shown for information in ``InvoiceTax``.
Once finalized (status not ``draft``) the document (number, lines, totals) never changes; a
database trigger refuses such updates and services refuse first.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.catalog import Coupon, Price, TaxRate
from billing.models.subscription import CollectionMethod, Subscription
from cobro.models import TenantModel


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    OPEN = "open", _("open")
    PAID = "paid", _("paid")
    VOID = "void", _("void")
    UNCOLLECTIBLE = "uncollectible", _("uncollectible")


IS = InvoiceStatus
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    # A draft has no number yet: it is finalized (open) before it can be paid.
    IS.DRAFT: frozenset({IS.OPEN, IS.VOID}),
    IS.OPEN: frozenset({IS.PAID, IS.VOID, IS.UNCOLLECTIBLE}),
    IS.UNCOLLECTIBLE: frozenset({IS.PAID, IS.VOID}),
    IS.PAID: frozenset(),
    IS.VOID: frozenset(),
}


class BillingReason(models.TextChoices):
    SUBSCRIPTION_CREATE = "subscription_create", _("new subscription")
    SUBSCRIPTION_CYCLE = "subscription_cycle", _("renewal")
    SUBSCRIPTION_UPDATE = "subscription_update", _("plan change")
    MANUAL = "manual", _("one-off")


# Invoices with these reasons bill a whole period: at most one per (subscription, period start).
PERIOD_REASONS = (BillingReason.SUBSCRIPTION_CREATE, BillingReason.SUBSCRIPTION_CYCLE)


class Invoice(TenantModel):
    """A bill. Amounts in minor units of ``currency``; see module docstring for invariants."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=13, choices=InvoiceStatus.choices, default=IS.DRAFT
    )
    billing_reason = models.CharField(max_length=20, choices=BillingReason.choices)
    # Null until finalized (a unique constraint ignores nulls; "" would collide).
    number = models.CharField(_("number"), max_length=32, null=True, blank=True)  # noqa: DJ001
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    subtotal_minor = models.BigIntegerField(_("subtotal"), default=0)
    discount_minor = models.BigIntegerField(_("discount"), default=0)
    tax_minor = models.BigIntegerField(_("tax"), default=0)
    total_minor = models.BigIntegerField(_("total"), default=0)
    credit_applied_minor = models.BigIntegerField(_("credit applied"), default=0)
    amount_due_minor = models.BigIntegerField(_("amount due"), default=0)
    amount_paid_minor = models.BigIntegerField(_("amount paid"), default=0)
    collection_method = models.CharField(
        _("collection"),
        max_length=20,
        choices=CollectionMethod.choices,
        default=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    memo = models.TextField(_("memo"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(subscription__isnull=False)
                & Q(billing_reason__in=["subscription_create", "subscription_cycle"]),
                name="invoice_once_per_subscription_period",
            ),
            models.UniqueConstraint(
                fields=["organization", "number"],
                condition=Q(number__isnull=False),
                name="invoice_unique_number",
            ),
            # Every issued invoice has a number. A draft has none, and neither has a draft
            # that was voided before it was ever issued (a discarded draft): numbers are taken
            # only at finalization, so discarding never leaves a gap in the series.
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(number__isnull=False)
                | Q(status="void", issued_at__isnull=True, sequence_number__isnull=True),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(credit_applied_minor__gte=0) & Q(amount_paid_minor__gte=0),
                name="invoice_nonnegative_credit_paid",
            ),
        ]
        indexes = [
            # Lists and the API page newest first, optionally by status (keyset-friendly).
            models.Index(fields=["organization", "created_at", "id"], name="invoice_org_created"),
            models.Index(
                fields=["organization", "status", "created_at", "id"],
                name="invoice_org_status_created",
                # The home's overdue figure reads the index alone.
                include=["currency", "due_at", "amount_due_minor"],
            ),
            models.Index(fields=["customer", "created_at"], name="invoice_customer_created"),
            # Collections per day for the home's forecast ("collected in the last N days").
            models.Index(
                fields=["organization", "paid_at"],
                name="invoice_org_paid",
                condition=Q(paid_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"


class LineKind(models.TextChoices):
    SUBSCRIPTION = "subscription", _("subscription")
    PRORATION = "proration", _("proration")
    SETUP_FEE = "setup_fee", _("setup fee")
    DISCOUNT = "discount", _("discount")
    MANUAL = "manual", _("item")
    CREDIT = "credit", _("credit")


class InvoiceLine(TenantModel):
    """One line. ``amount_minor`` is signed (discounts and credits are negative) and equals
    ``quantity * unit_amount_minor`` except proration lines, where it is the prorated amount
    rounded once. For ``tax_inclusive`` lines the amount includes the tax."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.IntegerField(_("quantity"), default=1)
    unit_amount_minor = models.BigIntegerField(_("unit amount"))
    amount_minor = models.BigIntegerField(_("amount"))
    price = models.ForeignKey(
        Price, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tax_inclusive = models.BooleanField(default=False)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invoice_id", "position", "pk"]

    def __str__(self) -> str:
        return self.description


class InvoiceTax(TenantModel):
    """Tax of one rate on one document, rounded once (see ``billing.invoicing``)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=50)
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    inclusive = models.BooleanField(default=False)
    taxable_base_minor = models.BigIntegerField()
    amount_minor = models.BigIntegerField()

    class Meta:
        ordering = ["invoice_id", "pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.amount_minor}"


class DocumentType(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class DocumentSequence(TenantModel):
    """Gap-free numbering per organization and document type.

    The row is locked with ``SELECT ... FOR UPDATE`` and incremented inside the transaction
    that finalizes the document, so a rolled-back finalization gives its number back and two
    finalizations never share one. Never ``MAX(number) + 1``.
    """

    doc_type = models.CharField(max_length=12, choices=DocumentType.choices)
    prefix = models.CharField(max_length=10)
    padding = models.PositiveSmallIntegerField(default=6)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "doc_type"], name="documentsequence_unique_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.doc_type} {self.prefix}{self.last_value}"


class CreditNote(TenantModel):
    """A correction of an issued invoice (full or partial). Issued atomically, numbered in its
    own sequence; its total never exceeds the invoice total minus earlier credit notes.
    ``total_minor`` is positive (the amount credited, tax included)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3)
    number = models.CharField(max_length=32)
    sequence_number = models.PositiveIntegerField()
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    subtotal_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    # How much of the total reduced the invoice's amount due / went to the customer's balance.
    applied_to_invoice_minor = models.BigIntegerField(default=0)
    credited_to_balance_minor = models.BigIntegerField(default=0)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="creditnote_unique_number"
            ),
            models.CheckConstraint(condition=Q(total_minor__gt=0), name="creditnote_positive"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(TenantModel):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    amount_minor = models.BigIntegerField()
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tax_inclusive = models.BooleanField(default=False)
    tax_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["credit_note_id", "pk"]

    def __str__(self) -> str:
        return self.description


class CreditLedgerEntry(TenantModel):
    """Append-only customer credit balance. Positive entries add credit (prorations, credit
    notes, adjustments); negative ones consume it (applied to invoices). The balance of a
    customer in a currency is the sum of its entries and is never negative."""

    class Kind(models.TextChoices):
        PRORATION = "proration", _("proration credit")
        CANCELLATION = "cancellation", _("cancellation credit")
        CREDIT_NOTE = "credit_note", _("credit note")
        ADJUSTMENT = "adjustment", _("adjustment")
        APPLIED = "applied", _("applied to invoice")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="credit_entries"
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    description = models.CharField(max_length=300, blank=True)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_entries"
    )
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["customer", "currency"], name="creditledger_customer_cur")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="creditledger_nonzero")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency}"
