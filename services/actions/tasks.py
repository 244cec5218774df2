"""Fulfilment tasks in department queues: claim, work, ask, hand off, send back, resolve.

A request's own state follows its work (`flow.request_follow_work`). A task that works a
plan step tells the plan when it is done or moves (`automation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, QuerySet

from esm import clock
from esm.models import Event, EventKind
from esm.permissions import staff_department_ids
from services import notifications, sla
from services.actions import automation, flow
from services.actions._base import (
    ActionRefused,
    StaleVersion,
    request_event,
    request_lock,
)
from services.models import (
    Comment,
    FulfilmentTask,
    Priority,
    Queue,
    ServiceRequest,
)

TaskState = FulfilmentTask.State
RequestState = ServiceRequest.State

# How many recent events of a case are read, and shown, to say who changed a task under
# someone's feet.
STALE_EVENTS_READ = 20
STALE_EVENTS_SHOWN = 5


def _lock(task: FulfilmentTask, expected_version: int | None = None) -> FulfilmentTask:
    """Lock the task's row; refuse when it changed since the caller read `expected_version`.

    Locks are taken request first, then its tasks (as request actions do), so two
    actions on the same case never wait for each other in a circle; the returned task's
    `service_request` is loaded after that lock, so callers use it without locking again.
    (Take-next and the breach sweep lock tasks alone, with SKIP LOCKED: they never wait.)
    Only the rows named are locked (`of`), never the queue or department, which other
    claims share.
    """
    request_lock(task.service_request)
    locked = (
        FulfilmentTask.objects.select_for_update(of=("self",))
        .select_related("service_request", "department", "queue")
        .get(pk=task.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(_who_changed(locked, since_version=expected_version))
    return locked


def _who_changed(task: FulfilmentTask, *, since_version: int) -> str:
    # The task's own events, and the request's comment events written from this task.
    recent = (
        Event.objects.filter(reference=task.service_request.reference)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:STALE_EVENTS_READ]
    )
    label = task._meta.label_lower
    about_task = [
        event
        for event in reversed(list(recent))
        if (event.subject_type == label and event.subject_id == task.pk)
        or event.payload.get("task") == task.pk
    ]
    changes = [
        f"{_name(event.actor)} {event.get_kind_display().lower()}"
        for event in about_task
        if event.payload.get("version", 0) > since_version
    ][-STALE_EVENTS_SHOWN:]
    summary = "; ".join(changes) or "someone changed it"
    return (
        f"This task changed while you had it open ({summary}). "
        "Nothing was saved; review it and try again."
    )


def _name(person: Any) -> str:
    if person is None:
        return "The system"
    return person.get_full_name() or person.get_username()


def _save(task: FulfilmentTask, *fields: str) -> None:
    """Save a locked task's changed fields and bump its version (for optimistic checks)."""
    task.version += 1
    task.save(update_fields=[*fields, "version", "updated_at"])


def _set_state(
    task: FulfilmentTask, state: str, actor: Any, kind: str, *fields: str, **details: Any
) -> None:
    previous, task.state = task.state, state
    _save(task, "state", *fields)
    # From/to carry states only when the state changed (asking an employee who has not
    # answered yet asks again, but the task already waits).
    changed = {"from_value": previous, "to_value": state} if previous != state else {}
    flow.task_event(task, kind, actor, **changed, **details)


def _require_open(task: FulfilmentTask) -> None:
    if not task.is_open:
        raise ActionRefused(
            f"This task is {task.get_state_display().lower()}; it can no longer change."
        )


def _require_agent_of(user: AbstractBaseUser, department_id: int) -> None:
    if department_id not in staff_department_ids(user):
        raise ActionRefused("That person does not work in this department's queues.")


def _require_not_consult(task: FulfilmentTask, instead: str) -> None:
    """A consult task answers its question to the asking department, nothing more: the
    case stays with the asking department (on a confidential case the consulted one does
    not even see it)."""
    if flow.task_is_consult(task):
        raise ActionRefused(f"This task is a consult from another department: {instead}")


def _require_no_open_consults(task: FulfilmentTask) -> None:
    if task.consults_asked.open().exists():
        raise ActionRefused(
            "Another department has not answered this task's consult yet: wait for the "
            "answer, or withdraw the consult first."
        )


def task_open_for_request(
    service_request: ServiceRequest, *, actor: Any, title: str, queue: Queue | None = None
) -> FulfilmentTask:
    """Give an approved (or approval-free, or reopened) request its task in `queue`, by
    default its department's queue.

    Call inside the transaction that holds the request's row lock.
    """
    task = flow.task_create(
        service_request,
        queue=queue or flow.default_queue(service_request.department),
        title=title,
        actor=actor,
    )
    flow.request_follow_work(service_request, actor=actor)
    return task


def tasks_cancel_open(service_request: ServiceRequest, *, actor: Any) -> None:
    """Cancel the open tasks of a request being cancelled (request lock held)."""
    for task in service_request.tasks.select_for_update().filter(
        state__in=FulfilmentTask.OPEN_STATES
    ):
        _set_state(task, TaskState.CANCELLED, actor, EventKind.CANCELLED, "done_at")


def tasks_finish_open(service_request: ServiceRequest, *, actor: Any, resolution: str) -> None:
    """Mark the open tasks of a request being resolved as a whole done (request lock held)."""
    now = clock.now()
    for task in service_request.tasks.select_for_update().filter(
        state__in=FulfilmentTask.OPEN_STATES
    ):
        sla.clock_stop(task, now=now)
        task.done_at, task.resolution = now, resolution
        _set_state(
            task,
            TaskState.DONE,
            actor,
            EventKind.RESOLVED,
            "done_at",
            "resolution",
            *sla.CLOCK_FIELDS,
        )


def tasks_resume_for_employee(service_request: ServiceRequest, *, actor: Any) -> None:
    """The employee answered: restart every task waiting on them (request lock held)."""
    waiting = service_request.tasks.select_for_update().filter(state=TaskState.WAITING_ON_EMPLOYEE)
    for task in waiting:
        sla.clock_resume(task)
        task.state = flow.task_state_after_wait(task)
        _save(task, "state", *sla.CLOCK_FIELDS)
        flow.task_event(
            task,
            EventKind.RESUMED,
            actor,
            from_value=TaskState.WAITING_ON_EMPLOYEE,
            to_value=task.state,
        )
    flow.request_follow_work(service_request, actor=actor)


@transaction.atomic
def task_claim(
    *, task: FulfilmentTask, agent: AbstractBaseUser, expected_version: int | None = None
) -> FulfilmentTask:
    """Take a task. Two agents claiming at once: the second is refused, never both."""
    task = _lock(task, expected_version)
    _require_open(task)
    if task.assignee_id == agent.pk:
        return task  # a double click, or a second tab: already theirs, nothing changes
    if task.assignee_id:
        raise ActionRefused(
            f"{task.assignee.get_full_name() or task.assignee} is already working on this task."
        )
    _require_agent_of(agent, task.department_id)
    _claim_for_update(task, agent, actor=agent)
    return task


def _claim_for_update(task: FulfilmentTask, agent: AbstractBaseUser, *, actor: Any) -> None:
    now = clock.now()
    task.assignee, task.claimed_at = agent, task.claimed_at or now
    # Claiming is the first response when nobody has replied yet.
    task.responded_at = task.responded_at or now
    fields = ["assignee", "claimed_at", "responded_at"]
    previous = task.state
    if task.state == TaskState.QUEUED:
        task.state = TaskState.IN_PROGRESS
        fields.append("state")
    _save(task, *fields)
    changed = {"from_value": previous, "to_value": task.state} if previous != task.state else {}
    flow.task_event(
        task,
        EventKind.CLAIMED if actor == agent else EventKind.ASSIGNED,
        actor,
        payload={"assignee": agent.pk},
        **changed,
    )
    flow.request_work_started(task.service_request, actor=actor, payload={"task": task.pk})


@transaction.atomic
def task_take_next(*, queue: Queue, agent: AbstractBaseUser) -> FulfilmentTask | None:
    """Claim the most urgent unclaimed task of `queue`, or None when there is none.

    SKIP LOCKED lets agents pressing "take next" together each lock a different row
    instead of queueing behind one another for the same task (on PostgreSQL; SQLite
    serialises writers anyway).
    """
    _require_agent_of(agent, queue.department_id)
    candidate = (
        FulfilmentTask.objects.filter(queue=queue, state=TaskState.QUEUED, assignee__isnull=True)
        .by_urgency()
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("service_request", "department")
        .first()
    )
    if candidate is None:
        return None
    _claim_for_update(candidate, agent, actor=agent)
    return candidate


@transaction.atomic
def task_assign(
    *,
    task: FulfilmentTask,
    assignee: AbstractBaseUser,
    by: AbstractBaseUser,
    expected_version: int | None = None,
) -> FulfilmentTask:
    task = _lock(task, expected_version)
    _require_open(task)
    _require_agent_of(assignee, task.department_id)
    if task.assignee_id == assignee.pk:
        return task
    _claim_for_update(task, assignee, actor=by)
    if assignee.pk != by.pk:
        notifications.schedule("task_assigned", task.pk)
    return task


@transaction.atomic
def task_unassign(
    *, task: FulfilmentTask, by: AbstractBaseUser, expected_version: int | None = None
) -> FulfilmentTask:
    task = _lock(task, expected_version)
    _require_open(task)
    if task.assignee_id is None:
        return task
    previous_assignee, previous = task.assignee_id, task.state
    task.assignee = None
    fields = ["assignee"]
    if task.state == TaskState.IN_PROGRESS:
        task.state = TaskState.QUEUED
        fields.append("state")
    _save(task, *fields)
    changed = {"from_value": previous, "to_value": task.state} if previous != task.state else {}
    flow.task_event(
        task, EventKind.UNASSIGNED, by, payload={"previous_assignee": previous_assignee}, **changed
    )
    return task


def _comment(task: FulfilmentTask, author: Any, body: str, *, internal: bool) -> Comment:
    comment = Comment.objects.create(
        service_request=task.service_request, author=author, body=body, is_internal=internal
    )
    request_event(
        task.service_request,
        EventKind.COMMENTED,
        author,
        to_value=Comment.INTERNAL if internal else Comment.PUBLIC,
        payload={"comment": comment.pk, "task": task.pk, "version": task.version},
    )
    return comment


@transaction.atomic
def task_reply(
    *, task: FulfilmentTask, agent: AbstractBaseUser, body: str, expected_version: int | None = None
) -> Comment:
    """A public reply: the employee reads it and is e-mailed; it counts as first response."""
    task = _lock(task, expected_version)
    _require_open(task)
    _require_not_consult(task, "answer it; the asking department replies to the employee.")
    # What the employee was told changes the task for colleagues who have it open.
    task.responded_at = task.responded_at or clock.now()
    _save(task, "responded_at")
    comment = _comment(task, agent, body, internal=False)
    notifications.schedule("public_reply", comment.pk)
    return comment


@transaction.atomic
def task_note(*, task: FulfilmentTask, agent: AbstractBaseUser, body: str) -> Comment:
    """An internal note: staff of the department read it, the employee never does."""
    task = _lock(task)
    _require_not_consult(task, "write in its answer; the case's notes belong to its department.")
    return _comment(task, agent, body, internal=True)


@transaction.atomic
def task_ask(
    *,
    task: FulfilmentTask,
    agent: AbstractBaseUser,
    question: str,
    missing_information: bool = False,
    expected_version: int | None = None,
) -> Comment:
    """Ask the employee something: the task waits on them and its SLA clock pauses.

    `missing_information` says the work arrived incomplete (the form lacked something the
    department needs), which counts against the request's %C&A; an ordinary question
    does not.
    """
    task = _lock(task, expected_version)
    _require_open(task)
    _require_not_consult(task, "the asking department asks the employee, if it must.")
    service_request = task.service_request  # locked by _lock, loaded fresh with the task
    comment = _comment(task, agent, question, internal=False)
    sla.clock_pause(task)
    task.responded_at = task.responded_at or clock.now()
    _set_state(
        task,
        TaskState.WAITING_ON_EMPLOYEE,
        agent,
        EventKind.WAITING_ON_EMPLOYEE,
        "responded_at",
        *sla.CLOCK_FIELDS,
        payload={"comment": comment.pk, "missing_information": missing_information},
    )
    flow.request_follow_work(service_request, actor=agent)
    notifications.schedule("question_asked", comment.pk)
    return comment


@transaction.atomic
def task_resolve(
    *,
    task: FulfilmentTask,
    agent: AbstractBaseUser,
    resolution: str,
    expected_version: int | None = None,
) -> FulfilmentTask:
    task = _lock(task, expected_version)
    _require_open(task)
    _require_not_consult(task, "answer it, and the asking department carries on.")
    _require_no_open_consults(task)
    if not resolution.strip():
        raise ActionRefused("Write a resolution note: the employee reads it.")
    service_request = task.service_request  # locked by _lock, loaded fresh with the task
    task.resolution, task.done_at = resolution, clock.now()
    sla.clock_stop(task, now=task.done_at)
    task.responded_at = task.responded_at or task.done_at
    _set_state(
        task,
        TaskState.DONE,
        agent,
        EventKind.RESOLVED,
        "resolution",
        "done_at",
        "responded_at",
        *sla.CLOCK_FIELDS,
    )
    if hasattr(task, "step_run"):
        automation.step_finish_by_task(task)
    flow.request_follow_work(service_request, actor=agent, resolution=resolution)
    return task


@transaction.atomic
def task_hand_off(
    *,
    task: FulfilmentTask,
    agent: AbstractBaseUser,
    to_queue: Queue,
    reason: str,
    expected_version: int | None = None,
) -> FulfilmentTask:
    """Pass the work to another queue: a task is created there and this one closes."""
    task = _lock(task, expected_version)
    _require_open(task)
    _require_not_consult(task, "it cannot be handed off; answer it or leave it in the queue.")
    _require_no_open_consults(task)
    if not reason.strip():
        raise ActionRefused("Say why you are handing it off, so the next team can pick it up.")
    if to_queue.pk == task.queue_id:
        raise ActionRefused("The task is already in that queue.")
    service_request = task.service_request  # locked by _lock, loaded fresh with the task
    if service_request.is_confidential and to_queue.department_id != service_request.department_id:
        raise ActionRefused("A confidential case stays within its department.")
    received = flow.task_create(
        service_request,
        queue=to_queue,
        title=task.title,
        actor=agent,
        priority=task.priority,
        handed_off_from=task,
        reason=reason,
        # The work stays on its plan step, whichever queue has it.
        run_id=task.automation_run_id,
        step_key=task.step_key,
    )
    task.done_at = clock.now()
    sla.clock_stop(task, now=task.done_at)
    _set_state(
        task,
        TaskState.HANDED_OFF,
        agent,
        EventKind.HANDED_OFF,
        "done_at",
        *sla.CLOCK_FIELDS,
        from_department=task.department,
        to_department=to_queue.department,
        payload={"to_task": received.pk, "reason": reason},
    )
    if hasattr(task, "step_run"):
        automation.step_hand_over(task, received)
    flow.request_follow_work(service_request, actor=agent)
    return received


@transaction.atomic
def task_send_back(
    *,
    task: FulfilmentTask,
    agent: AbstractBaseUser,
    missing: str,
    expected_version: int | None = None,
) -> FulfilmentTask:
    """Return a handed-off task to its sender as incomplete; the sender's task reopens.

    This is what %C&A counts: work a stage received but could not use as it came.
    """
    task = _lock(task, expected_version)
    _require_open(task)
    if task.handed_off_from_id is None:
        raise ActionRefused("Only a task handed off from another queue can be sent back.")
    if not missing.strip():
        raise ActionRefused("Say what is missing, so the sender can complete it.")
    _require_no_open_consults(task)
    service_request = task.service_request  # locked by _lock, loaded fresh with the task
    sender = _lock(task.handed_off_from)
    task.done_at = clock.now()
    _set_state(
        task,
        TaskState.CANCELLED,
        agent,
        EventKind.SENT_BACK,
        "done_at",
        from_department=task.department,
        to_department=sender.department,
        payload={"to_task": sender.pk, "missing": missing},
    )
    sender.state = TaskState.IN_PROGRESS if sender.assignee_id else TaskState.QUEUED
    sender.done_at = None
    _save(sender, "state", "done_at")
    flow.task_event(
        sender,
        EventKind.RETURNED,
        agent,
        from_value=TaskState.HANDED_OFF,
        to_value=sender.state,
        from_department=task.department,
        to_department=sender.department,
        payload={"missing": missing},
    )
    if hasattr(task, "step_run"):
        automation.step_hand_over(task, sender)
    flow.request_follow_work(service_request, actor=agent)
    return sender


@transaction.atomic
def task_set_priority(
    *,
    task: FulfilmentTask,
    by: AbstractBaseUser,
    priority: str,
    expected_version: int | None = None,
) -> FulfilmentTask:
    """Change the priority; the SLA targets of the new priority apply from the task's start."""
    if priority not in Priority.values:
        raise ActionRefused("Unknown priority.")
    task = _lock(task, expected_version)
    _require_open(task)
    if task.priority == priority:
        return task
    previous, task.priority = task.priority, priority
    paused_at = task.sla_paused_at
    sla.clock_start(task, now=task.created_at)
    task.sla_paused_at = paused_at
    _save(task, "priority", *sla.CLOCK_FIELDS)
    flow.task_event(task, EventKind.PRIORITY_CHANGED, by, from_value=previous, to_value=priority)
    return task


def _bulk(tasks: Iterable[FulfilmentTask], action: Any, **kwargs: Any) -> tuple[int, list[str]]:
    """Apply `action` to each task on its own; returns (changed, messages of the refused)."""
    changed, refused = 0, []
    for task in tasks:
        try:
            action(task=task, **kwargs)
            changed += 1
        except ActionRefused as error:
            refused.append(f"{task.service_request.reference}: {error}")
    return changed, refused


def tasks_assign_bulk(
    *, tasks: QuerySet[FulfilmentTask], assignee: AbstractBaseUser, by: AbstractBaseUser
) -> tuple[int, list[str]]:
    return _bulk(tasks.select_related("service_request"), task_assign, assignee=assignee, by=by)


def tasks_set_priority_bulk(
    *, tasks: QuerySet[FulfilmentTask], priority: str, by: AbstractBaseUser
) -> tuple[int, list[str]]:
    return _bulk(
        tasks.select_related("service_request"), task_set_priority, priority=priority, by=by
    )


# How many tasks (and requests) one sweep flags at most; the next sweep takes the rest.
BREACH_SWEEP_BATCH = 500


@transaction.atomic
def sla_breach_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Flag open tasks whose department target was just missed; returns their ids.

    Runs from Celery beat, and flags requests whose end-to-end target passed in the same
    run (`end_to_end_breach_sweep`). SKIP LOCKED lets two overlapping sweeps (or an agent
    working a task right now) pass each other; a task missed by one sweep is caught by the
    next. Each flag is a conditional UPDATE, so a task is flagged, and its event written,
    once whatever runs alongside.
    """
    now = now or clock.now()
    missed = Q(resolution_due_at__lte=now) | Q(responded_at__isnull=True, response_due_at__lte=now)
    # A pause never forgives a due time that had passed before it (`clock_state`).
    running = Q(sla_paused_at__isnull=True) | Q(resolution_due_at__lte=F("sla_paused_at"))
    candidates = FulfilmentTask.objects.open().filter(sla_breached=False).filter(missed, running)
    breached = list(
        candidates.select_for_update(skip_locked=True, of=("self",))
        .select_related("service_request", "department")
        .order_by("resolution_due_at")[:BREACH_SWEEP_BATCH]
    )
    flagged = []
    for task in breached:
        claimed = FulfilmentTask.objects.filter(pk=task.pk, sla_breached=False).update(
            sla_breached=True, sla_breached_at=now, version=F("version") + 1, updated_at=now
        )
        if not claimed:
            continue
        task.sla_breached, task.sla_breached_at, task.version = True, now, task.version + 1
        which = (
            "resolution" if task.resolution_due_at and task.resolution_due_at <= now else "response"
        )
        flow.task_event(
            task,
            EventKind.SLA_BREACHED,
            None,
            to_value=which,
            payload={
                "due_at": (
                    task.resolution_due_at if which == "resolution" else task.response_due_at
                ).isoformat()
            },
        )
        flagged.append(task.pk)
    if flagged:
        notifications.schedule("sla_breached", flagged)
    end_to_end_breach_sweep(now=now)
    return flagged


# The `to_value` of a request's SLA_BREACHED event (a task's says "resolution" or "response").
END_TO_END = "end_to_end"


def end_to_end_breach_sweep(*, now: dt.datetime) -> list[int]:
    """Flag open requests whose end-to-end target passed; returns their ids.

    Call inside a transaction (the breach sweep's). Locks only the requests' rows, with
    SKIP LOCKED; the conditional UPDATE makes the flag, and its one SLA_BREACHED event,
    happen once even when two sweeps overlap.
    """
    running = Q(end_to_end_paused_at__isnull=True) | Q(
        end_to_end_due_at__lte=F("end_to_end_paused_at")
    )
    candidates = list(
        ServiceRequest.objects.open()
        .filter(end_to_end_breached=False, end_to_end_due_at__lte=now)
        .filter(running)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("department")
        .order_by("end_to_end_due_at")[:BREACH_SWEEP_BATCH]
    )
    flagged = []
    for service_request in candidates:
        claimed = ServiceRequest.objects.filter(
            pk=service_request.pk, end_to_end_breached=False
        ).update(end_to_end_breached=True, end_to_end_breached_at=now)
        if not claimed:
            continue
        service_request.end_to_end_breached = True
        service_request.end_to_end_breached_at = now
        request_event(
            service_request,
            EventKind.SLA_BREACHED,
            None,
            to_value=END_TO_END,
            payload={"due_at": service_request.end_to_end_due_at.isoformat()},
        )
        flagged.append(service_request.pk)
    return flagged
