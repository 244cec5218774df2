"""The state of a clock (a task's department target, a request's end-to-end target), in
Python and in SQL.

Both clocks store the same moments: when the target is due, when it becomes at risk, since
when it is paused, whether the breach was flagged, and (once the work is finished) when it
stopped. `clock_state` reads them in Python; `clock_state_sql` is its SQL twin, the same
rules in the same order, so a queue sorts and counts exactly as its rows read.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Case, F, Q, Value, When


class ClockState(models.TextChoices):
    BREACHED = "breached", "Breached"
    AT_RISK = "at_risk", "At risk"
    ON_TRACK = "on_track", "On track"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    MISSED = "missed", "Missed"
    NONE = "none", "No target"


# Sort order of a queue: breached first, then at risk, then the rest by due time.
CLOCK_RANK = {
    ClockState.BREACHED: 0,
    ClockState.AT_RISK: 1,
    ClockState.ON_TRACK: 2,
    ClockState.PAUSED: 3,
    ClockState.MISSED: 4,
    ClockState.MET: 5,
    ClockState.NONE: 6,
}


def clock_state(
    *,
    due_at: dt.datetime | None,
    at_risk_at: dt.datetime | None,
    paused_at: dt.datetime | None,
    breached: bool,
    stopped_at: dt.datetime | None,
    now: dt.datetime,
    response_missed: bool = False,
) -> ClockState:
    """The one reading of a clock; every badge, word, colour and count comes from it.

    - no due time: NONE;
    - stopped (the work is finished): MISSED when the breach was flagged or the due time
      was reached before the stop, else MET;
    - flagged as breached: BREACHED (a flag is never taken back);
    - paused before its due time: PAUSED (a pause never forgives a due time already passed:
      paused after it, the clock reads BREACHED);
    - due time reached, or (tasks) the first response missed: BREACHED;
    - at-risk time reached: AT_RISK; else ON_TRACK.
    """
    if due_at is None:
        return ClockState.NONE
    if stopped_at is not None:
        return ClockState.MISSED if breached or due_at <= stopped_at else ClockState.MET
    if breached:
        return ClockState.BREACHED
    if paused_at is not None and due_at > paused_at:
        return ClockState.PAUSED
    if due_at <= now or response_missed:
        return ClockState.BREACHED
    if at_risk_at is not None and at_risk_at <= now:
        return ClockState.AT_RISK
    return ClockState.ON_TRACK


def clock_state_sql(
    *,
    due_at: str,
    at_risk_at: str,
    paused_at: str,
    breached: str,
    stopped: Q,
    stopped_at: str,
    now: dt.datetime,
    void: Q | None = None,
    response_missed: Q | None = None,
) -> Case:
    """`clock_state` as a SQL expression over the named fields.

    `stopped` says when the work is finished and `stopped_at` names when; `void` says when
    the clock means nothing (a cancelled case: the Python callers pass no due time then).
    """
    none = Q(**{f"{due_at}__isnull": True})
    if void is not None:
        none |= void
    missed = Q(**{f"{due_at}__lte": now})
    if response_missed is not None:
        missed |= response_missed
    return Case(
        When(none, then=Value(ClockState.NONE.value)),
        When(
            stopped & (Q(**{breached: True}) | Q(**{f"{due_at}__lte": F(stopped_at)})),
            then=Value(ClockState.MISSED.value),
        ),
        When(stopped, then=Value(ClockState.MET.value)),
        When(**{breached: True}, then=Value(ClockState.BREACHED.value)),
        When(
            Q(**{f"{paused_at}__isnull": False, f"{due_at}__gt": F(paused_at)}),
            then=Value(ClockState.PAUSED.value),
        ),
        When(missed, then=Value(ClockState.BREACHED.value)),
        When(**{f"{at_risk_at}__lte": now}, then=Value(ClockState.AT_RISK.value)),
        default=Value(ClockState.ON_TRACK.value),
        output_field=models.CharField(),
    )


def clock_rank_sql(state: Case) -> Case:
    """The queue's sort rank (`CLOCK_RANK`) of a clock's state expression (`clock_state_sql`,
    or a `Case` choosing between such states), as one CASE on the state's own conditions.

    Ranking the state's value instead (`WHEN state = 'breached' THEN 0 ...`) writes the whole
    state expression out again for each of the seven ranks: seven evaluations per row, and a
    query PostgreSQL takes milliseconds to plan."""
    return Case(
        *[When(when.condition, then=_rank_of(when.result)) for when in state.cases],
        default=_rank_of(state.default),
        output_field=models.IntegerField(),
    )


def _rank_of(result: Case | Value) -> Case | Value:
    if isinstance(result, Case):
        return clock_rank_sql(result)
    return Value(CLOCK_RANK[ClockState(result.value)])
