"""Reads of value streams for the API and exports: which streams a person may see, and one
stream with its model (stages, steps, handoff targets) loaded in a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from esm.permissions import can, is_admin
from services.models import CatalogItem
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream


def value_streams_visible_to(viewer: Any) -> QuerySet[ValueStream]:
    """The streams `viewer` may see: the SQL twin of the `valuestreams.view_stream` rule.

    Readers of streams see every stream but drafts; a draft only its owner and admins (who
    may shape it). Owning a stream makes one a reader, so nobody else sees any stream.
    """
    if not can(viewer, "valuestreams.view_streams"):
        return ValueStream.objects.none()
    streams = ValueStream.objects.select_related("owner")
    if is_admin(viewer):
        return streams
    return streams.filter(~Q(status=ValueStream.Status.DRAFT) | Q(owner=viewer))


def value_stream_with_model(*, viewer: Any, slug: str) -> ValueStream:
    """The stream with its stages in order, each with its department, steps (plan step and
    item) and outgoing handoff targets. Raises `Http404` when `viewer` may not see it, as
    when it does not exist."""
    steps = StageStep.objects.select_related("plan_step__item").order_by(
        "plan_step__item__slug", "plan_step__position", "plan_step__id"
    )
    handoffs = HandoffTarget.objects.select_related("to_stage").order_by(
        "to_stage__parallel_group", "to_stage__position", "to_stage__id"
    )
    stages = Stage.objects.select_related("department").prefetch_related(
        Prefetch("steps", queryset=steps), Prefetch("handoffs_out", queryset=handoffs)
    )
    streams = value_streams_visible_to(viewer).prefetch_related(
        Prefetch("stages", queryset=stages),
        Prefetch("items", queryset=CatalogItem.objects.order_by("name")),
    )
    try:
        return streams.get(slug=slug)
    except ValueStream.DoesNotExist:
        raise Http404("No such value stream, or not for you to see.") from None


def value_stream_for_viewer(*, viewer: Any, slug: str) -> ValueStream:
    """The stream alone (no relations loaded); `Http404` when `viewer` may not see it."""
    try:
        return value_streams_visible_to(viewer).get(slug=slug)
    except ValueStream.DoesNotExist:
        raise Http404("No such value stream, or not for you to see.") from None
