"""The forms a report's readers fill in: feedback on the report, and how often it is
e-mailed to them. They parse input; the actions keep the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from reporting.models import Subscription

ANSWER_MAX_CHARS = 2000
"""Room for a paragraph or two: feedback is read beside every report on the audit page."""

YES, NO = "yes", "no"


class FeedbackForm(forms.Form):
    helped = forms.TypedChoiceField(
        label="Did this report help you decide something?",
        choices=[(YES, "Yes"), (NO, "No")],
        coerce=lambda answer: answer == YES,
        widget=forms.RadioSelect,
        error_messages={"required": "Answer yes or no."},
    )
    decision = forms.CharField(
        label="What did you decide?",
        required=False,
        max_length=ANSWER_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when it helped: e.g. “moved two agents to the HR queue for March”.",
    )
    missing = forms.CharField(
        label="What is missing?",
        required=False,
        max_length=ANSWER_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A measure, a department, a comparison: what would have helped you decide.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The action refuses this too; said here, the error stands beside the field at once.
        if cleaned.get("helped") and not cleaned.get("decision", "").strip():
            self.add_error("decision", "Say what you decided with it.")
        return cleaned


class SubscriptionForm(forms.Form):
    frequency = forms.ChoiceField(
        label="How often",
        choices=Subscription.Frequency.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose weekly or monthly."},
    )
