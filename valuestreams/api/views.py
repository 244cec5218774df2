"""The value-stream API under /api/v1/streams/: the streams, one stream's model, and its
event log for process-mining tools.

Thin, like the services API: parse the input, fetch through the permission rules (a stream
the viewer may not see is a 404, as on the pages; one they may see but not change is a
403), call one selector or write, render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as ModelValidationError
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.permissions import can
from valuestreams import actions, exports, selectors
from valuestreams.api import serializers as s
from valuestreams.forms import day_period
from valuestreams.metrics import Period
from valuestreams.models import ValueStream

STREAMS, EXPORTS = ["value streams"], ["value-stream exports"]

SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The stream's slug."
)
NOT_FOUND = OpenApiResponse(description="No such stream, or not for you to see.")
FORBIDDEN = OpenApiResponse(description="You may see the stream but not change it.")
INVALID = OpenApiResponse(description="Invalid input, with a message per field; nothing changed.")


# Streams -------------------------------------------------------------------------------


@extend_schema(tags=STREAMS)
class ValueStreamListApi(ListAPIView):
    """Value streams you may read: live and retired ones, and drafts you may shape."""

    serializer_class = s.ValueStreamListOutputSerializer

    def get_queryset(self) -> QuerySet[ValueStream]:
        return selectors.value_streams_visible_to(self.request.user).order_by("name")


@extend_schema(tags=STREAMS, parameters=[SLUG])
class ValueStreamDetailApi(APIView):
    @extend_schema(
        summary="One value stream with its stages, steps and handoff targets",
        responses={200: s.ValueStreamDetailOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        return _stream_detail(request, slug)

    @extend_schema(
        summary="Change a stream's name, outcome, customer or status",
        description="Only the stream's owner and admins may. Other fields are refused (400).",
        request=s.ValueStreamUpdateInputSerializer,
        responses={
            200: s.ValueStreamDetailOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request: Request, slug: str) -> Response:
        stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
        if not can(request.user, "valuestreams.change_stream", stream):
            raise PermissionDenied
        payload = s.ValueStreamUpdateInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        stream = _stream_describe(stream=stream, by=request.user, changes=payload.validated_data)
        return _stream_detail(request, stream.slug)


def _stream_detail(request: Request, slug: str) -> Response:
    stream = selectors.value_stream_with_model(viewer=request.user, slug=slug)
    return Response(s.ValueStreamDetailOutputSerializer(stream).data)


def _stream_describe(*, stream: ValueStream, by: Any, changes: dict[str, Any]) -> ValueStream:
    """Apply the words and status in `changes` through the stream's update action, which
    checks the model's own rules (a name taken by another stream is refused on `name`)."""
    current = {
        "name": stream.name,
        "slug": stream.slug,
        "outcome": stream.outcome,
        "customer": stream.customer,
        "status": stream.status,
    }
    try:
        return actions.value_stream_update(
            stream=stream, by=by, items=stream.items.all(), **(current | changes)
        )
    except ModelValidationError as error:
        raise ValidationError(error.message_dict) from error


# Measures ------------------------------------------------------------------------------

METRICS = ["value-stream measures"]
MEASURED_PERIOD = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATE,
        description="First day of the period (cases resolved from it); give `end` too. "
        "Without both, the last four weeks. Days are in the portal's time zone.",
    ),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day of the period, included."),
]


def _measured(request: Request, slug: str) -> tuple[ValueStream, Period]:
    stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
    query = s.MetricsPeriodInputSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return stream, day_period(query.validated_data["start"], query.validated_data["end"])


@extend_schema(tags=METRICS, parameters=[SLUG, *MEASURED_PERIOD])
class ValueStreamMetricsApi(APIView):
    @extend_schema(
        summary="The stream's flow measures over a period, per stage and handoff",
        description="The same figures as the stream's map page, from the same rollups.",
        responses={200: s.StreamMetricsOutputSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        stream, period = _measured(request, slug)
        metrics = selectors.value_stream_metrics(stream=stream, period=period, viewer=request.user)
        return Response(s.StreamMetricsOutputSerializer(metrics).data)


@extend_schema(tags=METRICS, parameters=[SLUG, *MEASURED_PERIOD])
class ValueStreamVariantsApi(APIView):
    @extend_schema(
        summary="The paths the period's cases took through the stages",
        description="Most common first, each with its lead times and its conformance.",
        responses={200: s.VariantOutputSerializer(many=True), 400: INVALID, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        stream, period = _measured(request, slug)
        variants = selectors.value_stream_variants(
            stream=stream, period=period, viewer=request.user
        )
        return Response(s.VariantOutputSerializer(variants, many=True).data)


# Exports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    content_type: str
    write: Callable[[Iterable[exports.ExportRow], ValueStream], Iterator[str]]


def _write_csv(rows: Iterable[exports.ExportRow], stream: ValueStream) -> Iterator[str]:
    return exports.event_log_csv(rows)


def _write_xes(rows: Iterable[exports.ExportRow], stream: ValueStream) -> Iterator[str]:
    return exports.event_log_xes(rows, log_name=stream.name)


CSV = ExportFormat("csv", "text/csv; charset=utf-8", _write_csv)
XES = ExportFormat("xes", "application/xml; charset=utf-8", _write_xes)

PERIOD_PARAMETERS = [
    OpenApiParameter(
        "start",
        OpenApiTypes.DATE,
        description="Only cases resolved on or after this day (their last resolution); "
        "give `end` too. Days are in the portal's time zone.",
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.DATE,
        description="Only cases resolved on or before this day. Without a period, every case.",
    ),
]


class _IgnoreAccept(BaseContentNegotiation):
    """The format is in the URL: a download answers whatever the client accepts, and its
    errors (400, 404) come back as JSON."""

    def select_parser(self, request: Any, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Any, renderers: list[Any], format_suffix: Any = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class _ExportApi(APIView):
    log_format: ClassVar[ExportFormat]
    content_negotiation_class = _IgnoreAccept

    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        stream = selectors.value_stream_for_viewer(user=request.user, slug=slug)
        query = s.ExportPeriodInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data.get("start"), query.validated_data.get("end")
        period = day_period(start, end) if start and end else None
        rows = exports.value_stream_event_rows(stream=stream, viewer=request.user, period=period)
        suffix = f"-{start:%Y%m%d}-{end:%Y%m%d}" if start and end else ""
        filename = f"{stream.slug}-events{suffix}.{self.log_format.extension}"
        return StreamingHttpResponse(
            self.log_format.write(rows, stream),
            content_type=self.log_format.content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


EXPORT_RESPONSES = {400: INVALID, 404: NOT_FOUND}


@extend_schema(tags=EXPORTS, parameters=[SLUG, *PERIOD_PARAMETERS])
class ValueStreamExportCsvApi(_ExportApi):
    log_format = CSV

    @extend_schema(
        summary="The stream's event log as CSV, for process-mining tools",
        description=(
            "One row per event of the stream's cases that you may see, by case then time: "
            "case_id, activity, timestamp (ISO 8601, UTC), department, resource (empty for "
            "the system), lifecycle (XES standard transition), event (the raw kind), stage. "
            "Streamed as a download."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
            **EXPORT_RESPONSES,
        },
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        return super().get(request, slug)


@extend_schema(tags=EXPORTS, parameters=[SLUG, *PERIOD_PARAMETERS])
class ValueStreamExportXesApi(_ExportApi):
    log_format = XES

    @extend_schema(
        summary="The stream's event log as XES (IEEE 1849), for process-mining tools",
        description=(
            "One trace per case you may see, its events in time order, with the concept, "
            "time, organizational and lifecycle extensions. Streamed as a download."
        ),
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="The XES log."),
            **EXPORT_RESPONSES,
        },
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        return super().get(request, slug)
