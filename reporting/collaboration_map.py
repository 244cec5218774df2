"""The collaboration map as a drawing: where every department, arrow and figure goes, in SVG
units. `collaboration_drawing` turns a `reporting.collaboration.CollaborationMap` into
plain numbers and strings; the partial `reporting/_collaboration_map.svg.html` only writes
them out, so the layout rules live (and are tested) here and the page needs no JavaScript.

- The departments sit on a circle, in name order, starting at the top, so every pair can
  be joined without crossing a node.
- Each edge is a curved arrow from the sending (asking) department to the receiving one,
  bowed to its left: the two directions between a pair run side by side, not on top of
  each other. Its width grows with the volume (handoffs and consults), relative to the
  busiest edge.
- Each edge's figures sit beside its curve, on a halo so an arrow that still crosses them
  does not hide them, and link (like the arrow) to the edge's page. A figure longer than
  `LABEL_CHARS` wraps. Where the block goes is chosen among candidates: points along the
  middle of the curve (`ALONG`), each pushed away from the curve along its normal in
  `OUTWARD_STEP`s, on the outer side of the bow (where the way back does not run) or, at a
  cost of `INNER_PENALTY`, the inner side. The block's box is estimated from its text
  (`CHAR_WIDTH`, `LINE_ASCENT`, `LINE_DESCENT`): the server cannot measure fonts.
  A candidate whose box comes within `NODE_CLEARANCE` of any department's circle, or leaves
  the drawing, is never taken. Of the others the edge takes the one that
  1. overlaps (or comes within `LABEL_SPACING` of) the fewest blocks already placed,
  2. then sits on the fewest arrows (its own included),
  3. then strays least from the curve's middle (distance along plus distance out),
  4. then comes first in `ALONG`.
  Edges are placed busiest first, so the busiest get the best places; the same map always
  gives the same drawing. Only when no candidate clears every circle (a ring too crowded)
  does an edge take the one that comes least into a circle.
- The view box keeps `PADDING` round the outermost circle or figure, above and below; the
  empty rest of the circle's square is cut away.
- The table under the map carries the same figures for who cannot read the picture.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from textwrap import wrap

from django.core.cache import cache

from reporting.collaboration import CollaborationMap, Edge, Work
from valuestreams.formatting import duration, percent
from valuestreams.metrics import SMALL_GROUP

MARGIN = 190
"""Round the circle: room for the labels of the edges that bow outwards."""
NODE_RADIUS = 46
NAME_CHARS = 11
NAME_LINE = 15
MIN_RING = 190
RING_PER_NODE = 44
"""The circle grows with the departments so neighbours keep apart."""
MIN_STROKE, MAX_STROKE = 1.5, 9.0
BOW = 0.18
"""How far an arrow's middle leaves the straight line, as a share of its length."""
LABEL_LINE = 14
PADDING = 20
"""Above the highest circle or figure and below the lowest."""
LABEL_GAP = 6
"""Between an arrow and its figures, at the nearest."""
CHAR_WIDTH = 6.6
"""A generous average width of one character of the figures (11.5 px sans-serif text)."""
LINE_ASCENT, LINE_DESCENT = 10, 4
"""How far a line of figures reaches above and below its baseline."""
NODE_CLEARANCE = 8
"""How close any figure may come to a department's circle."""
LABEL_SPACING = 12
"""How close two edges' figures may come before they count as overlapping (read as one)."""
ALONG = (0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7, 0.25, 0.75)
"""Where along its curve (0 its start, 1 its end) an edge's figures may sit, the preferred first."""
OUTWARD_STEP, OUTWARD_STEPS = 8, 16
"""How far, and how many times, the figures may be pushed away from their curve."""
INNER_PENALTY = 24
"""What sitting inside the bow costs, in SVG units of straying: there the way back runs."""
LABEL_CHARS = 30
"""A figure longer than this wraps onto a second line: narrow boxes find room more easily."""
CURVE_SAMPLES = 48
"""Points per curve when counting the arrows a candidate place sits on."""
RUN = 6
"""Consecutive sampled points looked at together (`_runs`)."""
LEGIBLE_SCALE = 0.8
"""The smallest scale the map is drawn at: on a phone it scrolls sideways instead."""
DRAWING_SECONDS = 3600
"""How long a drawing is kept for a map whose figures have not changed."""
HIDDEN = f"held back (under {SMALL_GROUP} cases)"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = "vsm-handoff"
    anchor: str = "middle"


@dataclass(frozen=True)
class Box:
    """The rectangle a group of figures covers, in SVG units (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        """Whether the boxes meet, or come closer than `pad`."""
        return (
            self.left < other.right + pad
            and other.left < self.right + pad
            and self.top < other.bottom + pad
            and other.top < self.bottom + pad
        )

    def intrusion(self, x: float, y: float, r: float) -> float:
        """How far into the circle of centre (x, y) and radius `r` the box reaches (0 or
        less: clear of it)."""
        nearest_x = min(max(x, self.left), self.right)
        nearest_y = min(max(y, self.top), self.bottom)
        return r - math.hypot(x - nearest_x, y - nearest_y)


def labels_box(labels: list[Label]) -> Box:
    """The box `labels` (one text block, as `_beside` lays it out) cover, by estimate."""
    width = max(len(label.text) for label in labels) * CHAR_WIDTH
    first = labels[0]
    if first.anchor == "start":
        left = first.x
    elif first.anchor == "end":
        left = first.x - width
    else:
        left = first.x - width / 2
    return Box(
        left=left,
        top=first.y - LINE_ASCENT,
        right=left + width,
        bottom=labels[-1].y + LINE_DESCENT,
    )


@dataclass(frozen=True)
class Node:
    slug: str
    name: str
    x: float
    y: float
    r: float
    labels: list[Label]


@dataclass(frozen=True)
class Arrow:
    path: str
    stroke: float
    labels: list[Label]
    href: str
    title: str

    @property
    def box(self) -> Box | None:
        """Where the edge's figures are, by estimate (None without figures)."""
        return labels_box(self.labels) if self.labels else None


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    top: int
    """Where the view box starts: the circle's empty top and bottom are cut away."""
    nodes: list[Node]
    arrows: list[Arrow]
    title: str
    description: str
    uid: str = "collaboration"

    @property
    def min_width(self) -> int:
        return round(self.width * LEGIBLE_SCALE)

    @property
    def min_height(self) -> int:
        return round(self.height * LEGIBLE_SCALE)


def _hours(work: Work) -> str:
    if work.held_back:
        return HIDDEN
    return duration(work.median) if work.median is not None else "none picked up"


def edge_lines(edge: Edge) -> list[str]:
    """The edge's figures in words, one line each (the map's labels, the table's cells)."""
    lines = []
    handoffs = edge.handoffs
    if handoffs.volume and handoffs.held_back:
        lines.append(f"{handoffs.volume} handed, figures {HIDDEN}")
    elif handoffs.volume:
        lines.append(f"{handoffs.volume} handed, pick-up {_hours(handoffs)}")
        lines.append(f"sent back {percent(handoffs.send_back_rate)}")
    if edge.consults.volume:
        lines.append(f"{edge.consults.volume} consulted, answer {_hours(edge.consults)}")
    return lines


def edge_cells(edge: Edge) -> dict[str, str]:
    """The edge's figures as the table under the map (and the edge's page) show them."""
    handoffs, consults = edge.handoffs, edge.consults
    return {
        "pickup": _hours(handoffs) if handoffs.volume else "",
        "sent_back": (HIDDEN if handoffs.held_back else percent(handoffs.send_back_rate))
        if handoffs.volume
        else "",
        "answer": _hours(consults) if consults.volume else "",
    }


def _beside(x: float, y: float, nx: float, ny: float, lines: list[str]) -> list[Label]:
    """The lines of an edge's figures on the outer side of its bow, starting at (x, y):
    beside a steep arrow, above or below a flat one, so two arrows between the same pair
    keep their figures apart."""
    height = (len(lines) - 1) * LABEL_LINE
    if abs(nx) >= abs(ny):
        anchor, top = ("start" if nx > 0 else "end"), y - height / 2 + 4
    else:
        anchor, top = "middle", (y + 10 if ny > 0 else y - height - 2)
    return [
        Label(_round(x), _round(top + k * LABEL_LINE), line, anchor=anchor)
        for k, line in enumerate(lines)
    ]


def _round(value: float) -> float:
    return round(value, 1)


@dataclass(frozen=True)
class _Curve:
    """An edge's arrow as a quadratic Bézier curve, before its figures are placed."""

    edge: Edge
    start: tuple[float, float]
    control: tuple[float, float]
    end: tuple[float, float]
    stroke: float

    def point(self, t: float) -> tuple[float, float]:
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
        (sx, sy), (cx, cy), (ex, ey) = self.start, self.control, self.end
        return a * sx + b * cx + c * ex, a * sy + b * cy + c * ey

    def normal(self, t: float) -> tuple[float, float]:
        """The unit normal at `t` on the side the curve bows to (left of its travel)."""
        (sx, sy), (cx, cy), (ex, ey) = self.start, self.control, self.end
        tx = 2 * (1 - t) * (cx - sx) + 2 * t * (ex - cx)
        ty = 2 * (1 - t) * (cy - sy) + 2 * t * (ey - cy)
        length = math.hypot(tx, ty) or 1.0
        return ty / length, -tx / length

    def samples(self) -> list[tuple[float, float]]:
        return [self.point(k / (CURVE_SAMPLES - 1)) for k in range(CURVE_SAMPLES)]


def collaboration_drawing(found: CollaborationMap, *, edge_href: Callable[[Edge], str]) -> Drawing:
    """The map of `found`; each edge links to `edge_href(edge)`. No edge's figures come
    within `NODE_CLEARANCE` of a department's circle while the ring leaves room (see the
    module's docstring).

    Placing the figures tries hundreds of places per edge (tens of milliseconds for a busy
    map), and the same map always gives the same drawing: a drawing is kept in the cache
    under everything it is drawn from, so a map read again before its figures change is
    not laid out again."""
    inputs = (
        [(d.pk, d.slug, d.name) for d in found.departments],
        [
            (e.from_department.pk, e.to_department.pk, e.volume, edge_lines(e), edge_href(e))
            for e in found.edges
        ],
    )
    key = "collaboration-drawing:" + hashlib.sha256(repr(inputs).encode()).hexdigest()
    drawing = cache.get(key)
    if drawing is None:
        drawing = _drawing(found, edge_href=edge_href)
        cache.set(key, drawing, DRAWING_SECONDS)
    return drawing


def _drawing(found: CollaborationMap, *, edge_href: Callable[[Edge], str]) -> Drawing:
    count = len(found.departments)
    ring = max(MIN_RING, RING_PER_NODE * count)
    centre = MARGIN + ring
    size = 2 * centre
    places: dict[int, tuple[float, float]] = {}
    nodes = []
    for i, department in enumerate(found.departments):
        angle = -math.pi / 2 + 2 * math.pi * i / max(count, 1)
        x, y = centre + ring * math.cos(angle), centre + ring * math.sin(angle)
        places[department.pk] = (x, y)
        name = wrap(department.name, NAME_CHARS)[:3]
        top = y - (len(name) - 1) * NAME_LINE / 2 + 4
        nodes.append(
            Node(
                slug=department.slug,
                name=department.name,
                x=_round(x),
                y=_round(y),
                r=NODE_RADIUS,
                labels=[
                    Label(_round(x), _round(top + k * NAME_LINE), line, css="vsm-name")
                    for k, line in enumerate(name)
                ],
            )
        )
    busiest = max((edge.volume for edge in found.edges), default=1)
    curves = [_curve(edge, places, busiest) for edge in found.edges]
    arrows = _arrows(curves, list(places.values()), size, edge_href)
    names = ", ".join(department.name for department in found.departments)
    tops = [y - NODE_RADIUS for _, y in places.values()] or [centre]
    bottoms = [y + NODE_RADIUS for _, y in places.values()] or [centre]
    for box in (arrow.box for arrow in arrows):
        if box is not None:
            tops.append(box.top)
            bottoms.append(box.bottom)
    top = max(0, math.floor(min(tops) - PADDING))
    bottom = min(size, math.ceil(max(bottoms) + PADDING))
    return Drawing(
        width=size,
        height=bottom - top,
        top=top,
        nodes=nodes,
        arrows=arrows,
        title="Collaboration between departments",
        description=(
            f"{count} departments ({names}) and {len(arrows)} edges of handoffs and "
            "consults between them; the table below lists the same figures."
        ),
    )


def _curve(edge: Edge, places: dict[int, tuple[float, float]], busiest: int) -> _Curve:
    (ax, ay), (bx, by) = places[edge.from_department.pk], places[edge.to_department.pk]
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    # Left of the direction of travel, so the way back bows to the other side.
    nx, ny = uy, -ux
    bow = BOW * length
    return _Curve(
        edge=edge,
        start=(ax + ux * NODE_RADIUS, ay + uy * NODE_RADIUS),
        control=((ax + bx) / 2 + nx * bow, (ay + by) / 2 + ny * bow),
        end=(bx - ux * (NODE_RADIUS + 2), by - uy * (NODE_RADIUS + 2)),
        stroke=_round(MIN_STROKE + (MAX_STROKE - MIN_STROKE) * edge.volume / busiest),
    )


def _arrows(
    curves: list[_Curve],
    centres: list[tuple[float, float]],
    size: int,
    edge_href: Callable[[Edge], str],
) -> list[Arrow]:
    """The arrows of `curves`, each with its figures placed (in the curves' order)."""
    samples = []
    for curve in curves:
        points, pad = curve.samples(), curve.stroke / 2 + 1
        xs, ys = [x for x, _ in points], [y for _, y in points]
        bounds = Box(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
        samples.append((_runs(points, pad), pad, bounds))
    placed: list[Box] = []
    arrows = []
    for curve in curves:
        lines = edge_lines(curve.edge)
        labels = _place(curve, lines, centres, size, samples, placed) if lines else []
        if labels:
            placed.append(labels_box(labels))
        (sx, sy), (cx, cy), (ex, ey) = (
            (_round(x), _round(y)) for x, y in (curve.start, curve.control, curve.end)
        )
        names = f"{curve.edge.from_department.name} to {curve.edge.to_department.name}"
        arrows.append(
            Arrow(
                path=f"M {sx} {sy} Q {cx} {cy} {ex} {ey}",
                stroke=curve.stroke,
                labels=labels,
                href=edge_href(curve.edge),
                title=f"{names}: " + "; ".join(lines),
            )
        )
    return arrows


def _place(
    curve: _Curve,
    lines: list[str],
    centres: list[tuple[float, float]],
    size: int,
    samples: list[tuple[list, float, Box]],
    placed: list[Box],
) -> list[Label]:
    """The labels of `lines` at the best candidate place beside `curve` (module docstring)."""
    lines = [part for line in lines for part in wrap(line, LABEL_CHARS)]
    block = _Block(lines)
    middle = curve.point(0.5)
    candidates = []
    for order, t in enumerate(ALONG):
        x, y = curve.point(t)
        along = math.hypot(x - middle[0], y - middle[1])
        for side, penalty in ((1, 0), (-1, INNER_PENALTY)):
            nx, ny = (side * n for n in curve.normal(t))
            for step in range(OUTWARD_STEPS):
                gap = LABEL_GAP + step * OUTWARD_STEP
                candidates.append(
                    (along + gap + penalty, order, x + nx * gap, y + ny * gap, nx, ny)
                )
    candidates.sort(key=lambda candidate: candidate[:2])
    # Candidates come in order of straying, so a later one wins only with fewer overlaps, or
    # as few and fewer arrows sat on: counting stops once it cannot. Only the boxes are
    # worked out per candidate; the labels, for the one taken.
    clearance = NODE_RADIUS + NODE_CLEARANCE
    near = [(o.left, o.top, o.right + LABEL_SPACING, o.bottom + LABEL_SPACING) for o in placed]
    best: tuple[tuple[int, int], tuple[float, ...]] | None = None
    crowded: tuple[float, tuple[float, ...]] | None = None
    for candidate in candidates:
        box = block.box(*candidate[2:])
        if box.left < 0 or box.right > size or box.top < 0 or box.bottom > size:
            continue
        intrusion = _intrusion(box, centres, clearance)
        if intrusion > 0:
            if crowded is None or intrusion < crowded[0]:
                crowded = (intrusion, candidate)
            continue
        right, bottom = box.right + LABEL_SPACING, box.bottom + LABEL_SPACING
        # Box.overlaps, written out: it runs for every candidate against every block placed.
        overlaps = sum(
            1
            for left, top, other_right, other_bottom in near
            if box.left < other_right and left < right and box.top < other_bottom and top < bottom
        )
        if best is not None and overlaps > best[0][0]:
            continue
        limit = best[0][1] if best is not None and overlaps == best[0][0] else len(samples) + 1
        crossed = _arrows_sat_on(box, samples, limit)
        if best is None or (overlaps, crossed) < best[0]:
            best = ((overlaps, crossed), candidate)
        if best[0] == (0, 0):
            break
    if best is not None or crowded is not None:
        _, _, x, y, nx, ny = best[1] if best is not None else crowded[1]
        return _beside(x, y, nx, ny, lines)
    x, y = middle
    nx, ny = curve.normal(0.5)
    return _beside(x + nx * LABEL_GAP, y + ny * LABEL_GAP, nx, ny, lines)


class _Block:
    """The box one edge's lines would cover at a candidate place: what `labels_box` gives for
    the labels `_beside` would make there, without making them."""

    def __init__(self, lines: list[str]) -> None:
        self.count = len(lines)
        self.width = max(len(line) for line in lines) * CHAR_WIDTH

    def box(self, x: float, y: float, nx: float, ny: float) -> Box:
        height = (self.count - 1) * LABEL_LINE
        if abs(nx) >= abs(ny):
            anchor, top = ("start" if nx > 0 else "end"), y - height / 2 + 4
        else:
            anchor, top = "middle", (y + 10 if ny > 0 else y - height - 2)
        x = _round(x)
        if anchor == "start":
            left = x
        elif anchor == "end":
            left = x - self.width
        else:
            left = x - self.width / 2
        return Box(
            left=left,
            top=_round(top) - LINE_ASCENT,
            right=left + self.width,
            bottom=_round(top + (self.count - 1) * LABEL_LINE) + LINE_DESCENT,
        )


def _intrusion(box: Box, centres: list[tuple[float, float]], clearance: float) -> float:
    """How far `box` reaches into the nearest of the circles of radius `clearance` round
    `centres` (0 or less: clear of them all); -1 without circles."""
    left, top, right, bottom = box.left, box.top, box.right, box.bottom
    nearest, nearest_squared = None, math.inf
    for x, y in centres:
        dx = x - (left if x < left else right if x > right else x)
        dy = y - (top if y < top else bottom if y > bottom else y)
        if dx * dx + dy * dy < nearest_squared:
            nearest, nearest_squared = (x, y), dx * dx + dy * dy
    return -1.0 if nearest is None else box.intrusion(*nearest, clearance)


def _runs(
    points: list[tuple[float, float]], pad: float
) -> list[tuple[tuple[float, float, float, float], list[tuple[float, float]]]]:
    """`points` in runs of `RUN` consecutive points, each with the bounds (left, top, right,
    bottom) of its points widened by `pad`: a box clear of a run's bounds is clear of its
    points, so most points are never looked at."""
    runs = []
    for start in range(0, len(points), RUN):
        run = points[start : start + RUN]
        xs, ys = [x for x, _ in run], [y for _, y in run]
        runs.append(((min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad), run))
    return runs


def _arrows_sat_on(box: Box, samples: list[tuple[list, float, Box]], limit: int) -> int:
    """How many arrows have a point (widened by half their stroke) in `box`, counted up to
    `limit`."""
    crossed = 0
    for runs, pad, bounds in samples:
        if not bounds.overlaps(box):
            continue
        left, top, right, bottom = box.left - pad, box.top - pad, box.right + pad, box.bottom + pad
        if any(
            any(left <= x <= right and top <= y <= bottom for x, y in run)
            for (run_left, run_top, run_right, run_bottom), run in runs
            if run_left <= box.right
            and box.left <= run_right
            and run_top <= box.bottom
            and box.top <= run_bottom
        ):
            crossed += 1
            if crossed >= limit:
                break
    return crossed
