"""The forms of readiness: an owner's answer to a sign, a recording of the tribal audit, a
step of the roll-out plan. They parse input; the actions keep the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from esm.forms import bounded_formfield
from reporting.models import ReadinessAssessment, RolloutStep, TribalGroup
from reporting.readiness import SIGN_CHOICES
from valuestreams.models import ValueStream

EVIDENCE_MAX_CHARS = 2000


class AssessmentForm(forms.Form):
    sign = forms.ChoiceField(label="Sign", choices=SIGN_CHOICES)
    answer = forms.ChoiceField(
        label="Answer",
        choices=ReadinessAssessment.Answer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Answer yes, partly or no."},
    )
    evidence = forms.CharField(
        label="Evidence",
        max_length=EVIDENCE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the answer rests on: who said it, what you saw, a document.",
        error_messages={"required": "Say what the answer rests on."},
    )
    assessed_on = forms.DateField(
        label="Assessed on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class TribalGroupForm(forms.ModelForm):
    class Meta:
        formfield_callback = bounded_formfield
        model = TribalGroup
        fields = [
            "name",
            "description",
            "preferred_tools",
            "preferred_channels",
            "openness",
            "recorded_on",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "openness": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "recorded_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class RolloutStepForm(forms.ModelForm):
    class Meta:
        formfield_callback = bounded_formfield
        model = RolloutStep
        fields = ["title", "value_stream", "status", "owner", "lessons_learned"]
        widgets = {"lessons_learned": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value_stream"].queryset = ValueStream.objects.order_by("name")
        # The ESM lead hands a step to someone who can act on it: an active person.
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .order_by("first_name", "last_name", "username")
        )
