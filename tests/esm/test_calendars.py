"""Business-time arithmetic: what SLA clocks count, and which calendar a department uses."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from esm.calendars import NoWorkingTime, Schedule, business_calendar_for, schedules_for
from esm.models import BusinessCalendar
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    HolidayFactory,
    WorkingPeriodFactory,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = dt.timedelta(hours=1)

# Early March 2026: London is on GMT (UTC+0) until 29 March; New York is on EST (UTC-5)
# until 8 March, then EDT (UTC-4).
MONDAY = dt.date(2026, 3, 2)
TUESDAY = dt.date(2026, 3, 3)
WEDNESDAY = dt.date(2026, 3, 4)
FRIDAY = dt.date(2026, 3, 6)
SATURDAY = dt.date(2026, 3, 7)
NEXT_MONDAY = dt.date(2026, 3, 9)

OFFICE_HOURS = ((dt.time(9), dt.time(17)),)
WITH_LUNCH = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17)))


def schedule(*, zone=LONDON, day_periods=OFFICE_HOURS, weekdays=range(5), holidays=()):
    return Schedule(
        time_zone=zone,
        weekly={day: day_periods if day in weekdays else () for day in range(7)},
        holidays=frozenset(holidays),
    )


def at(day, hour, minute=0, zone=LONDON):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


# -- add ------------------------------------------------------------------------------------


def test_add_within_one_day():
    assert schedule().add(at(MONDAY, 10), 3 * HOUR) == at(MONDAY, 13)


def test_add_carries_over_the_night():
    assert schedule().add(at(MONDAY, 16), 2 * HOUR) == at(TUESDAY, 10)


def test_add_skips_the_weekend():
    assert schedule().add(at(FRIDAY, 16), 2 * HOUR) == at(NEXT_MONDAY, 10)


def test_add_skips_a_holiday():
    with_holiday = schedule(holidays={TUESDAY})

    assert with_holiday.add(at(MONDAY, 16), 2 * HOUR) == at(WEDNESDAY, 10)


def test_add_from_outside_working_hours_starts_at_the_next_opening():
    assert schedule().add(at(SATURDAY, 12), HOUR) == at(NEXT_MONDAY, 10)
    assert schedule().add(at(MONDAY, 7), HOUR) == at(MONDAY, 10)
    assert schedule().add(at(MONDAY, 17), HOUR) == at(TUESDAY, 10)


def test_add_ending_exactly_at_closing_time_stays_on_that_day():
    assert schedule().add(at(MONDAY, 9), 8 * HOUR) == at(MONDAY, 17)


def test_add_skips_the_lunch_break():
    lunch = schedule(day_periods=WITH_LUNCH)

    assert lunch.add(at(MONDAY, 11), 2 * HOUR) == at(MONDAY, 14)
    assert lunch.add(at(MONDAY, 12, 30), HOUR) == at(MONDAY, 14)


def test_add_answers_in_utc():
    due = schedule(zone=NEW_YORK).add(at(MONDAY, 10, zone=NEW_YORK), HOUR)

    assert due.utcoffset() == dt.timedelta(0)
    assert due == dt.datetime(2026, 3, 2, 16, tzinfo=dt.UTC)


def test_add_counts_office_hours_in_the_calendar_time_zone():
    start = dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)  # 14:00 in London, 09:00 in New York

    london_due = schedule(zone=LONDON).add(start, 4 * HOUR)
    new_york_due = schedule(zone=NEW_YORK).add(start, 4 * HOUR)

    assert london_due == at(TUESDAY, 10, zone=LONDON)  # 3h on Monday, 1h on Tuesday
    assert new_york_due == at(MONDAY, 13, zone=NEW_YORK)
    assert new_york_due == dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)


def test_add_keeps_local_office_hours_across_a_daylight_saving_change():
    # New York moves from EST to EDT in the night of 7-8 March 2026.
    due = schedule(zone=NEW_YORK).add(at(FRIDAY, 16, zone=NEW_YORK), 2 * HOUR)

    assert due == at(NEXT_MONDAY, 10, zone=NEW_YORK)
    assert due == dt.datetime(2026, 3, 9, 14, tzinfo=dt.UTC)


def test_add_on_a_calendar_without_working_periods_raises():
    with pytest.raises(NoWorkingTime):
        schedule(weekdays=()).add(at(MONDAY, 10), HOUR)


# -- between --------------------------------------------------------------------------------


def test_between_within_one_day():
    assert schedule().between(at(MONDAY, 10), at(MONDAY, 13)) == 3 * HOUR


def test_between_across_the_night():
    assert schedule().between(at(MONDAY, 16), at(TUESDAY, 10)) == 2 * HOUR


def test_between_across_the_weekend():
    assert schedule().between(at(FRIDAY, 16), at(NEXT_MONDAY, 10)) == 2 * HOUR


def test_between_across_a_holiday():
    with_holiday = schedule(holidays={TUESDAY})

    assert with_holiday.between(at(MONDAY, 16), at(WEDNESDAY, 10)) == 2 * HOUR


def test_between_leaves_out_the_lunch_break():
    lunch = schedule(day_periods=WITH_LUNCH)

    assert lunch.between(at(MONDAY, 11), at(MONDAY, 14)) == 2 * HOUR
    assert lunch.between(at(MONDAY, 0), at(TUESDAY, 0)) == 7 * HOUR


def test_between_outside_working_hours_is_zero():
    assert schedule().between(at(SATURDAY, 9), at(SATURDAY, 17)) == dt.timedelta(0)
    assert schedule().between(at(MONDAY, 17), at(TUESDAY, 9)) == dt.timedelta(0)


def test_between_in_a_non_utc_time_zone():
    start = dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 2, 20, tzinfo=dt.UTC)  # 20:00 London, 15:00 New York

    assert schedule(zone=LONDON).between(start, end) == 3 * HOUR
    assert schedule(zone=NEW_YORK).between(start, end) == 6 * HOUR


@pytest.mark.parametrize(
    ("start", "end"),
    [(at(TUESDAY, 10), at(MONDAY, 10)), (at(MONDAY, 10), at(MONDAY, 10))],
    ids=["end-before-start", "same-moment"],
)
def test_between_is_zero_when_end_is_not_after_start(start, end):
    assert schedule().between(start, end) == dt.timedelta(0)


@pytest.mark.parametrize("zone", [LONDON, NEW_YORK], ids=str)
@pytest.mark.parametrize("hours", [0.5, 3, 8, 9, 40, 100])
def test_between_measures_back_what_add_added(zone, hours):
    calendar = schedule(zone=zone, day_periods=WITH_LUNCH, holidays={WEDNESDAY})
    start = at(MONDAY, 11, 15, zone=zone)
    duration = dt.timedelta(hours=hours)

    assert calendar.between(start, calendar.add(start, duration)) == duration


# -- is_working_time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (at(MONDAY, 9), True),
        (at(MONDAY, 12, 30), True),
        (at(MONDAY, 16, 59), True),
        (at(MONDAY, 17), False),
        (at(MONDAY, 8, 59), False),
        (at(SATURDAY, 12), False),
        (at(TUESDAY, 12), False),
    ],
    ids=["opening", "midday", "last-minute", "closing", "before-opening", "weekend", "holiday"],
)
def test_is_working_time(moment, working):
    assert schedule(holidays={TUESDAY}).is_working_time(moment) is working


def test_is_working_time_uses_the_calendar_time_zone():
    moment = dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)  # 18:00 London, 13:00 New York

    assert schedule(zone=LONDON).is_working_time(moment) is False
    assert schedule(zone=NEW_YORK).is_working_time(moment) is True


def test_is_working_time_is_false_over_lunch():
    assert schedule(day_periods=WITH_LUNCH).is_working_time(at(MONDAY, 12, 30)) is False


# -- from the database ----------------------------------------------------------------------


@pytest.mark.django_db
def test_schedule_of_a_calendar_loads_its_periods_and_holidays(django_assert_num_queries):
    calendar = BusinessCalendarFactory(time_zone="America/New_York", office_hours=False)
    WorkingPeriodFactory(calendar=calendar, weekday=0, starts_at=dt.time(13), ends_at=dt.time(17))
    WorkingPeriodFactory(calendar=calendar, weekday=0, starts_at=dt.time(9), ends_at=dt.time(12))
    HolidayFactory(calendar=calendar, date=TUESDAY)

    with django_assert_num_queries(2):
        loaded = Schedule.of(calendar)

    assert loaded == schedule(
        zone=NEW_YORK, day_periods=WITH_LUNCH, weekdays={0}, holidays={TUESDAY}
    )


@pytest.mark.django_db
def test_a_department_with_its_own_calendar_uses_it():
    BusinessCalendarFactory(name="Company", is_default=True)
    own = BusinessCalendarFactory(name="IT extended hours")
    department = DepartmentFactory(calendar=own)

    assert business_calendar_for(department) == own


@pytest.mark.django_db
def test_a_department_without_a_calendar_falls_back_to_the_default():
    default = BusinessCalendarFactory(name="Company", is_default=True)
    BusinessCalendarFactory(name="Unrelated")

    assert business_calendar_for(DepartmentFactory(calendar=None)) == default
    assert business_calendar_for(None) == default


@pytest.mark.django_db
def test_business_calendar_for_raises_when_there_is_no_default():
    BusinessCalendarFactory(name="Not the default")

    with pytest.raises(BusinessCalendar.DoesNotExist, match="No default business calendar"):
        business_calendar_for(DepartmentFactory(calendar=None))


@pytest.mark.django_db
def test_schedules_read_a_calendars_changes_though_their_queries_are_kept(
    django_assert_num_queries,
):
    company = BusinessCalendarFactory(name="Company", is_default=True, office_hours=False)
    WorkingPeriodFactory(calendar=company, weekday=0, starts_at=dt.time(9), ends_at=dt.time(17))
    own = BusinessCalendarFactory(name="IT", time_zone="America/New_York", office_hours=False)
    department = DepartmentFactory(calendar=own)
    schedules_for([department])
    HolidayFactory(calendar=own, date=TUESDAY)
    WorkingPeriodFactory(calendar=own, weekday=0, starts_at=dt.time(13), ends_at=dt.time(17))
    WorkingPeriodFactory(calendar=own, weekday=0, starts_at=dt.time(9), ends_at=dt.time(12))

    with django_assert_num_queries(2):
        schedules = schedules_for([department])

    assert schedules.of(department.pk) == schedule(
        zone=NEW_YORK, day_periods=WITH_LUNCH, weekdays={0}, holidays={TUESDAY}
    )
    assert schedules.company == schedule(weekdays={0})
