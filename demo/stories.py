"""What happens to a request, told as stories of small parts.

A story (`Story`) yields the moment of its next step and then does it through
`services.actions`; a part (`Part`) is a piece of one that returns the moment it ended at.
A new behaviour is one more part, called from `task_story` with its own chance (asking the
employee for missing information, consulting another department, ...).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from demo.data import load
from demo.simulation import Part, Simulation, Story
from esm.calendars import Schedule
from esm.models import DepartmentRole
from services import actions
from services.forms import RequestForm
from services.models import (
    Approval,
    Article,
    CannedReply,
    CatalogItem,
    FulfilmentTask,
    Priority,
    Queue,
    ServiceRequest,
)

TaskState = FulfilmentTask.State
RequestState = ServiceRequest.State
MANAGER = DepartmentRole.Role.MANAGER


@dataclass
class World:
    """Who works where, their hours and targets: what every story looks up."""

    simulation: Simulation
    queues: dict[str, Queue]
    agents: dict[int, list[Any]]
    managers: dict[int, list[Any]]
    schedules: dict[int, Schedule]
    company: Schedule
    canned: dict[int, list[CannedReply]]
    targets: dict[tuple[int, str], int]
    # Tasks some story already works (plan tasks are picked up once, by `plan_work`).
    worked: set[int] = field(default_factory=set)

    @property
    def real_now(self) -> dt.datetime:
        return self.simulation.real_now

    def staff(self, rng: random.Random, department_id: int) -> Any | None:
        """Who works a task: usually an agent, sometimes the manager lends a hand."""
        agents, managers = self.agents.get(department_id, []), self.managers.get(department_id, [])
        pool = agents if agents and (rng.random() < 0.75 or not managers) else managers
        return rng.choice(pool) if pool else None

    def manager(self, department_id: int) -> Any | None:
        managers = self.managers.get(department_id)
        return managers[0] if managers else None

    def work(self, at: dt.datetime, department_id: int, minutes: float) -> dt.datetime:
        """`minutes` of the department's working time after `at`."""
        schedule = self.schedules.get(department_id, self.company)
        return schedule.add(at, dt.timedelta(minutes=minutes))

    def employee(self, at: dt.datetime, minutes: float) -> dt.datetime:
        """`minutes` of office hours after `at`: when employees answer, approve and rate."""
        return self.company.add(at, dt.timedelta(minutes=minutes))

    def resolution_minutes(self, task: FulfilmentTask) -> int:
        item = task.service_request.catalog_item
        return self.targets.get((item.sla_policy_id or 0, task.priority), item.expected_days * 510)


@dataclass(frozen=True)
class Raised:
    """A request someone will raise: what they answer, when, and its own random seed."""

    key: str
    item: CatalogItem
    requester: Any
    submitted_at: dt.datetime
    data: dict[str, Any]
    subject: str
    seed: int


def _texts(name: str) -> Any:
    return load("history")[name]


# How often work is still open now, by how much of its SLA resolution target has passed
# (in business time): (up to this share of the target, chance it is open, chance that
# nobody has even claimed it). Fresh work is mostly in hand; work near its due time is
# what the queues are busy with; a few old tasks are forgotten in the backlog.
OPEN_NOW = [
    (0.75, 0.85, 0.3),
    (1.0, 0.9, 0.0),
    (3.0, 0.15, 0.2),
    (10.0, 0.04, 0.2),
    (float("inf"), 0.01, 0.5),
]


def stall(world: World, rng: random.Random, task: FulfilmentTask) -> str:
    """Whether the task's story stops short of the end: "" (no), "claimed" or "unclaimed"."""
    schedule = world.schedules.get(task.department_id, world.company)
    target = dt.timedelta(minutes=world.resolution_minutes(task))
    elapsed = schedule.between(task.created_at, world.real_now) / target
    for share, open_chance, unclaimed_chance in OPEN_NOW:
        if elapsed < share:
            if rng.random() >= open_chance:
                return ""
            return "unclaimed" if rng.random() < unclaimed_chance else "claimed"
    return ""


# --- Requests ---------------------------------------------------------------------------------


def request_story(world: World, raised: Raised) -> Story:
    """Raised, maybe cancelled, approved step by step, then worked: by the department's
    queue, or by the item's fulfilment plan (whose human steps `plan_work` picks up)."""
    rng = random.Random(raised.seed)  # noqa: S311 -- demo data, not secrets
    # The form is opened a few minutes before it is sent; some read a suggestion first.
    at = raised.submitted_at - dt.timedelta(minutes=rng.uniform(2, 15))
    yield at
    actions.form_start_record(item=raised.item, person=raised.requester)
    suggested = list(raised.item.articles.filter(status=Article.Status.PUBLISHED))
    if suggested and rng.random() < 0.3:
        actions.article_view_record(
            article=rng.choice(suggested), user=raised.requester, from_item=raised.item
        )
    at = raised.submitted_at
    yield at
    form = RequestForm(data=raised.data, item=raised.item)
    if not form.is_valid():
        world.simulation.refused.append(f"{raised.key}: {form.errors.as_json()}")
        return
    service_request, created = actions.service_request_submit(
        item=raised.item,
        raised_by=raised.requester,
        subject=raised.subject,
        answers=form.answer_rows(),
        submission_key=raised.key,
    )
    if not created:
        return
    if rng.random() < 0.02:
        at = world.employee(at, rng.uniform(20, 600))
        yield at
        service_request.refresh_from_db()
        if service_request.state in (RequestState.RESOLVED, RequestState.CLOSED):
            return  # its automation was quicker than the second thoughts
        actions.service_request_cancel(
            service_request=service_request,
            user=raised.requester,
            reason="Sorted it out another way, thanks.",
        )
        return
    at = yield from approvals(world, rng, service_request, at)
    service_request.refresh_from_db()
    if service_request.state != RequestState.IN_PROGRESS or raised.item.plan_steps.exists():
        return
    task = service_request.tasks.order_by("-pk").first()
    if task is not None:
        world.worked.add(task.pk)
        yield from task_story(world, rng, task, at, stall=stall(world, rng, task))


@dataclass(frozen=True)
class Browse:
    """Someone who opens an item's form and raises nothing: they gave up, or a suggested
    article answered them."""

    person: Any
    item: CatalogItem
    at: dt.datetime
    article: Article | None


def browse_story(browse: Browse) -> Story:
    yield browse.at
    actions.form_start_record(item=browse.item, person=browse.person)
    if browse.article is not None:
        yield browse.at + dt.timedelta(minutes=2)
        actions.article_view_record(
            article=browse.article, user=browse.person, from_item=browse.item
        )


def approvals(
    world: World, rng: random.Random, service_request: ServiceRequest, at: dt.datetime
) -> Part:
    """Each approver decides in office hours; a few say no."""
    while service_request.state == RequestState.AWAITING_APPROVAL:
        approval = service_request.approvals.get(state=Approval.State.PENDING)
        approver = _approver(world, approval)
        if approver is None:
            return at
        slow = rng.random() < 0.15
        at = world.employee(at, rng.uniform(600, 2400) if slow else rng.uniform(15, 480))
        yield at
        approve = rng.random() >= 0.05
        actions.approval_decide(
            approval=approval,
            user=approver,
            approve=approve,
            comment="" if approve else "Not this quarter, sorry: let's discuss it at our 1:1.",
        )
        service_request.refresh_from_db()
    return at


def _approver(world: World, approval: Approval) -> Any | None:
    if approval.approver_id is not None:
        return approval.approver
    people = world.managers if approval.role == MANAGER else world.agents
    pool = people.get(approval.department_id or 0, [])
    return pool[0] if pool else None


PLAN_WORK_EVERY = dt.timedelta(minutes=30)


def plan_work(world: World, start: dt.datetime, seed: int) -> Story:
    """The queues' people notice the tasks that fulfilment plans open (a human step, or an
    automation that failed) and work them like any other task."""
    rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
    at = start
    while at <= world.real_now:
        at = world.company.add(at, PLAN_WORK_EVERY)
        yield at
        fresh = (
            FulfilmentTask.objects.filter(step_run__isnull=False, state=TaskState.QUEUED)
            .exclude(pk__in=world.worked)
            .select_related("service_request__catalog_item", "department")
            .order_by("pk")
        )
        for task in fresh:
            world.worked.add(task.pk)
            world.simulation.start(
                _from(at, task_story(world, rng, task, at, stall=stall(world, rng, task)))
            )


def _from(at: dt.datetime, story: Story) -> Story:
    """`story`, started no earlier than `at` (its first step may be due at once)."""
    yield at
    yield from story


# --- Tasks -------------------------------------------------------------------------------------


def _claim_delay(rng: random.Random) -> float:
    """Working minutes before someone picks a task up: mostly soon, sometimes far too late."""
    roll = rng.random()
    if roll < 0.7:
        return rng.uniform(3, 90)
    if roll < 0.93:
        return rng.uniform(90, 480)
    return rng.uniform(480, 1800)


def task_story(
    world: World, rng: random.Random, task: FulfilmentTask, at: dt.datetime, *, stall: str
) -> Story:
    """Claim, reply, maybe ask or hand off, resolve, and let the employee rate it.

    A stalled story stops before the resolution (or before anyone claims the task).
    """
    service_request = task.service_request
    item = service_request.catalog_item
    department = task.department_id
    worker = world.staff(rng, department)
    if worker is None or stall == "unclaimed":
        return  # nobody has picked it up yet

    watermelon = item.slug in _texts("watermelon_items")
    # The watermelon's team works to the clock (its targets are green: it looks at new
    # work at once and closes it quickly) while employees stay unhappy with what they get.
    factor = rng.uniform(0.05, 0.5) if watermelon else _resolution_factor(rng)
    # Work is acknowledged at the first look, with a canned reply (the first response),
    # then waits in the queue until someone has the time, and is done in one sitting:
    # claimed when it is started, so its time in progress is the time spent on it (what
    # the cost-per-request measure prices). A plan's work (a laptop to image, a desk to
    # set up) is known ahead, so it waits half as long, and takes a longer sitting.
    # Everything done in progress on the way (a note, a question, a handoff) takes
    # minutes, not hours.
    from_plan = bool(task.step_key)
    sitting = rng.uniform(60, 240) if from_plan else rng.uniform(10, 60)
    first_look = rng.uniform(3, 60) if watermelon else _claim_delay(rng)
    if world.canned.get(department):
        at = world.work(at, department, first_look)
        yield at
        if _closed(task):
            return
        reply = rng.choice(world.canned[department])
        actions.task_reply(task=task, agent=worker, body=reply.render(service_request))
        first_look = 0.0
    waits = max(0.0, world.resolution_minutes(task) * factor * (0.5 if from_plan else 1) - sitting)
    at = world.work(at, department, first_look + waits)
    yield at
    if _closed(task):
        return  # the request was withdrawn, or its plan stopped, before anyone got to it
    manager = world.manager(department)
    if manager is not None and manager != worker and rng.random() < 0.15:
        actions.task_assign(task=task, assignee=worker, by=manager)
    else:
        actions.task_claim(task=task, agent=worker)
    if manager is not None and rng.random() < 0.06:
        at = yield from _escalate(world, rng, task, manager, at)

    consult = _consult_route(world, task)
    if consult and rng.random() < consult["chance"]:
        at = yield from _consult(world, rng, task, worker, at, consult)
        task.refresh_from_db(fields=["state"])
        if task.state == TaskState.WAITING_ON_DEPARTMENT:
            return  # the other department has not answered yet
    troubled = False
    asks = _texts("asks")
    if rng.random() < asks["item"].get(item.slug, asks["default"]):
        troubled = True
        at = yield from _ask(world, rng, task, worker, at)
        task.refresh_from_db()
        if task.state == TaskState.WAITING_ON_EMPLOYEE:
            return  # the employee has not answered yet
    if rng.random() < 0.25:
        at = world.work(at, department, rng.uniform(5, 60))
        yield at
        if _closed(task):
            return
        actions.task_note(task=task, agent=worker, body=rng.choice(_texts("notes")))

    finisher, finishing = worker, task
    route = _handoff_route(world, task)
    if route and rng.random() < route["chance"]:
        receiving: list[Any] = []
        at = yield from _hand_off(world, rng, task, worker, at, route, receiving)
        if not receiving:
            return
        finishing, finisher, sent_back = receiving
        troubled = troubled or sent_back
    if stall:
        return

    at = world.work(at, finishing.department_id, sitting)
    yield at
    if _closed(finishing):
        return
    actions.task_resolve(task=finishing, agent=finisher, resolution=_resolution(rng, finishing))
    finishing.refresh_from_db()
    due = finishing.resolution_due_at
    late = due is not None and finishing.done_at is not None and finishing.done_at > due

    planned = hasattr(service_request, "automation_run")
    if not planned and rng.random() < 0.04:
        troubled = True
        at = yield from _reopen(world, rng, service_request, at)
    service_request.refresh_from_db()
    if service_request.state != RequestState.RESOLVED or rng.random() >= 0.7:
        return
    at = world.employee(at, rng.uniform(10, 900))
    yield at
    score = _score(rng, troubled=troubled or late, watermelon=watermelon)
    # The watermelon's unhappy say why: fast, but the problem is not really solved.
    comments = _texts("watermelon_comments" if watermelon and score <= 3 else "rating_comments")
    actions.service_request_rate(
        service_request=service_request,
        user=service_request.requester,
        score=score,
        comment=rng.choice(comments[str(score)]),
    )


def _resolution(rng: random.Random, task: FulfilmentTask) -> str:
    """A note that fits the work: by the task's plan step, else its item, else department."""
    texts = (
        _texts("step_resolutions").get(task.step_key)
        or _texts("item_resolutions").get(task.service_request.catalog_item.slug)
        or _texts("resolutions").get(task.department.slug)
        or ["Done."]
    )
    return rng.choice(texts)


def _closed(task: FulfilmentTask) -> bool:
    """Whether the task can no longer change: its request was cancelled or rejected (a
    mid-plan approval said no) while its story waited for its next step."""
    task.refresh_from_db(fields=["state"])
    return task.state not in FulfilmentTask.OPEN_STATES


def _escalate(
    world: World, rng: random.Random, task: FulfilmentTask, manager: Any, at: dt.datetime
) -> Part:
    """The manager raises the priority of a task that matters more than it said."""
    at = world.work(at, task.department_id, rng.uniform(5, 60))
    yield at
    if _closed(task):
        return at
    task.refresh_from_db()
    priority = Priority.URGENT if task.priority == Priority.HIGH else Priority.HIGH
    actions.task_set_priority(task=task, by=manager, priority=priority)
    return at


def _handoff_route(world: World, task: FulfilmentTask) -> dict[str, Any] | None:
    """Where this item's work is handed on, if anywhere (from this task's department)."""
    for route in _texts("handoffs"):
        if route["item"] != task.service_request.catalog_item.slug:
            continue
        if route.get("department", task.department.slug) != task.department.slug:
            continue
        queue = world.queues.get(route["to_queue"])
        if queue is None or queue.pk == task.queue_id:
            return None
        # A confidential case stays within its department.
        confidential = task.service_request.is_confidential
        return route if not confidential or queue.department_id == task.department_id else None
    return None


def _ask(
    world: World, rng: random.Random, task: FulfilmentTask, worker: Any, at: dt.datetime
) -> Part:
    """Ask the employee something, sometimes because the form left out what the department
    needs (missing information); most answer within a working day or two."""
    at = world.work(at, task.department_id, rng.uniform(5, 60))
    yield at
    if _closed(task):
        return at
    missing = _texts("missing_questions")
    slug = task.department.slug
    share = _texts("asks")["missing"].get(task.service_request.catalog_item.slug, missing["share"])
    if slug in missing and rng.random() < share:
        questions, missing_information = missing[slug], True
    else:
        questions = _texts("questions").get(slug) or ["Could you tell us more?"]
        missing_information = False
    actions.task_ask(
        task=task,
        agent=worker,
        question=rng.choice(questions),
        missing_information=missing_information,
    )
    if rng.random() < 0.15:
        return at  # never answered: the task waits on the employee
    at = world.employee(at, rng.uniform(20, 1200))
    yield at
    if _closed(task):
        return at
    service_request = task.service_request
    actions.comment_add(
        service_request=service_request,
        author=service_request.requester,
        body=rng.choice(_texts("answers")),
    )
    return at


def _consult_route(world: World, task: FulfilmentTask) -> dict[str, Any] | None:
    """What this task's department asks another one about, if anything."""
    for route in _texts("consults"):
        queue = world.queues.get(route["to_queue"])
        if route["department"] == task.department.slug and queue is not None:
            return route
    return None


def _consult(
    world: World,
    rng: random.Random,
    task: FulfilmentTask,
    worker: Any,
    at: dt.datetime,
    route: dict[str, Any],
) -> Part:
    """Ask another department without handing the work off; one of its people picks the
    question up and answers, and the asking task goes on."""
    to_queue = world.queues[route["to_queue"]]
    at = world.work(at, task.department_id, rng.uniform(5, 45))
    yield at
    if _closed(task):
        return at
    consult = actions.task_consult(
        task=task, agent=worker, to_queue=to_queue, question=route["question"]
    )
    world.worked.add(consult.consult_task_id)
    answerer = world.staff(rng, to_queue.department_id)
    if answerer is None:
        return at
    at = world.work(at, to_queue.department_id, _claim_delay(rng))
    yield at
    if _closed(consult.consult_task):
        return at
    actions.task_claim(task=consult.consult_task, agent=answerer)
    at = world.work(at, to_queue.department_id, rng.uniform(5, 60))
    yield at
    if _closed(consult.consult_task):
        return at
    actions.consult_answer(consult=consult, agent=answerer, answer=rng.choice(route["answers"]))
    return at


def _hand_off(
    world: World,
    rng: random.Random,
    task: FulfilmentTask,
    worker: Any,
    at: dt.datetime,
    route: dict[str, Any],
    receiving: list[Any],
) -> Part:
    """Hand the work to another queue; almost a third comes back as incomplete once.

    Fills `receiving` with (the task that finishes the work, who works it, whether it was
    sent back) once the receiving side has claimed it.
    """
    to_queue = world.queues[route["to_queue"]]
    at = world.work(at, task.department_id, rng.uniform(10, 120))
    yield at
    if _closed(task):
        return at
    received = actions.task_hand_off(
        task=task, agent=worker, to_queue=to_queue, reason=route["reason"]
    )
    world.worked.add(received.pk)
    receiver = world.staff(rng, to_queue.department_id)
    if receiver is None:
        return at
    at = world.work(at, to_queue.department_id, _claim_delay(rng))
    yield at
    if _closed(received):
        return at
    actions.task_claim(task=received, agent=receiver)
    sent_back = rng.random() < route.get("sent_back", 0.3)
    if sent_back:
        at = world.work(at, to_queue.department_id, rng.uniform(5, 60))
        yield at
        if _closed(received):
            return at
        missing = _texts("missing_information").get(to_queue.slug) or ["Details are missing."]
        actions.task_send_back(task=received, agent=receiver, missing=rng.choice(missing))
        at = world.work(at, task.department_id, rng.uniform(15, 120))
        yield at
        if _closed(task):
            return at
        actions.task_note(
            task=task, agent=worker, body="Checked with the requester and added what was missing."
        )
        at = world.work(at, task.department_id, rng.uniform(5, 60))
        yield at
        if _closed(task):
            return at
        received = actions.task_hand_off(
            task=task, agent=worker, to_queue=to_queue, reason=f"{route['reason']} Now complete."
        )
        world.worked.add(received.pk)
        at = world.work(at, to_queue.department_id, _claim_delay(rng))
        yield at
        if _closed(received):
            return at
        actions.task_claim(task=received, agent=receiver)
    receiving.extend([received, receiver, sent_back])
    return at


def _reopen(
    world: World, rng: random.Random, service_request: ServiceRequest, at: dt.datetime
) -> Part:
    """The employee reopens the request; its department picks it up and resolves it again."""
    at = world.employee(at, rng.uniform(60, 1500))
    yield at
    actions.service_request_reopen(
        service_request=service_request,
        user=service_request.requester,
        reason="It is happening again, sorry.",
    )
    task = service_request.tasks.select_related("department").order_by("-pk").first()
    worker = world.staff(rng, task.department_id) if task else None
    if task is None or worker is None:
        return at
    world.worked.add(task.pk)
    at = world.work(at, task.department_id, _claim_delay(rng))
    yield at
    actions.task_claim(task=task, agent=worker)
    at = world.work(at, task.department_id, rng.uniform(20, 120))
    yield at
    resolution = f"Second look: {_resolution(rng, task)}"
    actions.task_resolve(task=task, agent=worker, resolution=resolution)
    return at


def _resolution_factor(rng: random.Random) -> float:
    """Share of the SLA resolution target the work takes: mostly in time, some late."""
    roll = rng.random()
    if roll < 0.75:
        return rng.uniform(0.05, 0.7)
    if roll < 0.92:
        return rng.uniform(0.7, 1.2)
    return rng.uniform(1.2, 2.5)


def _score(rng: random.Random, *, troubled: bool, watermelon: bool) -> int:
    if watermelon and rng.random() < 0.85:
        return rng.choice([1, 1, 2, 2, 3])
    weights = [12, 22, 30, 24, 12] if troubled else [2, 4, 10, 34, 50]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


# --- The periodic sweeps ------------------------------------------------------------------------

SWEEP_EVERY = dt.timedelta(hours=2)


def sweeps(world: World, start: dt.datetime) -> Story:
    """What beat runs, every SWEEP_EVERY of simulated office time: SLA breaches, automation
    steps that wait (a leaver's last day) or lost their message, and closing resolved
    requests past their reopen window.

    Beat runs them every minute or so; every two hours keeps seeding fast and is close
    enough for a demo. Due times fall in working hours, so nights and weekends are skipped.
    """
    at = start
    while at <= world.real_now:
        at = world.company.add(at, SWEEP_EVERY)
        yield at
        # The clock may be a few seconds past `at` (an automated step just ran): sweep at
        # the clock's time, as beat would, so flags and their events agree.
        now = world.simulation.now
        actions.sla_breach_sweep(now=now)
        actions.step_runs_sweep(now=now)
        actions.service_requests_close_sweep(now=now)
