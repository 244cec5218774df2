"""The journey API under /api/v1/journeys/: the maps, one map with its stages,
touchpoints, links and findings, and the findings people write and move along.

Thin, like the value-stream API: parse the input, fetch through the permission rules (a
map the viewer may not see is a 404, as on the pages; one they may see but not change is a
403), call one selector or action, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as ModelValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from esm.permissions import can
from journeys import actions, selectors
from journeys.api import serializers as s
from journeys.models import Finding, JourneyMap, Touchpoint
from valuestreams.api.serializers import MetricsPeriodInputSerializer
from valuestreams.api.views import MEASURED_PERIOD
from valuestreams.forms import day_period

JOURNEYS, FINDINGS = ["journey maps"], ["journey findings"]

SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The journey map's slug."
)
FINDING_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The finding's id."
)
NOT_FOUND = OpenApiResponse(description="No such journey map, or not for you to see.")
FORBIDDEN = OpenApiResponse(description="You may see the journey map but not change it.")
INVALID = OpenApiResponse(description="Invalid input, with a message per field; nothing changed.")


def _journey_for_editor(request: Request, slug: str) -> JourneyMap:
    journey = selectors.journey_for_viewer(user=request.user, slug=slug)
    if not can(request.user, "journeys.change_journey", journey):
        raise PermissionDenied
    return journey


def _person(username: str | None) -> Any:
    if not username:
        return None
    person = get_user_model().objects.filter(username=username, is_active=True).first()
    if person is None:
        raise ValidationError({"owner": ["No colleague has that username."]})
    return person


def _by_field(error: ModelValidationError) -> ValidationError:
    return ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


# Maps ------------------------------------------------------------------------------------


@extend_schema(tags=JOURNEYS)
class JourneyListApi(ListAPIView):
    """Journey maps you may read: live and retired ones, and drafts you may shape."""

    serializer_class = s.JourneyListOutputSerializer

    def get_queryset(self) -> QuerySet[JourneyMap]:
        return selectors.journeys_visible_to(self.request.user).order_by("name")


@extend_schema(tags=JOURNEYS, parameters=[SLUG])
class JourneyDetailApi(APIView):
    @extend_schema(
        summary="One journey map with its stages, touchpoints, their links and findings",
        responses={200: s.JourneyDetailOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        journey = selectors.journey_with_stages(viewer=request.user, slug=slug)
        return Response(s.JourneyDetailOutputSerializer(journey).data)


# Findings --------------------------------------------------------------------------------


@extend_schema(tags=FINDINGS, parameters=[SLUG])
class JourneyFindingsApi(ListAPIView):
    serializer_class = s.FindingOutputSerializer
    queryset = Finding.objects.none()  # for the schema; the findings come from the selector

    def get_queryset(self) -> QuerySet[Finding]:
        journey = selectors.journey_for_viewer(user=self.request.user, slug=self.kwargs["slug"])
        return selectors.journey_findings(journey=journey)

    @extend_schema(
        summary="The findings pinned to the map's touchpoints, newest first",
        responses={200: s.FindingOutputSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Write a pain point or an opportunity on one of the map's touchpoints",
        description="Only the map's owner and admins may.",
        request=s.FindingCreateInputSerializer,
        responses={
            201: s.FindingOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        journey = _journey_for_editor(request, slug)
        payload = s.FindingCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        touchpoint = Touchpoint.objects.filter(
            stage__journey=journey, pk=data["touchpoint"]
        ).first()
        if touchpoint is None:
            raise ValidationError({"touchpoint": ["No touchpoint of this journey has that id."]})
        try:
            finding = actions.finding_save(
                touchpoint=touchpoint,
                by=request.user,
                kind=data["kind"],
                title=data["title"],
                description=data["description"],
                owner=_person(data["owner"]),
            )
        except ModelValidationError as error:
            raise _by_field(error) from error
        return Response(s.FindingOutputSerializer(finding).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=FINDINGS, parameters=[SLUG, FINDING_ID])
class JourneyFindingApi(APIView):
    @extend_schema(
        summary="Move a finding along: its status, owner or description",
        description="Only the map's owner and admins may. Set to done, the finding records "
        "when. Other fields are refused (400).",
        request=s.FindingUpdateInputSerializer,
        responses={
            200: s.FindingOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request: Request, slug: str, pk: int) -> Response:
        journey = _journey_for_editor(request, slug)
        finding = get_object_or_404(
            Finding.objects.select_related("touchpoint", "owner"),
            touchpoint__stage__journey=journey,
            pk=pk,
        )
        payload = s.FindingUpdateInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = payload.validated_data
        owner = _person(changes["owner"]) if "owner" in changes else finding.owner
        try:
            finding = actions.finding_update(
                finding=finding,
                by=request.user,
                description=changes.get("description", finding.description),
                owner=owner,
                status=changes.get("status", finding.status),
            )
        except ModelValidationError as error:
            raise _by_field(error) from error
        finding = Finding.objects.select_related("owner").get(pk=finding.pk)
        return Response(s.FindingOutputSerializer(finding).data)


# Signals ---------------------------------------------------------------------------------


@extend_schema(tags=["journey maps"], parameters=[SLUG, *MEASURED_PERIOD])
class JourneySignalsApi(APIView):
    @extend_schema(
        summary="Each touchpoint's signals and scores over a period, and the emotion curve",
        description="The same figures as the journey map page, from the same rollups.",
        responses={200: s.JourneySignalsOutputSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        journey = selectors.journey_for_viewer(user=request.user, slug=slug)
        query = MetricsPeriodInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = day_period(query.validated_data["start"], query.validated_data["end"])
        metrics = selectors.journey_metrics(journey=journey, period=period, viewer=request.user)
        return Response(s.JourneySignalsOutputSerializer(metrics).data)
