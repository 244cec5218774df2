"""Durations and rates in the words the value-stream pages use, shared by the map and the
`valuestreams` template filters so a figure reads the same wherever it is shown."""

from __future__ import annotations

ELAPSED_DAY_HOURS = 24
BUSINESS_DAY_HOURS = 8
"""A working day, as the workspace's business-time figures count it."""


def duration(hours: float | None, *, business: bool = False) -> str:
    """'45 min' under an hour, '4.2 h' under two days, '3.5 days' beyond; '' when unknown.

    Elapsed time counts 24-hour days; business time (handoff delays and their targets)
    counts 8-hour working days and says so, so "2 days" never means two different things.
    """
    if hours is None:
        return ""
    day = BUSINESS_DAY_HOURS if business else ELAPSED_DAY_HOURS
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    if hours < 2 * day:
        return f"{_one_decimal(hours)} h"
    unit = "working days" if business else "days"
    return f"{_one_decimal(hours / day)} {unit}"


def percent(share: float | None) -> str:
    """A 0-1 share as a whole percentage, '' when unknown."""
    if share is None:
        return ""
    return f"{round(share * 100)}%"


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return text.removesuffix(".0")
