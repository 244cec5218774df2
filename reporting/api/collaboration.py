"""GET /api/v1/collaboration/?start=&end=: the collaboration map as data, departments as
nodes and the handoffs and consults between them as edges (`reporting.collaboration`),
under the same rule as the page (`reporting.view_collaboration`) and the same small-group
rule: a held-back figure is null with `held_back` true. Days are whole days in the
portal's time zone, both ends included; the last four weeks when none are given."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.permissions import can
from reporting.collaboration import Work, collaboration_map
from valuestreams.forms import PeriodForm


class _NodeSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class _WorkSerializer(serializers.Serializer):
    volume = serializers.IntegerField()
    picked_up = serializers.IntegerField(help_text="Handoffs claimed / consults answered.")
    median_pickup_hours = serializers.FloatField(source="median", allow_null=True)
    hidden = serializers.IntegerField(help_text="Of the volume, cases you may not open.")
    held_back = serializers.BooleanField()


class _HandoffsSerializer(_WorkSerializer):
    sent_back = serializers.SerializerMethodField()
    send_back_rate = serializers.FloatField(allow_null=True)

    def get_sent_back(self, work: Work) -> int | None:
        return None if work.held_back else work.sent_back


class _EdgeSerializer(serializers.Serializer):
    source = serializers.SlugField(source="from_department.slug")
    target = serializers.SlugField(source="to_department.slug")
    volume = serializers.IntegerField()
    handoffs = _HandoffsSerializer()
    consults = _WorkSerializer()


class CollaborationOutputSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last day included.")
    nodes = _NodeSerializer(many=True)
    edges = _EdgeSerializer(many=True)


BLANK_OR_DATE = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]
}


@extend_schema(tags=["collaboration"])
class CollaborationApi(APIView):
    """The collaboration map of a period, busiest edges first."""

    @extend_schema(
        parameters=[
            # Blank is the form's "not chosen" (the period's default), so it is valid too.
            OpenApiParameter(
                "start", BLANK_OR_DATE, description="First day; default: four weeks to `end`."
            ),
            OpenApiParameter("end", BLANK_OR_DATE, description="Last day; default: today."),
        ],
        responses={
            200: CollaborationOutputSerializer,
            400: OpenApiResponse(description="Invalid period, with a message per field."),
            403: OpenApiResponse(description="Not yours to read."),
        },
    )
    def get(self, request: Request) -> Response:
        if not can(request.user, "reporting.view_collaboration"):
            raise PermissionDenied("The collaboration map is for departments' staff and leaders.")
        form = PeriodForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        found = collaboration_map(period=form.period(), viewer=request.user)
        data = {
            "start": form.cleaned_data["start"],
            "end": form.cleaned_data["end"],
            "nodes": found.departments,
            "edges": found.edges,
        }
        return Response(CollaborationOutputSerializer(data).data)
