"""Business-time arithmetic over a department's calendar.

A `Schedule` is an immutable snapshot of a calendar (time zone, weekly working periods,
holidays) loaded in two queries; the arithmetic itself runs in Python without touching
the database, so SLA clocks can be computed for many tasks at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from esm import kept_queries
from esm.models import BusinessCalendar, Department, Holiday, WorkingPeriod

# Far enough to cross any plausible run of holidays; beyond it a calendar has no working time.
_MAX_DAYS_SCANNED = 3 * 366


class NoWorkingTime(ValueError):
    """The calendar has no working periods at all, so business time never passes."""


@dataclass(frozen=True)
class Schedule:
    time_zone: zoneinfo.ZoneInfo
    weekly: dict[int, tuple[tuple[dt.time, dt.time], ...]]
    holidays: frozenset[dt.date]

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> Schedule:
        """The calendar's schedule: two queries, or none when `calendars_with_schedules`
        prefetched its periods and holidays."""
        weekly: dict[int, list[tuple[dt.time, dt.time]]] = {day: [] for day in range(7)}
        periods = sorted(
            calendar.working_periods.all(), key=lambda period: (period.weekday, period.starts_at)
        )
        for period in periods:
            weekly[period.weekday].append((period.starts_at, period.ends_at))
        return cls(
            time_zone=zoneinfo.ZoneInfo(calendar.time_zone),
            weekly={day: tuple(periods) for day, periods in weekly.items()},
            holidays=frozenset(holiday.date for holiday in calendar.holidays.all()),
        )

    def periods_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working intervals of one local day, as aware datetimes (none on holidays)."""
        if day in self.holidays:
            return []
        return [
            (
                dt.datetime.combine(day, start, tzinfo=self.time_zone),
                dt.datetime.combine(day, end, tzinfo=self.time_zone),
            )
            for start, end in self.weekly[day.weekday()]
        ]

    def is_working_time(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.time_zone)
        return any(start <= local < end for start, end in self.periods_on(local.date()))

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment `duration` of working time after `start` (an aware datetime)."""
        if not any(self.weekly.values()):
            raise NoWorkingTime("the calendar has no working periods")
        remaining = duration
        local = start.astimezone(self.time_zone)
        day = local.date()
        for _ in range(_MAX_DAYS_SCANNED):
            for period_start, period_end in self.periods_on(day):
                begin = max(period_start, local)
                if begin >= period_end:
                    continue
                available = period_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
            day += dt.timedelta(days=1)
        raise NoWorkingTime(f"no working time within {_MAX_DAYS_SCANNED} days of {start}")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time elapsed from `start` to `end` (zero when end is not after start)."""
        total = dt.timedelta()
        if end <= start:
            return total
        local_start = start.astimezone(self.time_zone)
        local_end = end.astimezone(self.time_zone)
        day = local_start.date()
        while day <= local_end.date():
            for period_start, period_end in self.periods_on(day):
                overlap = min(period_end, local_end) - max(period_start, local_start)
                if overlap > dt.timedelta():
                    total += overlap
            day += dt.timedelta(days=1)
        return total


@dataclass(frozen=True)
class Schedules:
    """The schedules a page needs, loaded at once: each department's (its own calendar,
    else the company default) and the company's. A department or company without a
    calendar reads None (its clock has no business time to count in)."""

    company: Schedule | None
    departments: dict[int, Schedule]

    def of(self, department_id: int | None) -> Schedule | None:
        if department_id is None:
            return None
        return self.departments.get(department_id)


def schedules_for(departments: Iterable[Department | int]) -> Schedules:
    """The schedules of `departments` (instances, whose `calendar_id` is read as it is, or
    ids) and the company's, in two queries (three when ids are given): the calendars with
    their working periods joined, and their holidays. The count does not grow with the
    departments, so a page over all of them costs what a page over one does."""
    calendar_of: dict[int, int | None] = {}
    ids: set[int] = set()
    for department in departments:
        if isinstance(department, Department):
            calendar_of[department.pk] = department.calendar_id
        else:
            ids.add(department)
    ids -= calendar_of.keys()
    if ids:
        calendar_of.update(Department.objects.filter(pk__in=ids).values_list("pk", "calendar_id"))
    own = tuple(sorted({pk for pk in calendar_of.values() if pk is not None}))
    calendars_query, holidays_query = _calendars_sql(kept_queries.vendor_of(BusinessCalendar), own)
    rows = kept_queries.rows_at(BusinessCalendar, calendars_query)
    holiday_rows = kept_queries.rows_at(Holiday, holidays_query)
    zones: dict[int, str] = {}
    weekly: dict[int, dict[int, list[tuple[dt.time, dt.time]]]] = {}
    default = None
    for pk, time_zone, is_default, weekday, starts_at, ends_at in rows:
        if pk not in zones:
            zones[pk], weekly[pk] = time_zone, {day: [] for day in range(7)}
        # The first default by name, as `business_calendar_for` picks it.
        if is_default and default is None:
            default = pk
        if weekday is not None:
            weekly[pk][weekday].append((_time(starts_at), _time(ends_at)))
    holidays: dict[int, set[dt.date]] = {pk: set() for pk in zones}
    for calendar_id, date in holiday_rows:
        holidays[calendar_id].add(_date(date))
    by_id = {
        pk: Schedule(
            time_zone=zoneinfo.ZoneInfo(zones[pk]),
            weekly={day: tuple(sorted(periods)) for day, periods in weekly[pk].items()},
            holidays=frozenset(holidays[pk]),
        )
        for pk in zones
    }
    company = by_id.get(default) if default is not None else None
    return Schedules(
        company=company,
        departments={
            department_id: schedule
            for department_id, calendar_id in calendar_of.items()
            if (schedule := by_id.get(calendar_id) if calendar_id else company) is not None
        },
    )


# Distinct sets of calendars whose queries a process keeps built: a few hundred bytes each.
CALENDAR_QUERIES_KEPT = 256
# As the ORM reads them: SQLite answers a cursor with text, PostgreSQL with times and dates.
_time = WorkingPeriod._meta.get_field("starts_at").to_python
_date = Holiday._meta.get_field("date").to_python


@functools.lru_cache(maxsize=CALENDAR_QUERIES_KEPT)
def _calendars_sql(
    vendor: str, own: tuple[int, ...]
) -> tuple[kept_queries.SqlWithParams, kept_queries.SqlWithParams]:
    """`schedules_for`'s two queries for a set of calendars (and the default), built once a
    process: nearly every staff page and the request's page read them, and Django took
    twice as long to build them as the database to answer. The rows are read afresh."""
    wanted = BusinessCalendar.objects.filter(Q(pk__in=own) | Q(is_default=True))
    # Each calendar with its working periods joined (a row per period, one row with none
    # for a calendar without any), by name as the model orders them; then the holidays.
    calendars = wanted.order_by("name", "pk").values_list(
        "pk",
        "time_zone",
        "is_default",
        "working_periods__weekday",
        "working_periods__starts_at",
        "working_periods__ends_at",
    )
    holidays = Holiday.objects.filter(calendar__in=wanted).order_by()
    return (
        calendars.query.sql_with_params(),
        holidays.values_list("calendar_id", "date").query.sql_with_params(),
    )


def business_calendar_for(department: Department | None) -> BusinessCalendar:
    """The department's own calendar, else the company default."""
    if department is not None and department.calendar_id is not None:
        return department.calendar
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    if calendar is None:
        raise BusinessCalendar.DoesNotExist("No default business calendar is configured.")
    return calendar
