"""The emotion curve of a journey as a drawing: where every point, line and label goes, in SVG
units.

`emotion_curve` turns a journey's `StageEmotion` points into plain numbers and strings; the
partial `journeys/_curve.svg.html` only writes them out, so the layout rules live (and are
tested) here, and the page needs no JavaScript to show, scale or print the curve.

The curve reads left to right, one column per stage in the journey's order:
- y is the stage's emotion, from -1 (bad, at the bottom) to 1 (good, at the top), with the
  zero line drawn across and labelled "neutral";
- each measured stage is a point labelled with its value and the cases it rests on;
- a stage with no measured emotion leaves a gap: the line stops before it and starts again
  after it, never drawn through a point that is not there. Its column says "not measured".
"""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import wrap

from journeys.metrics import JourneyMetrics, StageEmotion

MARGIN = 12
AXIS_WIDTH = 64
"""Left of the first column: the "good", "neutral" and "bad" labels."""
WIDTH_PER_STAGE = 150
TOP = 34
"""Above the plot: room for the value label of a point at the very top."""
PLOT_HEIGHT = 150
NAME_LINE = 15
NAME_LINES = 2
STAGE_NAME_GAP = 38
"""From the plot's bottom to the stage's name: room for a bottom point's cases label."""
BOTTOM = STAGE_NAME_GAP + NAME_LINES * NAME_LINE
POINT_RADIUS = 5
LEGIBLE_SCALE = 0.8
"""The smallest scale the curve is drawn at; below it the container scrolls sideways."""

NOT_MEASURED = "not measured"
MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class Label:
    """One line of text. `anchor` is SVG's text-anchor."""

    x: float
    y: float
    text: str
    css: str = "jc-label"
    anchor: str = "middle"


@dataclass(frozen=True)
class Column:
    """A stage's band across the plot, with its name under it."""

    stage_id: int | None
    name: str
    x: float
    """The left edge of the band; the point sits at `center`."""
    center: float
    width: float
    measured: bool
    labels: list[Label]

    @property
    def css(self) -> str:
        return "jc-column" if self.measured else "jc-column jc-gap"


@dataclass(frozen=True)
class Point:
    stage_id: int | None
    stage: str
    x: float
    y: float
    emotion: float
    cases: int
    labels: list[Label]
    """The value above the point, the cases below it."""

    @property
    def css(self) -> str:
        if self.emotion > 0:
            return "jc-point jc-good"
        return "jc-point jc-bad" if self.emotion < 0 else "jc-point"


@dataclass(frozen=True)
class Curve:
    uid: str
    """Prefixes the SVG ids, so two curves (as-is and to-be) can share a page."""
    title: str
    description: str
    width: float
    height: float
    plot_left: float
    plot_right: float
    top: float
    """y of emotion 1."""
    zero: float
    """y of emotion 0, the neutral line."""
    bottom: float
    """y of emotion -1."""
    columns: list[Column]
    points: list[Point]
    segments: list[str]
    """SVG path data, one per run of consecutive measured stages of two points or more."""
    axis: list[Label]

    @property
    def min_width(self) -> int:
        return round(self.width * LEGIBLE_SCALE)

    @property
    def min_height(self) -> int:
        return round(self.height * LEGIBLE_SCALE)

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def measured(self) -> bool:
        return bool(self.points)


def emotion_value(value: float) -> str:
    """An emotion, -1 to 1, signed with two decimals: '+0.42', '0.00', and a
    minus sign (U+2212, not a hyphen) below zero."""
    rounded = round(value, 2)
    if rounded == 0:
        return "0.00"
    return f"{rounded:+.2f}".replace("-", MINUS)


def cases_text(count: int) -> str:
    return f"{count} case" if count == 1 else f"{count} cases"


def emotion_curve(metrics: JourneyMetrics, *, width_per_stage: int = WIDTH_PER_STAGE) -> Curve:
    """Lay out the emotion curve of `metrics`, one column of `width_per_stage` per stage, in
    the order of `metrics.curve` (the journey's stage order)."""
    stages = list(metrics.curve)
    plot_left = MARGIN + AXIS_WIDTH
    plot_right = plot_left + max(len(stages), 1) * width_per_stage
    width = plot_right + MARGIN
    top = TOP
    bottom = top + PLOT_HEIGHT
    zero = top + PLOT_HEIGHT / 2
    chars = max(width_per_stage // 7, 8)

    columns: list[Column] = []
    points: list[Point] = []
    segments: list[str] = []
    run: list[Point] = []
    for index, point in enumerate(stages):
        x = plot_left + index * width_per_stage
        center = x + width_per_stage / 2
        names = wrap(point.stage.name, chars, max_lines=NAME_LINES, placeholder="…") or [""]
        labels = [
            Label(center, bottom + STAGE_NAME_GAP + i * NAME_LINE, line, "jc-stage")
            for i, line in enumerate(names)
        ]
        measured = point.emotion is not None
        if not measured:
            labels.append(Label(center, zero - 8, NOT_MEASURED, "jc-label jc-muted"))
        columns.append(
            Column(
                stage_id=point.stage.pk,
                name=point.stage.name,
                x=x,
                center=center,
                width=width_per_stage,
                measured=measured,
                labels=labels,
            )
        )
        if not measured:
            segments += _segment(run)
            run = []
            continue
        emotion = max(-1.0, min(1.0, point.emotion))
        y = _round(zero - emotion * PLOT_HEIGHT / 2)
        dot = Point(
            stage_id=point.stage.pk,
            stage=point.stage.name,
            x=center,
            y=y,
            emotion=point.emotion,
            cases=point.cases,
            labels=[
                Label(center, y - 10, emotion_value(point.emotion), "jc-label jc-value"),
                Label(center, y + 19, cases_text(point.cases), "jc-label jc-muted"),
            ],
        )
        points.append(dot)
        run.append(dot)
    segments += _segment(run)

    axis = [
        Label(plot_left - 8, top + 4, "good", "jc-axis", "end"),
        Label(plot_left - 8, zero + 4, "neutral", "jc-axis", "end"),
        Label(plot_left - 8, bottom + 4, "bad", "jc-axis", "end"),
    ]
    journey = metrics.journey
    return Curve(
        uid=f"jc-{journey.slug or journey.pk or 'journey'}",
        title=f"Emotion curve of {journey.name}",
        description=_description(metrics.journey.name, stages),
        width=width,
        height=bottom + BOTTOM,
        plot_left=plot_left,
        plot_right=plot_right,
        top=top,
        zero=zero,
        bottom=bottom,
        columns=columns,
        points=points,
        segments=segments,
        axis=axis,
    )


def _segment(run: list[Point]) -> list[str]:
    """The line through a run of consecutive measured points; a lone point has none."""
    if len(run) < 2:
        return []
    first, *rest = run
    return [f"M {first.x} {first.y}" + "".join(f" L {p.x} {p.y}" for p in rest)]


def _round(value: float) -> float:
    return round(value, 1)


def _description(name: str, stages: list[StageEmotion]) -> str:
    if not stages:
        return f"{name} has no stages yet."
    parts = [
        f"How {name} feels at each of its {len(stages)} stage"
        f"{'' if len(stages) == 1 else 's'}, from -1 (bad) to 1 (good)."
    ]
    for point in stages:
        if point.emotion is None:
            parts.append(f"{point.stage.name}: {NOT_MEASURED}.")
        else:
            parts.append(
                f"{point.stage.name}: {emotion_value(point.emotion)}, {cases_text(point.cases)}."
            )
    return " ".join(parts)
