"""Payments: methods, gateway accounts, attempts (a state machine), refunds, dunning, the
inbound webhook log and the sandbox gateway's own ledger.

Invariants kept by database constraints (idempotency is a database fact):
- one ``PaymentAttempt`` per (invoice, attempt_number); its ``idempotency_key`` is derived
  from that pair and stored before the gateway is called;
- at most one attempt per invoice in flight (status ``pending`` or ``unknown``), so a
  customer's "pay now" racing the automatic charge cannot charge twice;
- one inbound webhook per (gateway, event id): a replay is a no-op.
Amounts are integer minor units of ``currency``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cobro.fields import EncryptedTextField
from cobro.models import TenantModel


class GatewayName(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox (test cards)")
    STRIPE = "stripe", "Stripe"
    MERCADOPAGO = "mercadopago", "Mercado Pago"
    MANUAL = "manual", _("Manual (bank transfer, cash)")


class GatewayAccount(TenantModel):
    """An organization's credentials for one gateway (encrypted at rest)."""

    gateway = models.CharField(_("gateway"), max_length=20, choices=GatewayName.choices)
    # JSON object of the provider's keys (e.g. {"secret_key": ...}); never shown back in full.
    credentials = EncryptedTextField(_("credentials"), blank=True)
    webhook_secret = EncryptedTextField(_("webhook signing secret"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    is_default = models.BooleanField(_("default for card payments"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "gateway"], name="gatewayaccount_one_per_gateway"
            )
        ]

    def __str__(self) -> str:
        return self.get_gateway_display()


class GatewayCustomer(TenantModel):
    """A customer's id at a gateway (e.g. Stripe's ``cus_...``), created once and reused for
    every card saved there."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="gateway_customers"
    )
    gateway = models.CharField(_("gateway"), max_length=20, choices=GatewayName.choices)
    reference = models.CharField(_("gateway customer id"), max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "gateway"], name="gatewaycustomer_one_per_gateway"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.reference}"


class PaymentMethodType(models.TextChoices):
    CARD = "card", _("card")
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    CASH = "cash", _("cash")
    WALLET = "wallet", _("wallet")


class WalletKind(models.TextChoices):
    """Wallets a gateway can save for off-session charges (the wallet tokenizes a card)."""

    APPLE_PAY = "apple_pay", "Apple Pay"
    GOOGLE_PAY = "google_pay", "Google Pay"
    SAMSUNG_PAY = "samsung_pay", "Samsung Pay"
    LINK = "link", "Link"
    SANDBOX = "sandbox_wallet", _("Test wallet")


class PaymentMethod(TenantModel):
    """A customer's way to pay. Cards are a gateway token plus display data; the number
    never reaches us."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="payment_methods"
    )
    type = models.CharField(_("type"), max_length=20, choices=PaymentMethodType.choices)
    gateway = models.CharField(_("gateway"), max_length=20, choices=GatewayName.choices)
    gateway_customer_id = models.CharField(max_length=100, blank=True)
    gateway_token = models.CharField(max_length=200, blank=True)
    brand = models.CharField(_("brand"), max_length=30, blank=True)
    last4 = models.CharField(_("last four"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=100, blank=True)
    #: For ``type=wallet``: which wallet holds the card at the gateway (``WalletKind``);
    #: charged like a card, off-session, through the same gateway token.
    wallet = models.CharField(_("wallet"), max_length=30, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="paymentmethod_one_default",
            )
        ]

    def __str__(self) -> str:
        if self.type == PaymentMethodType.CARD:
            return f"{self.brand or 'card'} •••• {self.last4}"
        if self.type == PaymentMethodType.WALLET:
            card = f" · {self.brand or 'card'} •••• {self.last4}" if self.last4 else ""
            return f"{self.wallet_label}{card}"
        return self.get_type_display()

    @property
    def wallet_label(self) -> str:
        """The wallet's name for display ("Apple Pay"), or "" when this is no wallet."""
        if self.type != PaymentMethodType.WALLET:
            return ""
        try:
            return str(WalletKind(self.wallet).label)
        except ValueError:
            return self.wallet.replace("_", " ").title() or str(_("wallet"))


class AttemptStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("payment status", "pending")
    SUCCEEDED = "succeeded", pgettext_lazy("payment status", "succeeded")
    FAILED = "failed", pgettext_lazy("payment status", "failed")
    UNKNOWN = "unknown", pgettext_lazy("payment status", "unknown")
    REFUNDED = "refunded", pgettext_lazy("payment status", "refunded")
    PARTIALLY_REFUNDED = "partially_refunded", pgettext_lazy("payment status", "partially refunded")


AS = AttemptStatus
IN_FLIGHT = (AS.PENDING, AS.UNKNOWN)
ATTEMPT_TRANSITIONS: dict[str, frozenset[str]] = {
    AS.PENDING: frozenset({AS.SUCCEEDED, AS.FAILED, AS.UNKNOWN}),
    AS.UNKNOWN: frozenset({AS.SUCCEEDED, AS.FAILED}),
    AS.SUCCEEDED: frozenset({AS.REFUNDED, AS.PARTIALLY_REFUNDED}),
    AS.PARTIALLY_REFUNDED: frozenset({AS.REFUNDED, AS.PARTIALLY_REFUNDED}),
    AS.FAILED: frozenset(),
    AS.REFUNDED: frozenset(),
}


class AttemptTrigger(models.TextChoices):
    AUTOMATIC = "automatic", _("automatic charge")
    RETRY = "retry", _("scheduled retry")
    PAY_NOW = "pay_now", _("paid by the customer")
    METHOD_UPDATED = "method_updated", _("retry after method update")
    STAFF = "staff", _("staff")
    MANUAL = "manual", _("manual payment")


class PaymentAttempt(TenantModel):
    """One try to collect an invoice. ``sent_at`` is set (atomically, once) by the worker
    that calls the gateway: a pending attempt with ``sent_at`` may have reached the gateway,
    so only the janitor settles it, by asking the gateway."""

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payment_attempts"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    attempt_number = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AttemptStatus.choices, default=AS.PENDING
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=AttemptTrigger.choices)
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="attempts"
    )
    gateway = models.CharField(_("gateway"), max_length=20, choices=GatewayName.choices)
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)
    refunded_minor = models.BigIntegerField(_("refunded"), default=0)
    gateway_reference = models.CharField(_("gateway reference"), max_length=200, blank=True)
    decline_code = models.CharField(_("decline code"), max_length=60, blank=True)
    decline_message = models.CharField(max_length=300, blank=True)
    hard_decline = models.BooleanField(default=False)
    disputed = models.BooleanField(_("disputed"), default=False)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "attempt_number"], name="paymentattempt_unique_number"
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["pending", "unknown"]),
                name="paymentattempt_one_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0)
                & Q(refunded_minor__gte=0)
                & Q(refunded_minor__lte=models.F("amount_minor")),
                name="paymentattempt_amounts",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "sent_at"],
                name="paymentattempt_in_flight",
                condition=Q(status__in=["pending", "unknown"]),
            ),
            models.Index(fields=["organization", "created_at"], name="paymentattempt_org_created"),
            # The payments list filtered by status, newest first, and its capped count.
            models.Index(
                fields=["organization", "status", "created_at", "id"],
                name="paymentattempt_org_status_crt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}#{self.attempt_number} {self.status}"

    @property
    def refundable_minor(self) -> int:
        if self.status not in (AS.SUCCEEDED, AS.PARTIALLY_REFUNDED):
            return 0
        return self.amount_minor - self.refunded_minor


def attempt_idempotency_key(invoice_id: int, attempt_number: int) -> str:
    """The key sent to the gateway: a pure function of (invoice, attempt number)."""
    return f"cobro-inv{invoice_id}-att{attempt_number}"


class Refund(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("payment status", "pending")
        SUCCEEDED = "succeeded", pgettext_lazy("payment status", "succeeded")
        FAILED = "failed", pgettext_lazy("payment status", "failed")

    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=100, unique=True)
    gateway_reference = models.CharField(max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_positive")
        ]

    def __str__(self) -> str:
        return f"refund {self.amount_minor} {self.currency}"


class FinalAction(models.TextChoices):
    CANCEL = "cancel", _("cancel the subscription")
    MARK_UNPAID = "mark_unpaid", _("mark the subscription unpaid")
    LEAVE_PAST_DUE = "leave_past_due", _("leave it past due")


def default_retry_days() -> list[int]:
    return [3, 7, 14, 21]


class DunningPolicy(TenantModel):
    """How an organization chases a failed payment. ``retry_days`` are days after the first
    failure (default 4 retries over 21 days). After the last retry fails (or at once after a
    hard decline) the subscription waits ``grace_period_days`` more, then ``final_action``."""

    retry_days = models.JSONField(_("retry on days"), default=default_retry_days)
    grace_period_days = models.PositiveSmallIntegerField(_("grace period (days)"), default=0)
    final_action = models.CharField(
        _("final action"), max_length=20, choices=FinalAction.choices, default=FinalAction.CANCEL
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="dunningpolicy_one_per_org")
        ]

    def __str__(self) -> str:
        return f"dunning {self.retry_days}"


class DunningCase(TenantModel):
    """The chase of one unpaid invoice: when to retry next, and when to give up."""

    class State(models.TextChoices):
        ACTIVE = "active", _("retrying")
        EXHAUSTED = "exhausted", _("retries exhausted")
        RECOVERED = "recovered", _("recovered")
        CLOSED = "closed", _("closed")

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.PROTECT, related_name="dunning_case"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    first_failed_at = models.DateTimeField()
    retries_done = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    final_action_at = models.DateTimeField(null=True, blank=True)
    final_action_taken = models.CharField(max_length=20, blank=True)
    recovered_minor = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_retry_at"],
                name="dunningcase_due",
                condition=Q(state="active", next_retry_at__isnull=False),
            ),
            models.Index(
                fields=["final_action_at"],
                name="dunningcase_final_due",
                condition=Q(final_action_at__isnull=False, final_action_taken=""),
            ),
        ]

    def __str__(self) -> str:
        return f"dunning of invoice {self.invoice_id} ({self.state})"


class InboundWebhook(TenantModel):
    """Every verified notification from a gateway, once: the unique pair makes a replay a
    no-op. Unverified ones are never stored (they are logged and rejected)."""

    gateway = models.CharField(max_length=20, choices=GatewayName.choices)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="inboundwebhook_once")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.type} {self.event_id}"


class SandboxCharge(TenantModel):
    """The built-in sandbox gateway's own ledger: what the "provider" did, written in its own
    committed transaction before it answers, so the janitor can ask about a charge whose
    answer was lost. Like localstripe, the sandbox does NOT deduplicate idempotency keys:
    two rows with one key would be a real double charge, which our layer must prevent."""

    idempotency_key = models.CharField(max_length=100, db_index=True)
    reference = models.CharField(max_length=60, unique=True)
    method_token = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10)
    decline_code = models.CharField(max_length=60, blank=True)
    refunded_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.reference


class BankTransferReference(TenantModel):
    """The reference a customer writes on a bank transfer for one invoice: short, stable
    (created once), unique in the organization, without ambiguous characters."""

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.PROTECT, related_name="bank_transfer_reference"
    )
    reference = models.CharField(_("transfer reference"), max_length=20)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="banktransferref_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.reference


class BankStatementImport(TenantModel):
    """One uploaded bank statement (CSV). Amounts of its lines in minor units of
    ``currency``."""

    filename = models.CharField(_("file"), max_length=200, blank=True)
    currency = models.CharField(max_length=3)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"))
    lines_total = models.PositiveIntegerField(default=0)
    lines_matched = models.PositiveIntegerField(default=0)
    lines_review = models.PositiveIntegerField(default=0)
    lines_skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.filename or f"statement {self.pk}"


class BankStatementLine(TenantModel):
    """A credit on the organization's bank account. ``fingerprint`` (date, amount,
    description, bank transaction id) is unique per organization, so importing the same
    statement twice never records a payment twice."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("matched")
        REVIEW = "review", _("needs review")
        RESOLVED = "resolved", _("applied by staff")
        DISMISSED = "dismissed", _("dismissed")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        UNKNOWN_REFERENCE = "unknown_reference", _("no known reference")
        AMOUNT_MISMATCH = "amount_mismatch", _("amount differs from what is due")
        NOT_PAYABLE = "not_payable", _("invoice not payable")
        CURRENCY_MISMATCH = "currency_mismatch", _("different currency")

    statement = models.ForeignKey(
        BankStatementImport, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.PositiveIntegerField()
    booked_on = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=300)
    bank_transaction_id = models.CharField(_("bank transaction"), max_length=100, blank=True)
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attempt = models.ForeignKey(
        PaymentAttempt, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["statement", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fingerprint"], name="statementline_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.description}"
