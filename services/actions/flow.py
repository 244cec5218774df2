"""How a request's work is laid out: tasks are made, and the request follows its work.

Shared by the task actions (people) and the automation (plans): both create tasks and both
move a request along as its work changes. Everything here runs inside the caller's
transaction, holding the request's row lock.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import IntegrityError, transaction

from esm import clock, kept_queries
from esm.events import event_record
from esm.models import Department, Event, EventKind
from services import notifications, sla
from services.actions._base import request_event, request_set_state_for_update
from services.models import AutomationRun, Consult, FulfilmentTask, Queue, ServiceRequest

TaskState = FulfilmentTask.State
RequestState = ServiceRequest.State


def task_event(task: FulfilmentTask, kind: str, actor: Any, **details: Any) -> None:
    """Record a task's event. Its payload carries the task's `version`, and, for a task
    working a plan step, the `run` and the step's key (`step`); a task outside a plan
    carries neither key."""
    service_request = task.service_request
    details.setdefault("department", task.department)
    on_step = (
        {"run": task.automation_run_id, "step": task.step_key} if task.automation_run_id else {}
    )
    event_record(
        subject=task,
        kind=kind,
        actor=actor,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        payload={"version": task.version, **on_step, **details.pop("payload", {})},
        **details,
    )


def task_is_consult(task: FulfilmentTask) -> bool:
    """Whether `task` works another department's consult (rather than the request itself)."""
    return Consult.objects.filter(consult_task=task).exists()


def task_state_after_wait(task: FulfilmentTask) -> str:
    """The state a task goes back to when a wait ends (the employee answered, a consult was
    answered): still waiting on another department while one of its consults is open,
    otherwise worked by its assignee, or back in the queue."""
    if Consult.objects.open().filter(asking_task=task).exists():
        return TaskState.WAITING_ON_DEPARTMENT
    return TaskState.IN_PROGRESS if task.assignee_id else TaskState.QUEUED


def request_follow_work(
    service_request: ServiceRequest,
    *,
    actor: Any,
    resolution: str = "",
    run_state: str | None = None,
) -> None:
    """Bring a locked request's state in line with its tasks and its plan's run, and its
    end-to-end target with its state. A caller holding the run under the same lock passes
    its state (`run_state`); otherwise it is read."""
    states = {
        state
        for (state,) in kept_queries.rows_at(
            FulfilmentTask,
            _task_states_sql(kept_queries.vendor_of(FulfilmentTask)),
            keys={kept_queries.ID: service_request.pk},
        )
    }
    if run_state is None:
        run_state = (
            AutomationRun.objects.filter(service_request=service_request)
            .values_list("state", flat=True)
            .first()
        )
    current = service_request.state
    if TaskState.WAITING_ON_EMPLOYEE in states:
        target, kind = RequestState.WAITING_ON_EMPLOYEE, EventKind.WAITING_ON_EMPLOYEE
    elif states & set(FulfilmentTask.OPEN_STATES) or run_state == AutomationRun.State.RUNNING:
        # Its work reached the departments (QUEUED), or the employee answered (RESUMED).
        # A task waiting on another department is still work in progress to the employee.
        # Nobody works on it yet: WORK_STARTED is recorded when someone (or a step) starts.
        target = RequestState.IN_PROGRESS
        kind = (
            EventKind.RESUMED if current == RequestState.WAITING_ON_EMPLOYEE else EventKind.QUEUED
        )
    elif run_state == AutomationRun.State.DONE or TaskState.DONE in states:
        target, kind = RequestState.RESOLVED, EventKind.RESOLVED
    else:
        return
    if target == current or (
        current in ServiceRequest.FINISHED_STATES and target != RequestState.RESOLVED
    ):
        return
    # The end-to-end target follows the request here, and only here: it pauses while the
    # request waits on the employee, resumes when they answer, and stops at resolution.
    now = clock.now()
    if target == RequestState.WAITING_ON_EMPLOYEE:
        sla.end_to_end_pause(service_request, now=now)
    else:
        sla.end_to_end_resume(service_request, now=now)
    clock_fields = {name: getattr(service_request, name) for name in sla.END_TO_END_FIELDS}
    if target == RequestState.RESOLVED:
        request_set_state_for_update(
            service_request,
            target,
            actor,
            kind,
            resolved_at=now,
            resolution=resolution or service_request.resolution,
            **clock_fields,
        )
        notifications.schedule("request_resolved", service_request.pk)
    else:
        request_set_state_for_update(service_request, target, actor, kind, **clock_fields)


@functools.lru_cache(maxsize=4)
def _task_states_sql(vendor: str) -> kept_queries.SqlWithParams:
    """The states of a request's (`ID`) tasks, kept built: every change to a task or a
    step of the request asks."""
    states = FulfilmentTask.objects.filter(service_request_id=kept_queries.ID)
    return states.order_by().values_list("state").query.sql_with_params()


def request_work_started(
    service_request: ServiceRequest, *, actor: Any, payload: dict[str, Any]
) -> None:
    """Record that work on the request started, the first time it does (a claim, or an
    automated step starting); later starts record nothing.

    Needs no lock on the request (take-next holds only the task): a unique index allows
    one WORK_STARTED event per request, and the loser of a race writes nothing.
    """
    started = kept_queries.rows_at(
        Event,
        _work_started_sql(kept_queries.vendor_of(Event)),
        keys={
            kept_queries.UNSIGNED_ID: service_request.pk,
            kept_queries.AT: service_request.submitted_at,
        },
    )
    if started:
        return
    try:
        with transaction.atomic():
            request_event(service_request, EventKind.WORK_STARTED, actor, payload=payload)
    except IntegrityError:
        return


@functools.lru_cache(maxsize=4)
def _work_started_sql(vendor: str) -> kept_queries.SqlWithParams:
    """Whether a request (`UNSIGNED_ID`, submitted at `AT`) has its WORK_STARTED event, kept built:
    every claim and every automated step asks."""
    # Work starts after submission: bounding the time lets PostgreSQL read only the months
    # since then of the partitioned log, not every month's index.
    started = Event.objects.filter(
        subject_type=ServiceRequest._meta.label_lower,
        subject_id=kept_queries.UNSIGNED_ID,
        kind=EventKind.WORK_STARTED,
        occurred_at__gte=kept_queries.AT,
    )
    return started.values_list("pk")[:1].query.sql_with_params()


def default_queue(department: Department) -> Queue:
    queue = Queue.objects.filter(department=department).order_by("-is_default", "name").first()
    if queue is None:
        # Never lose a request for want of configuration: the department gets a queue. The
        # department's first submissions race to make it; get_or_create's savepoint lets the
        # losers take the winner's queue instead of failing at the unique slug.
        queue, _ = Queue.objects.get_or_create(
            department=department,
            slug=f"{department.slug}-requests",
            defaults={"name": f"{department.name} requests", "is_default": True},
        )
    return queue


def task_create(
    service_request: ServiceRequest,
    *,
    queue: Queue,
    title: str,
    actor: Any,
    priority: str | None = None,
    handed_off_from: FulfilmentTask | None = None,
    reason: str = "",
    run_id: int | None = None,
    step_key: str = "",
) -> FulfilmentTask:
    """A new task in `queue`; `run_id` and `step_key` name the plan step it works, if any."""
    task = FulfilmentTask(
        service_request=service_request,
        queue=queue,
        department=queue.department,
        title=title[:200],
        priority=priority or service_request.priority,
        handed_off_from=handed_off_from,
        handoff_reason=reason,
        automation_run_id=run_id,
        step_key=step_key,
        created_at=clock.now(),
    )
    sla.clock_start(task)
    task.save()
    task_event(
        task, EventKind.QUEUED, actor, to_value=TaskState.QUEUED, payload={"queue": queue.slug}
    )
    return task


def task_create_for_step(
    service_request: ServiceRequest,
    *,
    queue: Queue | None,
    department: Department,
    title: str,
    run_id: int,
    step_key: str,
    reason: str = "",
) -> FulfilmentTask:
    """The task of a plan step given to people (request lock held; the caller follows up)."""
    return task_create(
        service_request,
        queue=queue or default_queue(department),
        title=title,
        actor=None,
        reason=reason,
        run_id=run_id,
        step_key=step_key,
    )
