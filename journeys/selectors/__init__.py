"""Every non-trivial read of journeys: their configuration (`config`), and the signals of
their touchpoints read from the rollups (`signals`)."""

from journeys.selectors.config import (
    articles_for_touchpoints,
    catalog_items_for_touchpoints,
    journey_findings,
    journey_for_editor,
    journey_for_viewer,
    journey_stages,
    journey_to_be_of,
    journey_touchpoints,
    journey_with_stages,
    journeys_visible_to,
    stream_stages_for_touchpoints,
)
from journeys.selectors.signals import (
    TouchpointWeek,
    journey_metrics,
    touchpoint_comments,
    touchpoint_signals,
    touchpoint_weeks,
)

__all__ = [
    "TouchpointWeek",
    "articles_for_touchpoints",
    "catalog_items_for_touchpoints",
    "journey_findings",
    "journey_for_editor",
    "journey_for_viewer",
    "journey_metrics",
    "journey_stages",
    "journey_to_be_of",
    "journey_touchpoints",
    "journey_with_stages",
    "journeys_visible_to",
    "stream_stages_for_touchpoints",
    "touchpoint_comments",
    "touchpoint_signals",
    "touchpoint_weeks",
]
