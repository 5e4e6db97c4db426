from feedback.models.feedback import (
    SCORE_RANGE,
    FeedbackSettings,
    FeedbackTag,
    FollowUp,
    PlanSnapshot,
    SurveyKind,
    SurveyRequest,
    SurveyResponse,
    SurveySource,
)

__all__ = [
    "SCORE_RANGE",
    "FeedbackSettings",
    "FeedbackTag",
    "FollowUp",
    "PlanSnapshot",
    "SurveyKind",
    "SurveyRequest",
    "SurveyResponse",
    "SurveySource",
]
