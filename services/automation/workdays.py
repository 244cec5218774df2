"""Working days of a department's business calendar, for steps tied to a date."""

from __future__ import annotations

import datetime as dt

from esm.calendars import Schedule, business_calendar_for
from esm.models import BusinessCalendar, Department
from services.automation.registry import PermanentError

# Far enough to cross any plausible run of holidays (matches esm.calendars).
_MAX_DAYS_SCANNED = 3 * 366


def schedule_for(department: Department | None) -> Schedule:
    try:
        return Schedule.of(business_calendar_for(department))
    except BusinessCalendar.DoesNotExist as error:
        raise PermanentError(str(error)) from None


def first_working_day(schedule: Schedule, day: dt.date) -> dt.date:
    """`day` itself when people work that day, else the next day they do."""
    for offset in range(_MAX_DAYS_SCANNED):
        candidate = day + dt.timedelta(days=offset)
        if schedule.periods_on(candidate):
            return candidate
    raise PermanentError(f"The business calendar has no working day in the years after {day}.")


def working_morning(department: Department | None, day: dt.date, at: dt.time) -> dt.datetime:
    """`at` o'clock (local) on the first working day on or after `day`."""
    schedule = schedule_for(department)
    return dt.datetime.combine(
        first_working_day(schedule, day), at, tzinfo=schedule.time_zone
    ).astimezone(dt.UTC)


def first_working_moment(department: Department | None, day: dt.date) -> dt.datetime:
    """When work starts on the first working day on or after `day`."""
    schedule = schedule_for(department)
    start, _ = schedule.periods_on(first_working_day(schedule, day))[0]
    return start.astimezone(dt.UTC)
