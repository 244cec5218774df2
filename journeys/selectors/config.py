"""The reads behind shaping journey maps: the map for a viewer or an editor, its stages and
touchpoints with their links loaded, the choices a touchpoint may link to, and its
findings. Every list is loaded in a fixed number of queries, however big the map."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from esm.permissions import can
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint
from services.models import Article, CatalogItem
from valuestreams.models import Stage as StreamStage


def journey_for_viewer(*, user: Any, slug: str) -> JourneyMap:
    """The map, for someone who may read it; 404 otherwise (a draft they may not see does
    not exist for them)."""
    journey = JourneyMap.objects.select_related("owner", "as_is").filter(slug=slug).first()
    if journey is None or not can(user, "journeys.view_journey", journey):
        raise Http404("No such journey map.")
    return journey


def journey_for_editor(*, user: Any, slug: str) -> JourneyMap:
    """The map, for someone who may shape it: 404 when they may not even read it, 403 when
    they read it but may not change it."""
    journey = journey_for_viewer(user=user, slug=slug)
    if not can(user, "journeys.change_journey", journey):
        raise PermissionDenied("Only the journey's owner or an admin shapes it.")
    return journey


def journeys_visible_to(viewer: Any) -> QuerySet[JourneyMap]:
    """The maps the viewer may read (the `journeys.view_journey` rule as a queryset): live
    and retired ones for readers, drafts only for their owner and admins."""
    if not can(viewer, "journeys.view_journeys"):
        return JourneyMap.objects.none()
    journeys = JourneyMap.objects.select_related("owner", "as_is")
    if can(viewer, "esm.use_admin"):
        return journeys
    return journeys.filter(~Q(status=JourneyMap.Status.DRAFT) | Q(owner=viewer))


def journey_to_be_of(*, journey: JourneyMap) -> JourneyMap | None:
    """The to-be map that improves on `journey`, if one was started."""
    return JourneyMap.objects.filter(as_is=journey).first()


def _findings() -> QuerySet[Finding]:
    return Finding.objects.select_related("owner").order_by("-created_at", "id")


def _touchpoints(*, with_findings: bool) -> QuerySet[Touchpoint]:
    touchpoints = Touchpoint.objects.select_related("department").prefetch_related(
        Prefetch("items", CatalogItem.objects.order_by("name")),
        Prefetch("articles", Article.objects.order_by("title")),
        Prefetch("stream_stages", StreamStage.objects.select_related("stream").order_by("name")),
    )
    if with_findings:
        touchpoints = touchpoints.prefetch_related(Prefetch("findings", _findings()))
    return touchpoints


def journey_stages(*, journey: JourneyMap, with_findings: bool = False) -> list[JourneyStage]:
    """The map's stages in order, each with its touchpoints in order, their department and
    their links (and their findings, newest first, when asked)."""
    return list(
        journey.stages.prefetch_related(
            Prefetch("touchpoints", _touchpoints(with_findings=with_findings))
        )
    )


def journey_with_stages(*, viewer: Any, slug: str) -> JourneyMap:
    """The map with everything the API shows of it: its stages in order, their touchpoints
    with their links and findings. Raises `Http404` when `viewer` may not see it, as when it
    does not exist."""
    stages = JourneyStage.objects.prefetch_related(
        Prefetch("touchpoints", _touchpoints(with_findings=True))
    )
    journey = (
        JourneyMap.objects.select_related("owner", "as_is")
        .prefetch_related(Prefetch("stages", stages))
        .filter(slug=slug)
        .first()
    )
    if journey is None or not can(viewer, "journeys.view_journey", journey):
        raise Http404("No such journey map.")
    return journey


def journey_touchpoints(*, journey: JourneyMap) -> QuerySet[Touchpoint]:
    """The map's touchpoints, each with its stage, in journey order."""
    return (
        Touchpoint.objects.filter(stage__journey=journey)
        .select_related("stage")
        .order_by("stage__position", "stage__id", "position", "id")
    )


def journey_findings(*, journey: JourneyMap) -> QuerySet[Finding]:
    """The findings pinned to the map's touchpoints, newest first, with their owner and
    touchpoint."""
    return _findings().filter(touchpoint__stage__journey=journey).select_related("touchpoint")


# What a touchpoint may link to -----------------------------------------------------------


def catalog_items_for_touchpoints() -> QuerySet[CatalogItem]:
    return CatalogItem.objects.select_related("department").order_by("name")


def articles_for_touchpoints() -> QuerySet[Article]:
    """Published articles only: a draft is read by nobody the journey is about."""
    return Article.objects.published().order_by("title")


def stream_stages_for_touchpoints() -> QuerySet[StreamStage]:
    return StreamStage.objects.select_related("stream").order_by(
        "stream__name", "parallel_group", "position", "id"
    )
