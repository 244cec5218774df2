"""How departments work with each other, read from the event log through its rollup
(`reporting.crossings`, refreshed by workers): the collaboration map.

Departments are the nodes. An edge joins an asking or sending department to a receiving
one over a period and carries two kinds of work, measured apart because they mean
different things:

- **Handoffs**: `handed_off` events whose moment falls in the period, from the event's
  `from_department` to its `to_department`. Their *pick-up delay* runs from the handoff to
  the first `claimed` or `assigned` event of the receiving task (the event's
  `payload.to_task`), whenever that came; a handoff between two queues of one department
  is not collaboration and is left out; a handoff nobody has claimed yet counts in the
  volume and not in the delay. A handoff was *sent back* when its receiving task has a
  `sent_back` event; the *send-back rate* is sent back / handoffs on the edge.
- **Consults**: `consult_asked` events in the period, from the asking department to the
  consulted one. Their pick-up delay runs from the question to the same consult's
  `consult_answered`; a consult still open, or withdrawn, counts in the volume only.

Each delay is the nearest-rank median (`valuestreams.selectors.flow.distributions`: the
value at rank ceil(n / 2) of the ordered delays, so of two the shorter), in hours.

Confidential cases, and any case the viewer may not open, are counted in every figure but
never listed (`collaboration_edge_cases`). On an edge with fewer than `SMALL_GROUP`
handoffs (or consults) of which the viewer may not see them all, the delay and the
send-back rate are held back and the volume stays, as on the value-stream pages.

The whole map takes a fixed number of queries whatever the history: on PostgreSQL one for
the counts and medians per edge, one for the departments and one for as of when the rollup
holds the log; elsewhere a second one for the medians; and one more for the cases the
viewer may not open on the small edges, when there are any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL

from esm.cache import kept_until_rewritten
from esm.models import Department
from esm.permissions import User
from reporting.crossings import crossings_watermark
from reporting.models import Crossing
from services.models import ServiceRequest
from valuestreams.metrics import SMALL_GROUP, Distribution, Period
from valuestreams.selectors.flow import MINUTES_PER_HOUR, distributions


class MinutesBetween(Func):
    """Minutes from the first expression to the second, on SQLite and PostgreSQL alike
    (Django's duration arithmetic gives an interval on one and microseconds on the other,
    which the median's ranking could not share)."""

    arity = 2
    output_field = FloatField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 1440.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 60.0)",
            arg_joiner=" - ",
            **extra,
        )


@dataclass(frozen=True)
class Work:
    """One kind of work on one edge: handoffs or consults."""

    volume: int = 0
    picked_up: int = 0
    """Handoffs claimed / consults answered: the cases behind the median."""
    median_hours: float | None = None
    sent_back: int = 0
    """Handoffs only."""
    hidden: int | None = 0
    """Of the volume, cases the viewer may not open; None where it was not counted (the
    map counts them only where they can hold figures back, under `SMALL_GROUP`)."""

    @property
    def held_back(self) -> bool:
        return bool(self.hidden) and self.volume < SMALL_GROUP

    @property
    def send_back_rate(self) -> float | None:
        if not self.volume or self.held_back:
            return None
        return self.sent_back / self.volume

    @property
    def median(self) -> float | None:
        return None if self.held_back else self.median_hours


@dataclass(frozen=True)
class Edge:
    from_department: Department
    to_department: Department
    handoffs: Work
    consults: Work

    @property
    def volume(self) -> int:
        return self.handoffs.volume + self.consults.volume


@dataclass(frozen=True)
class CollaborationMap:
    period: Period
    departments: list[Department]
    edges: list[Edge]
    """Busiest first."""
    as_of: dt.datetime | None = None
    """How far the rollup holds the log (None before its first refresh)."""


def _visible_case(viewer: User) -> Exists:
    """Whether the crossing's case is one `viewer` may see."""
    # EXISTS, so that its negation is NOT EXISTS, not NOT IN: past work_mem (a viewer who
    # sees about a million cases) PostgreSQL cannot hash a NOT IN list and scans it per row.
    return Exists(ServiceRequest.objects.visible_to(viewer).filter(pk=OuterRef("case_id")))


def crossings_in(*, period: Period, viewer: User) -> QuerySet[Crossing]:
    """The handoffs and consults of `period` (`reporting.crossings`), each annotated with
    `delay_minutes` (to its pick-up) and `is_visible` (its case, to `viewer`)."""
    return Crossing.objects.filter(
        occurred_at__gte=period.start, occurred_at__lt=period.end
    ).annotate(
        delay_minutes=MinutesBetween(F("occurred_at"), F("picked_at")),
        is_visible=_visible_case(viewer),
    )


class NearestRankMedian(Aggregate):
    """PostgreSQL's `percentile_disc(0.5)`: the smallest value whose share of the ordered
    values reaches a half, which is the value at rank ceil(n / 2), the nearest-rank median
    `distributions` gives (nulls left out, as there)."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


_HIDDEN = Count("pk", filter=Q(is_visible=False))


def _hidden_on_small_edges(
    crossings: QuerySet[Crossing], rows: list[dict[str, Any]], keys: list[str]
) -> dict[tuple[Any, ...], int]:
    """The cases the viewer may not open on each edge (and kind) of `rows` under
    `SMALL_GROUP`, by its `keys`: one query, none when no edge is small."""
    small = [tuple(row[key] for key in keys) for row in rows if row["volume"] < SMALL_GROUP]
    if not small:
        return {}
    on_small_edges = _one_of(keys, small)
    found = crossings.filter(on_small_edges).values(*keys).annotate(hidden=_HIDDEN).order_by()
    return {tuple(row[key] for key in keys): row["hidden"] for row in found}


def _one_of(columns: list[str], edges: list[tuple[Any, ...]]) -> RawSQL:
    """Whether a crossing's `columns` hold one of `edges`, as one row-value IN over a VALUES
    list (PostgreSQL and SQLite alike). Written as one lookup per edge, ORed, the 57 small
    edges of a month at a million requests took Django 7 ms to build, twice what the query
    takes to run."""
    table = Crossing._meta.db_table
    names = ", ".join(f'"{table}"."{Crossing._meta.get_field(c).column}"' for c in columns)
    values = ", ".join([f"({', '.join(['%s'] * len(columns))})"] * len(edges))
    # Only the model's own column names are spliced in; the edges travel as parameters.
    return RawSQL(  # noqa: S611
        f"({names}) IN (VALUES {values})",
        [value for edge in edges for value in edge],
        output_field=BooleanField(),
    )


KEYS = ["kind", "from_department_id", "to_department_id"]
"""What a crossing's figures are counted by: the kind of work, and the edge it crossed."""


def _counts(
    crossings: QuerySet[Crossing], *, with_hidden: bool
) -> tuple[list[dict[str, Any]], dict[tuple, Distribution]]:
    """The handoffs and consults among `crossings` per `KEYS`, and elsewhere than on
    PostgreSQL (where the medians come with the counts) their delays' distributions: one
    query on PostgreSQL, two elsewhere. `with_hidden` counts on each row the cases the
    viewer may not open (`crossings_in`), in the same query."""
    in_sql = connection.vendor == "postgresql"
    counts = crossings.values(*KEYS).annotate(
        volume=Count("pk"),
        picked_up=Count("picked_at"),
        sent_backs=Count("pk", filter=Q(sent_back=True)),
        **({"hidden": _HIDDEN} if with_hidden else {}),
        **({"median_minutes": NearestRankMedian("delay_minutes")} if in_sql else {}),
    )
    medians = {} if in_sql else distributions(crossings, "delay_minutes", by=KEYS)
    return list(counts.order_by()), medians


def _work(
    rows: list[dict[str, Any]], medians: dict[tuple, Distribution]
) -> dict[tuple[int, int], dict[str, Work]]:
    """`_counts`'s rows (each with its `hidden` count) as the work per (from, to)
    department ids."""
    work: dict[tuple[int, int], dict[str, Work]] = {}
    for row in rows:
        key = (row["kind"], row["from_department_id"], row["to_department_id"])
        if "median_minutes" in row:
            minutes = row["median_minutes"]
            median_hours = None if minutes is None else float(minutes) / MINUTES_PER_HOUR
        else:
            median = medians.get(key)
            median_hours = median.p50 if median else None
        handoff = key[0] == Crossing.Kind.HANDOFF
        work.setdefault(key[1:], {})["handoffs" if handoff else "consults"] = Work(
            volume=row["volume"],
            picked_up=row["picked_up"],
            median_hours=median_hours,
            sent_back=row["sent_backs"] if handoff else 0,
            hidden=row["hidden"],
        )
    return work


def collaboration_map(*, period: Period, viewer: User) -> CollaborationMap:
    """Every department and the edges between them in `period`, as `viewer` may read them
    in four queries at most on PostgreSQL (the crossings' watermark, the counts, the small
    edges' hidden cases, the departments), one more elsewhere; the counts none while the
    crossings are unchanged.

    The edges' counts are the same for every reader and change only when the crossings'
    refresh writes them, which gives them a new version: so they are kept in the cache
    under it (`esm.cache.kept_until_rewritten`); a month at a million requests is some
    5,800 crossings to count. The cases the viewer may not open are then counted on the
    edges under `SMALL_GROUP` only, the only ones where they hold figures back: most of
    the cost, and the reader's own (one query, none when no edge is small)."""
    as_of, version = crossings_watermark()
    crossings = crossings_in(period=period, viewer=viewer)
    rows, medians = kept_until_rewritten(
        version,
        "collaboration-counts",
        (period.start, period.end, connection.vendor),
        lambda: _counts(crossings, with_hidden=False),
    )
    hidden_on = _hidden_on_small_edges(crossings, rows, KEYS)
    for row in rows:
        row["hidden"] = hidden_on.get(tuple(row[key] for key in KEYS))
    work = _work(rows, medians)
    departments = list(Department.objects.order_by("name"))
    by_id = {department.pk: department for department in departments}
    edges = [
        Edge(
            from_department=by_id[source],
            to_department=by_id[target],
            handoffs=kinds.get("handoffs", Work()),
            consults=kinds.get("consults", Work()),
        )
        for (source, target), kinds in work.items()
    ]
    edges.sort(key=lambda e: (-e.volume, e.from_department.name, e.to_department.name))
    return CollaborationMap(period=period, departments=departments, edges=edges, as_of=as_of)


def collaboration_edge(
    *, source: Department, target: Department, period: Period, viewer: User
) -> Edge:
    """One edge of the map (empty work when nothing crossed it in `period`): one query on
    PostgreSQL, two elsewhere; the cases the viewer may not open counted in the same."""
    crossings = crossings_in(period=period, viewer=viewer).filter(
        from_department=source, to_department=target
    )
    kinds = _work(*_counts(crossings, with_hidden=True)).get((source.pk, target.pk), {})
    return Edge(
        from_department=source,
        to_department=target,
        handoffs=kinds.get("handoffs", Work()),
        consults=kinds.get("consults", Work()),
    )


def collaboration_edge_cases(
    *, source: Department, target: Department, period: Period, viewer: User
) -> QuerySet[Crossing]:
    """The handoffs and consults on one edge whose case `viewer` may open, latest first;
    the rest are counted in the edge's figures only."""
    return (
        crossings_in(period=period, viewer=viewer)
        .filter(from_department=source, to_department=target, is_visible=True)
        .order_by("-occurred_at", "-event_id")
    )
