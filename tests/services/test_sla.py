"""SLA clocks in business time: due times, pauses, readings, and the queue's SQL twin.

November 2026 is the main stage: London is on GMT (UTC+0) and New York on EST (UTC-5),
so London wall-clock times are also UTC. Monday 2 November opens the week.
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from esm import clock
from esm.calendars import Schedule
from esm.models import Event, EventKind
from services import actions, sla
from services.models import ClockState, FulfilmentTask
from tests.esm.factories import BusinessCalendarFactory, DepartmentFactory, HolidayFactory
from tests.services.factories import CatalogItemFactory, SlaPolicyFactory, SlaTargetFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)

MON, TUE, WED, THU, FRI, SAT = (dt.date(2026, 11, day) for day in range(2, 8))
NEXT_MON, NEXT_TUE = dt.date(2026, 11, 9), dt.date(2026, 11, 10)


def at(day, hour, minute=0, zone=LONDON):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture
def policy():
    """Normal: respond in 1h, resolve in 16h (two days); high: 30 min and 8h."""
    policy = SlaPolicyFactory(name="Standard")
    SlaTargetFactory(policy=policy, priority="normal", response_minutes=60, resolution_minutes=960)
    SlaTargetFactory(policy=policy, priority="high", response_minutes=30, resolution_minutes=480)
    return policy


@pytest.fixture
def london_calendar():
    return BusinessCalendarFactory(name="London office", time_zone="Europe/London")


@pytest.fixture
def london(it_department, london_calendar):
    """IT works Monday to Friday, 09:00-17:00 London time."""
    it_department.calendar = london_calendar
    it_department.save(update_fields=["calendar"])
    return it_department


@pytest.fixture
def new_york():
    """A department working Monday to Friday, 09:00-17:00 New York time."""
    calendar = BusinessCalendarFactory(name="New York office", time_zone="America/New_York")
    return DepartmentFactory(name="IT Americas", slug="it-americas", calendar=calendar)


def _item(department, policy, priority="normal"):
    return CatalogItemFactory(
        service__department=department, sla_policy=policy, default_priority=priority
    )


def _open_task(department, policy, employee, when, priority="normal"):
    """Submit a request at `when`: its task arrives in the department's queue, clock running."""
    with clock.travel(when):
        service_request, _ = actions.service_request_submit(
            item=_item(department, policy, priority),
            raised_by=employee,
            subject="Laptop will not start",
            answers=[],
            submission_key=uuid.uuid4().hex,
        )
    return service_request.tasks.get()


def _dues(task):
    return task.response_due_at, task.at_risk_at, task.resolution_due_at


def test_the_company_schedule_is_the_default_calendar_read_in_two_queries(
    django_assert_num_queries,
):
    BusinessCalendarFactory(name="Branch", time_zone="America/New_York")
    default = BusinessCalendarFactory(name="Head office", is_default=True)
    HolidayFactory(calendar=default, date=dt.date(2026, 12, 25))

    with django_assert_num_queries(2):  # the calendar with its working periods; its holidays
        schedule = sla.company_schedule()

    assert schedule == Schedule.of(default)
    assert schedule.holidays == {dt.date(2026, 12, 25)}


def test_without_a_default_calendar_there_is_no_company_schedule():
    BusinessCalendarFactory(name="Branch")

    assert sla.company_schedule() is None


# -- clock_start: response, at-risk and resolution due times ---------------------------------


@pytest.mark.parametrize(
    ("opened", "priority", "response", "at_risk", "resolution"),
    [
        pytest.param(
            at(MON, 10), "normal", at(MON, 11), at(TUE, 14), at(WED, 10), id="within-the-week"
        ),
        pytest.param(
            at(MON, 16, 45),
            "high",
            at(TUE, 9, 15),
            at(TUE, 14, 45),
            at(TUE, 16, 45),
            id="over-the-night",
        ),
        pytest.param(
            at(FRI, 15), "normal", at(FRI, 16), at(NEXT_TUE, 11), at(NEXT_TUE, 15), id="weekend"
        ),
        pytest.param(
            at(SAT, 12), "high", at(NEXT_MON, 9, 30), at(NEXT_MON, 15), at(NEXT_MON, 17),
            id="opened-on-saturday",
        ),
        pytest.param(
            at(TUE, 6), "high", at(TUE, 9, 30), at(TUE, 15), at(TUE, 17), id="opened-before-dawn"
        ),
    ],
)  # fmt: skip
def test_clock_start_counts_business_hours_only(
    london, policy, employee, opened, priority, response, at_risk, resolution
):
    task = _open_task(london, policy, employee, opened, priority)

    assert task.created_at == opened
    assert _dues(task) == (response, at_risk, resolution)
    task.refresh_from_db()
    assert _dues(task) == (response, at_risk, resolution)


def test_clock_start_skips_holidays(london, london_calendar, policy, employee):
    # Christmas 2026 falls on a Friday; Boxing Day's bank holiday moves to Monday the 28th.
    HolidayFactory(calendar=london_calendar, date=dt.date(2026, 12, 25), name="Christmas Day")
    HolidayFactory(calendar=london_calendar, date=dt.date(2026, 12, 28), name="Boxing Day")
    christmas_eve, back_at_work = dt.date(2026, 12, 24), dt.date(2026, 12, 29)

    task = _open_task(london, policy, employee, at(christmas_eve, 16), "high")

    assert _dues(task) == (
        at(christmas_eve, 16, 30),
        at(back_at_work, 14),
        at(back_at_work, 16),
    )


def test_clock_start_follows_the_fulfilling_departments_time_zone(
    london, new_york, policy, employee
):
    # 14:00 UTC on Monday: 14:00 in London, 09:00 in New York.
    opened = dt.datetime(2026, 11, 2, 14, tzinfo=UTC)

    in_london = _open_task(london, policy, employee, opened, "high")
    in_new_york = _open_task(new_york, policy, employee, opened, "high")

    # London has 3 working hours left on Monday, New York a whole day.
    assert _dues(in_london) == (
        dt.datetime(2026, 11, 2, 14, 30, tzinfo=UTC),
        dt.datetime(2026, 11, 3, 12, tzinfo=UTC),
        dt.datetime(2026, 11, 3, 14, tzinfo=UTC),
    )
    assert _dues(in_new_york) == (
        at(MON, 9, 30, NEW_YORK),
        at(MON, 15, 0, NEW_YORK),
        at(MON, 17, 0, NEW_YORK),
    )
    assert in_new_york.resolution_due_at == dt.datetime(2026, 11, 2, 22, tzinfo=UTC)


def test_clock_start_waits_for_the_fulfilling_department_to_open(new_york, policy, employee):
    # 13:00 UTC is 08:00 in New York: the clock starts at nine there, not in London.
    task = _open_task(new_york, policy, employee, dt.datetime(2026, 11, 2, 13, tzinfo=UTC), "high")

    assert task.response_due_at == at(MON, 9, 30, NEW_YORK)
    assert task.resolution_due_at == at(MON, 17, 0, NEW_YORK)


def test_clock_start_across_a_daylight_saving_change(new_york, policy, employee):
    # New York springs forward on Sunday 8 March 2026 (EST, UTC-5 -> EDT, UTC-4).
    friday, monday = dt.date(2026, 3, 6), dt.date(2026, 3, 9)

    task = _open_task(new_york, policy, employee, at(friday, 16, 0, NEW_YORK), "high")

    assert _dues(task) == (
        at(friday, 16, 30, NEW_YORK),
        at(monday, 14, 0, NEW_YORK),
        at(monday, 16, 0, NEW_YORK),
    )
    assert task.resolution_due_at == dt.datetime(2026, 3, 9, 20, tzinfo=UTC)


def test_a_department_without_a_calendar_uses_the_company_default(it_department, policy, employee):
    BusinessCalendarFactory(name="Company", time_zone="America/New_York", is_default=True)

    task = _open_task(it_department, policy, employee, at(MON, 9, 0, NEW_YORK), "high")

    assert task.resolution_due_at == at(MON, 17, 0, NEW_YORK)


def test_no_sla_policy_means_no_clock(london, employee):
    task = _open_task(london, None, employee, at(MON, 10))

    assert _dues(task) == (None, None, None)
    assert sla.clock_read(task, sla.schedule_for(london)) == sla.ClockReading(ClockState.NONE, None)


def test_a_priority_without_a_target_has_no_clock(london, policy, employee):
    task = _open_task(london, policy, employee, at(MON, 10), "urgent")

    assert _dues(task) == (None, None, None)


def test_at_risk_share_is_configurable(london, policy, employee, settings):
    settings.SLA_AT_RISK_SHARE = 0.5

    task = _open_task(london, policy, employee, at(MON, 9), "high")

    # Half of eight business hours left: at risk from 13:00.
    assert task.at_risk_at == at(MON, 13)


# -- clock_pause / clock_resume: the remaining business time carries over ---------------------


def test_pause_and_resume_carry_the_remaining_business_time(london, policy, employee):
    task = _open_task(london, policy, employee, at(MON, 9))
    assert _dues(task) == (at(MON, 10), at(TUE, 13), at(TUE, 17))

    sla.clock_pause(task, now=at(MON, 13))  # 4 of 16 hours used; 12 left, 8 before at risk
    sla.clock_resume(task, now=at(THU, 11))

    assert task.sla_paused_at is None
    # Thursday 11:00-17:00 is 6 hours, Friday gives the rest.
    assert task.resolution_due_at == at(FRI, 15)
    assert task.at_risk_at == at(FRI, 11)
    # The response was due before the pause: a pause does not forgive it.
    assert task.response_due_at == at(MON, 10)


@pytest.mark.parametrize(
    ("paused", "resumed", "resolution"),
    [
        pytest.param(at(FRI, 17, 30), at(NEXT_MON, 8, 45), at(NEXT_MON, 10), id="out-of-hours"),
        # Paused with Friday 15:00-17:00 and Monday 09:00-10:00 left: 3 hours from Monday 9.
        pytest.param(at(FRI, 15), at(NEXT_MON, 9), at(NEXT_MON, 12), id="in-hours"),
        pytest.param(at(FRI, 15), at(SAT, 11), at(NEXT_MON, 12), id="answered-on-saturday"),
    ],
)
def test_a_pause_over_the_weekend_does_not_eat_sla(
    london, policy, employee, paused, resumed, resolution
):
    task = _open_task(london, policy, employee, at(FRI, 10), "high")
    assert task.resolution_due_at == at(NEXT_MON, 10)

    sla.clock_pause(task, now=paused)
    sla.clock_resume(task, now=resumed)

    assert task.resolution_due_at == resolution


def test_pause_across_a_holiday_gives_the_holiday_back(london, london_calendar, policy, employee):
    HolidayFactory(calendar=london_calendar, date=WED, name="Office closed")
    task = _open_task(london, policy, employee, at(MON, 9), "high")

    sla.clock_pause(task, now=at(MON, 13))  # 4 hours left
    sla.clock_resume(task, now=at(TUE, 17))  # answered at closing time; Wednesday is off

    assert task.resolution_due_at == at(THU, 13)


def test_pausing_twice_keeps_the_first_pause(london, policy, employee):
    task = _open_task(london, policy, employee, at(MON, 9))

    sla.clock_pause(task, now=at(MON, 10))
    sla.clock_pause(task, now=at(MON, 15))

    assert task.sla_paused_at == at(MON, 10)


def test_resuming_a_running_clock_changes_nothing(london, policy, employee):
    task = _open_task(london, policy, employee, at(MON, 9))
    before = _dues(task)

    sla.clock_resume(task, now=at(WED, 9))

    assert _dues(task) == before


def test_asking_the_employee_pauses_and_their_answer_resumes_the_clock(
    london, policy, employee, it_agent
):
    task = _open_task(london, policy, employee, at(MON, 9))
    with clock.travel(at(MON, 10)):
        task = actions.task_claim(task=task, agent=it_agent)
    with clock.travel(at(MON, 13)):
        actions.task_ask(task=task, agent=it_agent, question="Which model is it?")
    task.refresh_from_db()
    assert task.sla_paused_at == at(MON, 13)
    assert task.resolution_due_at == at(TUE, 17)

    # The employee answers on Thursday morning: 12 business hours are still left.
    with clock.travel(at(THU, 11)):
        actions.comment_add(
            service_request=task.service_request, author=employee, body="A ThinkPad X1"
        )

    task.refresh_from_db()
    assert task.state == FulfilmentTask.State.IN_PROGRESS
    assert task.sla_paused_at is None
    assert (task.at_risk_at, task.resolution_due_at) == (at(FRI, 11), at(FRI, 15))
    assert task.responded_at == at(MON, 10)


# -- clock_read: status and business time left ------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "now", "status", "left"),
    [
        pytest.param({"responded_at": at(MON, 10, 30)}, at(MON, 12), "on_track", 14 * HOUR,
                     id="on-track"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(MON, 18), "on_track", 9 * HOUR,
                     id="on-track-overnight"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(SAT, 10), "breached", -23 * HOUR,
                     id="overdue-by-business-hours-only"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(TUE, 14), "at_risk", 4 * HOUR,
                     id="at-risk-from-the-moment"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(TUE, 15), "at_risk", 3 * HOUR,
                     id="at-risk"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(WED, 10), "breached", dt.timedelta(),
                     id="due-now"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(THU, 11), "breached", -9 * HOUR,
                     id="overdue"),
        pytest.param({}, at(MON, 11, 30), "breached", 14.5 * HOUR, id="no-first-response"),
        pytest.param({"sla_breached": True, "responded_at": at(MON, 10, 30)}, at(MON, 12),
                     "breached", 14 * HOUR, id="flagged"),
        pytest.param({"sla_paused_at": at(MON, 12), "responded_at": at(MON, 10, 30)},
                     at(NEXT_MON, 12), "paused", 14 * HOUR, id="paused-keeps-its-time"),
    ],
)  # fmt: skip
def test_clock_read(london, policy, employee, changes, now, status, left):
    task = _open_task(london, policy, employee, at(MON, 10))  # due Wednesday 10:00
    for field, value in changes.items():
        setattr(task, field, value)

    reading = sla.clock_read(task, sla.schedule_for(london), now=now)

    assert reading == sla.ClockReading(ClockState(status), left)


def test_clock_read_defaults_to_the_current_time(london, policy, employee):
    task = _open_task(london, policy, employee, at(MON, 10))

    with clock.travel(at(TUE, 16)):
        reading = sla.clock_read(task, sla.schedule_for(london))

    assert reading == sla.ClockReading(ClockState.BREACHED, 2 * HOUR)  # nobody ever responded


def test_clock_read_counts_in_the_departments_time_zone(new_york, policy, employee):
    task = _open_task(new_york, policy, employee, at(MON, 9, 0, NEW_YORK), "high")
    task.responded_at = at(MON, 9, 5, NEW_YORK)

    # 20:00 in London is 15:00 in New York: two business hours left there.
    reading = sla.clock_read(task, sla.schedule_for(new_york), now=at(MON, 20))

    assert reading == sla.ClockReading(ClockState.AT_RISK, 2 * HOUR)


# -- with_sla_status (SQL) agrees with clock_read (Python) ----------------------------------


@pytest.mark.parametrize(
    ("changes", "now", "status"),
    [
        pytest.param({}, at(MON, 10, 30), "on_track", id="on-track"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(TUE, 14), "at_risk", id="at-risk-edge"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(TUE, 16), "at_risk", id="at-risk"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(WED, 10), "breached", id="due-edge"),
        pytest.param({"responded_at": at(MON, 10, 30)}, at(THU, 9), "breached", id="overdue"),
        pytest.param({}, at(MON, 11), "breached", id="response-due-edge"),
        pytest.param({}, at(MON, 12), "breached", id="response-missed"),
        pytest.param({"responded_at": at(MON, 12)}, at(MON, 13), "on_track", id="late-response"),
        pytest.param({"sla_breached": True, "responded_at": at(MON, 10, 30)}, at(MON, 12),
                     "breached", id="flagged"),
        pytest.param({"sla_paused_at": at(MON, 12), "responded_at": at(MON, 10, 30)},
                     at(FRI, 12), "paused", id="paused"),
        pytest.param({"sla_paused_at": at(TUE, 15), "responded_at": at(MON, 10, 30)},
                     at(FRI, 12), "paused", id="paused-while-at-risk"),
        pytest.param({"sla_paused_at": at(MON, 12), "sla_breached": True,
                      "responded_at": at(MON, 10, 30)}, at(FRI, 12), "breached",
                     id="paused-after-the-flag"),
    ],
)  # fmt: skip
def test_sql_status_agrees_with_clock_read(london, policy, employee, changes, now, status):
    task = _open_task(london, policy, employee, at(MON, 10))
    if changes:
        FulfilmentTask.objects.filter(pk=task.pk).update(**changes)
        task.refresh_from_db()

    in_sql = FulfilmentTask.objects.with_sla_status(now=now).get(pk=task.pk).sla_state
    in_python = sla.clock_read(task, sla.schedule_for(london), now=now).status

    assert (in_sql, in_python) == (status, status)


def test_a_task_paused_after_its_due_time_stays_breached(london, policy, employee, it_agent):
    """Asked after the due time, before the sweep flagged it: a pause never forgives a due
    time already passed, so both twins read breached, and the sweep flags it."""
    task = _open_task(london, policy, employee, at(MON, 10))  # due Wednesday 10:00
    with clock.travel(at(THU, 9)):  # overdue, not yet flagged
        actions.task_ask(task=task, agent=it_agent, question="Still broken?")
    task.refresh_from_db()

    def statuses(now):
        in_sql = FulfilmentTask.objects.with_sla_status(now=now).get(pk=task.pk).sla_state
        in_python = sla.clock_read(task, sla.schedule_for(london), now=now).status
        return in_sql, in_python

    assert statuses(at(FRI, 12)) == (ClockState.BREACHED, ClockState.BREACHED)
    # Overdue by the business time between the due time and the pause, frozen there.
    assert sla.clock_read(task, sla.schedule_for(london), now=at(FRI, 12)).overdue == 7 * HOUR
    assert actions.sla_breach_sweep(now=at(FRI, 12)) == [task.pk]
    with clock.travel(at(FRI, 12)):
        actions.comment_add(service_request=task.service_request, author=employee, body="Yes")
    task.refresh_from_db()
    # A due time already missed at the pause is not moved by the answer.
    assert task.resolution_due_at == at(WED, 10)
    assert statuses(at(FRI, 12, 1)) == (ClockState.BREACHED, ClockState.BREACHED)


def test_clock_read_needs_no_calendar_for_a_task_without_sla(london, employee, policy):
    without = _open_task(london, None, employee, at(MON, 10))
    with_sla = _open_task(london, policy, employee, at(MON, 10))

    assert sla.clock_read(without, None) == sla.ClockReading(ClockState.NONE, None)
    assert sla.schedules_for([without]).departments == {}
    assert sla.schedules_for([without, with_sla]).departments == {
        london.pk: sla.schedule_for(london)
    }


def test_sql_status_of_a_task_without_sla(london, employee):
    task = _open_task(london, None, employee, at(MON, 10))

    annotated = FulfilmentTask.objects.with_sla_status(now=at(NEXT_MON, 10)).get(pk=task.pk)

    assert annotated.sla_state == ClockState.NONE
    assert sla.clock_read(task, sla.schedule_for(london)).status == ClockState.NONE


# -- by_urgency: breached, at risk, then due time -------------------------------------------


def test_by_urgency_orders_breached_then_at_risk_then_due_time(london, policy, employee):
    def opened(when, priority="normal", **changes):
        task = _open_task(
            london, policy if priority else None, employee, when, priority or "normal"
        )
        FulfilmentTask.objects.filter(pk=task.pk).update(responded_at=when, **changes)
        return task

    no_sla = opened(at(MON, 8), priority=None)
    due_thursday = opened(at(TUE, 12))  # due Thursday 12:00
    due_wednesday = opened(at(MON, 16))  # due Wednesday 16:00, at risk Wednesday 12:00
    paused = opened(at(MON, 9), sla_paused_at=at(MON, 10))
    at_risk = opened(at(TUE, 9), priority="high")  # at risk 15:00, due 17:00 Tuesday
    overdue = opened(at(MON, 9), priority="high")  # due Monday 17:00
    flagged = opened(at(TUE, 10), sla_breached=True)  # due Thursday 10:00, but flagged

    with clock.travel(at(TUE, 16)):
        ordered = list(FulfilmentTask.objects.with_sla_status().by_urgency())

    assert ordered == [overdue, flagged, at_risk, due_wednesday, due_thursday, paused, no_sla]
    assert [task.sla_state for task in ordered] == [
        "breached",
        "breached",
        "at_risk",
        "on_track",
        "on_track",
        "paused",
        "none",
    ]


def test_with_clock_annotates_only_what_is_asked_and_agrees_with_the_whole_status(
    london, policy, employee
):
    task = _open_task(london, policy, employee, at(MON, 9), "high")  # due Monday 17:00
    with clock.travel(at(TUE, 10)):
        ranked = FulfilmentTask.objects.by_urgency()
        stated = ranked.with_clock("sla_state", "sla_rank")
        whole = FulfilmentTask.objects.with_sla_status().get(pk=task.pk)

    assert set(ranked.query.annotations) == {"sla_rank"}
    assert set(stated.query.annotations) == {"sla_rank", "sla_state"}
    assert (stated.get(pk=task.pk).sla_state, stated.get(pk=task.pk).sla_rank) == (
        whole.sla_state,
        whole.sla_rank,
    )
    assert whole.sla_state == ClockState.BREACHED


# -- task_set_priority recomputes the clock from the task's start ------------------------------


def test_set_priority_recomputes_due_times_from_the_start(london, policy, employee, it_agent):
    task = _open_task(london, policy, employee, at(MON, 10))
    assert _dues(task) == (at(MON, 11), at(TUE, 14), at(WED, 10))

    with clock.travel(at(MON, 10, 20)):
        task = actions.task_set_priority(task=task, by=it_agent, priority="high")

    assert task.priority == "high"
    assert _dues(task) == (at(MON, 10, 30), at(MON, 16), at(TUE, 10))
    task.refresh_from_db()
    assert _dues(task) == (at(MON, 10, 30), at(MON, 16), at(TUE, 10))
    event = Event.objects.for_subject(task).get(kind=EventKind.PRIORITY_CHANGED)
    assert (event.actor, event.from_value, event.to_value, event.department) == (
        it_agent,
        "normal",
        "high",
        london,
    )

    with clock.travel(at(MON, 10, 40)):
        task = actions.task_set_priority(task=task, by=it_agent, priority="normal")
    assert _dues(task) == (at(MON, 11), at(TUE, 14), at(WED, 10))


def test_set_priority_keeps_a_paused_clock_paused(london, policy, employee, it_agent):
    task = _open_task(london, policy, employee, at(MON, 9))
    with clock.travel(at(MON, 10)):
        actions.task_ask(task=task, agent=it_agent, question="Which office?")

    with clock.travel(at(MON, 11)):
        task = actions.task_set_priority(task=task, by=it_agent, priority="high")
    task.refresh_from_db()
    assert task.sla_paused_at == at(MON, 10)
    assert task.resolution_due_at == at(MON, 17)

    with clock.travel(at(WED, 9)):
        actions.comment_add(service_request=task.service_request, author=employee, body="Leeds")
    task.refresh_from_db()
    # One of the eight hours was used before the question; seven are left on Wednesday.
    assert (task.sla_paused_at, task.resolution_due_at) == (None, at(WED, 16))


def test_set_priority_after_a_pause_still_excludes_the_wait(london, policy, employee, it_agent):
    task = _open_task(london, policy, employee, at(MON, 9))
    with clock.travel(at(MON, 10)):
        actions.task_ask(task=task, agent=it_agent, question="Which office?")
    with clock.travel(at(THU, 9)):
        actions.comment_add(service_request=task.service_request, author=employee, body="Leeds")

    with clock.travel(at(THU, 10)):
        task = actions.task_set_priority(task=task, by=it_agent, priority="high")

    # Eight business hours: one before the question (Mon 9-10), seven from Thursday 9:00.
    assert task.resolution_due_at == at(THU, 16)
