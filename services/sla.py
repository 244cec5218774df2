"""SLA clocks of fulfilment tasks, in business time of the fulfilling department.

Everything about due times lives here: starting a clock, pausing it while the employee
is asked something, resuming it (the remaining business time carries over), and what is
left of it. The queue sorts on the stored datetimes in SQL
(`FulfilmentTaskQuerySet.with_sla_status`); this module keeps them right.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from esm import clock
from esm.calendars import NoWorkingTime, Schedule, business_calendar_for
from esm.models import BusinessCalendar, Department
from services.models import SlaTarget
from services.models.tasks import FulfilmentTask, SlaStatus

logger = logging.getLogger(__name__)

CLOCK_FIELDS = [
    "response_due_at",
    "resolution_due_at",
    "at_risk_at",
    "sla_paused_at",
    "sla_paused_total",
]


def schedule_for(department: Department) -> Schedule:
    return Schedule.of(business_calendar_for(department))


def schedules_for(tasks: Iterable[FulfilmentTask]) -> dict[int, Schedule]:
    """One schedule per department of the tasks that have an SLA, keyed by department id."""
    departments = {task.department for task in tasks if task.resolution_due_at is not None}
    return {department.pk: schedule_for(department) for department in departments}


def target_for(task: FulfilmentTask) -> SlaTarget | None:
    policy_id = task.service_request.catalog_item.sla_policy_id
    if policy_id is None:
        return None
    return SlaTarget.objects.filter(policy_id=policy_id, priority=task.priority).first()


def clock_start(task: FulfilmentTask, *, now: dt.datetime | None = None) -> None:
    """Set the due times of a new (or re-prioritised) task; the caller saves CLOCK_FIELDS."""
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
        due = getattr(task, field)
        if due is not None and due > paused_at:
            setattr(task, field, schedule.add(now, schedule.between(paused_at, due)))


@dataclass(frozen=True)
class ClockReading:
    status: SlaStatus
    left: dt.timedelta | None  # business time left to resolution; negative once overdue


def clock_read(
    task: FulfilmentTask, schedule: Schedule | None, *, now: dt.datetime | None = None
) -> ClockReading:
    """Where the task's clock stands, for display.

    Decides the status in the same order as the SQL twin the queue sorts on
    (`FulfilmentTaskQuerySet.with_sla_status`), so a row never reads otherwise than it sorts.
    `schedule` may be None only for a task without an SLA.
    """
    if task.resolution_due_at is None or schedule is None:
        return ClockReading(SlaStatus.NONE, None)
    now = task.sla_paused_at or now or clock.now()
    due = task.resolution_due_at
    left = schedule.between(now, due) if due > now else -schedule.between(due, now)
    if task.sla_breached:
        status = SlaStatus.BREACHED
    elif task.sla_paused_at is not None:
        status = SlaStatus.PAUSED
    elif left <= dt.timedelta() or _response_missed(task, now):
        status = SlaStatus.BREACHED
    elif task.at_risk_at is not None and now >= task.at_risk_at:
        status = SlaStatus.AT_RISK
    else:
        status = SlaStatus.ON_TRACK
    return ClockReading(status, left)


def _response_missed(task: FulfilmentTask, now: dt.datetime) -> bool:
    return (
        task.responded_at is None
        and task.response_due_at is not None
        and task.response_due_at <= now
    )
