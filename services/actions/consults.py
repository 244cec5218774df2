"""Consults: a task's department asks another department a question without handing the
work off.

The question becomes a task in the consulted department's queue (sorted, claimed and
measured like any task); the asking task waits on it (WAITING_ON_DEPARTMENT, its
department target still running: the wait is the team's delay, not the employee's) and
resumes when its last open consult is answered or withdrawn. Both ends are events with a
from- and a to-department, so cross-department waiting is measured from the log.

Consults sit above the task actions and use their locking and state helpers: locks are
taken request first, then tasks (`tasks._lock`), then the consult row.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from services.actions import flow, tasks
from services.actions._base import ActionRefused
from services.models import Consult, FulfilmentTask, Queue, ServiceRequest

TaskState = FulfilmentTask.State
ConsultState = Consult.State


def _consult_event(
    consult: Consult,
    kind: str,
    actor: Any,
    *,
    towards_asker: bool,
    from_value: str,
    to_value: str,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record a consult event. A question travels from the asking department to the
    consulted one; an answer travels back (`towards_asker`), and is the consulted
    department's event."""
    service_request = consult.asking_task.service_request
    asker, consulted = consult.from_department, consult.to_department
    event_record(
        subject=consult,
        kind=kind,
        actor=actor,
        department=consulted if towards_asker else asker,
        from_department=consulted if towards_asker else asker,
        to_department=asker if towards_asker else consulted,
        from_value=from_value,
        to_value=to_value,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        payload={
            "asking_task": consult.asking_task_id,
            "consult_task": consult.consult_task_id,
            **(payload or {}),
        },
    )


def _consult_title(task: FulfilmentTask) -> str:
    # A confidential case's task title may say what the case is about ("Grievance"):
    # the consulted department's queue shows only who asks.
    if task.service_request.is_confidential:
        return f"Question from {task.department.name}"
    return f"Question from {task.department.name}: {task.title}"


@transaction.atomic
def task_consult(
    *,
    task: FulfilmentTask,
    agent: AbstractBaseUser,
    to_queue: Queue,
    question: str,
    expected_version: int | None = None,
) -> Consult:
    """Ask another department (through one of its queues) a question about `task`.

    A consult task is queued there; `task` waits on it (unless it is already waiting on
    the employee: it then waits on both, and goes on waiting on the department when the
    employee answers). A task may have several consults open at once.
    """
    task = tasks._lock(task, expected_version)
    tasks._require_open(task)
    tasks._require_agent_of(agent, task.department_id)
    if flow.task_is_consult(task):
        raise ActionRefused(
            "This task is itself a consult: answer it, and the asking department can ask "
            "further if it needs to."
        )
    if not question.strip():
        raise ActionRefused("Write the question for the other department.")
    if to_queue.department_id == task.department_id:
        raise ActionRefused(
            "That queue is your own department's: ask another department, or hand the task "
            "to that queue instead."
        )
    service_request = task.service_request  # locked by tasks._lock
    consult_task = flow.task_create(
        service_request,
        queue=to_queue,
        title=_consult_title(task),
        actor=agent,
        priority=task.priority,
    )
    consult = Consult.objects.create(
        asking_task=task,
        consult_task=consult_task,
        from_department=task.department,
        to_department=to_queue.department,
        question=question,
        asked_by=agent,
        asked_at=clock.now(),
    )
    _consult_event(
        consult,
        EventKind.CONSULT_ASKED,
        agent,
        towards_asker=False,
        from_value="",
        to_value=ConsultState.OPEN,
        payload={"queue": to_queue.slug},
    )
    if task.state in (TaskState.QUEUED, TaskState.IN_PROGRESS):
        tasks._set_state(
            task,
            TaskState.WAITING_ON_DEPARTMENT,
            agent,
            EventKind.WAITING_ON_DEPARTMENT,
            from_department=task.department,
            to_department=to_queue.department,
            payload={"consult": consult.pk},
        )
    else:
        tasks._save(task)  # already waiting: the page still changed under colleagues
    flow.request_follow_work(service_request, actor=agent)
    return consult


def _lock_both(
    consult: Consult, *, expected_version: int | None, versioned: str
) -> tuple[Consult, FulfilmentTask, FulfilmentTask]:
    """Lock the request, both tasks (`versioned` names the one whose page the caller saw),
    then the consult; refuse when the consult is no longer open."""
    asking_version = expected_version if versioned == "asking" else None
    consult_version = expected_version if versioned == "consult" else None
    asking = tasks._lock(consult.asking_task, asking_version)
    consult_task = tasks._lock(consult.consult_task, consult_version)
    consult = Consult.objects.select_for_update().get(pk=consult.pk)
    if not consult.is_open:
        raise ActionRefused(f"This consult is already {consult.get_state_display().lower()}.")
    consult.asking_task, consult.consult_task = asking, consult_task
    return consult, asking, consult_task


def _asking_task_follow(asking: FulfilmentTask, consult: Consult, actor: Any) -> None:
    """The asking task stops waiting on other departments once none of its consults is
    open; while it waits on the employee, or on another consult, it keeps waiting."""
    if asking.state != TaskState.WAITING_ON_DEPARTMENT:
        tasks._save(asking)  # the answer shows on its page
        return
    state = flow.task_state_after_wait(asking)
    if state == TaskState.WAITING_ON_DEPARTMENT:
        tasks._save(asking)
        return
    tasks._set_state(
        asking,
        state,
        actor,
        EventKind.DEPARTMENT_WAIT_ENDED,
        from_department=consult.to_department,
        to_department=asking.department,
        payload={"consult": consult.pk},
    )


@transaction.atomic
def consult_answer(
    *,
    consult: Consult,
    agent: AbstractBaseUser,
    answer: str,
    expected_version: int | None = None,
) -> Consult:
    """Answer a consult (staff of the consulted department): its task is done and the
    asking task resumes if this was its last open consult. `expected_version` is the
    consult task's."""
    consult, asking, consult_task = _lock_both(
        consult, expected_version=expected_version, versioned="consult"
    )
    tasks._require_agent_of(agent, consult.to_department_id)
    if not answer.strip():
        raise ActionRefused("Write the answer: the asking department reads it.")
    now = clock.now()
    consult.state, consult.answer = ConsultState.ANSWERED, answer
    consult.answered_by, consult.answered_at = agent, now
    consult.save(update_fields=["state", "answer", "answered_by", "answered_at"])
    _consult_event(
        consult,
        EventKind.CONSULT_ANSWERED,
        agent,
        towards_asker=True,
        from_value=ConsultState.OPEN,
        to_value=ConsultState.ANSWERED,
    )
    consult_task.done_at = now
    consult_task.responded_at = consult_task.responded_at or now
    tasks._set_state(
        consult_task,
        TaskState.DONE,
        agent,
        EventKind.RESOLVED,
        "done_at",
        "responded_at",
        payload={"consult": consult.pk},
    )
    _asking_task_follow(asking, consult, agent)
    flow.request_follow_work(asking.service_request, actor=agent)
    return consult


@transaction.atomic
def consult_withdraw(
    *,
    consult: Consult,
    agent: AbstractBaseUser,
    expected_version: int | None = None,
) -> Consult:
    """Take a question back (staff of the asking department): its consult task is
    cancelled. `expected_version` is the asking task's."""
    consult, asking, consult_task = _lock_both(
        consult, expected_version=expected_version, versioned="asking"
    )
    tasks._require_agent_of(agent, consult.from_department_id)
    _withdraw_for_update(consult, consult_task, agent)
    _asking_task_follow(asking, consult, agent)
    flow.request_follow_work(asking.service_request, actor=agent)
    return consult


def _withdraw_for_update(consult: Consult, consult_task: FulfilmentTask, actor: Any) -> None:
    consult.state, consult.withdrawn_at = ConsultState.WITHDRAWN, clock.now()
    consult.save(update_fields=["state", "withdrawn_at"])
    _consult_event(
        consult,
        EventKind.CONSULT_WITHDRAWN,
        actor,
        towards_asker=False,
        from_value=ConsultState.OPEN,
        to_value=ConsultState.WITHDRAWN,
    )
    consult_task.done_at = consult.withdrawn_at
    tasks._set_state(
        consult_task,
        TaskState.CANCELLED,
        actor,
        EventKind.CANCELLED,
        "done_at",
        payload={"consult": consult.pk},
    )


def consults_withdraw_open(service_request: ServiceRequest, *, actor: Any) -> None:
    """Withdraw every open consult of a request being cancelled, rejected or resolved as a
    whole (request lock held); the caller then closes the asking tasks themselves."""
    open_consults = (
        Consult.objects.open()
        .filter(asking_task__service_request=service_request)
        .select_for_update(of=("self",))
        .select_related("asking_task__service_request", "from_department", "to_department")
    )
    for consult in open_consults:
        consult_task = (
            FulfilmentTask.objects.select_for_update(of=("self",))
            .select_related("service_request", "department")
            .get(pk=consult.consult_task_id)
        )
        _withdraw_for_update(consult, consult_task, actor)
