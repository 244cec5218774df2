"""Every non-trivial read of value streams: their configuration and outside-in view
(`config`), and their flow measures and the cases behind them (`flow`)."""

from valuestreams.selectors.config import (
    Copis,
    catalog_items_for_streams,
    plan_steps_free_for,
    value_stream_copis,
    value_stream_for_editor,
    value_stream_for_viewer,
    value_stream_handoff_targets,
    value_stream_plan_steps,
    value_stream_stages,
    value_stream_with_model,
)
from valuestreams.selectors.flow import (
    value_stream_cases,
    value_stream_cases_hidden,
    value_stream_metrics,
    value_stream_summaries,
    value_stream_variants,
    value_streams_visible_to,
)

__all__ = [
    "Copis",
    "catalog_items_for_streams",
    "plan_steps_free_for",
    "value_stream_cases",
    "value_stream_cases_hidden",
    "value_stream_copis",
    "value_stream_for_editor",
    "value_stream_for_viewer",
    "value_stream_handoff_targets",
    "value_stream_metrics",
    "value_stream_plan_steps",
    "value_stream_stages",
    "value_stream_summaries",
    "value_stream_variants",
    "value_stream_with_model",
    "value_streams_visible_to",
]
