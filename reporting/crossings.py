"""The collaboration map's rollup (`Crossing`): every handoff and consult between two
departments, with what answered it, read from the event log in SQL so that the map counts
a fixed set of narrow rows instead of looking up each event's answer on every visit.

From the log, as `docs/events.md` defines them:

- a **handoff** is a `handed_off` event of a task between two departments (a handoff
  between two queues of one department is not collaboration, and is left out). It was
  *picked up* at the first `claimed` or `assigned` event of the receiving task (the event's
  `payload.to_task`) after it, and *sent back* when that task has a `sent_back` event after
  it;
- a **consult** is a `consult_asked` event between two departments, picked up at the same
  consult's first `consult_answered` after it.

A refresh is idempotent (a crossing's row is upserted by its event) and incremental: it
recomputes the crossings of the cases with events since the previous refresh began, less
`valuestreams.rollups.LAG`, for a claim, an answer or a send-back lands on the case's
reference too. A full refresh recomputes every month of the log, one statement a month.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from esm import clock
from esm.models import Event, EventKind
from reporting.models import Crossing, CrossingWatermark
from services.models import Consult, FulfilmentTask
from valuestreams.rollups import LAG

TASK = "services.fulfilmenttask"
CONSULT = "services.consult"
HANDOFF, ASKED = EventKind.HANDED_OFF, EventKind.CONSULT_ASKED
BATCH_CASES = 1000
"""Cases whose crossings one statement of an incremental refresh recomputes."""
FROM_EVENTS = {
    "event_id": "id",
    "kind": "kind",
    "occurred_at": "occurred_at",
    "from_department_id": "from_department_id",
    "to_department_id": "to_department_id",
    "case_id": "case_id",
    "picked_at": "picked_at",
    "sent_back": "was_sent_back",
}
"""Each column of a crossing's row, and the annotated event's field it is written from."""


def crossing_events(
    events: QuerySet[Event], *, since: dt.datetime | None = None
) -> QuerySet[Event]:
    """The handoffs and consults between two departments among `events`, each annotated
    with its `picked_at` (claim or answer), `was_sent_back` and `case_id`. `since`, when
    given, is a moment none of them precedes: what answers them is looked for from it on
    only, so the planner leaves out the log's older months."""
    to_task = Cast(KT("payload__to_task"), BigIntegerField())
    # What answers a handoff or a consult comes after it: bounded so, each lookup reads the
    # months of the log from the handoff's on (partitions pruned as it runs).
    after = Q(occurred_at__gte=OuterRef("occurred_at"))
    if since is not None:
        after &= Q(occurred_at__gte=since)
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
        events.filter(
            Q(kind=HANDOFF, subject_type=TASK) | Q(kind=ASKED, subject_type=CONSULT),
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
    )


_UPSERT = """
INSERT INTO {table} ({columns}, refreshed_at)
SELECT {selected}, %s
FROM ({events}) AS found
WHERE case_id IS NOT NULL
ON CONFLICT (event_id) DO UPDATE SET
    picked_at = excluded.picked_at,
    sent_back = excluded.sent_back,
    refreshed_at = excluded.refreshed_at
"""


def _upsert(events: QuerySet[Event], *, since: dt.datetime | None, now: dt.datetime) -> int:
    """Write the crossings among `events`, each lookup run once, in one statement (the
    same SQL on PostgreSQL and SQLite). Returns the rows written."""
    found = crossing_events(events, since=since).values(*FROM_EVENTS.values())
    sql, params = found.order_by().query.sql_with_params()
    statement = _UPSERT.format(
        table=Crossing._meta.db_table,
        columns=", ".join(FROM_EVENTS),
        selected=", ".join(FROM_EVENTS.values()),
        events=sql,
    )
    with connection.cursor() as cursor:
        # Only our own table and column names and the ORM's SQL are spliced in.
        cursor.execute(statement, (now, *params))
        written = cursor.rowcount
    # In the same transaction: what was cached from the crossings before is never read again
    # (`esm.cache.kept_until_rewritten`). Before the first refresh there is no row to move.
    CrossingWatermark.objects.update(version=uuid.uuid4())
    return written


def _months(first: dt.datetime, last: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    start = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while start <= last:
        end = (start + dt.timedelta(days=32)).replace(day=1)
        yield start, end
        start = end


def crossings_refresh(*, full: bool = False) -> int:
    """Recompute the crossings of the cases with events since the last refresh (every
    month of the log when `full`, or on the first refresh): one statement for the changed
    cases, or a month at a time, each in its own transaction. Returns the rows written."""
    began = clock.now()
    watermark = CrossingWatermark.objects.order_by("pk").first()
    written = 0
    if full or watermark is None:
        bounds = Event.objects.filter(kind__in=[HANDOFF, ASKED]).aggregate(first=Min("occurred_at"))
        if bounds["first"] is not None:
            for start, end in _months(bounds["first"], began):
                month = Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
                with transaction.atomic():
                    written += _upsert(month, since=start, now=began)
    else:
        since = watermark.refreshed_through - LAG
        touched = sorted(
            Event.objects.filter(occurred_at__gte=since)
            .exclude(reference="")
            .values_list("reference", flat=True)
            .distinct()
        )
        for start in range(0, len(touched), BATCH_CASES):
            cases = Event.objects.filter(reference__in=touched[start : start + BATCH_CASES])
            with transaction.atomic():
                written += _upsert(cases, since=None, now=began)
    if watermark is None:
        CrossingWatermark.objects.create(refreshed_through=began)
    else:
        CrossingWatermark.objects.filter(pk=watermark.pk, refreshed_through__lt=began).update(
            refreshed_through=began
        )
    return written


def crossings_refreshed_through() -> dt.datetime | None:
    """As of when the crossings hold the log (None before the first refresh)."""
    return crossings_watermark()[0]


def crossings_watermark() -> tuple[dt.datetime | None, Any]:
    """As of when the crossings hold the log, and their version: (None, None) before the
    first refresh."""
    row = CrossingWatermark.objects.order_by("pk").values_list("refreshed_through", "version")
    return row.first() or (None, None)
