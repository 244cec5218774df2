"""Daily snapshots of every measure, for the whole enterprise, each department, service
and value stream: what dashboards read, a fixed number of rows whatever the history holds.

A day's snapshot is the measure over the `WINDOW_DAYS` days ending that day, so a line of
snapshots is a rolling trend and the latest one is "how we stand now". Refreshing a day
overwrites its rows in place (an upsert on measure, day and scope): safe to run twice, or
again for a day whose late events arrived since, and safe when two runs overlap (the hourly
beat and an owner's "refresh now"): the later write wins, neither fails. A scope that goes
away takes its snapshots with it (they cascade).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from esm import clock
from esm.models import Department
from reporting.measures import REGISTRY, Scope, facts_shared_across_scopes
from reporting.models import Measure, Snapshot
from services.models import Service
from valuestreams.forms import day_period
from valuestreams.models import ValueStream

WINDOW_DAYS = 28


def scopes() -> list[Scope]:
    """Every scope a snapshot may be about: the enterprise, each department, service and
    value stream."""
    return [
        Scope(),
        *(Scope(department=d) for d in Department.objects.order_by("pk")),
        *(Scope(service=s) for s in Service.objects.order_by("pk")),
        *(Scope(value_stream=v) for v in ValueStream.objects.order_by("pk")),
    ]


def snapshots_refresh(*, day: dt.date | None = None) -> int:
    """Compute and store every registered measure's snapshots for `day` (today, in the
    portal's time zone, by default). Measures whose source the portal does not hold, or
    whose key names no function, get no row: their pages say so. Returns rows written."""
    day = day or timezone.localtime(clock.now()).date()
    period = day_period(day - dt.timedelta(days=WINDOW_DAYS - 1), day)
    now = clock.now()
    rows = []
    measures = Measure.objects.filter(source_controlled=True, key__in=REGISTRY)
    every_scope = scopes()
    with facts_shared_across_scopes():
        for measure_row in measures:
            compute = REGISTRY[measure_row.key]
            its_scopes = [scope for scope in every_scope if scope.kind in compute.scopes]
            values = compute.every(period, its_scopes)
            for scope in its_scopes:
                value = values[scope.key]
                rows.append(
                    Snapshot(
                        measure=measure_row,
                        day=day,
                        department=scope.department,
                        service=scope.service,
                        value_stream=scope.value_stream,
                        scope=scope.key,
                        value=value.value,
                        cases=value.cases,
                        refreshed_at=now,
                    )
                )
    Snapshot.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["measure", "day", "scope"],
        update_fields=["value", "cases", "department", "service", "value_stream", "refreshed_at"],
    )
    return len(rows)


def snapshots_backfill(*, weeks: int) -> int:
    """Snapshots for today and each of the `weeks` weeks before it (the same weekday), so
    a trend shows before beat has run for long. Idempotent like `snapshots_refresh`."""
    today = timezone.localtime(clock.now()).date()
    return sum(snapshots_refresh(day=today - dt.timedelta(weeks=back)) for back in range(weeks + 1))
