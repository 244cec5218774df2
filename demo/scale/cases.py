"""Requests at scale: each case simulated in memory, transaction by transaction, the way
the actions would have run it, then written with COPY.

A case is a little event loop: every piece of its work (a task's life, a plan's automated
step, the employee's reply, the sweeps that close and flag breaches) is a generator that
yields the moment of its next transaction. Transactions run in time order and stop at
"now": what has not happened by then is the open backlog, in whatever state it reached.
Each transaction changes the rows and writes the events `services.actions` would have
written, with the same kinds, states, departments and payloads (`docs/events.md`), and
keeps both clocks with the same rules (`services.sla`), in business time
(`demo.scale.business_time`).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Max

from demo.data import load
from demo.scale.business_time import BusinessTime
from demo.scale.copy import NULL, Table, Writer, flag, iso, jsonb, num, seconds, text, ts
from demo.scale.enterprise import People
from esm.calendars import Schedule, business_calendar_for
from esm.models import Department, Event
from services.actions.automation import plan_of, plan_snapshot
from services.models import (
    Approval,
    AutomationRun,
    CatalogItem,
    Comment,
    Consult,
    ExperienceRating,
    FulfilmentTask,
    Queue,
    ServiceRequest,
    SlaTarget,
    StepRun,
)
from services.models.catalog import BUSINESS_DAY_HOURS

REQUEST, TASK, CONSULT, STEP, RUN = (
    "services.servicerequest",
    "services.fulfilmenttask",
    "services.consult",
    "services.steprun",
    "services.automationrun",
)
OPEN_TASK = {"queued", "in_progress", "waiting_on_employee", "waiting_on_department"}
FINISHED_REQUEST = {"resolved", "closed", "rejected", "cancelled"}
FINISHED_STEP = {"succeeded", "skipped", "cancelled"}
# The sweeps run every minute: a breach is flagged, at the latest, this long after it.
SWEEP_LAG = 60
# The close sweep runs hourly.
CLOSE_LAG = 1800
HOUR = 3600
DAY = 86400


@dataclass(eq=False)
class Task:
    id: int
    case: Case
    queue_id: int
    queue_slug: str
    department_id: int
    title: str
    priority: str
    created_at: int
    handed_off_from: int | None = None
    handoff_reason: str = ""
    run_id: int | None = None
    step_key: str = ""
    state: str = "queued"
    assignee: int | None = None
    resolution: str = ""
    version: int = 1
    updated_at: int = 0
    claimed_at: int | None = None
    done_at: int | None = None
    responded_at: int | None = None
    response_due: int | None = None
    resolution_due: int | None = None
    at_risk: int | None = None
    paused_at: int | None = None
    paused_total: int = 0
    breached: bool = False
    breached_at: int | None = None
    consult: ConsultRow | None = None  # the consult this task answers
    step: StepRow | None = None  # the plan step this task works


@dataclass(eq=False)
class ConsultRow:
    id: int
    asking: Task
    task: Task
    asked_by: int
    asked_at: int
    state: str = "open"
    answered_by: int | None = None
    answered_at: int | None = None


@dataclass(eq=False)
class StepRow:
    id: int
    spec: dict[str, Any]
    department_id: int
    state: str
    enqueued_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    task: Task | None = None


@dataclass(eq=False)
class Case:
    """One request and everything that hangs off it, as it stands in the simulation."""

    id: int
    reference: str
    item: Item
    requester: int
    submitted_at: int
    state: str = "submitted"
    priority: str = "normal"
    version: int = 1
    updated_at: int = 0
    resolved_at: int | None = None
    closed_at: int | None = None
    resolution: str = ""
    due: int | None = None
    at_risk: int | None = None
    paused_at: int | None = None
    paused_total: int = 0
    breached: bool = False
    breached_at: int | None = None
    work_started: bool = False
    tasks: list[Task] = field(default_factory=list)
    approvals: list[list[Any]] = field(default_factory=list)
    consults: list[ConsultRow] = field(default_factory=list)
    run_id: int | None = None
    run_state: str = ""
    run_created: int | None = None
    run_finished: int | None = None
    steps: list[StepRow] = field(default_factory=list)
    rated: tuple[int, int] | None = None  # (score, moment)


@dataclass
class Item:
    id: int
    slug: str
    name: str
    department_id: int
    confidential: bool
    priority: str
    targets: dict[str, tuple[int, int]]  # priority -> (response, resolution) seconds
    end_to_end: int  # business seconds
    approvals: list[dict[str, Any]]
    plan: list[dict[str, Any]]
    answers: list[tuple[str, dict[str, Any]]]  # (JSON text, answers by key), a few variants


class Cutoff(Exception):
    """The next transaction lies after "now": the case stops as it stands."""


class Cases:
    """Generates and writes `count` requests submitted over `days` days before `now`."""

    def __init__(self, *, people: People, rng: random.Random, now: dt.datetime, days: int) -> None:
        self.rng = rng
        self.people = people
        self.now = int(now.timestamp())
        self.start = self.now - days * DAY
        first = dt.datetime.fromtimestamp(self.start, dt.UTC).date() - dt.timedelta(days=2)
        last = now.date() + dt.timedelta(days=400)
        departments = list(Department.objects.select_related("calendar"))
        self.departments = {department.pk: department for department in departments}
        calendars: dict[int, BusinessTime] = {}
        self.business: dict[int, BusinessTime] = {}
        for department in departments:
            calendar = business_calendar_for(department)
            if calendar.pk not in calendars:
                calendars[calendar.pk] = BusinessTime(Schedule.of(calendar), first, last)
            self.business[department.pk] = calendars[calendar.pk]
        company = business_calendar_for(None)
        self.company = calendars.get(company.pk) or BusinessTime(Schedule.of(company), first, last)
        # Each department's default queue (where its new requests arrive), and every queue's
        # slug and department.
        self.queues: dict[int, tuple[int, str]] = {}
        self.queue_slugs: dict[int, str] = {}
        self.queue_department: dict[int, int] = {}
        for queue in Queue.objects.order_by("-is_default", "name", "pk"):
            self.queues.setdefault(queue.department_id, (queue.pk, queue.slug))
            self.queue_slugs[queue.pk] = queue.slug
            self.queue_department[queue.pk] = queue.department_id
        self.items, self.item_weights = self._items()
        self.manager_of = people.manager_of
        self.requesters = people.ids
        self.ids = {
            model: (model.objects.aggregate(top=Max("pk"))["top"] or 0)
            for model in (
                ServiceRequest,
                FulfilmentTask,
                Event,
                Comment,
                Approval,
                ExperienceRating,
                AutomationRun,
                StepRun,
                Consult,
            )
        }
        self.reject_share = 0.04
        self._tables()

    # -- setup -----------------------------------------------------------------------------

    def _items(self) -> tuple[list[Item], list[float]]:
        weights = load("scale")["item_weights"]
        targets: dict[int, dict[str, tuple[int, int]]] = {}
        for target in SlaTarget.objects.all():
            targets.setdefault(target.policy_id, {})[target.priority] = (
                target.response_minutes * 60,
                target.resolution_minutes * 60,
            )
        items, chosen = [], []
        catalog = CatalogItem.objects.filter(is_published=True).prefetch_related(
            "approval_steps__department", "approval_steps__person", "fields"
        )
        for item in catalog.order_by("pk"):
            approvals = []
            for step in item.approval_steps.all():
                approvals.append(
                    {
                        "kind": step.approver,
                        "department": step.department_id,
                        "role": step.role,
                        "person": step.person_id,
                        "label": (
                            step.person.get_full_name() or str(step.person)
                            if step.person
                            else f"{step.department} {step.get_role_display().lower()}"
                            if step.department
                            else ""
                        ),
                    }
                )
            plan = plan_snapshot(plan_of(item.pk))
            hours = item.end_to_end_hours or max(item.expected_days, 1) * BUSINESS_DAY_HOURS
            items.append(
                Item(
                    id=item.pk,
                    slug=item.slug,
                    name=item.name,
                    department_id=item.department_id,
                    confidential=item.is_confidential,
                    priority=item.default_priority,
                    targets=targets.get(item.sla_policy_id, {}),
                    end_to_end=hours * HOUR,
                    approvals=approvals,
                    plan=plan,
                    answers=self._answer_variants(item),
                )
            )
            chosen.append(weights.get(item.slug, 1))
        return items, chosen

    def _answer_variants(self, item: CatalogItem) -> list[tuple[str, dict[str, Any]]]:
        """A few ways the item's form was answered; requests share them (rows stay small)."""
        variants = []
        for _ in range(4):
            answers = []
            for form_field in item.fields.all():
                if form_field.kind in ("choice", "multi_choice") and form_field.choices:
                    value: Any = self.rng.choice(form_field.choices.splitlines())
                    display = value
                    if form_field.kind == "multi_choice":
                        value = [value]
                elif form_field.kind == "yes_no":
                    value = self.rng.choice(["yes", "yes", "no"])
                    display = value.capitalize()
                elif form_field.required and form_field.kind in ("text", "long_text"):
                    value = display = "As discussed with my manager."
                else:
                    continue
                answers.append(
                    {
                        "key": form_field.key,
                        "label": form_field.label,
                        "kind": form_field.kind,
                        "value": value,
                        "display": display,
                    }
                )
            variants.append((jsonb(answers), {row["key"]: row["value"] for row in answers}))
        return variants

    def _tables(self) -> None:
        self.t_requests = Table(
            ServiceRequest,
            [
                "id",
                "catalog_item",
                "requester",
                "raised_by",
                "subject",
                "answers",
                "state",
                "priority",
                "department",
                "is_confidential",
                "form_start",
                "submission_key",
                "version",
                "submitted_at",
                "updated_at",
                "resolved_at",
                "closed_at",
                "resolution",
                "end_to_end_due_at",
                "end_to_end_at_risk_at",
                "end_to_end_paused_at",
                "end_to_end_paused_total",
                "end_to_end_breached",
                "end_to_end_breached_at",
            ],
        )
        self.t_tasks = Table(
            FulfilmentTask,
            [
                "id",
                "service_request",
                "queue",
                "department",
                "title",
                "state",
                "priority",
                "assignee",
                "handed_off_from",
                "handoff_reason",
                "automation_run",
                "step_key",
                "resolution",
                "version",
                "created_at",
                "updated_at",
                "claimed_at",
                "done_at",
                "responded_at",
                "response_due_at",
                "resolution_due_at",
                "at_risk_at",
                "sla_paused_at",
                "sla_paused_total",
                "sla_breached",
                "sla_breached_at",
            ],
        )
        self.t_events = Table(
            Event,
            [
                "id",
                "occurred_at",
                "actor",
                "subject_type",
                "subject_id",
                "reference",
                "kind",
                "department",
                "from_department",
                "to_department",
                "from_value",
                "to_value",
                "payload",
                "is_confidential",
            ],
        )
        self.t_comments = Table(
            Comment, ["id", "service_request", "author", "body", "is_internal", "created_at"]
        )
        self.t_approvals = Table(
            Approval,
            [
                "id",
                "service_request",
                "position",
                "label",
                "approver",
                "department",
                "role",
                "state",
                "step_key",
                "requested_at",
                "decided_by",
                "decided_at",
                "comment",
            ],
        )
        self.t_ratings = Table(
            ExperienceRating,
            ["id", "service_request", "score", "comment", "rated_by", "created_at"],
        )
        self.t_runs = Table(
            AutomationRun, ["id", "service_request", "state", "created_at", "finished_at", "plan"]
        )
        self.t_steps = Table(
            StepRun,
            [
                "id",
                "run",
                "step",
                "step_key",
                "name",
                "kind",
                "department",
                "queue",
                "action",
                "params",
                "after",
                "position",
                "state",
                "idempotency_key",
                "attempts",
                "deliveries",
                "last_error",
                "result",
                "task",
                "enqueued_at",
                "due_at",
                "started_at",
                "finished_at",
            ],
        )
        self.t_consults = Table(
            Consult,
            [
                "id",
                "asking_task",
                "consult_task",
                "from_department",
                "to_department",
                "state",
                "question",
                "answer",
                "asked_by",
                "asked_at",
                "answered_by",
                "answered_at",
                "withdrawn_at",
            ],
        )

    def tables(self) -> list[Table]:
        return [
            self.t_requests,
            self.t_approvals,
            self.t_runs,
            self.t_tasks,
            self.t_steps,
            self.t_consults,
            self.t_comments,
            self.t_ratings,
            self.t_events,
        ]

    def next_id(self, model: type) -> int:
        self.ids[model] += 1
        return self.ids[model]

    # -- arrivals --------------------------------------------------------------------------

    def arrivals(self, count: int) -> Iterator[int]:
        """`count` submission moments in time order: weekdays busier than weekends, working
        hours busier than nights, and more requests as the portal was adopted."""
        days = (self.now - self.start) // DAY
        weights = []
        for day in range(days):
            moment = self.start + day * DAY
            weekday = dt.datetime.fromtimestamp(moment, dt.UTC).weekday()
            adoption = 0.6 + 0.4 * day / max(days - 1, 1)
            weights.append(adoption * (1.0 if weekday < 5 else 0.15))
        total = sum(weights)
        counts = [int(count * weight / total) for weight in weights]
        for _ in range(count - sum(counts)):
            counts[self.rng.randrange(days)] += 1
        hours = [0.2] * 7 + [1, 3, 5, 5, 4, 3, 4, 4, 3, 2, 1] + [0.5] * 6
        for day, how_many in enumerate(counts):
            base = self.start + day * DAY
            moments = sorted(
                base + self.rng.choices(range(24), hours)[0] * HOUR + self.rng.randrange(HOUR)
                for _ in range(how_many)
            )
            for moment in moments:
                yield min(moment, self.now - 1)

    # -- the run of every case -------------------------------------------------------------

    def generate(self, count: int, progress: Callable[[int], None] | None = None) -> None:
        writer = Writer()
        for table in self.tables():
            table.writer = writer
        try:
            for number, submitted_at in enumerate(self.arrivals(count), start=1):
                self.case(submitted_at)
                if progress is not None and number % 50_000 == 0:
                    progress(number)
            for table in self.tables():
                table.flush()
        finally:
            writer.close()
            for table in self.tables():
                table.writer = None

    def case(self, submitted_at: int) -> None:
        rng = self.rng
        item = self.items[rng.choices(range(len(self.items)), self.item_weights)[0]]
        request_id = self.next_id(ServiceRequest)
        case = Case(
            id=request_id,
            reference=f"REQ-{request_id:06d}",
            item=item,
            requester=rng.choice(self.requesters),
            submitted_at=submitted_at,
            priority=item.priority,
        )
        answers = rng.choice(item.answers)
        self.heap: list[tuple[int, int, Generator[Any, int, None]]] = []
        self.sequence = 0
        self.waiting: dict[int, Generator[Any, int, None]] = {}
        self.spawn(submitted_at, self.request_life(case, answers[1]))
        try:
            while self.heap:
                moment, _, work = heapq.heappop(self.heap)
                if moment > self.now:
                    raise Cutoff
                self.sweep(case, moment)
                try:
                    following = work.send(moment)
                except StopIteration:
                    continue
                if following is not None:
                    self.schedule(following, work)
        except Cutoff:
            pass
        self.sweep(case, self.now)
        self.write(case, answers[0])

    def spawn(self, moment: int, work: Generator[Any, int, None]) -> None:
        first = next(work)
        self.schedule(first if first is not None else moment, work)

    def schedule(self, moment: int, work: Generator[Any, int, None]) -> None:
        self.sequence += 1
        heapq.heappush(self.heap, (moment, self.sequence, work))

    # -- events ----------------------------------------------------------------------------

    def event(
        self,
        case: Case,
        moment: int,
        subject_type: str,
        subject_id: int,
        kind: str,
        department: int,
        *,
        actor: int | None = None,
        from_department: int | None = None,
        to_department: int | None = None,
        from_value: str = "",
        to_value: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.t_events.add(
            str(self.next_id(Event)),
            ts(moment),
            num(actor),
            subject_type,
            str(subject_id),
            case.reference,
            kind,
            str(department),
            num(from_department),
            num(to_department),
            from_value,
            to_value,
            jsonb(payload or {}),
            flag(case.item.confidential),
        )

    def request_event(
        self, case: Case, moment: int, kind: str, actor: int | None, **details: Any
    ) -> None:
        self.event(
            case, moment, REQUEST, case.id, kind, case.item.department_id, actor=actor, **details
        )

    def request_state(
        self,
        case: Case,
        moment: int,
        state: str,
        actor: int | None,
        kind: str,
        payload: dict | None = None,
    ) -> None:
        previous, case.state = case.state, state
        case.version += 1
        case.updated_at = moment
        self.request_event(
            case, moment, kind, actor, from_value=previous, to_value=state, payload=payload
        )

    def task_event(
        self,
        task: Task,
        moment: int,
        kind: str,
        actor: int | None,
        payload: dict | None = None,
        **details: Any,
    ) -> None:
        body = {"version": task.version}
        if task.run_id:
            body.update(run=task.run_id, step=task.step_key)
        if payload:
            body.update(payload)
        self.event(
            task.case,
            moment,
            TASK,
            task.id,
            kind,
            task.department_id,
            actor=actor,
            payload=body,
            **details,
        )

    def task_save(self, task: Task, moment: int) -> None:
        task.version += 1
        task.updated_at = moment

    def task_state(
        self,
        task: Task,
        moment: int,
        state: str,
        actor: int | None,
        kind: str,
        payload: dict | None = None,
        **details: Any,
    ) -> None:
        previous, task.state = task.state, state
        self.task_save(task, moment)
        changed = {"from_value": previous, "to_value": state} if previous != state else {}
        self.task_event(task, moment, kind, actor, payload=payload, **changed, **details)

    def step_event(
        self,
        case: Case,
        step: StepRow,
        moment: int,
        kind: str,
        payload: dict | None = None,
        **details: Any,
    ) -> None:
        body = {"run": case.run_id, "step": step.spec["key"], "name": step.spec["name"]}
        if payload:
            body.update(payload)
        department = case.item.department_id if case.item.confidential else step.department_id
        self.event(case, moment, STEP, step.id, kind, department, payload=body, **details)

    # -- clocks ----------------------------------------------------------------------------

    def clock_start(self, task: Task, moment: int) -> None:
        target = task.case.item.targets.get(task.priority)
        if target is None:
            return
        business = self.business[task.department_id]
        response, resolution = target
        task.response_due = business.add(moment, response + task.paused_total)
        task.resolution_due = business.add(moment, resolution + task.paused_total)
        task.at_risk = business.add(moment, resolution * 3 // 4 + task.paused_total)

    def clock_resume(self, task: Task, moment: int) -> None:
        paused_at, task.paused_at = task.paused_at, None
        if paused_at is None or task.resolution_due is None:
            return
        business = self.business[task.department_id]
        task.paused_total += business.between(paused_at, moment)
        task.response_due = self.carried(business, task.response_due, paused_at, moment)
        task.resolution_due = self.carried(business, task.resolution_due, paused_at, moment)
        task.at_risk = self.carried(business, task.at_risk, paused_at, moment)

    @staticmethod
    def carried(business: BusinessTime, due: int | None, paused_at: int, moment: int) -> int | None:
        if due is None or due <= paused_at:
            return due
        return business.add(moment, business.between(paused_at, due))

    def end_to_end_resume(self, case: Case, moment: int) -> None:
        paused_at, case.paused_at = case.paused_at, None
        if paused_at is None or case.due is None:
            return
        case.paused_total += self.company.between(paused_at, moment)
        case.due = self.carried(self.company, case.due, paused_at, moment)
        case.at_risk = self.carried(self.company, case.at_risk, paused_at, moment)

    def sweep(self, case: Case, moment: int) -> None:
        """What the breach sweeps (every minute) flagged up to `moment`."""
        for task in case.tasks:
            if task.state not in OPEN_TASK or task.breached or task.resolution_due is None:
                continue
            if task.paused_at is not None and task.resolution_due > task.paused_at:
                continue
            missed = task.resolution_due
            if task.responded_at is None and task.response_due < missed:
                missed = task.response_due
            flagged = missed + SWEEP_LAG
            if flagged > moment:
                continue
            which = "resolution" if task.resolution_due <= flagged else "response"
            due = task.resolution_due if which == "resolution" else task.response_due
            task.breached, task.breached_at = True, flagged
            self.task_save(task, flagged)
            self.task_event(
                task, flagged, "sla_breached", None, payload={"due_at": iso(due)}, to_value=which
            )
        if (
            case.state not in FINISHED_REQUEST
            and not case.breached
            and case.due is not None
            and (case.paused_at is None or case.due <= case.paused_at)
            and case.due + SWEEP_LAG <= moment
        ):
            flagged = case.due + SWEEP_LAG
            case.breached, case.breached_at = True, flagged
            self.request_event(
                case,
                flagged,
                "sla_breached",
                None,
                to_value="end_to_end",
                payload={"due_at": iso(case.due)},
            )

    # -- the request's own life ------------------------------------------------------------

    def request_life(self, case: Case, answers: dict[str, Any]) -> Generator[Any, int, None]:
        rng, item = self.rng, case.item
        moment = yield None
        case.updated_at = moment
        case.due = self.company.add(moment, item.end_to_end)
        case.at_risk = self.company.add(moment, item.end_to_end * 3 // 4)
        self.request_event(
            case,
            moment,
            "submitted",
            case.requester,
            to_value="submitted",
            payload={"item": item.slug, "form_start": None},
        )
        decider = None
        for position, spec in enumerate(item.approvals, start=1):
            approval = self.approval_row(case, position, spec)
            case.approvals.append(approval)
        for approval in case.approvals:
            payload = {"approval": approval[0], "label": approval[1], "step": ""}
            if approval[2] is None and approval[3] is None:
                approval[4] = "skipped"
                self.request_event(case, moment, "approval_skipped", decider, payload=payload)
                continue
            approval[4], approval[5] = "pending", moment
            if case.state != "awaiting_approval":
                self.request_state(
                    case, moment, "awaiting_approval", decider, "approval_requested", payload
                )
            else:
                self.request_event(case, moment, "approval_requested", decider, payload=payload)
            delay = int(rng.lognormvariate(8.5, 1.0))  # median about an hour and a half
            moment = yield self.company.add(moment, max(delay, 60))
            decider = approval[2] or rng.choice(
                self.people.managers.get(approval[3], self.requesters)
            )
            approval[6], approval[7] = decider, moment
            if rng.random() < self.reject_share:
                approval[4] = "rejected"
                for later in case.approvals:
                    if later[4] == "waiting":
                        later[4] = "skipped"
                case.closed_at, case.resolution = moment, "Not approved."
                self.request_state(
                    case,
                    moment,
                    "rejected",
                    decider,
                    "rejected",
                    payload | {"comment": "Not approved."},
                )
                return
            approval[4] = "approved"
            self.request_event(case, moment, "approved", decider, payload=payload | {"comment": ""})
        if item.plan:
            self.run_start(case, moment, answers)
        else:
            queue_id, queue_slug = self.queues[item.department_id]
            self.task_open(case, moment, queue_id, queue_slug, case.item.name, decider)
            self.follow_work(case, moment, decider)
            if rng.random() < 0.02:
                moment = yield self.company.add(moment, rng.randrange(600, 4 * HOUR))
                if case.state in FINISHED_REQUEST or case.consults:
                    return
                self.cancel(case, moment)
                return

    def approval_row(self, case: Case, position: int, spec: dict[str, Any]) -> list[Any]:
        """[id, label, approver, department, state, requested_at, decided_by, decided_at, role]"""
        approver = department = None
        label, role = spec["label"], ""
        if spec["kind"] == "person":
            approver = spec["person"]
        elif spec["kind"] == "department_role":
            department, role = spec["department"], spec["role"]
        else:
            approver = self.manager_of.get(case.requester)
            if approver is None:
                label = "The requester's manager (none recorded)"
            else:
                names = self.people.names
                label = f"{names[approver]} ({names[case.requester]}'s manager)"
        return [
            self.next_id(Approval),
            label,
            approver,
            department,
            "waiting",
            None,
            None,
            None,
            role,
            position,
        ]

    def follow_work(self, case: Case, moment: int, actor: int | None, resolution: str = "") -> None:
        states = {task.state for task in case.tasks}
        current = case.state
        if "waiting_on_employee" in states:
            target, kind = "waiting_on_employee", "waiting_on_employee"
        elif states & OPEN_TASK or case.run_state == "running":
            target = "in_progress"
            kind = "resumed" if current == "waiting_on_employee" else "queued"
        elif case.run_state == "done" or "done" in states:
            target, kind = "resolved", "resolved"
        else:
            return
        if target == current or (current in FINISHED_REQUEST and target != "resolved"):
            return
        if target == "waiting_on_employee":
            if case.paused_at is None:
                case.paused_at = moment
        else:
            self.end_to_end_resume(case, moment)
        if target == "resolved":
            case.resolved_at = moment
            case.resolution = resolution or case.resolution
            self.request_state(case, moment, target, actor, kind)
            self.spawn(moment, self.after_resolution(case, moment))
        else:
            self.request_state(case, moment, target, actor, kind)

    def after_resolution(self, case: Case, resolved_at: int) -> Generator[Any, int, None]:
        """Rating, reopening within the window, or the close sweep once it passed."""
        rng = self.rng
        yield None
        window = settings.REOPEN_WINDOW_DAYS * DAY
        if rng.random() < 0.03 and not case.item.plan and case.resolved_at == resolved_at:
            moment = yield resolved_at + rng.randrange(HOUR, window - HOUR)
            if case.state == "resolved" and case.resolved_at == resolved_at:
                self.reopen(case, moment)
                return
        rate = rng.random() < 0.35
        rated_at = resolved_at + rng.randrange(600, 3 * DAY)
        closes_at = resolved_at + window + rng.randrange(CLOSE_LAG)
        if rate and rated_at < closes_at:
            moment = yield rated_at
            self.rate(case, moment)
        moment = yield closes_at
        if case.state != "resolved" or case.resolved_at != resolved_at:
            return
        case.closed_at = moment
        self.request_state(case, moment, "closed", None, "closed")
        if rate and rated_at >= closes_at:
            moment = yield rated_at
            self.rate(case, moment)

    def rate(self, case: Case, moment: int) -> None:
        if case.rated is not None:
            return
        score = self.rng.choices([1, 2, 3, 4, 5], [4, 5, 12, 35, 44])[0]
        case.rated = (score, moment)
        self.request_event(
            case, moment, "rated", case.requester, to_value=str(score), payload={"score": score}
        )

    def comment(
        self, case: Case, moment: int, author: int, body: str, *, internal: bool = False
    ) -> int:
        comment_id = self.next_id(Comment)
        self.t_comments.add(
            str(comment_id), str(case.id), str(author), text(body), flag(internal), ts(moment)
        )
        return comment_id

    def reopen(self, case: Case, moment: int) -> None:
        last = max(
            (task for task in case.tasks if task.state == "done" and task.consult is None),
            key=lambda task: (task.done_at, task.id),
            default=None,
        )
        case.paused_at = case.resolved_at
        self.end_to_end_resume(case, moment)
        case.resolved_at = None
        reason = "It is not working again."
        queue_slug = last.queue_slug if last else ""
        self.request_state(
            case,
            moment,
            "in_progress",
            case.requester,
            "reopened",
            {"reason": reason, "to_queue": queue_slug},
        )
        comment = self.comment(case, moment, case.requester, reason)
        self.request_event(
            case,
            moment,
            "commented",
            case.requester,
            to_value="public",
            payload={"comment": comment},
        )
        if last is not None:
            queue_id, queue_slug = last.queue_id, last.queue_slug
        else:
            queue_id, queue_slug = self.queues[case.item.department_id]
        self.task_open(
            case, moment, queue_id, queue_slug, f"Reopened: {case.item.name}"[:200], case.requester
        )
        self.follow_work(case, moment, case.requester)

    def cancel(self, case: Case, moment: int) -> None:
        for task in case.tasks:
            if task.state in OPEN_TASK:
                task.done_at = moment
                self.task_state(task, moment, "cancelled", case.requester, "cancelled")
        case.closed_at, case.resolution = moment, "No longer needed."
        self.request_state(case, moment, "cancelled", case.requester, "cancelled")

    # -- tasks -----------------------------------------------------------------------------

    def task_open(
        self,
        case: Case,
        moment: int,
        queue_id: int,
        queue_slug: str,
        title: str,
        actor: int | None,
        *,
        handed_off_from: Task | None = None,
        reason: str = "",
        step: StepRow | None = None,
        consult: bool = False,
    ) -> Task:
        task = Task(
            id=self.next_id(FulfilmentTask),
            case=case,
            queue_id=queue_id,
            queue_slug=queue_slug,
            department_id=self.queue_department[queue_id],
            title=title[:200],
            priority=handed_off_from.priority if handed_off_from else case.priority,
            created_at=moment,
            updated_at=moment,
            handed_off_from=handed_off_from.id if handed_off_from else None,
            handoff_reason=reason,
            run_id=case.run_id if step or (handed_off_from and handed_off_from.run_id) else None,
            step_key=step.spec["key"]
            if step
            else (handed_off_from.step_key if handed_off_from else ""),
        )
        task.step = step
        self.clock_start(task, moment)
        case.tasks.append(task)
        self.task_event(
            task, moment, "queued", actor, payload={"queue": queue_slug}, to_value="queued"
        )
        if not consult:
            self.spawn(moment, self.task_life(task))
        return task

    def agent_of(self, department_id: int) -> int:
        return self.rng.choice(self.people.agents[department_id])

    def claim(self, task: Task, moment: int, agent: int) -> None:
        task.assignee, task.claimed_at = agent, task.claimed_at or moment
        task.responded_at = task.responded_at or moment
        previous = task.state
        if task.state == "queued":
            task.state = "in_progress"
        self.task_save(task, moment)
        changed = {"from_value": previous, "to_value": task.state} if previous != task.state else {}
        self.task_event(task, moment, "claimed", agent, payload={"assignee": agent}, **changed)
        if not task.case.work_started:
            task.case.work_started = True
            self.request_event(task.case, moment, "work_started", agent, payload={"task": task.id})

    def task_life(self, task: Task) -> Generator[Any, int, None]:
        """Claimed, perhaps a reply, a question to the employee, a consult or a handoff,
        then resolved: each at a moment drawn from the department's targets."""
        rng, case = self.rng, task.case
        business = self.business[task.department_id]
        response, resolution = case.item.targets.get(task.priority, (4 * HOUR, 16 * HOUR))
        yield None
        claim_after = int(response * rng.lognormvariate(-1.0, 0.6)) + 30
        moment = yield business.add(task.created_at, claim_after)
        if task.state not in OPEN_TASK:
            return
        agent = self.agent_of(task.department_id)
        self.claim(task, moment, agent)
        work = int(resolution * rng.lognormvariate(-1.7, 0.7)) + 300
        confidential = case.item.confidential
        if rng.random() < 0.25:
            moment = yield business.add(moment, work // 4)
            if task.state not in OPEN_TASK:
                return
            task.responded_at = task.responded_at or moment
            self.task_save(task, moment)
            comment = self.comment(case, moment, agent, "Thanks, I am on it.")
            self.request_event(
                case,
                moment,
                "commented",
                agent,
                to_value="public",
                payload={"comment": comment, "task": task.id, "version": task.version},
            )
        if rng.random() < 0.15 and task.state == "in_progress":
            moment = yield business.add(moment, work // 3)
            if task.state != "in_progress":
                return
            comment = self.comment(case, moment, agent, "Could you tell us a little more?")
            self.request_event(
                case,
                moment,
                "commented",
                agent,
                to_value="public",
                payload={"comment": comment, "task": task.id, "version": task.version},
            )
            if task.paused_at is None:
                task.paused_at = moment
            missing = rng.random() < 0.4
            self.task_state(
                task,
                moment,
                "waiting_on_employee",
                agent,
                "waiting_on_employee",
                {"comment": comment, "missing_information": missing},
            )
            self.follow_work(case, moment, agent)
            answered = moment + int(rng.lognormvariate(10.0, 1.0)) + 300  # median about six hours
            moment = yield min(answered, moment + 10 * DAY)
            self.employee_answers(case, moment)
        if rng.random() < 0.04 and not confidential and task.state == "in_progress":
            moment = yield business.add(moment, work // 4)
            if task.state != "in_progress":
                return
            consulted = self.other_department(task.department_id)
            moment = yield from self.consult(task, moment, agent, consulted)
        if (
            rng.random() < 0.10
            and not confidential
            and task.step is None
            and task.state == "in_progress"
        ):
            moment = yield business.add(moment, work // 2)
            if task.state != "in_progress":
                return
            self.hand_off(task, moment, agent, self.other_department(task.department_id))
            return
        moment = yield business.add(moment, work)
        if task.state not in OPEN_TASK or task.state == "waiting_on_department":
            return
        self.resolve(task, moment, agent)

    def other_department(self, department_id: int) -> int:
        choices = [pk for pk in self.queues if pk != department_id and self.people.agents.get(pk)]
        return self.rng.choice(choices)

    def employee_answers(self, case: Case, moment: int) -> None:
        if case.state in FINISHED_REQUEST:
            return
        comment = self.comment(case, moment, case.requester, "Here is what you asked for.")
        self.request_event(
            case,
            moment,
            "commented",
            case.requester,
            to_value="public",
            payload={"comment": comment},
        )
        for task in case.tasks:
            if task.state != "waiting_on_employee":
                continue
            self.clock_resume(task, moment)
            if any(consult.state == "open" and consult.asking is task for consult in case.consults):
                state = "waiting_on_department"
            else:
                state = "in_progress" if task.assignee else "queued"
            self.task_state(task, moment, state, case.requester, "resumed")
        self.follow_work(case, moment, case.requester)

    def resolve(self, task: Task, moment: int, agent: int) -> None:
        case = task.case
        task.resolution, task.done_at = "Done.", moment
        self.clock_resume(task, moment)
        task.responded_at = task.responded_at or moment
        self.task_state(task, moment, "done", agent, "resolved")
        if task.step is not None:
            self.step_finish(case, task.step, moment, {"by_person": True, "task": task.id})
        self.follow_work(case, moment, agent, "Done.")

    def hand_off(self, task: Task, moment: int, agent: int, department_id: int) -> Task:
        case = task.case
        queue_id, queue_slug = self.queues[department_id]
        reason = "This belongs with your team."
        received = self.task_open(
            case,
            moment,
            queue_id,
            queue_slug,
            task.title,
            agent,
            handed_off_from=task,
            reason=reason,
        )
        task.done_at = moment
        self.clock_resume(task, moment)
        self.task_state(
            task,
            moment,
            "handed_off",
            agent,
            "handed_off",
            {"to_task": received.id, "reason": reason},
            from_department=task.department_id,
            to_department=department_id,
        )
        self.follow_work(case, moment, agent)
        return received

    def consult(
        self, asking: Task, moment: int, agent: int, department_id: int
    ) -> Generator[Any, int, int]:
        case = asking.case
        queue_id, queue_slug = self.queues[department_id]
        name = self.departments[asking.department_id].name
        consult_task = self.task_open(
            case, moment, queue_id, queue_slug, f"Question from {name}", agent, consult=True
        )
        consult = ConsultRow(self.next_id(Consult), asking, consult_task, agent, moment)
        consult_task.consult = consult
        case.consults.append(consult)
        self.event(
            case,
            moment,
            CONSULT,
            consult.id,
            "consult_asked",
            asking.department_id,
            actor=agent,
            from_department=asking.department_id,
            to_department=department_id,
            to_value="open",
            payload={
                "asking_task": asking.id,
                "consult_task": consult_task.id,
                "queue": queue_slug,
            },
        )
        self.task_state(
            asking,
            moment,
            "waiting_on_department",
            agent,
            "waiting_on_department",
            {"consult": consult.id},
            from_department=asking.department_id,
            to_department=department_id,
        )
        business = self.business[department_id]
        response, resolution = case.item.targets.get(consult_task.priority, (4 * HOUR, 16 * HOUR))
        moment = yield business.add(moment, int(response * self.rng.lognormvariate(-1.0, 0.6)) + 30)
        helper = self.agent_of(department_id)
        self.claim(consult_task, moment, helper)
        moment = yield business.add(
            moment, int(resolution * self.rng.lognormvariate(-2.0, 0.7)) + 300
        )
        consult.state, consult.answered_by, consult.answered_at = "answered", helper, moment
        self.event(
            case,
            moment,
            CONSULT,
            consult.id,
            "consult_answered",
            department_id,
            actor=helper,
            from_department=department_id,
            to_department=asking.department_id,
            from_value="open",
            to_value="answered",
            payload={"asking_task": asking.id, "consult_task": consult_task.id},
        )
        consult_task.done_at = moment
        self.task_state(consult_task, moment, "done", helper, "resolved", {"consult": consult.id})
        if asking.state == "waiting_on_department":
            state = "in_progress" if asking.assignee else "queued"
            self.task_state(
                asking,
                moment,
                state,
                helper,
                "department_wait_ended",
                {"consult": consult.id},
                from_department=department_id,
                to_department=asking.department_id,
            )
        else:
            self.task_save(asking, moment)
        self.follow_work(case, moment, helper)
        return moment

    # -- plans -----------------------------------------------------------------------------

    def run_start(self, case: Case, moment: int, answers: dict[str, Any]) -> None:
        item = case.item
        case.run_id, case.run_state, case.run_created = (
            self.next_id(AutomationRun),
            "running",
            moment,
        )
        for spec in item.plan:
            condition = spec["condition_field"]
            met = True
            if condition:
                answer = answers.get(condition)
                if isinstance(answer, list):
                    met = spec["condition_value"] in answer
                else:
                    met = (
                        str(answer or "").strip().lower() == spec["condition_value"].strip().lower()
                    )
            case.steps.append(
                StepRow(
                    self.next_id(StepRun), spec, spec["department"], "waiting" if met else "skipped"
                )
            )
        self.event(
            case,
            moment,
            RUN,
            case.run_id,
            "run_started",
            item.department_id,
            to_value="running",
            payload={
                "run": case.run_id,
                "item": item.slug,
                "steps": [spec["key"] for spec in item.plan],
            },
        )
        for step in case.steps:
            if step.state == "skipped":
                self.step_event(
                    case,
                    step,
                    moment,
                    "step_skipped",
                    {"condition": step.spec["condition_field"]},
                    from_value="waiting",
                    to_value="skipped",
                )
        self.advance(case, moment)

    def advance(self, case: Case, moment: int) -> None:
        state_of = {step.spec["key"]: step.state for step in case.steps}
        ready = [
            step
            for step in case.steps
            if step.state == "waiting"
            and all(state_of.get(key) in FINISHED_STEP for key in step.spec["after"])
        ]
        for step in ready:
            if step.spec["kind"] == "human":
                department = (
                    case.item.department_id if case.item.confidential else step.department_id
                )
                queue = step.spec["queue"]
                if queue is None or self.queue_department.get(queue) != department:
                    queue_id, queue_slug = self.queues[department]
                else:
                    queue_id, queue_slug = queue, self.queue_slugs[queue]
                task = self.task_open(
                    case, moment, queue_id, queue_slug, step.spec["name"], None, step=step
                )
                step.state, step.task = "with_people", task
                self.step_event(
                    case,
                    step,
                    moment,
                    "step_with_people",
                    {"task": task.id, "queue": queue_slug},
                    from_value="waiting",
                    to_value="with_people",
                )
            else:
                step.state, step.enqueued_at = "pending", moment
                self.step_event(
                    case, step, moment, "step_pending", from_value="waiting", to_value="pending"
                )
                self.spawn(moment, self.step_life(case, step))
        if (
            case.run_state == "running"
            and not ready
            and all(step.state in FINISHED_STEP for step in case.steps)
        ):
            case.run_state, case.run_finished = "done", moment
            self.event(
                case,
                moment,
                RUN,
                case.run_id,
                "run_finished",
                case.item.department_id,
                from_value="running",
                to_value="done",
                payload={"run": case.run_id},
            )
        self.follow_work(case, moment, None)

    def step_life(self, case: Case, step: StepRow) -> Generator[Any, int, None]:
        moment = yield None
        moment = yield moment + self.rng.randrange(1, 20)
        step.state, step.started_at = "running", moment
        self.step_event(
            case,
            step,
            moment,
            "step_started",
            {"delivery": 1},
            from_value="pending",
            to_value="running",
        )
        if not case.work_started:
            case.work_started = True
            self.request_event(case, moment, "work_started", None, payload={"step_run": step.id})
        moment = yield moment + self.rng.randrange(1, 8)
        self.step_finish(case, step, moment, None)
        self.follow_work(case, moment, None)

    def step_finish(self, case: Case, step: StepRow, moment: int, payload: dict | None) -> None:
        previous = step.state
        step.state, step.finished_at = "succeeded", moment
        self.step_event(
            case, step, moment, "step_succeeded", payload, from_value=previous, to_value="succeeded"
        )
        self.advance(case, moment)

    # -- rows ------------------------------------------------------------------------------

    def write(self, case: Case, answers: str) -> None:
        item = case.item
        self.t_requests.add(
            str(case.id),
            str(item.id),
            str(case.requester),
            str(case.requester),
            text(item.name),
            answers,
            case.state,
            case.priority,
            str(item.department_id),
            flag(item.confidential),
            NULL,
            f"scale-{case.id}",
            str(case.version),
            ts(case.submitted_at),
            ts(case.updated_at),
            ts(case.resolved_at),
            ts(case.closed_at),
            case.resolution,
            ts(case.due),
            ts(case.at_risk),
            ts(case.paused_at),
            seconds(case.paused_total),
            flag(case.breached),
            ts(case.breached_at),
        )
        for approval in case.approvals:
            (
                approval_id,
                label,
                approver,
                department,
                state,
                requested,
                decided_by,
                decided_at,
                role,
                position,
            ) = approval
            self.t_approvals.add(
                str(approval_id),
                str(case.id),
                str(position),
                text(label),
                num(approver),
                num(department),
                role,
                state,
                "",
                ts(requested),
                num(decided_by),
                ts(decided_at),
                "",
            )
        if case.run_id is not None:
            self.t_runs.add(
                str(case.run_id),
                str(case.id),
                case.run_state,
                ts(case.run_created),
                ts(case.run_finished),
                jsonb(item.plan),
            )
        for task in case.tasks:
            self.t_tasks.add(
                str(task.id),
                str(case.id),
                str(task.queue_id),
                str(task.department_id),
                text(task.title),
                task.state,
                task.priority,
                num(task.assignee),
                num(task.handed_off_from),
                text(task.handoff_reason),
                num(task.run_id),
                task.step_key,
                task.resolution,
                str(task.version),
                ts(task.created_at),
                ts(task.updated_at),
                ts(task.claimed_at),
                ts(task.done_at),
                ts(task.responded_at),
                ts(task.response_due),
                ts(task.resolution_due),
                ts(task.at_risk),
                ts(task.paused_at),
                seconds(task.paused_total),
                flag(task.breached),
                ts(task.breached_at),
            )
        for step in case.steps:
            spec = step.spec
            started = step.started_at is not None
            self.t_steps.add(
                str(step.id),
                str(case.run_id),
                str(spec["id"]),
                spec["key"],
                text(spec["name"]),
                spec["kind"],
                str(step.department_id),
                num(spec["queue"]),
                spec["action"],
                jsonb(spec["params"]),
                jsonb(spec["after"]),
                str(spec["position"]),
                step.state,
                f"{case.run_id}:{spec['id']}",
                "1" if step.state == "succeeded" and spec["kind"] != "human" else "0",
                "1" if started else "0",
                "",
                "{}",
                num(step.task.id if step.task else None),
                ts(step.enqueued_at),
                NULL,
                ts(step.started_at),
                ts(step.finished_at),
            )
        for consult in case.consults:
            self.t_consults.add(
                str(consult.id),
                str(consult.asking.id),
                str(consult.task.id),
                str(consult.asking.department_id),
                str(consult.task.department_id),
                consult.state,
                "Can you help with this?",
                "Yes: done." if consult.state == "answered" else "",
                str(consult.asked_by),
                ts(consult.asked_at),
                num(consult.answered_by),
                ts(consult.answered_at),
                NULL,
            )
        if case.rated is not None:
            score, moment = case.rated
            self.t_ratings.add(
                str(self.next_id(ExperienceRating)),
                str(case.id),
                str(score),
                "",
                str(case.requester),
                ts(moment),
            )
