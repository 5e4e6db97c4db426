from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.messaging.models import Announcement, Topic
from customers.messaging.rendering import TemplateSourceError, compile_user_template


def _validate_template(value: str) -> None:
    try:
        compile_user_template(value)
    except TemplateSourceError as exc:
        raise forms.ValidationError(str(exc)) from None


class TemplateOverrideForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300, validators=[_validate_template])
    body = forms.CharField(
        label=_("Body (HTML)"),
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        validators=[_validate_template],
    )


class AnnouncementForm(forms.ModelForm):
    class Meta:
        model = Announcement
        fields = ["subject", "body", "topic", "segment"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10}), "segment": forms.Select()}

    def __init__(self, *args, segments: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = [  # type: ignore[attr-defined]
            (Topic.NEWS_PROMOTIONS, Topic.NEWS_PROMOTIONS.label),
            (Topic.SURVEYS, Topic.SURVEYS.label),
        ]
        self.fields["segment"].widget.choices = segments
        self.fields["body"].help_text = _(
            "HTML allowed. Use {{ customer_name }} and {{ organization_name }}."
        )
        self._segments = {key for key, _ in segments}

    def clean_segment(self):
        value = self.cleaned_data["segment"]
        if value not in self._segments:
            raise forms.ValidationError(_("Choose who receives it."))
        return value
