"""The portfolio's value-against-cost chart as a drawing, in SVG units: the partial
`reporting/_portfolio_chart.svg.html` only writes these numbers out, so the layout rules
live (and are tested) here and the page needs no JavaScript.

- Each live service with both a yearly cost and a value index is a circle: across by its
  yearly cost (from nothing to a round figure above the dearest), up by its value index
  (0-100). The circle's area grows with its demand, relative to the most asked-for.
- A dashed line across at the middle of the value scale and one down at the median cost
  cut the chart in four; each quarter names the question it puts to an owner.
- A service's name goes to the first of a few places around its circle (right, left,
  above, below, then a line or two up or down, then further out sideways past a crowd)
  that stays inside the chart and covers no circle and no name placed before it; the most
  asked-for services are named first. A name that had to move away from its circle gets a
  thin line back to it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

from reporting.portfolio import PortfolioEntry

WIDTH, HEIGHT = 760, 500
LEFT, RIGHT, TOP, BOTTOM = 78, 48, 20, 56
MIN_RADIUS, MAX_RADIUS = 5.0, 18.0
LABEL_LINE = 14
LABEL_CHAR = 6.6
"""A label's width per character at the chart's type size: enough to keep names apart."""
LABEL_GAP = 5
"""Between a circle and its name."""
DESCENT = 3
"""How far a name's letters reach below its baseline."""
LABEL_RINGS = 6
"""How many lines out from its circle a name may move to find a free place."""
LABEL_PUSHES = 2
"""How many circles' widths sideways a name may move past a crowd to find one."""
TICKS = 4


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    r: float
    label_x: float
    label_y: float
    anchor: str
    name: str
    href: str
    title: str
    leader: tuple[float, float, float, float] | None
    """From the circle's edge to its name, when the name had to move away from it."""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: list[Point]
    ticks: list[Text]
    cost_divide: float
    value_divide: float
    quadrants: list[Text]
    cost_title: Text


def plotted(entries: list[PortfolioEntry]) -> list[PortfolioEntry]:
    """The entries the chart can place: live, with a yearly cost and a value index."""
    return [
        entry
        for entry in entries
        if entry.service.status == entry.service.Status.LIVE
        and entry.yearly_cost is not None
        and entry.value_index is not None
    ]


def _round_up(amount: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above `amount`."""
    if amount <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(amount))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= amount)


def portfolio_chart(
    entries: list[PortfolioEntry],
    *,
    href: Callable[[PortfolioEntry], str],
    money: Callable[[float], str],
) -> Chart | None:
    """None when no service can be placed."""
    shown = plotted(entries)
    if not shown:
        return None
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    top_cost = _round_up(max(entry.yearly_cost or 0.0 for entry in shown))
    busiest = max((entry.demand_per_month or 0.0) for entry in shown)

    def x_of(cost: float) -> float:
        return LEFT + (right - LEFT) * cost / top_cost

    def y_of(value: float) -> float:
        return bottom - (bottom - TOP) * value / 100

    # The most asked-for first: their names get the free places.
    shown = sorted(shown, key=lambda e: -(e.demand_per_month or 0.0))
    # Where they are drawn, to a tenth of a pixel: the labels' layout is kept for its
    # circles (`_place_labels`), and a yearly cost read a moment later moved a circle by
    # a millionth of a pixel, so no visit found the layout of the one before.
    circles = [
        Circle(
            round(x_of(entry.yearly_cost or 0.0), 1),
            round(y_of(entry.value_index or 0.0), 1),
            round(
                MIN_RADIUS
                + (MAX_RADIUS - MIN_RADIUS)
                * math.sqrt((entry.demand_per_month or 0.0) / busiest if busiest else 0),
                1,
            ),
        )
        for entry in shown
    ]
    quadrants = _quadrants(right, bottom)
    labels = _place_labels(
        tuple(circles),
        tuple(entry.service.name for entry in shown),
        bottom=bottom,
        taken=tuple(quadrants),
    )
    points = [
        Point(
            x=circle.x,
            y=circle.y,
            r=circle.r,
            label_x=round(label.x, 1),
            label_y=round(label.y, 1),
            anchor=label.anchor,
            name=entry.service.name,
            href=href(entry),
            title=f"{entry.service.name}: {money(entry.yearly_cost or 0.0)} a year, "
            f"value {entry.value_index or 0.0:.0f} of 100",
            leader=_leader(circle, _box(label)),
        )
        for entry, circle, label in zip(shown, circles, labels, strict=True)
    ]
    cost_divide = x_of(median(entry.yearly_cost or 0.0 for entry in shown))
    value_divide = y_of(50)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        points=points,
        ticks=[
            *(
                Text(
                    round(x_of(top_cost * i / TICKS), 1),
                    bottom + 18,
                    money(top_cost * i / TICKS).removesuffix(".00"),
                )
                for i in range(TICKS + 1)
            ),
            *(Text(LEFT - 8, round(y_of(v), 1) + 4, str(v), "end") for v in range(0, 101, 25)),
        ],
        cost_divide=round(cost_divide, 1),
        value_divide=round(value_divide, 1),
        quadrants=quadrants,
        cost_title=Text(right, bottom + 40, "Cost a year →", "end"),
    )


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    def touches(self, circle: Circle) -> bool:
        nearest_x = min(max(circle.x, self.left), self.right)
        nearest_y = min(max(circle.y, self.top), self.bottom)
        return math.hypot(circle.x - nearest_x, circle.y - nearest_y) < circle.r + LABEL_GAP / 2


def _box(label: Text) -> Box:
    width = len(label.text) * LABEL_CHAR
    left = {"start": label.x, "end": label.x - width}.get(label.anchor, label.x - width / 2)
    return Box(left, label.y - LABEL_LINE + DESCENT, left + width, label.y + DESCENT)


def _candidates(circle: Circle, name: str) -> list[Text]:
    """Where a name may go, best first: beside its circle (right, then left), above, below,
    then each of those moved further out a line at a time; then beside it again, pushed
    out sideways past a crowd of circles around it, a line at a time up and down."""
    x, y, r = circle.x, circle.y, circle.r
    # A name's box reaches DESCENT below its baseline (see `_box`): above and below, the
    # baseline sits so that the box, not the text, keeps LABEL_GAP from the circle, or the
    # place above would always cover its own circle.
    above, below = y - r - LABEL_GAP - DESCENT, y + r + LABEL_GAP + LABEL_LINE - DESCENT
    places = []
    for aside in range(LABEL_PUSHES + 1):
        # In a cluster the places right beside a circle cover its neighbours' circles
        # whatever the line, so a name may also stand a circle's width or two further out.
        side = r + LABEL_GAP + aside * 2 * MAX_RADIUS
        for away in range(LABEL_RINGS):
            shift = away * LABEL_LINE
            places += [
                Text(x + side, y + 4 - shift, name, "start"),
                Text(x - side, y + 4 - shift, name, "end"),
            ]
            if not aside:
                places += [Text(x, above - shift, name), Text(x, below + shift, name)]
            if away:
                places += [
                    Text(x + side, y + 4 + shift, name, "start"),
                    Text(x - side, y + 4 + shift, name, "end"),
                ]
    return places


def _quadrants(right: float, bottom: float) -> list[Text]:
    """What each corner of the chart says of the services in it."""
    return [
        Text(LEFT + 8, TOP + 14, "Worth it, cheaply: keep", "start"),
        Text(right - 8, TOP + 14, "Worth it, dearly: make it cheaper", "end"),
        Text(LEFT + 8, bottom - 8, "Cheap, not yet worth it: improve", "start"),
        Text(right - 8, bottom - 8, "Dear, not worth it: change or retire", "end"),
    ]


# A chart's labels depend only on its circles and names, which change when the portfolio's
# rollup is refreshed (hourly) or with who may see which figures: each process keeps the
# latest layouts, where each visit placed them again (a fifth of the page's time).
LAYOUTS_KEPT = 32


@functools.lru_cache(maxsize=LAYOUTS_KEPT)
def _place_labels(
    circles: tuple[Circle, ...],
    names: tuple[str, ...],
    *,
    bottom: float,
    taken: tuple[Text, ...] = (),
) -> tuple[Text, ...]:
    """Each circle's name at its first candidate place that stays inside the chart and
    covers no circle, no text already `taken` (the corners' captions) and no name placed
    before it; where none does, the first."""
    area = Box(LEFT, TOP, WIDTH, bottom)
    placed = [_box(text) for text in taken]
    labels = []
    for circle, name in zip(circles, names, strict=True):
        candidates = [(label, _box(label)) for label in _candidates(circle, name)]
        chosen, box = next(
            (
                (label, box)
                for label, box in candidates
                if _inside(box, area)
                and not any(box.touches(other) for other in circles)
                and not any(box.overlaps(other) for other in placed)
            ),
            candidates[0],
        )
        placed.append(box)
        labels.append(chosen)
    return tuple(labels)


def _leader(circle: Circle, box: Box) -> tuple[float, float, float, float] | None:
    nearest_x = min(max(circle.x, box.left), box.right)
    nearest_y = min(max(circle.y, box.top), box.bottom)
    gap = math.hypot(nearest_x - circle.x, nearest_y - circle.y)
    if gap <= circle.r + 2 * LABEL_GAP:
        return None
    edge = circle.r / gap
    return (
        round(circle.x + (nearest_x - circle.x) * edge, 1),
        round(circle.y + (nearest_y - circle.y) * edge, 1),
        round(nearest_x, 1),
        round(nearest_y, 1),
    )


def _inside(box: Box, area: Box) -> bool:
    return (
        box.left >= area.left
        and box.right <= area.right
        and box.top >= area.top
        and box.bottom <= area.bottom
    )
