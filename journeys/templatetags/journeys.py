"""`{% load journeys %}`: the journey pages' words for friction, emotion and the signals.
The rules live in `journeys.board` and `journeys.curve`; these only hand them to templates."""

from __future__ import annotations

from django import template

from journeys import board
from journeys.curve import cases_text, emotion_value
from journeys.metrics import JourneyMetrics, TouchpointSignals

register = template.Library()


@register.filter
def friction_level(signals: TouchpointSignals) -> board.FrictionLevel:
    """`{% with level=signals|friction_level %}`: `level.css` and `level.word`."""
    return board.friction_level(signals)


@register.filter
def emotion(value: float | None) -> str:
    """An emotion -1 to 1 as '+0.42'; empty when unknown, so `|default` can follow."""
    return "" if value is None else emotion_value(value)


@register.filter
def score(value: float | None) -> str:
    """A 0-1 score or score part as '0.42'; empty when unknown."""
    return "" if value is None else f"{value:.2f}"


@register.filter
def cases(count: int) -> str:
    """'1 case', '12 cases'."""
    return cases_text(count or 0)


@register.filter
def signal_label(name: str) -> str:
    return board.signal_label(name)


@register.filter
def lookup(mapping: dict | None, key: object) -> list:
    """`findings_by_touchpoint|lookup:touchpoint.pk`: the value, or an empty list."""
    if not mapping:
        return []
    return mapping.get(key) or []


@register.simple_tag
def board_columns(metrics: JourneyMetrics) -> list[board.BoardColumn]:
    """`{% board_columns metrics as columns %}`."""
    return board.board_columns(metrics)


@register.simple_tag
def signal_rows(signals: TouchpointSignals) -> list[board.SignalRow]:
    """`{% signal_rows signals as rows %}`."""
    return board.signal_rows(signals)


@register.simple_tag
def rating_bars(signals: TouchpointSignals) -> list[board.RatingBar]:
    """`{% rating_bars signals as bars %}`."""
    return board.rating_bars(signals)


@register.filter
def signal_value(value: float | None, name: str) -> str:
    """`{{ finding.value_before|signal_value:finding.signal }}`: '42%', '4.2 h'."""
    return board.signal_value(name, value)


@register.simple_tag
def friction_cutoffs() -> dict[str, float]:
    """`{% friction_cutoffs as cutoffs %}`: `cutoffs.some` and `cutoffs.high`."""
    return {"some": board.FRICTION_SOME, "high": board.FRICTION_HIGH}
