"""The measured pages of journeys: the list of maps, a map with its touchpoints' friction
and the emotion curve, and one touchpoint's signals. Thin: a permission check, selectors,
a template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from esm.permissions import can
from journeys import selectors
from journeys.curve import emotion_curve
from journeys.models import Finding, JourneyMap, Touchpoint
from valuestreams.views.flow import period_context

OPEN = [Finding.Status.NEW, Finding.Status.ACCEPTED, Finding.Status.IN_PROGRESS]


@dataclass(frozen=True)
class JourneySummary:
    touchpoints: int
    measured: int
    findings_open: int


def _journeys_with_counts(viewer: Any) -> Any:
    return selectors.journeys_visible_to(viewer).annotate(
        touchpoint_count=Count("stages__touchpoints", distinct=True),
        measured_count=Count(
            "stages__touchpoints",
            filter=Q(stages__touchpoints__items__isnull=False)
            | Q(stages__touchpoints__articles__isnull=False)
            | Q(stages__touchpoints__stream_stages__isnull=False),
            distinct=True,
        ),
        findings_open=Count(
            "stages__touchpoints__findings",
            filter=Q(stages__touchpoints__findings__status__in=OPEN),
            distinct=True,
        ),
    )


@login_required
@require_GET
def journey_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "journeys.view_journeys"):
        raise Http404("No journey maps here.")
    journeys = [
        (
            journey,
            JourneySummary(journey.touchpoint_count, journey.measured_count, journey.findings_open),
        )
        for journey in _journeys_with_counts(request.user)
    ]
    context = {"journeys": journeys, "may_add": can(request.user, "journeys.add_journey")}
    return render(request, "journeys/journey_list.html", context)


def _findings_by_touchpoint(journey: JourneyMap) -> dict[int, list[Finding]]:
    found: dict[int, list[Finding]] = {}
    for finding in Finding.objects.filter(touchpoint__stage__journey=journey).select_related(
        "owner"
    ):
        found.setdefault(finding.touchpoint_id, []).append(finding)
    return found


@login_required
@require_GET
def journey_map(request: HttpRequest, slug: str) -> HttpResponse:
    journey = selectors.journey_for_viewer(user=request.user, slug=slug)
    context = period_context(request)
    metrics = selectors.journey_metrics(
        journey=journey, period=context["period"], viewer=request.user
    )
    context.update(
        journey=journey,
        metrics=metrics,
        curve=emotion_curve(metrics),
        findings_by_touchpoint=_findings_by_touchpoint(journey),
        may_change=can(request.user, "journeys.change_journey", journey),
    )
    to_be = selectors.journey_to_be_of(journey=journey)
    if to_be is not None and can(request.user, "journeys.view_journey", to_be):
        to_be_metrics = selectors.journey_metrics(
            journey=to_be, period=context["period"], viewer=request.user
        )
        context.update(
            to_be=to_be,
            to_be_metrics=to_be_metrics,
            to_be_curve=emotion_curve(to_be_metrics),
            findings_by_touchpoint=context["findings_by_touchpoint"]
            | _findings_by_touchpoint(to_be),
        )
    return render(request, "journeys/journey_map.html", context)


@login_required
@require_GET
def journey_touchpoint(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    journey = selectors.journey_for_viewer(user=request.user, slug=slug)
    touchpoint = get_object_or_404(
        Touchpoint.objects.select_related("stage", "department"), stage__journey=journey, pk=pk
    )
    context = period_context(request)
    period, viewer = context["period"], request.user
    context.update(
        journey=journey,
        touchpoint=touchpoint,
        signals=selectors.touchpoint_signals(touchpoint=touchpoint, period=period, viewer=viewer),
        weeks=selectors.touchpoint_weeks(touchpoint=touchpoint, period=period, viewer=viewer),
        comments=selectors.touchpoint_comments(touchpoint=touchpoint, period=period, viewer=viewer),
        findings=touchpoint.findings.select_related("owner"),
    )
    return render(request, "journeys/touchpoint.html", context)
