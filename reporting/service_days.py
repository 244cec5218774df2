"""The portfolio's daily rollup (`ServiceDay`, `ServiceDayDepartment`): each service's figures
of each day, the portal's local date, read from the log in SQL a batch of days at a time,
so the portfolio sums a fixed number of rows (its services times its window's days)
whatever the history's size.

A refresh recomputes whole days and replaces their rows, one transaction a batch: it
upserts a row for every service on every day of the batch, and replaces the days'
departments' rows, each stamped with the refresh's time. Run twice, it writes the same
rows; two runs over the same days (the hourly beat and a seed) both finish, upserts
letting the later commit's rows stand.

A day's figures change after the day: a rating lands on the request's resolution day
whenever it is given, and a reopening takes the request out of its resolution day (until
it is resolved again, on a later day). The hourly refresh recomputes the last
`RECENT_DAYS`, which covers every reopening and the ratings of the first week after; the
nightly one recomputes the portfolio's whole window, for the ratings given later.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from esm import clock
from esm.calendars import Schedules, schedules_for
from esm.models import Department
from reporting.measures import AUTOMATED_ALONE, MET, MISSED, steps_finished, worked_hours
from reporting.models import ServiceDay, ServiceDayDepartment, ServiceDaysVersion
from services.models import Service, ServiceRequest
from services.models.tasks import end_to_end_target_sql
from valuestreams.forms import day_period, local_today

BATCH_DAYS = 7
"""Days computed together. At a million requests over two years a week holds some 10,000
requests resolved and 50,000 of their task events, which the staff hours read into memory
at once (calendars are not SQL)."""
RECENT_DAYS = settings.REOPEN_WINDOW_DAYS + 7
"""The days the hourly refresh recomputes: a request can be reopened within
`REOPEN_WINDOW_DAYS` of its resolution, which unresolves its day; most ratings come in the
first week after the survey. Later ratings wait for the nightly refresh of the window."""


def service_days_refresh(*, first: dt.date, last: dt.date) -> int:
    """Recompute every service's days from `first` to `last` (both included), `BATCH_DAYS`
    at a time, a fixed number of queries each. Returns the rows written."""
    schedules = schedules_for(Department.objects.all())
    written = 0
    for start, end in _batches(first, last):
        written += _refresh(start, end, schedules)
    return written


def service_days_refresh_recent(*, days: int = RECENT_DAYS) -> int:
    """Recompute the last `days` days, today included (the hourly and nightly refresh)."""
    today = local_today()
    return service_days_refresh(first=today - dt.timedelta(days=days - 1), last=today)


def service_days_backfill() -> int:
    """Every day from the first request's to today: what a new database, or a history just
    loaded, needs before the portfolio shows figures."""
    first = ServiceRequest.objects.aggregate(first=Min("submitted_at"))["first"]
    if first is None:
        return 0
    return service_days_refresh(first=timezone.localdate(first), last=local_today())


def _batches(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    start = first
    while start <= last:
        end = min(start + dt.timedelta(days=BATCH_DAYS - 1), last)
        yield start, end
        start = end + dt.timedelta(days=1)


@transaction.atomic
def _refresh(first: dt.date, last: dt.date, schedules: Schedules) -> int:
    """Replace the rows of the days `first` to `last` with the log's figures of now."""
    now = clock.now()
    zone = timezone.get_current_timezone()
    period = day_period(first, last)
    days: dict[tuple[int, dt.date], ServiceDay] = {}
    parts: dict[tuple[int, dt.date, int], ServiceDayDepartment] = {}

    def day_of(service_id: int, day: dt.date) -> ServiceDay:
        return days.setdefault(
            (service_id, day), ServiceDay(service_id=service_id, day=day, refreshed_at=now)
        )

    def part_of(service_id: int, day: dt.date, department_id: int) -> ServiceDayDepartment:
        return parts.setdefault(
            (service_id, day, department_id),
            ServiceDayDepartment(
                service_id=service_id, day=day, department_id=department_id, refreshed_at=now
            ),
        )

    # A row for every service on every day: a quiet day reads as computed, not missing.
    for service_id in Service.objects.values_list("pk", flat=True):
        for offset in range((last - first).days + 1):
            day_of(service_id, first + dt.timedelta(days=offset))

    raised = (
        ServiceRequest.objects.filter(submitted_at__gte=period.start, submitted_at__lt=period.end)
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .values_list("catalog_item__service", "day")
        .annotate(raised=Count("pk"))
        .order_by()
    )
    for service_id, day, count in raised:
        day_of(service_id, day).raised = count

    resolved = ServiceRequest.objects.filter(
        resolved_at__gte=period.start, resolved_at__lt=period.end
    )
    outcomes = (
        resolved.annotate(
            day=TruncDate("resolved_at", tzinfo=zone), target=end_to_end_target_sql(now=now)
        )
        .values_list("catalog_item__service", "day")
        .annotate(
            resolved=Count("pk"),
            met=Count("pk", filter=Q(target=MET)),
            missed=Count("pk", filter=Q(target=MISSED)),
            ratings=Count("rating"),
            rating_total=Sum("rating__score"),
        )
        .order_by()
    )
    for service_id, day, count, met, missed, ratings, rating_total in outcomes:
        row = day_of(service_id, day)
        row.resolved, row.met, row.missed = count, met, missed
        row.ratings, row.rating_total = ratings, rating_total or 0

    automated = (
        steps_finished(since=period.start, until=period.end)
        .filter(AUTOMATED_ALONE)
        .annotate(day=TruncDate("finished_at", tzinfo=zone))
        .values_list("run__service_request__catalog_item__service", "day", "department")
        .annotate(steps=Count("pk"))
        .order_by()
    )
    for service_id, day, department_id, steps in automated:
        part_of(service_id, day, department_id).automated_steps = steps

    resolved_on = {
        request_id: (service_id, timezone.localdate(resolved_at, zone))
        for request_id, service_id, resolved_at in resolved.values_list(
            "pk", "catalog_item__service", "resolved_at"
        )
    }
    for request_id, by_department in worked_hours(resolved, schedules=schedules).items():
        # worked_hours reads the days again: a request resolved since `resolved_on` was
        # read is in it and not in `resolved_on`. The next refresh counts it.
        if (found := resolved_on.get(request_id)) is None:
            continue
        for department_id, hours in by_department.items():
            part_of(*found, department_id).hours += hours

    ServiceDay.objects.bulk_create(
        days.values(),
        update_conflicts=True,
        unique_fields=["service", "day"],
        update_fields=[
            "raised",
            "resolved",
            "met",
            "missed",
            "ratings",
            "rating_total",
            "refreshed_at",
        ],
    )
    # A department's part in a day may be gone (its request reopened): the days' parts are
    # replaced, not merged. Upserted all the same: a refresh running beside this one may
    # have inserted a row since the delete.
    ServiceDayDepartment.objects.filter(day__gte=first, day__lte=last).delete()
    ServiceDayDepartment.objects.bulk_create(
        parts.values(),
        update_conflicts=True,
        unique_fields=["service", "day", "department"],
        update_fields=["hours", "automated_steps", "refreshed_at"],
    )
    # In the same transaction: what was cached from the days before is never read again.
    # One row, made by the first refresh and changed by each after it in one statement.
    ServiceDaysVersion.objects.bulk_create(
        [ServiceDaysVersion(pk=1, version=uuid.uuid4())],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["version"],
    )
    return len(days) + len(parts)


def service_days_version() -> uuid.UUID | None:
    """The days' version (`ServiceDaysVersion`); None before their first refresh."""
    return ServiceDaysVersion.objects.filter(pk=1).values_list("version", flat=True).first()
