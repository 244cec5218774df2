"""How departments work with each other, read from the event log: the collaboration map.

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
the counts and medians per edge (each event's lookups run once), one for the departments;
elsewhere a second one for the medians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from esm.models import Department, Event, EventKind
from esm.permissions import User
from services.models import Consult, FulfilmentTask, ServiceRequest
from valuestreams.metrics import SMALL_GROUP, Period
from valuestreams.selectors.flow import MINUTES_PER_HOUR, distributions

TASK = "services.fulfilmenttask"
CONSULT = "services.consult"
HANDOFF, ASKED = EventKind.HANDED_OFF, EventKind.CONSULT_ASKED


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
    hidden: int = 0
    """Of the volume, cases the viewer may not open."""

    @property
    def held_back(self) -> bool:
        return self.hidden > 0 and self.volume < SMALL_GROUP

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


def _visible_case(viewer: User) -> Exists:
    """Whether the event's case (its `case_id` annotation) is one `viewer` may see."""
    # EXISTS, so that its negation is NOT EXISTS, not NOT IN: past work_mem (a viewer who
    # sees about a million cases) PostgreSQL cannot hash a NOT IN list and scans it per row.
    return Exists(ServiceRequest.objects.visible_to(viewer).filter(pk=OuterRef("case_id")))


def collaboration_events(*, period: Period, viewer: User) -> QuerySet[Event]:
    """The handoffs and consults of `period`, each annotated with `picked_at` (claim or
    answer), `delay_minutes`, `was_sent_back`, `case_id` and `is_visible` (to `viewer`)."""
    to_task = Cast(KT("payload__to_task"), BigIntegerField())
    # What answers a handoff or a consult comes after it: bounded so, each lookup reads the
    # months of the log from the handoff's on (partitions pruned as it runs), not every month.
    # The period's start bounds them too: a constant, so the planner leaves out the months
    # before it (planning each lookup over every month of the log took longer than the run).
    after = Q(occurred_at__gte=OuterRef("occurred_at")) & Q(occurred_at__gte=period.start)
    first_claim = (
        Event.objects.filter(
            after,
            subject_type=TASK,
            subject_id=OuterRef("to_task"),
            kind__in=[EventKind.CLAIMED, EventKind.ASSIGNED],
        )
        .order_by("occurred_at", "pk")
        .values("occurred_at")[:1]
    )
    answered = (
        Event.objects.filter(
            after,
            subject_type=CONSULT,
            subject_id=OuterRef("subject_id"),
            kind=EventKind.CONSULT_ANSWERED,
        )
        .order_by("occurred_at", "pk")
        .values("occurred_at")[:1]
    )
    sent_back = Event.objects.filter(
        after, subject_type=TASK, subject_id=OuterRef("to_task"), kind=EventKind.SENT_BACK
    )
    task_case = FulfilmentTask.objects.filter(pk=OuterRef("subject_id")).values(
        "service_request_id"
    )[:1]
    consult_case = Consult.objects.filter(pk=OuterRef("subject_id")).values(
        "asking_task__service_request_id"
    )[:1]
    return (
        Event.objects.filter(
            Q(kind=HANDOFF, subject_type=TASK) | Q(kind=ASKED, subject_type=CONSULT),
            occurred_at__gte=period.start,
            occurred_at__lt=period.end,
            from_department__isnull=False,
            to_department__isnull=False,
        )
        # Between two queues of one department: work that never left it.
        .exclude(from_department=F("to_department"))
        .annotate(
            to_task=Case(When(kind=HANDOFF, then=to_task), default=Value(None)),
            picked_at=Case(
                When(kind=HANDOFF, then=Subquery(first_claim)),
                default=Subquery(answered),
            ),
            was_sent_back=Case(When(kind=HANDOFF, then=Exists(sent_back)), default=Value(False)),
            case_id=Case(
                When(kind=HANDOFF, then=Subquery(task_case)), default=Subquery(consult_case)
            ),
        )
        .annotate(
            delay_minutes=MinutesBetween(F("occurred_at"), F("picked_at")),
            is_visible=_visible_case(viewer),
        )
    )


_FIGURES_SQL = """
WITH lookups AS MATERIALIZED ({events})
SELECT kind, from_department_id, to_department_id,
       COUNT(*), COUNT(picked_at), COUNT(*) FILTER (WHERE was_sent_back),
       COUNT(*) FILTER (WHERE NOT is_visible),
       PERCENTILE_DISC(0.5) WITHIN GROUP (
           ORDER BY EXTRACT(EPOCH FROM (picked_at - occurred_at)) / 60.0
       )
FROM lookups
GROUP BY kind, from_department_id, to_department_id
"""
"""PostgreSQL's read of the figures per edge. The lookups of each event (its pick-up,
send-back, case and the viewer's sight of it) run once, in a materialized CTE: aggregated
straight from the events, each figure that names a lookup ran its own copy of it. The
median is `percentile_disc(0.5)`, the smallest value whose share of the ordered values
reaches a half: the value at rank ceil(n / 2), the nearest-rank median `distributions`
gives (nulls left out, as there)."""


def _figures_in_sql(events: QuerySet[Event]) -> list[tuple]:
    lookups = events.order_by().values(
        "kind",
        "from_department_id",
        "to_department_id",
        "occurred_at",
        "picked_at",
        "was_sent_back",
        "is_visible",
    )
    try:
        sql, params = lookups.query.sql_with_params()
    except EmptyResultSet:  # filtered on an empty list: nothing to count
        return []
    with connection.cursor() as cursor:
        # Only the ORM's own SQL is spliced in; values travel as parameters.
        cursor.execute(_FIGURES_SQL.format(events=sql), params)
        return [
            (
                *key,
                volume,
                picked_up,
                sent_back,
                hidden,
                None if minutes is None else float(minutes) / MINUTES_PER_HOUR,
            )
            for *key, volume, picked_up, sent_back, hidden, minutes in cursor.fetchall()
        ]


def _figures_in_two_reads(events: QuerySet[Event], viewer: User) -> list[tuple]:
    """The same figures elsewhere: the counts, then the medians (`distributions`)."""
    keys = ["kind", "from_department_id", "to_department_id"]
    counts = events.values(*keys).annotate(
        volume=Count("pk"),
        picked_up=Count("pk", filter=Q(picked_at__isnull=False)),
        sent_back=Count("pk", filter=Q(was_sent_back=True)),
        hidden=Count("pk", filter=~Q(_visible_case(viewer))),
    )
    medians = distributions(events, "delay_minutes", by=keys)
    figures = []
    for row in counts.order_by():
        key = tuple(row[name] for name in keys)
        median = medians.get(key)
        figures.append(
            (
                *key,
                row["volume"],
                row["picked_up"],
                row["sent_back"],
                row["hidden"],
                median.p50 if median else None,
            )
        )
    return figures


def _work(events: QuerySet[Event], viewer: User) -> dict[tuple[int, int], dict[str, Work]]:
    """The handoffs and consults of `events` per (from, to) department ids: one query on
    PostgreSQL, two elsewhere."""
    if connection.vendor == "postgresql":
        figures = _figures_in_sql(events)
    else:
        figures = _figures_in_two_reads(events, viewer)
    work: dict[tuple[int, int], dict[str, Work]] = {}
    for kind, source, target, volume, picked_up, sent_back, hidden, median_hours in figures:
        work.setdefault((source, target), {})["handoffs" if kind == HANDOFF else "consults"] = Work(
            volume=volume,
            picked_up=picked_up,
            median_hours=median_hours,
            sent_back=sent_back if kind == HANDOFF else 0,
            hidden=hidden,
        )
    return work


def collaboration_map(*, period: Period, viewer: User) -> CollaborationMap:
    """Every department and the edges between them in `period`, as `viewer` may read them
    (two queries on PostgreSQL, three elsewhere)."""
    work = _work(collaboration_events(period=period, viewer=viewer), viewer)
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
    return CollaborationMap(period=period, departments=departments, edges=edges)


def collaboration_edge(
    *, source: Department, target: Department, period: Period, viewer: User
) -> Edge:
    """One edge of the map (empty work when nothing crossed it in `period`): one query on
    PostgreSQL, two elsewhere."""
    events = collaboration_events(period=period, viewer=viewer).filter(
        from_department=source, to_department=target
    )
    kinds = _work(events, viewer).get((source.pk, target.pk), {})
    return Edge(
        from_department=source,
        to_department=target,
        handoffs=kinds.get("handoffs", Work()),
        consults=kinds.get("consults", Work()),
    )


def collaboration_edge_cases(
    *, source: Department, target: Department, period: Period, viewer: User
) -> QuerySet[Event]:
    """The handoffs and consults on one edge whose case `viewer` may open, latest first,
    with their case loaded; the rest are counted in the edge's figures only."""
    return (
        collaboration_events(period=period, viewer=viewer)
        .filter(from_department=source, to_department=target, is_visible=True)
        .order_by("-occurred_at", "-pk")
    )
