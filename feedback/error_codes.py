"""Error codes of the feedback app: one Enum, one ``FeedbackError`` with a stable code (API)
and a translated message (pages). Services raise before writing anything."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class FeedbackErrorCode(StrEnum):
    UNKNOWN_KIND = "unknown_survey_kind"
    UNKNOWN_SOURCE = "unknown_survey_source"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    ALREADY_ANSWERED = "survey_already_answered"
    NOT_ANSWERED = "survey_not_answered"
    EXPIRED = "survey_expired"
    INVALID_LINK = "invalid_survey_link"
    COMMENT_TOO_LONG = "comment_too_long"
    INVALID_TAG = "invalid_tag"


MESSAGES = {
    FeedbackErrorCode.UNKNOWN_KIND: _("Unknown survey kind."),
    FeedbackErrorCode.UNKNOWN_SOURCE: _("Unknown survey source."),
    FeedbackErrorCode.SCORE_OUT_OF_RANGE: _(
        "The score must be a whole number from %(low)s to %(high)s."
    ),
    FeedbackErrorCode.ALREADY_ANSWERED: _(
        "This survey was already answered. Thank you! Your first answer is kept."
    ),
    FeedbackErrorCode.NOT_ANSWERED: _("Choose a score before leaving a comment."),
    FeedbackErrorCode.EXPIRED: _("This survey has expired and can no longer be answered."),
    FeedbackErrorCode.INVALID_LINK: _("This survey link is not valid."),
    FeedbackErrorCode.COMMENT_TOO_LONG: _("The comment can have at most %(max)s characters."),
    FeedbackErrorCode.INVALID_TAG: _("Tags have 1 to 40 characters (10 at most)."),
}


class FeedbackError(Exception):
    def __init__(self, code: FeedbackErrorCode, **params):
        self.code = code
        self.params = params
        message = MESSAGES[code]
        self.message = str(message) % params if params else str(message)
        super().__init__(self.message)
