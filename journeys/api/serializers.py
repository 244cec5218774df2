"""Input and output shapes of the journey API, one pair per operation.

Output serializers read only what the selectors load, so a map costs the same number of
queries whatever its number of stages, touchpoints, links and findings.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from esm.api import InputSerializer
from journeys.models import Finding, JourneyMap, Touchpoint
from services.api.serializers import DepartmentOutputSerializer, PersonOutputSerializer
from valuestreams.api.serializers import (
    DistributionOutputSerializer,
    PeriodOutputSerializer,
)


class _RefusesUnknownFields(InputSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {key: ["This field cannot be changed here."] for key in sorted(unknown)}
            )
        return attrs


# Maps ------------------------------------------------------------------------------------


class JourneyListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    persona = serializers.ChoiceField(choices=JourneyMap.Persona.choices)
    goal = serializers.CharField(help_text="What the employee wants.")
    status = serializers.ChoiceField(choices=JourneyMap.Status.choices)
    version = serializers.ChoiceField(choices=JourneyMap.Version.choices)
    as_is = serializers.SlugField(
        source="as_is.slug",
        allow_null=True,
        help_text="For a to-be map: the slug of the as-is map it improves on.",
    )
    owner = PersonOutputSerializer(help_text="Accountable for the map.")


class LinkOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ArticleLinkOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()


class StreamStageLinkOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stream = serializers.SlugField(source="stream.slug", help_text="The value stream's slug.")


class FindingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    touchpoint = serializers.IntegerField(source="touchpoint_id")
    kind = serializers.ChoiceField(choices=Finding.Kind.choices)
    title = serializers.CharField()
    description = serializers.CharField()
    suggestion = serializers.ChoiceField(
        choices=[("", "Written by a person"), *Finding.Suggestion.choices],
        help_text="Set when the system suggested it from the signals.",
    )
    status = serializers.ChoiceField(choices=Finding.Status.choices)
    owner = PersonOutputSerializer(allow_null=True)
    signal = serializers.CharField(help_text="The signal it is about, if any.")
    value_before = serializers.FloatField(allow_null=True)
    value_after = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)


class TouchpointOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    channel = serializers.ChoiceField(choices=Touchpoint.Channel.choices)
    department = DepartmentOutputSerializer(allow_null=True)
    position = serializers.IntegerField(help_text="Order within the stage.")
    items = LinkOutputSerializer(many=True, help_text="Catalog items: their requests are cases.")
    articles = ArticleLinkOutputSerializer(many=True, help_text="Published knowledge articles.")
    stream_stages = StreamStageLinkOutputSerializer(
        many=True, help_text="Value-stream stages: their cases are this touchpoint's cases."
    )
    findings = FindingOutputSerializer(many=True, help_text="Newest first.")


class JourneyStageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    touchpoints = TouchpointOutputSerializer(many=True, help_text="In order.")


class JourneyDetailOutputSerializer(JourneyListOutputSerializer):
    stages = JourneyStageOutputSerializer(many=True, help_text="In order.")


# Findings --------------------------------------------------------------------------------


class FindingCreateInputSerializer(_RefusesUnknownFields):
    touchpoint = serializers.IntegerField(help_text="A touchpoint of this journey.")
    kind = serializers.ChoiceField(choices=Finding.Kind.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Username of who takes it on; null for nobody yet.",
    )


class FindingUpdateInputSerializer(_RefusesUnknownFields):
    """What may change about a finding once written: its status, owner and description."""

    status = serializers.ChoiceField(choices=Finding.Status.choices, required=False)
    owner = serializers.CharField(
        required=False, allow_null=True, help_text="Username; null for nobody."
    )
    description = serializers.CharField(required=False, allow_blank=True)


# Signals ---------------------------------------------------------------------------------
# Rates are shares 0-1; durations hours. Null when no case gives a value, or when the
# small-group rule holds it back (`hidden`).


class ScorePartOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    weight = serializers.FloatField()


class ScoreOutputSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    parts = ScorePartOutputSerializer(many=True)
    confidence = serializers.IntegerField(help_text="How many cases it rests on.")


class TouchpointRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    stage = serializers.CharField(source="stage.name")


class TouchpointSignalsOutputSerializer(serializers.Serializer):
    touchpoint = TouchpointRefOutputSerializer()
    cases = serializers.IntegerField()
    hidden = serializers.BooleanField()
    resolution = DistributionOutputSerializer()
    wait_share = serializers.FloatField(allow_null=True)
    handoffs_per_request = serializers.FloatField(allow_null=True)
    bounces_per_request = serializers.FloatField(allow_null=True)
    consults_per_request = serializers.FloatField(allow_null=True)
    reopen_rate = serializers.FloatField(allow_null=True)
    approval_delay = serializers.FloatField(allow_null=True)
    missing_information_rate = serializers.FloatField(allow_null=True)
    breach_rate = serializers.FloatField(allow_null=True)
    department_target_attainment = serializers.FloatField(allow_null=True)
    human_step_share = serializers.FloatField(allow_null=True)
    answer_variation = serializers.FloatField(allow_null=True)
    form_starts = serializers.IntegerField()
    abandonment_rate = serializers.FloatField(allow_null=True)
    article_reads = serializers.IntegerField()
    deflection_rate = serializers.FloatField(allow_null=True)
    ratings = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    rating_mean = serializers.FloatField(allow_null=True)
    rating_distribution = serializers.ListField(child=serializers.IntegerField())
    low_rating_share = serializers.FloatField(allow_null=True)
    sentiment = serializers.FloatField(allow_null=True)
    employee_comments = serializers.IntegerField()
    friction = ScoreOutputSerializer(help_text="0 (smooth) to 1 (painful).")
    emotion = ScoreOutputSerializer(help_text="-1 (bad) to 1 (good).")


class StageEmotionOutputSerializer(serializers.Serializer):
    stage = serializers.CharField(source="stage.name")
    emotion = serializers.FloatField(allow_null=True)
    cases = serializers.IntegerField()


class JourneySignalsOutputSerializer(serializers.Serializer):
    journey = serializers.SlugField(source="journey.slug")
    period = PeriodOutputSerializer()
    touchpoints = TouchpointSignalsOutputSerializer(many=True)
    curve = StageEmotionOutputSerializer(many=True)
