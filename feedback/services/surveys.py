"""Surveys: ask (``survey_request``), answer (``survey_answer``), comment (``survey_comment``).

Scores are whole numbers: NPS 0-10, CSAT 1-5 (also a check constraint). A request is answered
once: its response is one-to-one with it, and a second answer is refused with
``ALREADY_ANSWERED`` (the first answer is kept; a comment can still be added or edited until
the request expires). Requests caused by something carry ``subject_ref`` (unique per
organization, kind and source), so a redelivered event asks once.

One-click links: ``survey_answer_url(request, score)`` signs the request's random ``nonce``
(salted, with the organization id); the score travels in the URL path. The link works only for
that request and only until it is answered (the score) or expires (the comment).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from cobro import clock
from feedback.error_codes import FeedbackError, FeedbackErrorCode
from feedback.models import (
    SCORE_RANGE,
    FeedbackSettings,
    SurveyKind,
    SurveyRequest,
    SurveyResponse,
    SurveySource,
)

TOKEN_SALT = "feedback.survey"  # noqa: S105 - a signing salt, not a secret
COMMENT_MAX = 2000


def feedback_settings_for(organization) -> FeedbackSettings:
    """The organization's settings row, or an unsaved one with the defaults."""
    found = FeedbackSettings.unscoped.filter(organization=organization).first()
    return found or FeedbackSettings(organization=organization)


def survey_template_key(kind: str) -> str:
    return f"survey_{kind}"


def survey_request(
    *,
    customer,
    kind: str,
    source: str,
    subject_ref: str = "",
    send_email: bool = True,
    template_key: str = "",
) -> SurveyRequest:
    """Ask ``customer`` an NPS (``kind="nps"``) or CSAT (``"csat"``) question and email it
    (topic "surveys": skipped without consent; the request can still be answered in the
    portal). Idempotent on ``subject_ref`` (e.g. ``"conversation:42"``): asking again about
    the same thing returns the first request and sends nothing new.

    ``template_key`` picks another email than ``survey_<kind>`` (the satisfaction check).
    This always asks; the automatic triggers (payments, periodic, cancellations) check the
    organization's ``FeedbackSettings`` before calling it."""
    if kind not in SurveyKind.values:
        raise FeedbackError(FeedbackErrorCode.UNKNOWN_KIND)
    if source not in SurveySource.values:
        raise FeedbackError(FeedbackErrorCode.UNKNOWN_SOURCE)
    org = customer.organization
    if subject_ref:
        existing = SurveyRequest.unscoped.filter(
            organization=org, kind=kind, source=source, subject_ref=subject_ref
        ).first()
        if existing is not None:
            return existing
    now = clock.now(org)
    cfg = feedback_settings_for(org)
    try:
        with transaction.atomic():
            request = SurveyRequest.unscoped.create(
                organization=org,
                customer=customer,
                kind=kind,
                source=source,
                subject_ref=subject_ref[:100],
                nonce=secrets.token_hex(16),
                created_at=now,
                expires_at=now + timedelta(days=cfg.request_expiry_days),
            )
    except IntegrityError:  # a concurrent delivery asked first
        return SurveyRequest.unscoped.get(
            organization=org, kind=kind, source=source, subject_ref=subject_ref[:100]
        )
    if send_email:
        from customers.messaging.services import message_queue

        message_queue(
            customer=customer,
            template_key=template_key or survey_template_key(kind),
            params={"survey_request_id": request.pk},
            dedupe_key=f"survey:{request.pk}",
        )
    return request


# -- links -----------------------------------------------------------------------------------


def survey_token(request: SurveyRequest) -> str:
    # No timestamp: the link of a request is always the same; expiry lives in the database.
    return signing.Signer(salt=TOKEN_SALT).sign_object(
        {"o": request.organization_id, "n": request.nonce}, compress=False
    )


def survey_answer_url(request: SurveyRequest, score: int) -> str:
    path = reverse("feedback:answer", kwargs={"token": survey_token(request), "score": str(score)})
    return settings.SITE_URL + path


def survey_comment_url(request: SurveyRequest) -> str:
    path = reverse("feedback:comment", kwargs={"token": survey_token(request)})
    return settings.SITE_URL + path


def survey_request_from_token(token: str) -> SurveyRequest:
    """The request a link was signed for, or ``INVALID_LINK``."""
    try:
        data = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
        org_id, nonce = int(data["o"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise FeedbackError(FeedbackErrorCode.INVALID_LINK) from exc
    request = (
        SurveyRequest.unscoped.select_related("organization", "customer")
        .filter(nonce=nonce, organization_id=org_id)
        .first()
    )
    if request is None:
        raise FeedbackError(FeedbackErrorCode.INVALID_LINK)
    return request


# -- answering -------------------------------------------------------------------------------


def score_parse(kind: str, raw) -> int:
    """``raw`` as a score of ``kind``, or ``SCORE_OUT_OF_RANGE``."""
    low, high = SCORE_RANGE[kind]
    text = "" if raw is None or isinstance(raw, bool) else str(raw).strip()
    if not re.fullmatch(r"-?[0-9]{1,6}", text):
        raise FeedbackError(FeedbackErrorCode.SCORE_OUT_OF_RANGE, low=low, high=high)
    score = int(text)
    if not low <= score <= high:
        raise FeedbackError(FeedbackErrorCode.SCORE_OUT_OF_RANGE, low=low, high=high)
    return score


def _check_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise FeedbackError(FeedbackErrorCode.COMMENT_TOO_LONG, max=COMMENT_MAX)
    return comment


def survey_answer(
    *, request: SurveyRequest, score, comment: str = "", channel: str
) -> SurveyResponse:
    """Record the answer to ``request``. Refuses an out-of-range score, an expired request and
    a second answer (``ALREADY_ANSWERED``: the first response is kept unchanged)."""
    score = score_parse(request.kind, score)
    comment = _check_comment(comment)
    org = request.organization
    now = clock.now(org)
    with transaction.atomic():
        locked = SurveyRequest.unscoped.select_for_update().get(pk=request.pk)
        if locked.status == SurveyRequest.Status.ANSWERED:
            raise FeedbackError(FeedbackErrorCode.ALREADY_ANSWERED)
        if locked.status == SurveyRequest.Status.EXPIRED or locked.expires_at <= now:
            raise FeedbackError(FeedbackErrorCode.EXPIRED)
        response = SurveyResponse.unscoped.create(
            organization_id=locked.organization_id,
            request=locked,
            customer_id=locked.customer_id,
            kind=locked.kind,
            source=locked.source,
            score=score,
            comment=comment,
            channel=channel,
            created_at=now,
            updated_at=now,
        )
        locked.status = SurveyRequest.Status.ANSWERED
        locked.answered_at = now
        locked.save(update_fields=["status", "answered_at"])
        from cobro.events import event_emit

        event_emit(
            organization=org,
            type="survey.answered",
            payload={
                "survey_response_id": response.pk,
                "survey_request_id": locked.pk,
                "customer_id": locked.customer_id,
                "kind": locked.kind,
                "score": score,
            },
            subject=response,
        )
    request.status, request.answered_at = locked.status, locked.answered_at
    return response


def survey_comment(*, request: SurveyRequest, comment: str) -> SurveyResponse:
    """Add or replace the comment of an answered request (until it expires)."""
    comment = _check_comment(comment)
    now = clock.now(request.organization)
    with transaction.atomic():
        response = SurveyResponse.unscoped.select_for_update().filter(request_id=request.pk).first()
        if response is None:
            raise FeedbackError(FeedbackErrorCode.NOT_ANSWERED)
        if request.expires_at <= now:
            raise FeedbackError(FeedbackErrorCode.EXPIRED)
        response.comment = comment
        response.updated_at = now
        response.save(update_fields=["comment", "updated_at"])
    return response


def survey_requests_pending(customer):
    """The customer's unexpired, unanswered requests, newest first."""
    now = clock.now(customer.organization)
    return SurveyRequest.unscoped.filter(
        organization_id=customer.organization_id,
        customer=customer,
        status=SurveyRequest.Status.PENDING,
        expires_at__gt=now,
    ).order_by("-created_at", "-pk")
