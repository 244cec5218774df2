"""The flow measures of a value stream over a period, as the pages and the API read them.

Built by `valuestreams.selectors.value_stream_metrics` from the rollup rows (one per case,
stage and handoff), never from the raw log at page time. Durations are hours of elapsed
time, except handoff delays, which are business hours (their targets are business time).
A figure is `None` when no case gives it a value; a page says so instead of showing 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from valuestreams.models import Stage, ValueStream

SMALL_GROUP = 5
"""An aggregate of fewer cases is not shown to someone who may not see those cases."""


@dataclass(frozen=True)
class Period:
    """[start, end): the cases resolved in it are the period's cases."""

    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    @property
    def weeks(self) -> float:
        return self.length / dt.timedelta(weeks=1)

    def previous(self) -> Period:
        """The period of equal length just before this one (for trends)."""
        return Period(self.start - self.length, self.start)


@dataclass(frozen=True)
class Distribution:
    """Nearest-rank percentiles and the mean of one duration over the period's cases."""

    count: int
    p50: float | None = None
    p85: float | None = None
    p95: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class StageMetrics:
    """One stage over the period's cases that ran it. Times are means per case, in hours."""

    stage: Stage
    cases: int
    process: float | None = None
    queue_wait: float | None = None
    department_wait: float | None = None
    automation_wait: float | None = None
    employee_wait: float | None = None
    """Reported apart: not the team's delay."""
    wait_share: float | None = None
    """This stage's share (0-1) of the stream's total wait (queue, department, automation)."""
    critical_cases: int = 0
    """Cases in which this stage was on the critical path (the last of its group to finish)."""
    received: int = 0
    flawed: int = 0
    """Work received that was sent back, lacked information, or was reopened."""
    is_bottleneck: bool = False
    held_back: bool = False
    """The small-group rule holds this stage's times, shares and rates back from the viewer;
    its counts stay."""

    @property
    def wait(self) -> float | None:
        parts = [self.queue_wait, self.department_wait, self.automation_wait]
        if all(part is None for part in parts):
            return None
        return sum(part or 0.0 for part in parts)

    @property
    def percent_complete_accurate(self) -> float | None:
        if not self.received or self.held_back:
            return None
        return 1 - self.flawed / self.received


@dataclass(frozen=True)
class HandoffMetrics:
    """One transition between stages: upstream done to downstream picked up."""

    from_stage: Stage
    to_stage: Stage
    target_minutes: int | None
    """The pick-up target in business minutes, if the stream sets one."""
    delay: Distribution
    """Business hours."""
    breaches: int = 0


@dataclass(frozen=True)
class Trend:
    """This period against the previous one of equal length: lower lead time is better,
    higher flow efficiency and throughput are."""

    lead_time_p50: float | None
    flow_efficiency: float | None
    throughput_per_week: float | None


@dataclass(frozen=True)
class VariantMetrics:
    """One distinct path that cases took through the stages (in the order they started)."""

    path: tuple[tuple[Stage, ...], ...]
    """Segments in order; the stages of one segment ran side by side (one parallel group)."""
    cases: int
    lead_time: Distribution
    conformance: str
    """"conforming", or what went against the model: "skipped", "repeated", "reordered"
    (several joined by "+")."""


@dataclass(frozen=True)
class StreamSummary:
    """A stream's headline figures for the list of streams."""

    stream: ValueStream
    lead_time: Distribution
    flow_efficiency: float | None
    throughput_per_week: float
    wip: int
    previous: Trend | None = None
    hidden: bool = False


@dataclass(frozen=True)
class StreamMetrics:
    stream: ValueStream
    period: Period
    lead_time: Distribution
    """Submitted to (last) resolved, hours, for the cases resolved in the period."""
    flow_efficiency: float | None
    """Process time on the critical path / lead time, summed over the cases (0-1)."""
    throughput_per_week: float
    wip: int
    """Cases open now (not bound to the period)."""
    employee_wait: float | None
    """Mean hours per case waiting on the employee, apart from the team's wait."""
    stages: list[StageMetrics] = field(default_factory=list)
    handoffs: list[HandoffMetrics] = field(default_factory=list)
    previous: Trend | None = None
    hidden: bool = False
    """The small-group rule held the figures back: too few cases for someone who may not
    see them all. Counts stay; durations, shares and rates are `None`."""
    sees_all: bool = True
    """The viewer may see every case of the period (the small-group rule holds nothing
    back from them)."""
    rollup_version: Any = None
    """The version of the stream's rollup rows the figures were read from: what else is
    read from them for the same page is kept in the cache under it too
    (`esm.cache.kept_until_rewritten`)."""

    @property
    def cases(self) -> int:
        return self.lead_time.count

    @property
    def rolled_percent_complete_accurate(self) -> float | None:
        # A product over some of the stages would overstate the whole stream's.
        if any(s.held_back for s in self.stages):
            return None
        rates = [s.percent_complete_accurate for s in self.stages]
        known = [rate for rate in rates if rate is not None]
        if not known:
            return None
        product = 1.0
        for rate in known:
            product *= rate
        return product

    @property
    def bottleneck(self) -> StageMetrics | None:
        return next((s for s in self.stages if s.is_bottleneck), None)
