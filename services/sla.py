"""The two clocks of a case, in business time.

- A task's **department target** runs in the fulfilling department's calendar from the
  moment the work reaches its queue (SLA policy of the item, per priority) to `done_at`.
- A request's **end-to-end target** (the employee's promise) runs in the company's default
  calendar from submission to resolution. Approval time counts: the employee is waiting,
  and approvers are part of the organisation. It pauses only while the request waits on
  the employee, is never reset by a handoff (tasks come and go, the request keeps its
  clock), and stops at resolution. A reopen continues the same clock: the time the request
  stood resolved does not count (the employee had their answer), nothing else is given
  back, and a target already missed stays missed.

Everything about due times lives here: starting a clock, pausing it, resuming it (the
remaining business time carries over), stopping it, and what is left of it. What state a
clock is in is decided by one function, `services.models.clocks.clock_state`, and its SQL
twin, which the queues sort and count on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from esm import calendars, clock
from esm.calendars import NoWorkingTime, Schedule, Schedules, business_calendar_for
from esm.models import BusinessCalendar, Department
from services.models import ServiceRequest, SlaTarget
from services.models.clocks import ClockState, clock_state
from services.models.tasks import FulfilmentTask

logger = logging.getLogger(__name__)

CLOCK_FIELDS = [
    "response_due_at",
    "resolution_due_at",
    "at_risk_at",
    "sla_paused_at",
    "sla_paused_total",
]
END_TO_END_FIELDS = [
    "end_to_end_due_at",
    "end_to_end_at_risk_at",
    "end_to_end_paused_at",
    "end_to_end_paused_total",
]


def schedule_for(department: Department) -> Schedule:
    return Schedule.of(business_calendar_for(department))


def company_schedule() -> Schedule | None:
    """The company's default calendar, in which end-to-end targets run; None without one.
    Two queries, its working periods read with it (`calendars.schedules_for`)."""
    return calendars.schedules_for([]).company


def schedules_for(tasks: Iterable[FulfilmentTask]) -> Schedules:
    """What reading the tasks' two clocks needs, in three queries however many departments:
    the schedule of each department whose task has an SLA, and the company's (end-to-end
    targets). No query without tasks."""
    tasks = list(tasks)
    if not tasks:
        return Schedules(company=None, departments={})
    department = FulfilmentTask._meta.get_field("department")
    return calendars.schedules_for(
        # The department itself when the task came with it (its calendar id is then known).
        task.department if department.is_cached(task) else task.department_id
        for task in tasks
        if task.resolution_due_at is not None
    )


def target_for(task: FulfilmentTask) -> SlaTarget | None:
    policy_id = task.service_request.catalog_item.sla_policy_id
    if policy_id is None:
        return None
    return SlaTarget.objects.filter(policy_id=policy_id, priority=task.priority).first()


def clock_start(task: FulfilmentTask, *, now: dt.datetime | None = None) -> None:
    """Set the department target of a task whose work just reached its queue (or that was
    re-prioritised); the caller saves CLOCK_FIELDS. A handed-off task gets a fresh one:
    the target is the receiving department's, while the request's end-to-end target runs on.
    """
    target = target_for(task)
    if target is None:
        task.response_due_at = task.resolution_due_at = task.at_risk_at = None
        return
    start = now or task.created_at or clock.now()
    try:
        schedule = schedule_for(task.department)
        _set_due_times(task, target, schedule, start)
    except (BusinessCalendar.DoesNotExist, NoWorkingTime):
        # A calendar mistake must not lose the request: the task starts without a clock,
        # and the log says why.
        logger.warning("no business calendar for %s: task %s has no SLA", task.department, task)
        task.response_due_at = task.resolution_due_at = task.at_risk_at = None


def _set_due_times(
    task: FulfilmentTask, target: SlaTarget, schedule: Schedule, start: dt.datetime
) -> None:
    # Business time already spent waiting on the employee never counts against the team.
    paused = task.sla_paused_total
    resolution = dt.timedelta(minutes=target.resolution_minutes)
    warning = resolution * (1 - settings.SLA_AT_RISK_SHARE)
    task.response_due_at = schedule.add(
        start, dt.timedelta(minutes=target.response_minutes) + paused
    )
    task.resolution_due_at = schedule.add(start, resolution + paused)
    task.at_risk_at = schedule.add(start, warning + paused)


def clock_pause(task: FulfilmentTask, *, now: dt.datetime | None = None) -> None:
    if task.sla_paused_at is None:
        task.sla_paused_at = now or clock.now()


def clock_resume(task: FulfilmentTask, *, now: dt.datetime | None = None) -> None:
    """Restart a paused clock: each due time keeps the business time it had left at pause."""
    paused_at = task.sla_paused_at
    if paused_at is None:
        return
    task.sla_paused_at = None
    if task.resolution_due_at is None and task.response_due_at is None:
        return  # no SLA: no calendar needed
    now = now or clock.now()
    schedule = schedule_for(task.department)
    task.sla_paused_total += schedule.between(paused_at, now)
    for field in ("response_due_at", "resolution_due_at", "at_risk_at"):
        setattr(task, field, _carried_over(schedule, getattr(task, field), paused_at, now))


def clock_stop(task: FulfilmentTask, *, now: dt.datetime | None = None) -> None:
    """The department's part is finished (the caller sets `done_at` to `now`): a pause
    running until now does not count against the department."""
    clock_resume(task, now=now)


def _carried_over(
    schedule: Schedule, due: dt.datetime | None, paused_at: dt.datetime, now: dt.datetime
) -> dt.datetime | None:
    # A due time already passed at the pause is not moved: a pause never forgives it.
    if due is None or due <= paused_at:
        return due
    return schedule.add(now, schedule.between(paused_at, due))


# -- the end-to-end target of a request -----------------------------------------------------


def end_to_end_start(service_request: ServiceRequest, *, now: dt.datetime) -> None:
    """Set the end-to-end due times of a request being submitted at `now` (the caller saves)."""
    schedule = company_schedule()
    if schedule is None:
        logger.warning("no default business calendar: %s has no end-to-end target", now)
        return
    target = service_request.catalog_item.end_to_end_target
    try:
        service_request.end_to_end_due_at = schedule.add(now, target)
        service_request.end_to_end_at_risk_at = schedule.add(
            now, target * (1 - settings.SLA_AT_RISK_SHARE)
        )
    except NoWorkingTime:
        logger.warning("the default business calendar has no working time: no end-to-end target")
        service_request.end_to_end_due_at = service_request.end_to_end_at_risk_at = None


def end_to_end_pause(service_request: ServiceRequest, *, now: dt.datetime) -> None:
    """The request waits on the employee (the caller saves END_TO_END_FIELDS)."""
    if service_request.end_to_end_paused_at is None:
        service_request.end_to_end_paused_at = now


def end_to_end_resume(service_request: ServiceRequest, *, now: dt.datetime) -> None:
    """The employee answered: the remaining business time carries over from the pause."""
    paused_at = service_request.end_to_end_paused_at
    if paused_at is None:
        return
    service_request.end_to_end_paused_at = None
    if service_request.end_to_end_due_at is None:
        return
    schedule = company_schedule()
    if schedule is None:
        return
    service_request.end_to_end_paused_total += schedule.between(paused_at, now)
    for field in ("end_to_end_due_at", "end_to_end_at_risk_at"):
        due = getattr(service_request, field)
        setattr(service_request, field, _carried_over(schedule, due, paused_at, now))


def end_to_end_stop(service_request: ServiceRequest, *, now: dt.datetime) -> None:
    """The request is resolved at `now` (the caller sets `resolved_at`): a wait on the
    employee running until now is given back before the clock is read as met or missed."""
    end_to_end_resume(service_request, now=now)


def end_to_end_continue(service_request: ServiceRequest, *, now: dt.datetime) -> None:
    """A reopen at `now` continues the clock where resolution stopped it: the time it
    stood resolved is treated as a pause. Call before clearing `resolved_at`."""
    resolved_at = service_request.resolved_at
    if resolved_at is None:
        return
    service_request.end_to_end_paused_at = resolved_at
    end_to_end_resume(service_request, now=now)


# -- readings: the state of a clock and its business time ---------------------------------


@dataclass(frozen=True)
class ClockReading:
    """A clock for display. `left` is the business time from the reading's moment (now;
    the pause while paused; the stop once finished) to the due time: negative once past
    it. It is None without a target, or when no schedule was given to measure it."""

    status: ClockState
    left: dt.timedelta | None
    due_at: dt.datetime | None = dataclasses.field(default=None, compare=False)

    @property
    def overdue(self) -> dt.timedelta | None:
        """How far past the due time (for BREACHED and MISSED), else None."""
        if self.left is None or self.left > dt.timedelta():
            return None
        return -self.left


NO_TARGET = ClockReading(ClockState.NONE, None)


def _reading(
    status: ClockState,
    schedule: Schedule | None,
    due: dt.datetime | None,
    moment: dt.datetime,
) -> ClockReading:
    if status == ClockState.NONE or due is None:
        return NO_TARGET
    if schedule is None:
        return ClockReading(status, None, due)
    left = schedule.between(moment, due) if due > moment else -schedule.between(due, moment)
    return ClockReading(status, left, due)


def clock_read(
    task: FulfilmentTask, schedule: Schedule | None, *, now: dt.datetime | None = None
) -> ClockReading:
    """Where the task's department target stands (`schedule`: its department's)."""
    now = now or clock.now()
    due = None if task.state == FulfilmentTask.State.CANCELLED else task.resolution_due_at
    stopped_at = task.done_at if task.state in FulfilmentTask.STOPPED_STATES else None
    status = clock_state(
        due_at=due,
        at_risk_at=task.at_risk_at,
        paused_at=task.sla_paused_at,
        breached=task.sla_breached,
        stopped_at=stopped_at,
        now=now,
        response_missed=_response_missed(task, now),
    )
    return _reading(status, schedule, due, stopped_at or task.sla_paused_at or now)


def end_to_end_read(
    service_request: ServiceRequest,
    schedule: Schedule | None,
    *,
    now: dt.datetime | None = None,
) -> ClockReading:
    """Where the request's end-to-end target stands (`schedule`: the company's)."""
    now = now or clock.now()
    void = service_request.state in ServiceRequest.VOID_STATES
    due = None if void else service_request.end_to_end_due_at
    done = service_request.state in ServiceRequest.DONE_STATES
    stopped_at = service_request.resolved_at if done else None
    status = clock_state(
        due_at=due,
        at_risk_at=service_request.end_to_end_at_risk_at,
        paused_at=service_request.end_to_end_paused_at,
        breached=service_request.end_to_end_breached,
        stopped_at=stopped_at,
        now=now,
    )
    moment = stopped_at or service_request.end_to_end_paused_at or now
    return _reading(status, schedule, due, moment)


def _response_missed(task: FulfilmentTask, now: dt.datetime) -> bool:
    return (
        task.responded_at is None
        and task.response_due_at is not None
        and task.response_due_at <= now
    )
