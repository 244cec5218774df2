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
- Each edge's figures sit at the middle of its curve, on a halo so crossing arrows do not
  hide them, and link (like the arrow) to the edge's page. The table under the map carries
  the same figures for who cannot read the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from textwrap import wrap

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
VERTICAL_ROOM = 60
"""Above the highest department and below the lowest: room for the figures of a flat edge."""
LABEL_GAP = 6
"""Between an arrow's middle and its figures."""
LEGIBLE_SCALE = 0.8
"""The smallest scale the map is drawn at: on a phone it scrolls sideways instead."""
HIDDEN = f"held back (under {SMALL_GROUP} cases)"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = "vsm-handoff"
    anchor: str = "middle"


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


def collaboration_drawing(found: CollaborationMap, *, edge_href: Callable[[Edge], str]) -> Drawing:
    """The map of `found`; each edge links to `edge_href(edge)`."""
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
    arrows = [_arrow(edge, places, busiest, edge_href(edge)) for edge in found.edges]
    names = ", ".join(department.name for department in found.departments)
    ys = [y for _, y in places.values()] or [centre]
    top = max(0, round(min(ys) - NODE_RADIUS - VERTICAL_ROOM))
    bottom = min(size, round(max(ys) + NODE_RADIUS + VERTICAL_ROOM))
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


def _arrow(edge: Edge, places: dict[int, tuple[float, float]], busiest: int, href: str) -> Arrow:
    (ax, ay), (bx, by) = places[edge.from_department.pk], places[edge.to_department.pk]
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    # Left of the direction of travel, so the way back bows to the other side.
    nx, ny = uy, -ux
    start = (ax + ux * NODE_RADIUS, ay + uy * NODE_RADIUS)
    end = (bx - ux * (NODE_RADIUS + 2), by - uy * (NODE_RADIUS + 2))
    bow = BOW * length
    control = ((ax + bx) / 2 + nx * bow, (ay + by) / 2 + ny * bow)
    mx, my = (0.25 * s + 0.5 * c + 0.25 * e for s, c, e in zip(start, control, end, strict=True))
    lines = edge_lines(edge)
    labels = _beside(mx + nx * LABEL_GAP, my + ny * LABEL_GAP, nx, ny, lines)
    (sx, sy), (cx, cy), (ex, ey) = ((_round(x), _round(y)) for x, y in (start, control, end))
    return Arrow(
        path=f"M {sx} {sy} Q {cx} {cy} {ex} {ey}",
        stroke=_round(MIN_STROKE + (MAX_STROKE - MIN_STROKE) * edge.volume / busiest),
        labels=labels,
        href=href,
        title=f"{edge.from_department.name} to {edge.to_department.name}: " + "; ".join(lines),
    )
