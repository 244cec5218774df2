"""The signals of a touchpoint over a period, and the scores built on them, as the pages and
the API read them.

Built by `journeys.selectors` from the rollup rows (`TouchpointCase`, `TouchpointDay`), never
from the raw log at page time. Rates are shares 0-1; durations are hours of elapsed time. A
figure is `None` when no case gives it a value, or when the small-group rule holds it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from journeys.models import JourneyMap, JourneyStage, Touchpoint
from valuestreams.metrics import SMALL_GROUP, Distribution, Period

__all__ = [
    "SMALL_GROUP",
    "Distribution",
    "JourneyMetrics",
    "Period",
    "Score",
    "ScorePart",
    "StageEmotion",
    "TouchpointSignals",
]


@dataclass(frozen=True)
class ScorePart:
    """One ingredient of a score: its name, its value normalised to 0-1 (1 = worst friction,
    or best feeling for emotion), and its weight."""

    name: str
    value: float | None
    weight: float


@dataclass(frozen=True)
class Score:
    """A score with what it is made of and how much to trust it."""

    value: float | None
    parts: tuple[ScorePart, ...] = ()
    confidence: int = 0
    """How many cases it rests on."""


@dataclass(frozen=True)
class TouchpointSignals:
    touchpoint: Touchpoint
    cases: int
    """Requests of the touchpoint resolved in the period."""
    resolution: Distribution
    """Submitted to resolved, hours (p50 is the median, p85 the 85th percentile)."""
    wait_share: float | None = None
    """The teams' waiting (queue, other department, automation) over the time to resolution."""
    handoffs_per_request: float | None = None
    bounces_per_request: float | None = None
    consults_per_request: float | None = None
    reopen_rate: float | None = None
    approval_delay: float | None = None
    """Mean hours from an approval asked to decided."""
    missing_information_rate: float | None = None
    """Asks for missing information per request."""
    breach_rate: float | None = None
    """Share of requests whose end-to-end target (the employee's promise) was missed."""
    department_target_attainment: float | None = None
    """Share of the requests' tasks that met their department target."""
    human_step_share: float | None = None
    answer_variation: float | None = None
    """Distinct sets of form answers over requests (0 = always the same answers)."""
    form_starts: int = 0
    abandonment_rate: float | None = None
    """Form starts that no request came from, over form starts."""
    article_reads: int = 0
    deflection_rate: float | None = None
    """Suggested articles read with no request raised after, over reads."""
    ratings: int = 0
    response_rate: float | None = None
    rating_mean: float | None = None
    rating_distribution: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    """How many ratings of 1, 2, 3, 4 and 5."""
    low_rating_share: float | None = None
    """Ratings of 1-2 over ratings."""
    sentiment: float | None = None
    """Mean sentiment of the employees' own comments, -1 to 1."""
    employee_comments: int = 0
    emotion: Score = field(default_factory=lambda: Score(None))
    """How it feels, -1 (bad) to 1 (good), inferred from ratings, behaviour and words."""
    friction: Score = field(default_factory=lambda: Score(None))
    """0 (smooth) to 1 (painful)."""
    hidden: bool = False
    """The small-group rule held the figures back (counts stay)."""

    @property
    def measured(self) -> bool:
        return self.cases > 0 or self.form_starts > 0 or self.article_reads > 0


@dataclass(frozen=True)
class StageEmotion:
    """A point of the emotion curve: the stage's touchpoints' emotion, weighted by cases."""

    stage: JourneyStage
    emotion: float | None
    cases: int


@dataclass(frozen=True)
class JourneyMetrics:
    journey: JourneyMap
    period: Period
    touchpoints: list[TouchpointSignals]
    curve: list[StageEmotion]
