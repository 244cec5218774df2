"""Running fulfilment plans: start a run, execute steps on workers, hand failures to people.

Reliability, in the order things can go wrong:
- The step-run row is written (state PENDING) in the transaction that starts the step, and
  the worker is asked on commit. If that message is lost (the broker was down), the sweep
  finds the row still PENDING and asks again.
- A worker claims a step with a conditional UPDATE, which commits with its STEP_STARTED
  event before the action runs; it then does the work and marks it done in a second
  transaction, so a step is never done twice. A killed worker's message comes back (late
  acks) and the step runs again from the start. Actions are idempotent by the step run's
  key, so a half-done effect is found, not repeated.
- A step that keeps killing its worker is counted (`deliveries`) and, past a limit, sent to
  a person instead of looping forever.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F, Q

from esm import clock, kept_queries
from esm.events import EventDetails, event_record, events_record
from esm.models import Department, EventKind
from esm.sqlite import transaction_deferred
from services.actions import flow
from services.actions._base import request_lock
from services.automation import registry
from services.enqueue import enqueue_on_commit
from services.models import (
    Approval,
    AutomationRun,
    FulfilmentTask,
    PlanStep,
    ServiceRequest,
    StepRun,
)

logger = logging.getLogger(__name__)

StepState = StepRun.State

# Transient failures are retried this many times, waiting BACKOFF_BASE * 2**attempt seconds.
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
# A step picked up this many times without finishing is killing its workers.
MAX_DELIVERIES = 3
# A PENDING step not picked up after this long has lost its message; RUNNING ones after
# STUCK_RUNNING lost their worker without a redelivery.
LOST_MESSAGE_AFTER = dt.timedelta(seconds=60)
STUCK_RUNNING_AFTER = dt.timedelta(minutes=15)
SWEEP_BATCH = 200


def _step_department(step_run: StepRun, service_request: ServiceRequest) -> Department:
    """Who owns a step of this request. A confidential case never leaves its department,
    whatever the plan says (the plan's admin check is the first guard, this the last)."""
    if service_request.is_confidential:
        return service_request.department
    return step_run.department


def _step_event(step_run: StepRun, kind: str, **details: Any) -> None:
    """Record a step run's event (see `_step_event_details`)."""
    event_record(subject=step_run, kind=kind, **_step_event_details(step_run, **details))


def _step_event_details(step_run: StepRun, **details: Any) -> EventDetails:
    """A step run's event: its department is the step's owner (see `_step_department`),
    its payload names the run, the step's key and name (from the run's snapshot) and
    whatever `payload` adds."""
    service_request = step_run.run.service_request
    return EventDetails(
        actor=None,
        department=_step_department(step_run, service_request),
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        payload={
            "run": step_run.run_id,
            "step": step_run.step_key,
            "name": step_run.name,
            **details.pop("payload", {}),
        },
        **details,
    )


def _enqueue_on_commit(step_run_ids: list[int]) -> None:
    # A lost publish leaves its row PENDING, and the sweep publishes it again.
    for step_run_id in step_run_ids:
        enqueue_on_commit("run_step_task", step_run_id)


def _condition_met(step: dict[str, Any], answers: dict[str, Any]) -> bool:
    if not step["condition_field"]:
        return True
    answer = answers.get(step["condition_field"])
    if isinstance(answer, list):
        return step["condition_value"] in answer
    return str(answer if answer is not None else "").strip().lower() == (
        step["condition_value"].strip().lower()
    )


def plan_of(item_id: int) -> list[PlanStep]:
    return list(
        PlanStep.objects.filter(item_id=item_id)
        .select_related("department", "queue")
        .prefetch_related("after")
        .order_by("position", "id")
    )


def plan_snapshot(steps: list[PlanStep]) -> list[dict[str, Any]]:
    """The plan as data, as a run keeps it: what each step is, who owns it, what it waits
    for and when it is needed. `steps` come from `plan_of` (relations loaded)."""
    return [
        {
            "id": step.pk,
            "key": step.key,
            "name": step.name,
            "kind": step.kind,
            "department": step.department_id,
            "department_slug": step.department.slug,
            "queue": step.queue_id,
            "queue_slug": step.queue.slug if step.queue else "",
            "action": step.action,
            "params": step.params,
            "after": sorted(earlier.key for earlier in step.after.all()),
            "condition_field": step.condition_field,
            "condition_value": step.condition_value,
            "position": step.position,
        }
        for step in steps
    ]


def run_start(service_request: ServiceRequest, *, steps: list[PlanStep]) -> AutomationRun:
    """Instantiate the item's plan for an approved request (request lock held).

    The run keeps a snapshot of the plan and each step run a copy of what its step
    executes: from here on, nothing reads the plan's steps.
    """
    plan = plan_snapshot(steps)
    run = AutomationRun.objects.create(service_request=service_request, plan=plan)
    answers = registry.answers_of(service_request)
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            step_id=step["id"],
            step_key=step["key"],
            name=step["name"],
            kind=step["kind"],
            department_id=step["department"],
            queue_id=step["queue"],
            action=step["action"],
            params=step["params"],
            after=step["after"],
            position=step["position"],
            idempotency_key=f"{run.pk}:{step['id']}",
            state=StepState.WAITING if _condition_met(step, answers) else StepState.SKIPPED,
        )
        for step in plan
    )
    run.service_request = service_request
    condition_of = {step["key"]: step["condition_field"] for step in plan}
    event_record(
        subject=run,
        kind=EventKind.RUN_STARTED,
        actor=None,
        department=service_request.department,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        to_value=run.state,
        payload={
            "run": run.pk,
            "item": service_request.catalog_item.slug,
            "steps": [step["key"] for step in plan],
        },
    )
    for step_run in run.steps.filter(state=StepState.SKIPPED).select_related("department"):
        step_run.run = run
        _step_event(
            step_run,
            EventKind.STEP_SKIPPED,
            from_value=StepState.WAITING,
            to_value=StepState.SKIPPED,
            payload={"condition": condition_of[step_run.step_key]},
        )
    _advance(run, service_request)
    return run


def _advance(
    run: AutomationRun,
    service_request: ServiceRequest,
    *,
    step_runs: list[StepRun] | None = None,
    events_first: Iterable[tuple[StepRun, str, EventDetails]] = (),
) -> None:
    """Start every waiting step whose earlier steps are finished; finish the run when all are.

    Call inside a transaction holding the request's row lock: it serialises the workers
    finishing parallel steps of the same run, so a join step starts exactly once. A caller
    that read the run's steps under that lock passes them (`step_runs`, with their
    departments and queues) and its own events not yet written (`events_first`), which go
    first in the INSERT of the steps' events.
    """
    if step_runs is None:
        step_runs = list(run.steps.select_related("department", "queue"))
    state_by_key = {step_run.step_key: step_run.state for step_run in step_runs}
    ready = [
        step_run
        for step_run in step_runs
        if step_run.state == StepState.WAITING
        and all(state_by_key.get(earlier) in StepRun.FINISHED_STATES for earlier in step_run.after)
    ]
    run.service_request = service_request
    automated = [step_run for step_run in ready if step_run.kind != PlanStep.Kind.HUMAN]
    if automated:
        # Parallel steps ready together: one UPDATE, and their events in one INSERT
        # between the human steps', so the log keeps the plan's order.
        now = clock.now()
        StepRun.objects.filter(pk__in=[step_run.pk for step_run in automated]).update(
            state=StepState.PENDING, enqueued_at=now
        )
    pending: list[tuple[StepRun, str, EventDetails]] = list(events_first)
    for step_run in ready:
        step_run.run = run
        if step_run.kind == PlanStep.Kind.HUMAN:
            events_record(pending)
            pending = []
            _hand_to_people(step_run, service_request, title=step_run.name)
        else:
            step_run.state, step_run.enqueued_at = StepState.PENDING, now
            details = _step_event_details(
                step_run, from_value=StepState.WAITING, to_value=StepState.PENDING
            )
            pending.append((step_run, EventKind.STEP_PENDING, details))
    events_record(pending)
    if automated:
        _enqueue_on_commit([step_run.pk for step_run in automated])
    if (
        run.state == AutomationRun.State.RUNNING
        and not ready
        and all(step_run.state in StepRun.FINISHED_STATES for step_run in step_runs)
    ):
        _run_finish(run, service_request, AutomationRun.State.DONE)
    flow.request_follow_work(service_request, actor=None, run_state=run.state)


def _hand_to_people(
    step_run: StepRun, service_request: ServiceRequest, *, title: str, reason: str = ""
) -> None:
    """Give the step to its department's people: a task in the step's queue (or the
    department's default), which names the run and step so its events do too."""
    department = _step_department(step_run, service_request)
    queue = step_run.queue
    if queue is not None and queue.department_id != department.pk:
        queue = None
    task = flow.task_create_for_step(
        service_request,
        queue=queue,
        department=department,
        title=title,
        reason=reason,
        run_id=step_run.run_id,
        step_key=step_run.step_key,
    )
    previous = step_run.state
    step_run.state, step_run.task = StepState.WITH_PEOPLE, task
    step_run.save(update_fields=["state", "task"])
    _step_event(
        step_run,
        EventKind.STEP_WITH_PEOPLE,
        from_value=previous,
        to_value=StepState.WITH_PEOPLE,
        payload={"task": task.pk, "queue": task.queue.slug},
    )


def step_finish_by_task(task: FulfilmentTask) -> None:
    """A person finished the task working a step: the step is done, the plan moves on.

    Call inside the transaction that resolved the task, holding the request's lock.
    """
    step_run = StepRun.objects.select_related("run", "department").filter(task=task).first()
    if step_run is None or step_run.state in StepRun.FINISHED_STATES:
        return
    previous = step_run.state
    step_run.state, step_run.finished_at = StepState.SUCCEEDED, clock.now()
    step_run.save(update_fields=["state", "finished_at"])
    step_run.run.service_request = task.service_request
    _step_event(
        step_run,
        EventKind.STEP_SUCCEEDED,
        from_value=previous,
        to_value=StepState.SUCCEEDED,
        payload={"by_person": True, "task": task.pk},
    )
    _advance(step_run.run, task.service_request)


def step_waiting_on(approval: Approval) -> StepRun | None:
    """The plan step waiting for this approval, if it was opened by one."""
    return (
        StepRun.objects.select_related("run", "department")
        .filter(
            state=StepState.WITH_PEOPLE, **{f"result__{registry.AWAITING_APPROVAL}": approval.pk}
        )
        .first()
    )


def step_finish_by_approval(step_run: StepRun, service_request: ServiceRequest) -> None:
    """The approval a step waited for was given: the step is done, the plan moves on.

    Call inside the transaction recording the decision, holding the request's lock.
    """
    step_run.state, step_run.finished_at = StepState.SUCCEEDED, clock.now()
    step_run.save(update_fields=["state", "finished_at"])
    step_run.run.service_request = service_request
    _step_event(
        step_run,
        EventKind.STEP_SUCCEEDED,
        from_value=StepState.WITH_PEOPLE,
        to_value=StepState.SUCCEEDED,
        payload={"by_approval": True},
    )
    _advance(step_run.run, service_request)


def step_hand_over(task: FulfilmentTask, received: FulfilmentTask) -> None:
    """A step's task was handed to another queue: the step follows its work there."""
    StepRun.objects.filter(task=task).update(task=received)


def run_cancel(service_request: ServiceRequest) -> None:
    """The request was cancelled: nothing more runs (request lock held)."""
    run = AutomationRun.objects.filter(service_request=service_request).first()
    if run is None or run.state != AutomationRun.State.RUNNING:
        return
    for step_run in run.steps.exclude(state__in=StepRun.FINISHED_STATES).select_related(
        "department"
    ):
        previous, step_run.state = step_run.state, StepState.CANCELLED
        step_run.save(update_fields=["state"])
        step_run.run = run
        run.service_request = service_request
        _step_event(
            step_run, EventKind.STEP_CANCELLED, from_value=previous, to_value=step_run.state
        )
    _run_finish(run, service_request, AutomationRun.State.CANCELLED)


def _run_finish(run: AutomationRun, service_request: ServiceRequest, state: str) -> None:
    previous = run.state
    run.state, run.finished_at = state, clock.now()
    run.save(update_fields=["state", "finished_at"])
    event_record(
        subject=run,
        kind=EventKind.RUN_FINISHED,
        actor=None,
        department=service_request.department,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        from_value=previous,
        to_value=state,
        payload={"run": run.pk},
    )


def _claim(step_run_id: int) -> StepRun | None:
    """Take a step for this worker: a conditional UPDATE, so two deliveries never both run it.

    RUNNING is claimable too: that is a redelivery after the worker that had it died. The
    claim and its STEP_STARTED event commit together, before the action runs.
    """
    now = clock.now()
    with transaction.atomic():
        claimed = kept_queries.updated_at(
            StepRun,
            _claim_sql(kept_queries.vendor_of(StepRun)),
            now=now,
            keys={kept_queries.ID: step_run_id},
        )
        if not claimed:
            return None
        step_run = kept_queries.instances_at(
            _claimed_query(kept_queries.vendor_of(StepRun)), keys={kept_queries.ID: step_run_id}
        )[0]
        # Retries and wake-ups reset `deliveries`: a first delivery comes from PENDING, a
        # later one is a redelivery of a step whose worker died while RUNNING.
        _step_event(
            step_run,
            EventKind.STEP_STARTED,
            from_value=StepState.PENDING if step_run.deliveries == 1 else StepState.RUNNING,
            to_value=StepState.RUNNING,
            payload={"delivery": step_run.deliveries},
        )
        flow.request_work_started(
            step_run.run.service_request, actor=None, payload={"step_run": step_run.pk}
        )
    return step_run


# A step's reads on the worker, kept built (`esm.kept_queries`): through the ORM, building
# and compiling them took a fifth of a no-op step's time, at every step.


@functools.lru_cache(maxsize=4)
def _claim_sql(vendor: str) -> kept_queries.SqlWithParams:
    """A step run's (`ID`) claim at `NOW`: it is due, and pending or running."""
    due = StepRun.objects.filter(
        Q(due_at__isnull=True) | Q(due_at__lte=kept_queries.NOW),
        pk=kept_queries.ID,
        state__in=[StepState.PENDING, StepState.RUNNING],
    )
    return kept_queries.kept_update(
        due, state=StepState.RUNNING, deliveries=F("deliveries") + 1, started_at=kept_queries.NOW
    )


@functools.lru_cache(maxsize=4)
def _claimed_query(vendor: str) -> kept_queries.KeptInstances:
    """A step run (`ID`) with its run, request and departments, as its claim reads it."""
    return kept_queries.kept_instances(
        StepRun.objects.filter(pk=kept_queries.ID),
        ("run__service_request__department", "department"),
    )


@functools.lru_cache(maxsize=4)
def _run_steps_query(vendor: str) -> kept_queries.KeptInstances:
    """The step runs of a run (`ID`), in their order, with their departments and queues."""
    return kept_queries.kept_instances(
        StepRun.objects.filter(run_id=kept_queries.ID), ("department", "queue")
    )


def step_run_execute(step_run_id: int) -> str:
    """Run one automated step (called by the worker). Returns what happened, for logs."""
    step_run = _claim(step_run_id)
    if step_run is None:
        return "not runnable (done, cancelled, not due, or taken)"
    if step_run.deliveries > MAX_DELIVERIES:
        _fail(
            step_run,
            f"Stopped after {step_run.deliveries - 1} deliveries that never finished "
            "(the step keeps stopping its worker).",
        )
        return "poisoned"
    action = None
    try:
        action = registry.get(step_run.action)
        # The action may call another server: on SQLite, not while holding the write lock.
        with transaction_deferred(), transaction.atomic():
            service_request = request_lock(step_run.run.service_request)
            # Every step of a run finishes under its request's lock, so the run's steps
            # read now stay as read until this commits, this one included (a redelivery's
            # claim only counts a delivery). `_advance` works from them.
            step_runs = kept_queries.instances_at(
                _run_steps_query(kept_queries.vendor_of(StepRun)),
                keys={kept_queries.ID: step_run.run_id},
            )
            current = next(each for each in step_runs if each.pk == step_run.pk)
            if current.state != StepState.RUNNING:
                return "finished elsewhere"
            current.run = step_run.run
            context = registry.StepContext(
                step_run=current,
                service_request=service_request,
                params=current.params,
                answers=registry.answers_of(service_request),
            )
            result = action.handler(context) or {}
            current.attempts, current.result, current.last_error = current.attempts + 1, result, ""
            current.run.service_request = service_request
            if result.get(registry.AWAITING_APPROVAL):
                current.state = StepState.WITH_PEOPLE
                current.save(update_fields=["state", "attempts", "result", "last_error"])
                _step_event(
                    current,
                    EventKind.STEP_WITH_PEOPLE,
                    from_value=StepState.RUNNING,
                    to_value=StepState.WITH_PEOPLE,
                    payload={"approval": result[registry.AWAITING_APPROVAL]},
                )
                return "waiting for an approval"
            current.state, current.finished_at = StepState.SUCCEEDED, clock.now()
            current.save(update_fields=["state", "finished_at", "attempts", "result", "last_error"])
            succeeded = _step_event_details(
                current, from_value=StepState.RUNNING, to_value=StepState.SUCCEEDED
            )
            _advance(
                current.run,
                service_request,
                step_runs=step_runs,
                events_first=[(current, EventKind.STEP_SUCCEEDED, succeeded)],
            )
        return "succeeded"
    except registry.NotYet as wait:
        return _sleep_until(step_run, wait)
    except registry.TransientError as error:
        return _retry_or_fail(step_run, str(error))
    except registry.PermanentError as error:
        _fail(step_run, str(error))
        return "failed"
    except DatabaseError as error:
        # A deadlock, a serialisation failure, a lost connection: worth another try.
        return _retry_or_fail(step_run, f"database error: {error}")
    except Exception as error:
        # A bug in the action, most likely: retrying would repeat it, a person can act.
        logger.exception("automated step %s failed unexpectedly", step_run.pk)
        _fail(step_run, f"unexpected error ({type(error).__name__}): {error}")
        return "failed"


def _sleep_until(step_run: StepRun, wait: registry.NotYet) -> str:
    """Park the step until `wait.until`; the sweep enqueues it again once due."""
    with transaction.atomic():
        parked = StepRun.objects.filter(pk=step_run.pk, state=StepState.RUNNING).update(
            state=StepState.PENDING, deliveries=0, due_at=wait.until, enqueued_at=wait.until
        )
        if parked:
            _step_event(
                step_run,
                EventKind.STEP_SLEEPING,
                from_value=StepState.RUNNING,
                to_value=StepState.PENDING,
                payload={"until": wait.until.isoformat()},
            )
    return f"sleeping until {wait.until.isoformat()}"


def _retry_or_fail(step_run: StepRun, error: str) -> str:
    attempts = step_run.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _fail(step_run, f"Gave up after {attempts} tries: {error}")
        return "failed"
    delay = min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
    with transaction.atomic():
        retried = StepRun.objects.filter(pk=step_run.pk, state=StepState.RUNNING).update(
            state=StepState.PENDING,
            attempts=attempts,
            # This delivery ended properly: only deliveries that never end count as poison.
            deliveries=0,
            last_error=error[:2000],
            due_at=clock.now() + dt.timedelta(seconds=delay),
            enqueued_at=clock.now(),
        )
        if not retried:
            return "finished elsewhere"
        _step_event(
            step_run,
            EventKind.STEP_RETRIED,
            from_value=StepState.RUNNING,
            to_value=StepState.PENDING,
            payload={"attempt": attempts, "error": error[:500], "retry_in_s": delay},
        )
        # Short waits ride on the broker; the sweep picks up anything whose message is lost.
        enqueue_on_commit("run_step_task", step_run.pk, countdown=delay)
    return f"retry in {delay}s"


def _fail(step_run: StepRun, error: str) -> None:
    """Give the step to its department's people, with the error, instead of stalling."""
    with transaction.atomic():
        service_request = request_lock(step_run.run.service_request)
        locked = (
            StepRun.objects.select_for_update(of=("self",))
            .select_related("department", "queue", "run")
            .get(pk=step_run.pk)
        )
        if locked.state in StepRun.FINISHED_STATES or locked.state == StepState.WITH_PEOPLE:
            return
        locked.last_error = error[:2000]
        locked.attempts = max(locked.attempts, step_run.attempts) + 1
        locked.save(update_fields=["last_error", "attempts"])
        locked.run.service_request = service_request
        # The failure itself; the state change (to WITH_PEOPLE) is the handover's event.
        _step_event(
            locked,
            EventKind.STEP_FAILED,
            from_value=locked.state,
            payload={"error": error[:500], "attempt": locked.attempts},
        )
        _hand_to_people(
            locked,
            service_request,
            title=f"{locked.name} (automation failed)",
            reason=f"The automated step failed, so it is yours to do by hand: {error}",
        )
        flow.request_follow_work(service_request, actor=None)


def step_runs_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Re-enqueue steps whose message was lost or whose worker vanished; returns their ids.

    Runs from Celery beat. Safe to overlap with itself and with workers: running a step
    twice is claimed once (see `_claim`).
    """
    now = now or clock.now()
    due = Q(due_at__isnull=True) | Q(due_at__lte=now)
    lost = Q(state=StepState.PENDING, enqueued_at__lte=now - LOST_MESSAGE_AFTER) & due
    stuck = Q(state=StepState.RUNNING, started_at__lte=now - STUCK_RUNNING_AFTER)
    ids = list(
        StepRun.objects.filter(lost | stuck)
        .order_by("enqueued_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if ids:
        StepRun.objects.filter(pk__in=ids, state=StepState.PENDING).update(enqueued_at=now)
        with transaction.atomic():
            _enqueue_on_commit(ids)
    return ids
