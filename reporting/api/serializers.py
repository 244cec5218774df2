"""Input and output shapes of the reporting API, one pair per operation.

Output serializers read only what the selectors load, so a page of measures or a report
costs the same number of queries whatever its length. A figure is null when there is no
snapshot, or when the small-group rule holds it back from the caller (`held_back`).
"""

from __future__ import annotations

import re

from rest_framework import serializers

from esm.api import InputSerializer
from esm.models import Department
from reporting.measures import REGISTRY, Scope
from reporting.models import Audience, Measure
from services.api.serializers import PersonOutputSerializer
from services.models import Service
from valuestreams.models import ValueStream

STATUS_HELP = (
    '"met", "watch" (missed, short of the point of acting), "act" (past it), "no-target", '
    '"no-data", "too-few" (held back by the small-group rule), "not-held" (the portal holds '
    'no data for it) or "no-function" (its key computes nothing).'
)


# Definitions ---------------------------------------------------------------------------


class ObjectiveRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    level = serializers.CharField(help_text='"mission", "vision", "goal" or "objective".')
    title = serializers.CharField()


class MeasureOutputSerializer(serializers.Serializer):
    """What a measure is, and the decision it supports."""

    key = serializers.SlugField(help_text="The function that computes it, when it is computed.")
    name = serializers.CharField()
    definition = serializers.CharField(help_text="In plain words: what is counted, and how.")
    kind = serializers.CharField(help_text='"outcome", "output", "experience" or "efficiency".')
    unit = serializers.CharField(help_text='A share when "%": values between 0 and 1.')
    target = serializers.FloatField(allow_null=True)
    direction = serializers.CharField(help_text='"higher" or "lower" is better.')
    act_at = serializers.FloatField(
        allow_null=True, help_text="The value past which the decision maker acts."
    )
    decision = serializers.CharField(help_text="The decision it supports.")
    decision_maker = serializers.CharField(help_text="The role that decides.")
    threshold = serializers.CharField(help_text="When the decision maker acts, in words.")
    cadence = serializers.CharField()
    value_factor = serializers.CharField(
        help_text='The business value it evidences: "revenue", "cost", "productivity", '
        '"differentiation", "satisfaction", or empty.'
    )
    data_source = serializers.CharField(help_text="Where its data comes from.")
    source_controlled = serializers.BooleanField(
        help_text="Whether the portal holds its data; if not, it has no value here."
    )
    objective = ObjectiveRefOutputSerializer(allow_null=True, help_text="The objective it serves.")


class PointOutputSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The last day of a rolling four-week window.")
    value = serializers.FloatField(allow_null=True)


class CurrentOutputSerializer(serializers.Serializer):
    """A measure's latest snapshot in one scope (a `selectors.Card`)."""

    value = serializers.FloatField(allow_null=True)
    cases = serializers.IntegerField(
        allow_null=True, help_text="How many cases the value rests on; null when held back."
    )
    day = serializers.DateField(allow_null=True, help_text="The snapshot's day.")
    status = serializers.CharField(help_text=STATUS_HELP)
    held_back = serializers.BooleanField(
        help_text="Fewer than five cases you may not all see: the value is not shown."
    )


class MeasureListOutputSerializer(MeasureOutputSerializer):
    current = CurrentOutputSerializer(help_text="For the whole enterprise.")


class ScopeOutputSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text='"all", "department:<id>", "service:<id>" or "stream:<id>".'
    )
    label = serializers.CharField()


class MeasureDetailOutputSerializer(MeasureListOutputSerializer):
    scope = ScopeOutputSerializer(help_text="What `current` and `history` are about.")
    current = CurrentOutputSerializer(help_text="In the scope asked for.")
    history = PointOutputSerializer(
        source="current.series",
        many=True,
        help_text="Weekly snapshots, oldest first, ending at `current.day`; a point the "
        "small-group rule holds back has a null value.",
    )


SCOPE = re.compile(r"^(?:all|(department|service|stream):([1-9][0-9]{0,9}))$")
SCOPE_MODELS: dict[str, tuple[type, str]] = {
    "department": (Department, "department"),
    "service": (Service, "service"),
    "stream": (ValueStream, "value_stream"),
}


class MeasureScopeInputSerializer(InputSerializer):
    """The scope of a measure's history: "all" (the default), "department:<id>",
    "service:<id>" or "stream:<id>", among the kinds of scope its function computes.
    Whether the caller may read that scope is the view's question (403)."""

    scope = serializers.CharField(required=False, default="all", max_length=40)

    def validate_scope(self, value: str) -> Scope:
        match = SCOPE.match(value)
        if match is None:
            raise serializers.ValidationError(
                'Give "all", or "department:", "service:" or "stream:" followed by an id.'
            )
        kind, pk = match.groups()
        if kind is None:
            return Scope()
        measure: Measure = self.context["measure"]
        registered = REGISTRY.get(measure.key)
        if registered is not None and kind not in registered.scopes:
            raise serializers.ValidationError(f"{measure.name} is not measured per {kind}.")
        model, attribute = SCOPE_MODELS[kind]
        thing = model.objects.filter(pk=int(pk)).first()
        if thing is None:
            raise serializers.ValidationError(f"No {kind} has the id {pk}.")
        return Scope(**{attribute: thing})


# Reports -------------------------------------------------------------------------------


class AudienceRefOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    members = serializers.CharField(
        help_text="Who belongs: " + ", ".join(f'"{value}"' for value in Audience.Members.values)
    )


class ReportListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    audience = AudienceRefOutputSerializer()
    narrative = serializers.CharField()
    cadence = serializers.CharField()
    owner = PersonOutputSerializer()


class ReportLineOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="Lines come in this order.")
    measure = MeasureOutputSerializer()


class ReportDetailOutputSerializer(ReportListOutputSerializer):
    measures = ReportLineOutputSerializer(
        source="ordered_lines", many=True, help_text="In the order the dashboard shows them."
    )


class DashboardInputSerializer(InputSerializer):
    department = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The department whose figures to read, among the report's scopes for you; "
        "without it, the first.",
    )


class DashboardScopeOutputSerializer(ScopeOutputSerializer):
    department = serializers.IntegerField(
        allow_null=True, help_text="The id to pass as `department`, if it is one."
    )


class CardOutputSerializer(CurrentOutputSerializer):
    measure = MeasureOutputSerializer()
    series = PointOutputSerializer(many=True, help_text="Weekly snapshots, oldest first.")


class DashboardOutputSerializer(serializers.Serializer):
    report = ReportListOutputSerializer()
    scope = DashboardScopeOutputSerializer(help_text="The scope of these cards.")
    scopes = DashboardScopeOutputSerializer(many=True, help_text="Those you may choose.")
    cards = CardOutputSerializer(many=True, help_text="The report's measures, in its order.")
