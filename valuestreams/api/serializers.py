"""Input and output shapes of the value-stream API, one pair per operation.

Output serializers read only what the selectors load, so a stream costs the same number of
queries whatever its number of stages, steps and handoff targets.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from services.api.serializers import DepartmentOutputSerializer, PersonOutputSerializer
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


class ValueStreamUpdateInputSerializer(serializers.Serializer):
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


class ExportPeriodInputSerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="First day (YYYY-MM-DD) of the period, in the portal's time zone."
    )
    end = serializers.DateField(
        required=False, help_text="The day after the period's last (YYYY-MM-DD): [start, end)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            raise serializers.ValidationError({missing: ["Give both start and end, or neither."]})
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        return attrs
