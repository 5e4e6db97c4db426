"""The points ledger: every change of a balance is one append-only ``PointsEntry`` written
together with the account's running ``balance`` while the account row is locked.

Invariants: balance == sum(entries.points) and balance >= 0 (also a check constraint).
Awards from billing are keyed by ``source_key`` (unique per organization), so an event
delivered twice, or two events about the same invoice, award once.

Reversal rule (refunds): a credit note against a paid invoice that earned points reverses
``floor(earned * credited_so_far / invoice_total)`` minus what earlier credit notes already
reversed; once the whole invoice is credited, exactly what it earned is reversed. If the
customer already spent the points, the reversal takes what is left (never below zero) and
records the shortfall in ``details``.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from cobro import clock
from cobro.money import currency_exponent
from cobro.services.audit import audit_record
from loyalty.error_codes import LoyaltyError, LoyaltyErrorCode
from loyalty.models import LoyaltyAccount, LoyaltyProgramme, PointsEntry
from loyalty.models.programme import OnTimeRule
from loyalty.services.programme import programme_active, programme_for

Kind = PointsEntry.Kind


def account_lock(*, customer, now: datetime | None = None) -> LoyaltyAccount:
    """The customer's account, locked FOR UPDATE (created, with welcome points when the
    programme gives them, on first use). Call inside a transaction."""
    account = LoyaltyAccount.unscoped.select_for_update().filter(customer=customer).first()
    if account is not None:
        return account
    now = now or clock.now(customer.organization)
    LoyaltyAccount.unscoped.get_or_create(
        customer=customer,
        defaults={"organization_id": customer.organization_id, "created_at": now},
    )
    account = LoyaltyAccount.unscoped.select_for_update().get(customer=customer)
    programme = programme_active(customer.organization)
    if programme is not None and programme.welcome_points:
        _append(
            account=account,
            kind=Kind.EARN,
            points=programme.welcome_points,
            description=_("Welcome to %(name)s") % {"name": programme.name},
            source_key=f"customer:{customer.pk}:welcome",
            now=now,
            programme=programme,
        )
    return account


def actor_label(actor) -> str:
    if actor is None:
        return ""
    return (getattr(actor, "email", "") or str(actor))[:200]


def account_get(*, customer) -> LoyaltyAccount | None:
    return LoyaltyAccount.unscoped.filter(customer=customer).first()


def _append(
    *,
    account: LoyaltyAccount,
    kind: str,
    points: int,
    description: str,
    now: datetime,
    source_key: str = "",
    programme: LoyaltyProgramme | None = None,
    **fields,
) -> PointsEntry:
    """Append one entry to a LOCKED account and move its running totals."""
    if account.balance + points < 0:
        raise LoyaltyError(
            LoyaltyErrorCode.INSUFFICIENT_POINTS, balance=account.balance, needed=-points
        )
    expires_at = None
    if points > 0 and kind == Kind.EARN and programme is not None and programme.expiry_months:
        expires_at = now + relativedelta(months=programme.expiry_months)
    entry = PointsEntry.unscoped.create(
        organization_id=account.organization_id,
        account=account,
        customer_id=account.customer_id,
        kind=kind,
        points=points,
        description=description[:300],
        source_key=source_key,
        expires_at=expires_at,
        created_at=now,
        **fields,
    )
    account.balance += points
    if kind in (Kind.EARN, Kind.REVERSE):
        account.lifetime_points += points
    account.save(update_fields=["balance", "lifetime_points", "streak"])
    if kind == Kind.EARN and points > 0:
        from loyalty.services.benefits import tier_gifts_grant

        tier_gifts_grant(account=account, now=now)
    return entry


def is_on_time(*, invoice, programme: LoyaltyProgramme) -> bool:
    """Whether a paid invoice counts as paid on time, by the programme's ``on_time_rule``:

    * ``due_date``: paid no later than the due date (the issue date for automatic charges);
    * ``grace``: paid no later than the due date plus ``grace_days``;
    * ``first_attempt``: collected by the first charge attempt (a retry after a failure is
      late), or, when nothing was charged (a transfer), paid by the due date.
    """
    from billing.payments.models import AttemptStatus, PaymentAttempt

    due = invoice.due_at or invoice.issued_at
    if invoice.paid_at is None or due is None:
        return False
    rule = programme.on_time_rule
    if rule == OnTimeRule.FIRST_ATTEMPT:
        attempts = list(
            PaymentAttempt.unscoped.filter(invoice=invoice)
            .order_by("attempt_number")
            .values_list("status", flat=True)[:2]
        )
        if attempts:
            return attempts[0] in (
                AttemptStatus.SUCCEEDED,
                AttemptStatus.REFUNDED,
                AttemptStatus.PARTIALLY_REFUNDED,
            )
        return invoice.paid_at <= due
    if rule == OnTimeRule.DUE_DATE:
        return invoice.paid_at <= due
    return invoice.paid_at <= due + relativedelta(days=programme.grace_days)


def amount_points(*, amount_minor: int, currency: str, programme: LoyaltyProgramme) -> int:
    if not programme.points_per_amount or amount_minor <= 0:
        return 0
    unit_minor = programme.amount_unit_major * 10 ** currency_exponent(currency)
    return (amount_minor // unit_minor) * programme.points_per_amount


@transaction.atomic
def points_award_for_invoice(*, invoice, now: datetime | None = None) -> PointsEntry | None:
    """Award the points a paid invoice earns, once per invoice (no-op when already done, the
    programme is off, or the invoice is not paid). One EARN entry carries the breakdown in
    ``details``: on-time points, amount points, streak bonus."""
    from billing.models import InvoiceStatus

    programme = programme_active(invoice.organization)
    if programme is None or invoice.status != InvoiceStatus.PAID or invoice.total_minor <= 0:
        return None
    now = now or clock.now(invoice.organization)
    account = account_lock(customer=invoice.customer, now=now)
    key = f"invoice:{invoice.pk}:earn"
    if PointsEntry.unscoped.filter(
        organization_id=invoice.organization_id, source_key=key
    ).exists():
        return None
    on_time = is_on_time(invoice=invoice, programme=programme)
    on_time_pts = programme.points_per_on_time_payment if on_time else 0
    amount_pts = amount_points(
        amount_minor=invoice.amount_paid_minor, currency=invoice.currency, programme=programme
    )
    streak_pts = 0
    if on_time:
        account.streak += 1
        if programme.streak_length and account.streak % programme.streak_length == 0:
            streak_pts = programme.streak_bonus_points
    else:
        account.streak = 0
    total = on_time_pts + amount_pts + streak_pts
    if on_time:
        text = _("Invoice %(number)s paid on time") % {"number": invoice.number}
    else:
        text = _("Invoice %(number)s paid late: no on-time points") % {"number": invoice.number}
    return _append(
        account=account,
        kind=Kind.EARN,
        points=total,
        description=text,
        now=now,
        source_key=key,
        programme=programme,
        invoice=invoice,
        details={
            "on_time": on_time,
            "on_time_points": on_time_pts,
            "amount_points": amount_pts,
            "streak_bonus_points": streak_pts,
            "streak": account.streak,
        },
    )


@transaction.atomic
def points_reverse_for_credit_note(*, credit_note, now: datetime | None = None):
    """Reverse what a refunded invoice earned, in proportion to the credited amount (see the
    module docstring). No-op when the invoice earned nothing or it was already done."""
    from billing.models import CreditNote

    invoice = credit_note.invoice
    earn = PointsEntry.unscoped.filter(
        organization_id=invoice.organization_id, source_key=f"invoice:{invoice.pk}:earn"
    ).first()
    if earn is None or earn.points <= 0 or invoice.total_minor <= 0:
        return None
    key = f"credit_note:{credit_note.pk}:reverse"
    now = now or clock.now(invoice.organization)
    account = LoyaltyAccount.unscoped.select_for_update().get(pk=earn.account_id)
    if PointsEntry.unscoped.filter(
        organization_id=invoice.organization_id, source_key=key
    ).exists():
        return None
    credited = (
        CreditNote.unscoped.filter(invoice=invoice, pk__lte=credit_note.pk).aggregate(
            s=Sum("total_minor")
        )["s"]
        or 0
    )
    if credited >= invoice.total_minor:
        target = earn.points
    else:
        target = earn.points * credited // invoice.total_minor
    # What earlier credit notes meant to reverse (taken or not): a shortfall is not retried.
    already = sum(
        e.details.get("wanted", 0)
        for e in PointsEntry.unscoped.filter(account=account, kind=Kind.REVERSE, invoice=invoice)
    )
    wanted = max(0, target - already)
    if wanted == 0:
        return None
    taken = min(wanted, account.balance)
    return _append(
        account=account,
        kind=Kind.REVERSE,
        points=-taken,
        description=_("Refund of invoice %(number)s (credit note %(note)s)")
        % {"number": invoice.number, "note": credit_note.number},
        now=now,
        source_key=key,
        invoice=invoice,
        credit_note=credit_note,
        details={"wanted": wanted, "shortfall": wanted - taken, "credited_minor": credited},
    )


@transaction.atomic
def points_reverse_for_dispute(
    *, invoice, dispute_key: str, now: datetime | None = None
) -> PointsEntry | None:
    """A disputed (charged-back) payment reverses everything its invoice earned that no
    earlier reversal took. Keyed by ``dispute_key`` so a repeated webhook reverses once."""
    earn = PointsEntry.unscoped.filter(
        organization_id=invoice.organization_id, source_key=f"invoice:{invoice.pk}:earn"
    ).first()
    if earn is None or earn.points <= 0:
        return None
    key = f"dispute:{dispute_key}:reverse"[:100]
    now = now or clock.now(invoice.organization)
    account = LoyaltyAccount.unscoped.select_for_update().get(pk=earn.account_id)
    if PointsEntry.unscoped.filter(
        organization_id=invoice.organization_id, source_key=key
    ).exists():
        return None
    already = sum(
        e.details.get("wanted", 0)
        for e in PointsEntry.unscoped.filter(account=account, kind=Kind.REVERSE, invoice=invoice)
    )
    wanted = max(0, earn.points - already)
    if wanted == 0:
        return None
    taken = min(wanted, account.balance)
    return _append(
        account=account,
        kind=Kind.REVERSE,
        points=-taken,
        description=_("Payment of invoice %(number)s disputed") % {"number": invoice.number},
        now=now,
        source_key=key,
        invoice=invoice,
        details={"wanted": wanted, "shortfall": wanted - taken},
    )


@transaction.atomic
def points_adjust(
    *, customer, points: int, reason: str, actor, request=None, now: datetime | None = None
) -> PointsEntry:
    """A staff adjustment (positive or negative) with a mandatory reason, audited. Refused
    when it would take the balance below zero."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise LoyaltyError(LoyaltyErrorCode.INVALID_POINTS)
    reason = (reason or "").strip()
    if not reason:
        raise LoyaltyError(LoyaltyErrorCode.REASON_REQUIRED)
    now = now or clock.now(customer.organization)
    account = account_lock(customer=customer, now=now)
    entry = _append(
        account=account,
        kind=Kind.ADJUST,
        points=points,
        description=reason,
        now=now,
        actor_label=actor_label(actor),
    )
    audit_record(
        organization=customer.organization,
        actor=actor,
        action="loyalty.points_adjusted",
        target=entry,
        changes={"customer": customer.pk, "points": points, "reason": reason},
        request=request,
    )
    return entry


@transaction.atomic
def points_expire(*, customer, now: datetime | None = None) -> PointsEntry | None:
    """Expire earned points past their ``expires_at``, oldest first: spending (redeem,
    reverse, negative adjustments, earlier expiries) is taken from the oldest points, so what
    expires is whatever of the expired earnings has not been spent yet."""
    now = now or clock.now(customer.organization)
    account = LoyaltyAccount.unscoped.select_for_update().filter(customer=customer).first()
    if account is None:
        return None
    expired_credits = (
        PointsEntry.unscoped.filter(account=account, points__gt=0, expires_at__lte=now).aggregate(
            s=Sum("points")
        )["s"]
        or 0
    )
    debits = -(
        PointsEntry.unscoped.filter(account=account, points__lt=0).aggregate(s=Sum("points"))["s"]
        or 0
    )
    to_expire = min(max(0, expired_credits - debits), account.balance)
    if to_expire <= 0:
        return None
    return _append(
        account=account,
        kind=Kind.EXPIRE,
        points=-to_expire,
        description=_("Points expired"),
        now=now,
    )


@transaction.atomic
def points_award_anniversary(*, customer, now: datetime | None = None) -> PointsEntry | None:
    """Anniversary bonus: ``programme.anniversary_points`` once per completed year since the
    customer's first subscription started, while they still have a live subscription.
    Keyed ``customer:<id>:anniversary:<year>``: only the latest completed year is awarded
    (turning the rule on does not pay out past years)."""
    from billing.models import Subscription, SubscriptionStatus

    programme = programme_active(customer.organization)
    if programme is None or not programme.anniversary_points:
        return None
    now = now or clock.now(customer.organization)
    subs = Subscription.unscoped.filter(customer=customer)
    first = subs.order_by("started_at").values_list("started_at", flat=True).first()
    live = subs.exclude(status__in=[SubscriptionStatus.CANCELED]).exists()
    if first is None or not live:
        return None
    years = relativedelta(now, first).years
    if years < 1:
        return None
    key = f"customer:{customer.pk}:anniversary:{years}"
    account = account_lock(customer=customer, now=now)
    if PointsEntry.unscoped.filter(
        organization_id=customer.organization_id, source_key=key
    ).exists():
        return None
    return _append(
        account=account,
        kind=Kind.EARN,
        points=programme.anniversary_points,
        description=_("Anniversary bonus: %(years)s year(s) with us") % {"years": years},
        now=now,
        source_key=key,
        programme=programme,
        details={"anniversary_years": years},
    )


def points_balance_from_entries(*, account: LoyaltyAccount) -> int:
    return int(PointsEntry.unscoped.filter(account=account).aggregate(s=Sum("points"))["s"] or 0)


__all__ = [
    "account_get",
    "account_lock",
    "amount_points",
    "is_on_time",
    "points_adjust",
    "points_award_anniversary",
    "points_award_for_invoice",
    "points_balance_from_entries",
    "points_expire",
    "points_reverse_for_credit_note",
    "programme_for",
]
