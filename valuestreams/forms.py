"""The forms of value-stream pages: those that shape a stream (they parse input only; the
actions validate it against the models' rules, and pages show those errors beside the
fields), and the period a measured page reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from esm import clock
from esm.models import Department
from services.forms import PersonField
from services.models import CatalogItem, PlanStep
from valuestreams.metrics import Period
from valuestreams.models import Stage, ValueStream


class ValueStreamForm(forms.Form):
    name = forms.CharField(max_length=150)
    slug = forms.SlugField(
        max_length=100,
        label="Address",
        help_text="Letters, digits and hyphens: the stream's pages live at /streams/<address>/.",
    )
    outcome = forms.CharField(
        max_length=255, help_text="What it delivers, e.g. “a new hire productive on day one”."
    )
    customer = forms.CharField(max_length=150, help_text="Who receives the outcome.")
    owner = PersonField(
        required=False,
        help_text="Username or e-mail of who is accountable for the whole stream.",
        widget=forms.TextInput(attrs={"placeholder": "username or e-mail"}),
    )
    status = forms.ChoiceField(
        choices=ValueStream.Status.choices,
        help_text="A draft is seen only by its owner and admins; a live or retired stream by "
        "everyone who reads value streams.",
    )
    items = forms.ModelMultipleChoiceField(
        queryset=CatalogItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Catalog items",
        help_text="The items whose requests run this stream.",
    )

    def __init__(
        self, *args: Any, items: QuerySet[CatalogItem], chooses_owner: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].queryset = items  # type: ignore[attr-defined]
        self.fields["items"].label_from_instance = (  # type: ignore[attr-defined]
            lambda item: f"{item.name} ({item.department.name})"
        )
        if not chooses_owner:
            del self.fields["owner"]


def _step_label(step: PlanStep) -> str:
    kind = "automated" if step.kind == PlanStep.Kind.AUTOMATED else step.department.name
    return f"{step.item.name}: {step.name} ({kind})"


class StageForm(forms.Form):
    name = forms.CharField(max_length=150)
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"), empty_label="Choose a department..."
    )
    parallel_group = forms.IntegerField(
        min_value=1,
        max_value=32767,
        initial=1,
        help_text="Stages with the same number run side by side; groups run in number order.",
    )
    position = forms.IntegerField(
        min_value=0, max_value=32767, initial=0, help_text="Order within the group."
    )
    expected_process_minutes = forms.IntegerField(
        min_value=0,
        initial=0,
        label="Expected process minutes",
        help_text="Hands-on time the stage should take, in business minutes.",
    )
    plan_steps = forms.ModelMultipleChoiceField(
        queryset=PlanStep.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Plan steps",
        help_text="Steps of the stream's items that are in no other stage.",
    )

    def __init__(
        self,
        *args: Any,
        steps: QuerySet[PlanStep],
        offered: list[PlanStep],
        **kwargs: Any,
    ) -> None:
        """`steps` are all the plan steps of the stream's items (a step taken meanwhile by
        another stage reaches the action, which says so); `offered` those shown."""
        super().__init__(*args, **kwargs)
        field = self.fields["plan_steps"]
        field.queryset = steps  # type: ignore[attr-defined]
        field.widget.choices = [(step.pk, _step_label(step)) for step in offered]
        if not offered:
            field.help_text = (
                "None to offer: every plan step of the stream's items is in a stage already, "
                "or the stream has no items with a plan yet."
            )


class HandoffTargetForm(forms.Form):
    from_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), label="From stage", empty_label="Choose..."
    )
    to_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), label="To stage", empty_label="Choose..."
    )
    pickup_minutes = forms.IntegerField(
        min_value=1,
        label="Pick-up target (minutes)",
        help_text="Business minutes from the upstream stage done to the next one picked up.",
    )

    def __init__(self, *args: Any, stages: QuerySet[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("from_stage", "to_stage"):
            field = self.fields[name]
            field.queryset = stages.select_related("department")  # type: ignore[attr-defined]
            field.label_from_instance = (  # type: ignore[attr-defined]
                lambda stage: f"{stage.name} ({stage.department.name})"
            )


# --- The period of a measured page ---------------------------------------------------------

DEFAULT_DAYS = 28
MAX_DAYS = 366
PRESETS = ((7, "Last week"), (28, "Last 4 weeks"), (56, "Last 8 weeks"), (91, "Last 13 weeks"))


class PeriodForm(forms.Form):
    """The period a page measures: whole days in the portal's time zone, both ends included."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        today = local_today()
        end = end or today
        start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", "Start on or before the end date.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"Choose a period of at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> Period:
        """The chosen period, or the last four weeks when the form is empty or invalid."""
        if self.is_valid():
            start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        else:
            end = local_today()
            start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
        return day_period(start, end)


def day_period(start: dt.date, end: dt.date) -> Period:
    zone = timezone.get_current_timezone()
    return Period(
        dt.datetime.combine(start, dt.time(), tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    )


def presets(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    return [(label, today - dt.timedelta(days=days - 1), today) for days, label in PRESETS]


def local_today() -> dt.date:
    return timezone.localtime(clock.now()).date()
