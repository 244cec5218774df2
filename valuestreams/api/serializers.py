"""Input and output shapes of the value-stream API, one pair per operation.

Output serializers read only what the selectors load, so a stream costs the same number of
queries whatever its number of stages, steps and handoff targets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from esm.api import InputSerializer
from services.api.serializers import DepartmentOutputSerializer, PersonOutputSerializer
from valuestreams.forms import DEFAULT_DAYS, MAX_DAYS, local_today
from valuestreams.models import ValueStream


class ItemRefOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


# Streams -------------------------------------------------------------------------------


class ValueStreamListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    outcome = serializers.CharField(help_text="What the stream delivers.")
    customer = serializers.CharField(help_text="Who receives the outcome.")
    status = serializers.ChoiceField(choices=ValueStream.Status.choices)
    owner = PersonOutputSerializer(help_text="Accountable for the whole stream.")


class StageStepOutputSerializer(serializers.Serializer):
    key = serializers.SlugField(
        source="plan_step.key", help_text="The plan step's key (`step` in the event log)."
    )
    name = serializers.CharField(source="plan_step.name")
    item = serializers.SlugField(
        source="plan_step.item.slug", help_text="The catalog item whose plan has the step."
    )


class HandoffTargetOutputSerializer(serializers.Serializer):
    to_stage = serializers.CharField(source="to_stage.name", help_text="The downstream stage.")
    pickup_minutes = serializers.IntegerField(
        help_text="Pick-up time allowed at the boundary, in business minutes."
    )


class StageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    department = DepartmentOutputSerializer(help_text="The department that owns the stage.")
    position = serializers.IntegerField(help_text="Order within the stream.")
    parallel_group = serializers.IntegerField(
        help_text="Stages with the same number run side by side; groups run in order."
    )
    expected_process_minutes = serializers.IntegerField(
        help_text="Hands-on time the stage is expected to take, in business minutes."
    )
    steps = StageStepOutputSerializer(many=True, help_text="The plan steps it is made of.")
    handoff_targets = HandoffTargetOutputSerializer(
        source="handoffs_out", many=True, help_text="Targets where work leaves this stage."
    )


class ValueStreamDetailOutputSerializer(ValueStreamListOutputSerializer):
    items = ItemRefOutputSerializer(many=True, help_text="The catalog items that run it.")
    stages = StageOutputSerializer(many=True, help_text="In order: parallel group, position.")


class ValueStreamUpdateInputSerializer(InputSerializer):
    """What the API may change about a stream: its words and its status. Its model (stages,
    steps, items, owner) is shaped on the stream's pages."""

    name = serializers.CharField(max_length=150, required=False)
    outcome = serializers.CharField(max_length=255, required=False)
    customer = serializers.CharField(max_length=150, required=False)
    status = serializers.ChoiceField(choices=ValueStream.Status.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {key: ["This field cannot be changed here."] for key in sorted(unknown)}
            )
        return attrs


# Exports -------------------------------------------------------------------------------


class ExportPeriodInputSerializer(InputSerializer):
    start = serializers.DateField(
        required=False, help_text="First day (YYYY-MM-DD) of the period, in the portal's time zone."
    )
    end = serializers.DateField(
        required=False, help_text="The period's last day (YYYY-MM-DD), included."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            raise serializers.ValidationError({missing: ["Give both start and end, or neither."]})
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"end": ["The end must be on or after the start."]})
        return attrs


# Measures ------------------------------------------------------------------------------
# Durations are hours of elapsed time; handoff delays are business hours. A figure is null
# when no case gives it a value, or when the small-group rule holds it back (`hidden`).


class MetricsPeriodInputSerializer(ExportPeriodInputSerializer):
    """The period measured; the last four weeks when neither day is given."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("start") is None:
            attrs["end"] = local_today()
            attrs["start"] = attrs["end"] - dt.timedelta(days=DEFAULT_DAYS - 1)
        elif (attrs["end"] - attrs["start"]).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"start": [f"At most {MAX_DAYS} days."]})
        return attrs


class PeriodOutputSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Cases resolved from this moment…")
    end = serializers.DateTimeField(help_text="…to this one (excluded).")


class DistributionOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    p50 = serializers.FloatField(allow_null=True, help_text="Nearest-rank median.")
    p85 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)


class StageRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    department = serializers.SlugField(source="department.slug")
    parallel_group = serializers.IntegerField()


class StageMetricsOutputSerializer(serializers.Serializer):
    stage = StageRefOutputSerializer()
    cases = serializers.IntegerField()
    process = serializers.FloatField(allow_null=True, help_text="Mean hours worked per case.")
    queue_wait = serializers.FloatField(allow_null=True)
    department_wait = serializers.FloatField(allow_null=True)
    automation_wait = serializers.FloatField(allow_null=True)
    wait = serializers.FloatField(allow_null=True, help_text="The three waits above, summed.")
    employee_wait = serializers.FloatField(allow_null=True, help_text="Apart from `wait`.")
    wait_share = serializers.FloatField(allow_null=True, help_text="Of the stream's wait, 0-1.")
    critical_cases = serializers.IntegerField()
    received = serializers.IntegerField()
    flawed = serializers.IntegerField()
    percent_complete_accurate = serializers.FloatField(allow_null=True)
    is_bottleneck = serializers.BooleanField()


class HandoffMetricsOutputSerializer(serializers.Serializer):
    from_stage = StageRefOutputSerializer()
    to_stage = StageRefOutputSerializer()
    target_minutes = serializers.IntegerField(allow_null=True, help_text="Business minutes.")
    delay = DistributionOutputSerializer(help_text="Business hours.")
    breaches = serializers.IntegerField()


class TrendOutputSerializer(serializers.Serializer):
    lead_time_p50 = serializers.FloatField(allow_null=True)
    flow_efficiency = serializers.FloatField(allow_null=True)
    throughput_per_week = serializers.FloatField(allow_null=True)


class StreamMetricsOutputSerializer(serializers.Serializer):
    stream = serializers.SlugField(source="stream.slug")
    period = PeriodOutputSerializer()
    cases = serializers.IntegerField(help_text="Resolved in the period.")
    lead_time = DistributionOutputSerializer()
    flow_efficiency = serializers.FloatField(allow_null=True)
    throughput_per_week = serializers.FloatField()
    wip = serializers.IntegerField(help_text="Open now.")
    employee_wait = serializers.FloatField(allow_null=True)
    rolled_percent_complete_accurate = serializers.FloatField(allow_null=True)
    bottleneck = StageRefOutputSerializer(source="bottleneck.stage", allow_null=True)
    previous = TrendOutputSerializer(
        allow_null=True, help_text="The previous period of equal length."
    )
    hidden = serializers.BooleanField()
    stages = StageMetricsOutputSerializer(many=True)
    handoffs = HandoffMetricsOutputSerializer(many=True)


class VariantOutputSerializer(serializers.Serializer):
    path = serializers.ListField(
        child=StageRefOutputSerializer(many=True),
        help_text="Segments in order; the stages of one segment ran side by side.",
    )
    cases = serializers.IntegerField()
    lead_time = DistributionOutputSerializer()
    conformance = serializers.CharField(
        help_text='"conforming", or "skipped", "repeated", "reordered" joined by "+".'
    )
