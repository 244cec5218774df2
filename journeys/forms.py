"""The forms of the pages that shape journey maps. They parse input only: the actions
validate it against the models' rules, and pages show those errors beside the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from esm.forms import TEXT_MAX_CHARS
from esm.models import Department
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint
from services.forms import PersonField
from services.models import Article, CatalogItem
from valuestreams.models import Stage as StreamStage


def _person_field(help_text: str) -> PersonField:
    return PersonField(
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"placeholder": "username or e-mail"}),
    )


class JourneyForm(forms.Form):
    name = forms.CharField(max_length=150)
    slug = forms.SlugField(
        max_length=100,
        label="Address",
        help_text="Letters, digits and hyphens: the map's pages live at /journeys/<address>/.",
    )
    persona = forms.ChoiceField(choices=JourneyMap.Persona.choices)
    goal = forms.CharField(
        max_length=255, help_text="What the employee wants, e.g. “productive in my first week”."
    )
    owner = _person_field("Username or e-mail of who is accountable for the map.")
    status = forms.ChoiceField(
        choices=JourneyMap.Status.choices,
        help_text="A draft is seen only by its owner and admins; a live or retired map by "
        "everyone who reads journey maps.",
    )

    def __init__(self, *args: Any, chooses_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not chooses_owner:
            del self.fields["owner"]


class JourneyStageForm(forms.Form):
    name = forms.CharField(max_length=100)
    position = forms.IntegerField(
        min_value=0, max_value=32767, initial=0, help_text="Stages run in number order."
    )


class TouchpointForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=JourneyStage.objects.none(), empty_label=None)
    name = forms.CharField(max_length=150)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=TEXT_MAX_CHARS
    )
    channel = forms.ChoiceField(choices=Touchpoint.Channel.choices)
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label="No department",
        help_text="The department the employee meets here, if one.",
    )
    position = forms.IntegerField(
        min_value=0, max_value=32767, initial=0, help_text="Order within the stage."
    )
    items = forms.ModelMultipleChoiceField(
        queryset=CatalogItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Catalog items",
        help_text="Their requests are this touchpoint's cases.",
    )
    articles = forms.ModelMultipleChoiceField(
        queryset=Article.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Knowledge articles",
        help_text="Published articles the employee reads here.",
    )
    stream_stages = forms.ModelMultipleChoiceField(
        queryset=StreamStage.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Value-stream stages",
        help_text="Their cases are this touchpoint's cases.",
    )

    def __init__(
        self,
        *args: Any,
        stages: QuerySet[JourneyStage],
        items: QuerySet[CatalogItem],
        articles: QuerySet[Article],
        stream_stages: QuerySet[StreamStage],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["stage"].queryset = stages  # type: ignore[attr-defined]
        fields["stage"].label_from_instance = lambda stage: stage.name  # type: ignore[attr-defined]
        fields["items"].queryset = items  # type: ignore[attr-defined]
        fields["items"].label_from_instance = (  # type: ignore[attr-defined]
            lambda item: f"{item.name} ({item.department.name})"
        )
        fields["articles"].queryset = articles  # type: ignore[attr-defined]
        fields["stream_stages"].queryset = stream_stages  # type: ignore[attr-defined]
        fields["stream_stages"].label_from_instance = (  # type: ignore[attr-defined]
            lambda stage: f"{stage.stream.name}: {stage.name}"
        )


class FindingForm(forms.Form):
    """A pain point or an opportunity, written by a person."""

    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), empty_label=None)
    kind = forms.ChoiceField(choices=Finding.Kind.choices)
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=TEXT_MAX_CHARS
    )
    owner = _person_field("Username or e-mail of who takes it on; empty for nobody yet.")

    def __init__(self, *args: Any, touchpoints: QuerySet[Touchpoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["touchpoint"]
        field.queryset = touchpoints  # type: ignore[attr-defined]
        field.label_from_instance = (  # type: ignore[attr-defined]
            lambda touchpoint: f"{touchpoint.stage.name}: {touchpoint.name}"
        )


class FindingChangeForm(forms.Form):
    status = forms.ChoiceField(
        choices=Finding.Status.choices,
        help_text="Done when the improvement shipped: the signal's value after is read then.",
    )
    owner = _person_field("Username or e-mail of who takes it on; empty for nobody yet.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=TEXT_MAX_CHARS
    )
