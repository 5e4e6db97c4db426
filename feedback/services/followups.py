"""Post-sale follow-ups and the automatic survey triggers.

Each follow-up is a ``FollowUp`` row whose ``key`` is unique per organization, written in the
same transaction as the message it queues: a second delivery of the same event, a second beat
tick or two workers at once send nothing more.

- thank-you after the customer's first paid invoice (``thank_you:<customer>``), from
  ``invoice.paid``;
- anniversary of a subscription (``anniversary:<subscription>:<years>``), from the beat tick,
  within ``ANNIVERSARY_WINDOW_DAYS`` after the date (a late tick still sends, an old one does
  not);
- satisfaction check ``N`` days after a subscription starts (``satisfaction:<subscription>``):
  a CSAT survey request with its own email, within ``SATISFACTION_WINDOW_DAYS``.

Survey triggers (NPS): after every Nth paid invoice of a customer but at most once per
``payment_survey_min_days`` (``invoice:<id>``); periodically, once per
``periodic_nps_days`` window of the customer's life (``customer:<id>:p<n>``), skipped when
another NPS went out recently; after a cancellation (``subscription:<id>``).

Every time reads ``cobro.clock`` for the organization (test clocks move it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction

from cobro import clock
from feedback.models import FollowUp, SurveyKind, SurveyRequest, SurveySource
from feedback.services.surveys import feedback_settings_for, survey_request

ANNIVERSARY_WINDOW_DAYS = 7
SATISFACTION_WINDOW_DAYS = 7
LIVE_STATUSES = ("active", "trialing", "past_due")


def _followup_send(
    *, customer, kind: str, key: str, template_key: str, params: dict | None = None, now=None
) -> FollowUp | None:
    """Write the follow-up and queue its message once; ``None`` when it was already done."""
    from customers.messaging.services import message_queue

    now = now or clock.now(customer.organization)
    try:
        with transaction.atomic():
            followup = FollowUp.unscoped.create(
                organization_id=customer.organization_id,
                customer=customer,
                kind=kind,
                key=key,
                created_at=now,
            )
            message = message_queue(
                customer=customer,
                template_key=template_key,
                params=params or {},
                dedupe_key=f"followup:{key}",
            )
            followup.message = message
            followup.save(update_fields=["message"])
    except IntegrityError:
        return None
    return followup


def _plan_name(subscription) -> str:
    price = subscription.price
    name = price.product.name
    return f"{name} ({price.nickname})" if price.nickname else name


def _paid_invoices(customer):
    from billing.models import Invoice

    return Invoice.unscoped.filter(
        organization_id=customer.organization_id,
        customer=customer,
        status="paid",
        amount_paid_minor__gt=0,
    )


def on_invoice_paid(*, invoice) -> None:
    """Thank-you after the first payment and the every-Nth-payment NPS survey."""
    if invoice.amount_paid_minor <= 0:
        return  # settled by credit alone: nothing was paid
    customer = invoice.customer
    org = customer.organization
    cfg = feedback_settings_for(org)
    paid = _paid_invoices(customer)
    # The position of this payment among the customer's payments (ties broken by id).
    position = (
        paid.filter(paid_at__lt=invoice.paid_at).count()
        + paid.filter(paid_at=invoice.paid_at, pk__lte=invoice.pk).count()
        if invoice.paid_at
        else paid.count()
    )
    if cfg.thank_you_first_payment and position == 1:
        _followup_send(
            customer=customer,
            kind=FollowUp.Kind.THANK_YOU,
            key=f"thank_you:{customer.pk}",
            template_key="followup_thank_you",
        )
    every = cfg.payment_survey_every_n
    if not (cfg.surveys_enabled and every and position and position % every == 0):
        return
    now = clock.now(org)
    recent = SurveyRequest.unscoped.filter(
        organization=org,
        customer=customer,
        source=SurveySource.PAYMENT,
        created_at__gt=now - timedelta(days=cfg.payment_survey_min_days),
    ).exclude(subject_ref=f"invoice:{invoice.pk}")
    if recent.exists():
        return
    survey_request(
        customer=customer,
        kind=SurveyKind.NPS,
        source=SurveySource.PAYMENT,
        subject_ref=f"invoice:{invoice.pk}",
    )


def on_subscription_canceled(*, subscription) -> SurveyRequest | None:
    """The cancellation survey (NPS with a comment); the reason itself is asked by the portal's
    cancel page and read from there."""
    cfg = feedback_settings_for(subscription.organization)
    if not (cfg.surveys_enabled and cfg.cancellation_survey):
        return None
    return survey_request(
        customer=subscription.customer,
        kind=SurveyKind.NPS,
        source=SurveySource.CANCELLATION,
        subject_ref=f"subscription:{subscription.pk}",
    )


def _years_between(start: datetime, now: datetime, tz: ZoneInfo) -> int:
    return relativedelta(now.astimezone(tz).date(), start.astimezone(tz).date()).years


def followups_due(*, organization, now: datetime | None = None) -> int:
    """Send what is due now for one organization: anniversaries, satisfaction checks and
    periodic NPS surveys; mark expired requests. Idempotent. Returns how many were sent."""
    from billing.models import Subscription

    now = now or clock.now(organization)
    cfg = feedback_settings_for(organization)
    tz = ZoneInfo(organization.time_zone)
    sent = 0
    SurveyRequest.unscoped.filter(
        organization=organization, status=SurveyRequest.Status.PENDING, expires_at__lte=now
    ).update(status=SurveyRequest.Status.EXPIRED)
    subs = Subscription.unscoped.filter(
        organization=organization, status__in=LIVE_STATUSES, started_at__lte=now
    ).select_related("customer__organization", "price__product")
    for sub in subs.iterator():
        if cfg.anniversary_message:
            years = _years_between(sub.started_at, now, tz)
            if years >= 1:
                local_start = sub.started_at.astimezone(tz)
                anniversary = local_start + relativedelta(years=years)
                if now - anniversary < timedelta(days=ANNIVERSARY_WINDOW_DAYS):
                    done = _followup_send(
                        customer=sub.customer,
                        kind=FollowUp.Kind.ANNIVERSARY,
                        key=f"anniversary:{sub.pk}:{years}",
                        template_key="followup_anniversary",
                        params={"years": years, "plan_name": _plan_name(sub)},
                        now=now,
                    )
                    sent += done is not None
        days = cfg.satisfaction_check_days
        if days and cfg.surveys_enabled:
            due_at = sub.started_at + timedelta(days=days)
            if due_at <= now < due_at + timedelta(days=SATISFACTION_WINDOW_DAYS):
                sent += _satisfaction_check(sub, now=now)
    if cfg.surveys_enabled and cfg.periodic_nps_days:
        sent += _periodic_surveys(organization, cfg, now=now)
    return sent


def _satisfaction_check(sub, *, now: datetime) -> int:
    key = f"satisfaction:{sub.pk}"
    if FollowUp.unscoped.filter(organization_id=sub.organization_id, key=key).exists():
        return 0
    try:
        with transaction.atomic():
            followup = FollowUp.unscoped.create(
                organization_id=sub.organization_id,
                customer=sub.customer,
                kind=FollowUp.Kind.SATISFACTION,
                key=key,
                created_at=now,
            )
            request = survey_request(
                customer=sub.customer,
                kind=SurveyKind.CSAT,
                source=SurveySource.SATISFACTION,
                subject_ref=f"subscription:{sub.pk}",
                template_key="followup_satisfaction",
            )
            from customers.messaging.models import Message

            followup.message = Message.unscoped.filter(
                organization_id=sub.organization_id, dedupe_key=f"survey:{request.pk}"
            ).first()
            followup.save(update_fields=["message"])
    except IntegrityError:
        return 0
    return 1


def _periodic_surveys(organization, cfg, *, now: datetime) -> int:
    from billing.models import Subscription
    from customers.models import Customer

    period = timedelta(days=cfg.periodic_nps_days)
    quiet = timedelta(days=min(cfg.payment_survey_min_days, cfg.periodic_nps_days))
    customer_ids = (
        Subscription.unscoped.filter(
            organization=organization, status__in=LIVE_STATUSES, started_at__lte=now - period
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
    sent = 0
    starts: dict[int, datetime] = {}
    for sub in Subscription.unscoped.filter(
        organization=organization, customer_id__in=list(customer_ids)
    ).order_by("started_at"):
        starts.setdefault(sub.customer_id, sub.started_at)
    for customer in Customer.unscoped.filter(pk__in=list(starts)).select_related("organization"):
        window = int((now - starts[customer.pk]) / period)
        if window < 1:
            continue
        ref = f"customer:{customer.pk}:p{window}"
        nps = SurveyRequest.unscoped.filter(
            organization=organization, customer=customer, kind=SurveyKind.NPS
        )
        if nps.filter(source=SurveySource.PERIODIC, subject_ref=ref).exists():
            continue
        if nps.filter(created_at__gt=now - quiet).exists():
            continue  # asked recently (after a payment, say): do not tire them
        survey_request(
            customer=customer, kind=SurveyKind.NPS, source=SurveySource.PERIODIC, subject_ref=ref
        )
        sent += 1
    return sent
