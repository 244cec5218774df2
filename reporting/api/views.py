"""The reporting API under /api/v1/: measures with their current values and history, the
reports the caller may read, and a report's dashboard.

Thin, like the pages: check permission (`can`), parse the input, call one selector,
render. The same rules as the pages answer (`reporting.permissions`): measures are for who
may audit reports, in the scopes they may read; a report is for its audience, its owner
and admins (for anyone else it does not exist: 404); figures under five cases are held
back from who may not see them all.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.permissions import User, can
from reporting import selectors
from reporting.api import serializers as s
from reporting.measures import Scope
from reporting.models import Measure, Report

MEASURES, REPORTS = ["reporting measures"], ["reports"]

FORBIDDEN = OpenApiResponse(description="Not yours to read.")
INVALID = OpenApiResponse(description="Invalid input, with a message per field.")


def _require_measure_reader(user: User) -> None:
    if not can(user, "reporting.audit_reports"):
        raise PermissionDenied("Measures are for who decides with reports or audits them.")


def _with_current(measures: list[Measure], *, scope: Scope, viewer: User) -> list[Measure]:
    """The measures, each given `current`: its card in `scope` (two queries for them all)."""
    for card in selectors.measure_cards(measures=measures, scope=scope, viewer=viewer):
        card.measure.current = card  # type: ignore[attr-defined]
    return measures


# Measures ------------------------------------------------------------------------------


@extend_schema(tags=MEASURES)
class MeasureListApi(ListAPIView):
    """Every measure by name, with its definition, the objective it serves and its current
    value for the whole enterprise. For who may audit reports or add measures."""

    serializer_class = s.MeasureListOutputSerializer
    filter_backends = []

    @extend_schema(responses={200: s.MeasureListOutputSerializer(many=True), 403: FORBIDDEN})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_measure_reader(request.user)
        page = self.paginate_queryset(self.get_queryset())
        measures = _with_current(list(page or []), scope=Scope(), viewer=request.user)
        return self.get_paginated_response(self.get_serializer(measures, many=True).data)

    def get_queryset(self) -> QuerySet[Measure]:
        return selectors.measures_by_name()


@extend_schema(
    tags=MEASURES,
    parameters=[
        OpenApiParameter(
            "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="The measure's key."
        ),
        OpenApiParameter(
            "scope",
            OpenApiTypes.STR,
            description='"all" (the default), "department:<id>", "service:<id>" or '
            '"stream:<id>". A department or service for its department\'s staff, executives '
            "and admins; a value stream for who may read it.",
        ),
    ],
)
class MeasureDetailApi(APIView):
    @extend_schema(
        summary="One measure with its current value and weekly history in a scope",
        responses={
            200: s.MeasureDetailOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: OpenApiResponse(description="No such measure."),
        },
    )
    def get(self, request: Request, key: str) -> Response:
        _require_measure_reader(request.user)
        measure = get_object_or_404(selectors.measures_by_name(), key=key)
        query = s.MeasureScopeInputSerializer(
            data=request.query_params, context={"measure": measure}
        )
        query.is_valid(raise_exception=True)
        scope: Scope = query.validated_data["scope"]
        if not can(request.user, "reporting.read_scope", scope):
            raise PermissionDenied("You may not read that scope's figures.")
        _with_current([measure], scope=scope, viewer=request.user)
        measure.scope = {"key": scope.key, "label": selectors.scope_label(scope)}  # type: ignore[attr-defined]
        return Response(s.MeasureDetailOutputSerializer(measure).data)


# Reports -------------------------------------------------------------------------------


@extend_schema(tags=REPORTS)
class ReportListApi(ListAPIView):
    """The reports you may read: those for an audience you belong to, and your own."""

    serializer_class = s.ReportListOutputSerializer
    filter_backends = []

    def get_queryset(self) -> list[Report]:  # type: ignore[override]
        return selectors.reports_for(self.request.user)


SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The report's slug."
)
NOT_FOUND = OpenApiResponse(description="No such report, or not one you may read.")


def _readable_report(request: Request, slug: str) -> Report:
    return selectors.report_for_reader(
        user=request.user, slug=slug, reports=selectors.reports_with_lines()
    )


@extend_schema(tags=REPORTS, parameters=[SLUG])
class ReportDetailApi(APIView):
    @extend_schema(
        summary="A report's definition and its measures in order",
        responses={200: s.ReportDetailOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(s.ReportDetailOutputSerializer(_readable_report(request, slug)).data)


@extend_schema(tags=REPORTS, parameters=[SLUG, s.DashboardInputSerializer])
class ReportDashboardApi(APIView):
    @extend_schema(
        summary="A report's cards, as its dashboard shows them",
        description="Each measure's latest value, status and weekly series in the chosen "
        "scope: a department audience reads one of its departments, any other the whole "
        "enterprise.",
        responses={
            200: s.DashboardOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        report = _readable_report(request, slug)
        query = s.DashboardInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        scopes = selectors.report_scopes(report=report, viewer=request.user)
        scope = _chosen_scope(scopes, query.validated_data.get("department"))
        cards = selectors.report_cards(report=report, scope=scope, viewer=request.user)
        dashboard = {
            "report": report,
            "scope": _scope_output(scope),
            "scopes": [_scope_output(option) for option in scopes],
            "cards": cards,
        }
        return Response(s.DashboardOutputSerializer(dashboard).data)


def _chosen_scope(scopes: list[Scope], department: int | None) -> Scope:
    if department is None:
        return scopes[0]
    for scope in scopes:
        if scope.department is not None and scope.department.pk == department:
            return scope
    offered = [f"{o.department.pk} ({o.department.name})" for o in scopes if o.department]
    if not offered:
        message = "This report reads the whole enterprise: it has no department to choose."
    else:
        message = f"Choose one of the departments you may read it for: {', '.join(offered)}."
    raise ValidationError({"department": [message]})


def _scope_output(scope: Scope) -> dict[str, Any]:
    return {
        "key": scope.key,
        "label": selectors.scope_label(scope),
        "department": scope.department.pk if scope.department else None,
    }
