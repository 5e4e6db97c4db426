"""Forms of the feedback staff pages (they parse input; services write)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import FeedbackSettings, SurveyKind, SurveyResponse, SurveySource

SETTINGS_FIELDS = [
    "surveys_enabled",
    "payment_survey_every_n",
    "payment_survey_min_days",
    "periodic_nps_days",
    "cancellation_survey",
    "satisfaction_check_days",
    "thank_you_first_payment",
    "anniversary_message",
    "request_expiry_days",
]


class FeedbackSettingsForm(forms.ModelForm):
    class Meta:
        model = FeedbackSettings
        fields = SETTINGS_FIELDS


class FollowUpForm(forms.Form):
    loop_status = forms.ChoiceField(label=_("Follow-up"), choices=SurveyResponse.LoopStatus.choices)
    loop_note = forms.CharField(
        label=_("What we did"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tags = forms.CharField(
        label=_("Tags"),
        max_length=440,
        required=False,
        help_text=_("Separated by commas, e.g. price, support."),
    )


PERIODS = [("3m", _("3 months")), ("6m", _("6 months")), ("12m", _("12 months"))]
CATEGORIES = [
    ("detractor", _("Detractors (0-6)")),
    ("passive", _("Passives (7-8)")),
    ("promoter", _("Promoters (9-10)")),
    ("low_csat", _("Low CSAT (1-2)")),
]


class FeedbackFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All")), *SurveyKind.choices], required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("All")), *SurveySource.choices], required=False
    )
    category = forms.ChoiceField(
        label=_("Score"), choices=[("", _("All")), *CATEGORIES], required=False
    )
    loop = forms.ChoiceField(
        label=_("Follow-up"),
        choices=[("", _("All")), *SurveyResponse.LoopStatus.choices],
        required=False,
    )
    tag = forms.CharField(label=_("Tag"), max_length=40, required=False)
    with_comment = forms.BooleanField(label=_("Only with a comment"), required=False)
