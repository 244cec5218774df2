"""The portfolio's value-against-cost chart, laid out from hand-built entries: which services
it places, its scale, its circles and where their names go."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal

import pytest

from reporting.portfolio import YEAR, PortfolioEntry
from reporting.portfolio_chart import (
    BOTTOM,
    HEIGHT,
    LEFT,
    MAX_RADIUS,
    MIN_RADIUS,
    RIGHT,
    TOP,
    WIDTH,
    Box,
    Circle,
    Text,
    _box,
    _place_labels,
    plotted,
    portfolio_chart,
)
from services.models import Service
from valuestreams.metrics import Period

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
# A year's window: demand a month is what was raised over twelve.
WINDOW = Period(NOW - YEAR, NOW)
PLOT_RIGHT, PLOT_BOTTOM = WIDTH - RIGHT, HEIGHT - BOTTOM


def entry(
    name: str,
    *,
    cost: float | None = 1000,
    value: int | None = 50,
    per_month: int = 1,
    status: str = Service.Status.LIVE,
) -> PortfolioEntry:
    """A service costing `cost` a year (its fixed costs: no staff time), valued `value` of
    100 (from ten resolved requests, `value` / 10 of them within target), asked for
    `per_month` times a month. A None cost is one held back (3 requests resolved, seen by
    an outsider); a None value is no value index (no case, no review)."""
    service = Service(
        name=name,
        slug=name.lower().replace(" ", "-"),
        status=status,
        fixed_yearly_cost=Decimal(cost or 0),
    )
    found = PortfolioEntry(service=service, window=WINDOW, holds_back=cost is None)
    found.raised = 12 * per_month
    if cost is None:
        found.resolved = 3
    if value is not None:
        found.met, found.missed = value // 10, 10 - value // 10
    return found


def chart(entries):
    return portfolio_chart(
        entries, href=lambda e: f"/p/{e.service.slug}/", money=lambda a: f"€{a:,.2f}"
    )


def points(found):
    return {point.name: point for point in found.points}


def name_box(point) -> Box:
    return _box(Text(point.label_x, point.label_y, point.name, point.anchor))


def test_only_live_entries_with_a_cost_and_a_value_are_plotted():
    entries = [
        entry("Laptops"),
        entry("Badges", status=Service.Status.PIPELINE),
        entry("Fax", status=Service.Status.RETIRED),
        entry("Payslips", cost=None),
        entry("Parking", value=None),
    ]

    assert [e.service.name for e in plotted(entries)] == ["Laptops"]
    assert list(points(chart(entries))) == ["Laptops"]


def test_nothing_to_place_gives_no_chart():
    assert chart([]) is None
    assert chart([entry("Parking", value=None), entry("Badges", status="pipeline")]) is None


def test_circle_sits_at_its_cost_across_and_its_value_up():
    # The dearest costs 1,300: the axis runs to 2,000. 1,000 is half way across the plot
    # (78 to 712), at 395; value 70 is 70% up from 444 to 20: 444 - 0.7 * 424 = 147.2.
    found = chart([entry("Laptops", cost=1000, value=70), entry("Phones", cost=1300)])

    laptops = points(found)["Laptops"]
    assert (laptops.x, laptops.y) == (395.0, 147.2)
    assert laptops.href == "/p/laptops/"
    assert laptops.title == "Laptops: €1,000.00 a year, value 70 of 100"
    assert [tick.text for tick in found.ticks[:5]] == ["€0", "€500", "€1,000", "€1,500", "€2,000"]
    # The median cost of 1,000 and 1,300 is 1,150: 78 + 634 * 1150 / 2000 = 442.6.
    assert found.cost_divide == 442.6
    assert found.value_divide == (PLOT_BOTTOM + TOP) / 2


def test_cost_axis_rounds_up_to_one_two_or_five_times_a_power_of_ten():
    def axis_end(cost):
        return chart([entry("Laptops", cost=cost)]).ticks[4].text

    assert axis_end(1000) == "€1,000"
    assert axis_end(1001) == "€2,000"
    assert axis_end(2000) == "€2,000"
    assert axis_end(3100) == "€5,000"
    assert axis_end(5001) == "€10,000"
    assert axis_end(42) == "€50"
    assert axis_end(0) == "€1"


def test_circle_area_grows_with_demand():
    found = points(
        chart(
            [
                entry("Quiet", cost=200, per_month=1),
                entry("Busy", cost=800, per_month=4),
                entry("Busiest", cost=1600, per_month=16),
                entry("Unasked", cost=1200, per_month=0),
            ]
        )
    )

    assert found["Busiest"].r == MAX_RADIUS
    assert found["Unasked"].r == MIN_RADIUS
    radii = [found[name].r for name in ("Unasked", "Quiet", "Busy", "Busiest")]
    assert radii == sorted(radii)
    assert len(set(radii)) == 4
    # Area follows the square root of the share of the busiest: a quarter of its demand is
    # half way from the smallest radius to the largest.
    assert found["Busy"].r == (MIN_RADIUS + MAX_RADIUS) / 2


def test_a_lone_name_sits_right_of_its_circle_without_a_leader():
    found = chart([entry("Laptops", cost=500, value=50), entry("Phones", cost=1000, value=90)])

    point = points(found)["Laptops"]
    assert (point.anchor, point.label_y) == ("start", point.y + 4)
    assert point.label_x == point.x + point.r + 5
    assert point.leader is None


def test_the_dearest_name_goes_left_rather_than_off_the_chart():
    point = points(chart([entry("Laptops", cost=500, value=50)]))["Laptops"]

    assert point.x == PLOT_RIGHT
    assert (point.anchor, point.label_x) == ("end", point.x - point.r - 5)


def test_a_name_goes_above_its_circle_when_both_sides_are_taken():
    # Neighbours 16 px either side, at the same value: the busiest's name covers one of
    # them beside it, so it goes above, clear of its own circle.
    found = points(
        chart(
            [
                entry("Laptops", cost=1000, value=50, per_month=9),
                entry("Left", cost=950, value=50, per_month=0),
                entry("Right", cost=1050, value=50, per_month=0),
            ]
        )
    )

    laptops = found["Laptops"]
    assert (laptops.anchor, laptops.label_x) == ("middle", laptops.x)
    assert laptops.label_y < laptops.y
    assert not name_box(laptops).touches(Circle(laptops.x, laptops.y, laptops.r))
    assert laptops.leader is None


CROWD = [
    ("Laptops and phones", 1000, 60, 16),
    ("Access badges", 1040, 58, 9),
    ("Payslip questions", 980, 55, 7),
    ("New starters", 1060, 62, 5),
    ("Desk booking", 1020, 52, 4),
    ("Software licences", 990, 64, 3),
    ("Parking", 1050, 56, 2),
    ("Expenses", 1010, 50, 1),
]
"""Eight services within 80 of each other in cost (a few pixels apart) and 14 in value."""


CLUSTER = [
    ("Laptops and phones", 994, 40, 3),
    ("Access badges", 994, 40, 9),
    ("Payslip questions", 993, 40, 6),
    ("New starters", 999, 50, 7),
    ("Desk booking", 999, 50, 6),
    ("Software licences", 973, 50, 4),
    ("Parking", 990, 40, 7),
    ("Expenses", 971, 40, 5),
]
"""Eight on two lines of value, their circles overlapping: the places right beside
each circle cover a neighbour, so names must also move out sideways."""

ROUNDING = 0.1
"""The drawing gives positions to a tenth: names stacked line on line may meet by that."""


def _inset(box: Box) -> Box:
    return Box(box.left + ROUNDING, box.top + ROUNDING, box.right - ROUNDING, box.bottom - ROUNDING)


@pytest.mark.parametrize("crowd", [CROWD, CLUSTER], ids=["crowd", "cluster"])
def test_crowded_names_neither_overlap_each_other_nor_touch_a_circle(crowd):
    found = chart(
        [entry(name, cost=cost, value=value, per_month=n) for name, cost, value, n in crowd]
    )

    circles = [Circle(point.x, point.y, point.r - ROUNDING) for point in found.points]
    boxes = {point.name: _inset(name_box(point)) for point in found.points}
    assert len(boxes) == 8
    for (one, a), (other, b) in itertools.combinations(boxes.items(), 2):
        assert not a.overlaps(b), f"{one} covers {other}"
    for name, box in boxes.items():
        assert not any(box.touches(circle) for circle in circles), f"{name} covers a circle"
        assert box.left >= LEFT
        assert box.right <= WIDTH
        assert box.top >= TOP
        assert box.bottom <= PLOT_BOTTOM


def test_crowded_names_go_to_the_most_asked_for_first():
    found = chart(
        [entry(name, cost=cost, value=value, per_month=n) for name, cost, value, n in CROWD]
    )

    assert [point.name for point in found.points] == [name for name, *_ in CROWD]
    busiest = found.points[0]
    assert busiest.label_y == busiest.y + 4  # beside its circle, where it stands


def test_a_name_moved_away_from_its_circle_gets_a_leader_line():
    found = chart(
        [entry(name, cost=cost, value=value, per_month=n) for name, cost, value, n in CLUSTER]
    )

    moved = [point for point in found.points if point.leader is not None]
    assert moved, "in a crowd some names have to move"
    for point in found.points:
        box = name_box(point)
        nearest = (min(max(point.x, box.left), box.right), min(max(point.y, box.top), box.bottom))
        gap = math.dist((point.x, point.y), nearest)
        if point.leader is None:
            assert gap <= point.r + 10
        else:
            x1, y1, x2, y2 = point.leader
            # From the circle's edge to the name's box.
            assert math.dist((point.x, point.y), (x1, y1)) == pytest.approx(point.r, abs=0.2)
            assert (x2, y2) == (round(nearest[0], 1), round(nearest[1], 1))


def test_a_name_that_cannot_stay_beside_its_circle_is_led_back_to_it():
    # Two services at the same place: the second's name finds its circle's sides, top
    # and bottom taken by the first's circle and name, and moves out.
    found = points(
        chart(
            [
                entry("Laptops", cost=1000, value=50, per_month=4),
                entry("Phones", cost=1000, value=50, per_month=1),
            ]
        )
    )

    assert found["Laptops"].leader is None
    phones = found["Phones"]
    assert phones.leader is not None


def test_a_kept_layout_follows_the_figures_it_was_placed_for():
    # The same figures twice: the same places. Then the one service that moves (now the
    # dearest) is placed for where it is, not where the layout kept it.
    before = [entry("Laptops", cost=500, value=50), entry("Phones", cost=1000, value=90)]
    after = [entry("Laptops", cost=2000, value=50), entry("Phones", cost=1000, value=90)]

    first, again, moved = chart(before), chart(before), chart(after)

    assert points(first) == points(again)
    laptops = points(moved)["Laptops"]
    assert laptops.x == PLOT_RIGHT
    assert (laptops.anchor, laptops.label_x) == ("end", laptops.x - laptops.r - 5)
    assert points(first)["Laptops"].anchor == "start"


def test_a_name_keeps_clear_of_the_corners_captions():
    # Cheap and worth it all: the circle sits in the top left corner, under its caption.
    found = chart([entry("Time off", cost=10, value=100), entry("Laptops", cost=5000, value=0)])

    captions = [_inset(_box(caption)) for caption in found.quadrants]
    for point in found.points:
        box = _inset(name_box(point))
        assert not any(box.overlaps(caption) for caption in captions), point.name


def test_a_cost_a_moment_later_finds_the_labels_already_placed():
    """Costs scaled to a year move by a fraction of a cent from one visit to the next: the
    circles are placed to a tenth of a pixel, so the next visit reuses the layout."""
    _place_labels.cache_clear()
    first = chart([entry("Laptops", cost=1000), entry("Phones", cost=1300)])
    again = chart([entry("Laptops", cost=1000.0001), entry("Phones", cost=1300)])

    assert _place_labels.cache_info().hits == 1
    assert points(again)["Laptops"] == points(first)["Laptops"]
