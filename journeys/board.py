"""What the journey pages show of the metrics, in plain words: the board's columns, how a
touchpoint's friction reads (the colour and the word on its card), every signal with its
meaning, and the rating bars. Pure functions on `journeys.metrics`, shared by the template
tags (`{% load journeys %}`) and their tests.

Friction levels (the card's class and word), on the friction score 0 (smooth) to 1:
- below `FRICTION_SOME` (0.33): smooth, `friction-smooth`;
- from `FRICTION_SOME` to below `FRICTION_HIGH` (0.66): some friction, `friction-some`;
- from `FRICTION_HIGH`: high friction, `friction-high`;
- a touchpoint with nothing measured (no links, or no cases, form starts or article reads in
  the period), or with no score: not measured, `friction-none`;
- figures held back by the small-group rule: fewer than 5 cases, `friction-hidden`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from journeys.curve import emotion_value
from journeys.metrics import SMALL_GROUP, JourneyMetrics, TouchpointSignals
from journeys.models import JourneyStage
from valuestreams.formatting import duration, percent

FRICTION_SOME = 0.33
FRICTION_HIGH = 0.66
HIDDEN = f"fewer than {SMALL_GROUP} cases"


@dataclass(frozen=True)
class FrictionLevel:
    key: str
    """smooth, some, high, none or hidden."""
    word: str

    @property
    def css(self) -> str:
        return f"friction-{self.key}"


def friction_level(signals: TouchpointSignals) -> FrictionLevel:
    if signals.hidden:
        return FrictionLevel("hidden", HIDDEN.capitalize())
    value = signals.friction.value
    if not signals.measured or value is None:
        return FrictionLevel("none", "Not measured")
    if value >= FRICTION_HIGH:
        return FrictionLevel("high", "High friction")
    if value >= FRICTION_SOME:
        return FrictionLevel("some", "Some friction")
    return FrictionLevel("smooth", "Smooth")


@dataclass(frozen=True)
class BoardColumn:
    stage: JourneyStage
    touchpoints: list[TouchpointSignals]


def board_columns(metrics: JourneyMetrics) -> list[BoardColumn]:
    """The stages in journey order (those of the curve first, which lists every stage), each
    with its touchpoints in their order; a stage without touchpoints keeps its column."""
    stages: dict[object, JourneyStage] = {}
    for point in metrics.curve:
        stages.setdefault(_key(point.stage), point.stage)
    for signals in metrics.touchpoints:
        stage = signals.touchpoint.stage
        stages.setdefault(_key(stage), stage)
    ordered = sorted(stages.values(), key=lambda s: (s.position, s.pk or 0))
    touchpoints: dict[object, list[TouchpointSignals]] = {_key(s): [] for s in ordered}
    for signals in sorted(
        metrics.touchpoints, key=lambda s: (s.touchpoint.position, s.touchpoint.pk or 0)
    ):
        touchpoints[_key(signals.touchpoint.stage)].append(signals)
    return [BoardColumn(stage, touchpoints[_key(stage)]) for stage in ordered]


def _key(stage: JourneyStage) -> object:
    return stage.pk if stage.pk is not None else id(stage)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _hours(value: float | None) -> str:
    return duration(value)


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _rating(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} of 5"


def _emotion(value: float | None) -> str:
    return "" if value is None else emotion_value(value)


@dataclass(frozen=True)
class Signal:
    name: str
    """The `TouchpointSignals` field, as score parts and findings name it."""
    label: str
    meaning: str
    show: Callable[[float | int | None], str]


SIGNALS: tuple[Signal, ...] = (
    Signal("cases", "Volume", "Requests of the touchpoint resolved in the period.", _count),
    Signal(
        "resolution",
        "Time to resolution",
        "From submitted to resolved, in elapsed time: the median, and the time 85% of "
        "requests were resolved within.",
        _hours,
    ),
    Signal(
        "wait_share",
        "Wait share",
        "Of the time to resolution, the share spent waiting (in a queue, on another "
        "department, on automation) rather than worked on.",
        percent,
    ),
    Signal(
        "handoffs_per_request",
        "Handoffs",
        "Times the work passed from one department to another, per request.",
        _ratio,
    ),
    Signal(
        "bounces_per_request",
        "Department bounces",
        "Times the work was sent back, or handed back to a department it had left, per request.",
        _ratio,
    ),
    Signal(
        "consults_per_request",
        "Consults",
        "Questions asked of another department without handing the work off, per request.",
        _ratio,
    ),
    Signal(
        "reopen_rate",
        "Reopen rate",
        "Share of resolved requests the employee reopened.",
        percent,
    ),
    Signal(
        "approval_delay",
        "Approval delay",
        "Mean time from an approval asked to decided.",
        _hours,
    ),
    Signal(
        "missing_information_rate",
        "Missing information",
        "Asks to the employee for missing information, per request.",
        _ratio,
    ),
    Signal(
        "breach_rate",
        "End-to-end target missed",
        "Share of requests whose promise to the employee (submission to resolution) was missed.",
        percent,
    ),
    Signal(
        "department_target_attainment",
        "Department targets met",
        "Share of the requests' tasks that met their department's target.",
        percent,
    ),
    Signal(
        "human_step_share",
        "Human steps",
        "Share of the fulfilment steps done by people rather than automation.",
        percent,
    ),
    Signal(
        "answer_variation",
        "Answer variation",
        "Distinct sets of form answers over requests: 0 means everyone answers alike.",
        _ratio,
    ),
    Signal("form_starts", "Form starts", "Times an employee opened the form.", _count),
    Signal(
        "abandonment_rate",
        "Form abandonment",
        "Share of form starts that no request came from (started, not submitted).",
        percent,
    ),
    Signal(
        "article_reads",
        "Article reads",
        "Times a suggested knowledge article was read here.",
        _count,
    ),
    Signal(
        "deflection_rate",
        "Knowledge deflection",
        "Share of article reads with no request raised after: the article answered the need.",
        percent,
    ),
    Signal("ratings", "Ratings", "Requests the employee rated.", _count),
    Signal(
        "response_rate",
        "Response rate",
        "Rated requests over resolved requests. Ratings are sparse and lean to the unhappy.",
        percent,
    ),
    Signal("rating_mean", "Experience rating", "Mean rating, 1 (poor) to 5 (great).", _rating),
    Signal(
        "low_rating_share",
        "Low ratings",
        "Share of ratings of 1 or 2.",
        percent,
    ),
    Signal(
        "sentiment",
        "Comment sentiment",
        "Mean feeling of the employees' own comments, -1 (negative) to 1 (positive).",
        _emotion,
    ),
    Signal(
        "employee_comments",
        "Employee comments",
        "Comments the employees wrote on their requests.",
        _count,
    ),
)
SIGNAL_LABELS = {signal.name: signal.label for signal in SIGNALS}


@dataclass(frozen=True)
class SignalRow:
    name: str
    label: str
    meaning: str
    value: str
    """Empty when not measured or held back."""
    detail: str = ""


def signal_rows(signals: TouchpointSignals) -> list[SignalRow]:
    """Every signal of a touchpoint with its meaning and its value in words."""
    rows = []
    for signal in SIGNALS:
        if signal.name == "resolution":
            p50, p85 = signals.resolution.p50, signals.resolution.p85
            value = duration(p50)
            detail = f"85% within {duration(p85)}" if p85 is not None and p50 is not None else ""
            rows.append(SignalRow(signal.name, signal.label, signal.meaning, value, detail))
            continue
        raw = getattr(signals, signal.name)
        rows.append(SignalRow(signal.name, signal.label, signal.meaning, signal.show(raw)))
    return rows


def signal_label(name: str) -> str:
    """A signal's or a score part's name in words; an unknown name as it is, made readable."""
    return SIGNAL_LABELS.get(name) or name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class RatingBar:
    stars: int
    count: int
    share: float
    """Of all ratings, 0-1."""
    length: int
    """Bar length in percent of the longest bar (the most frequent rating is 100)."""
    y: int
    """Top of the bar's row in the chart, 5 stars at the top."""

    @property
    def width(self) -> int:
        return round(self.length * RATING_BAR_WIDTH / 100)

    @property
    def label_y(self) -> int:
        return self.y + RATING_ROW - 6


RATING_ROW = 22
RATING_BAR_WIDTH = 200
RATING_CHART_HEIGHT = 5 * RATING_ROW


def rating_bars(signals: TouchpointSignals) -> list[RatingBar]:
    """One bar per rating, 5 at the top to 1 at the bottom; none when there are no ratings
    or they are held back."""
    counts = signals.rating_distribution
    total = sum(counts)
    if signals.hidden or total == 0:
        return []
    longest = max(counts)
    return [
        RatingBar(
            stars,
            counts[stars - 1],
            counts[stars - 1] / total,
            round(100 * counts[stars - 1] / longest),
            (5 - stars) * RATING_ROW,
        )
        for stars in range(5, 0, -1)
    ]


def signal_value(name: str, value: float | None) -> str:
    """A value of the signal `name` as its row shows it ('42%', '4.2 h'); a value of an
    unknown signal with two decimals. Empty when unknown."""
    if value is None:
        return ""
    if name == "resolution":
        return duration(value)
    for signal in SIGNALS:
        if signal.name == name:
            return signal.show(value)
    return _ratio(value)
