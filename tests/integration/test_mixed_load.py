"""A mixed load on a live server, then the books checked: employees submitting and reading,
agents taking the next task and resolving it, managers and executives reading dashboards,
CONCURRENCY of them at once (the bench's), for MIXED_LOAD_SECONDS.

`make test` runs it as a smoke of MIXED_LOAD_SECONDS (default 20); `make soak` runs it for ten
minutes. The server is gunicorn with DEBUG off on the test database seeded with the demo
enterprise, a worker runs the automations, both on a redis-server of the test's own. The
people, pages and forms are the bench's (bench.scenarios), sent by its load client
(bench.load). Afterwards the remaining work is done (approvals given, tasks resolved,
automations run) and the event log must account for every request the load submitted.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from io import StringIO
from itertools import cycle

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Q
from django.urls import reverse

from bench import load, scenarios
from bench.scenarios import Scenario
from bench.web import CONCURRENCY
from esm.models import DepartmentRole, Event, EventKind
from services import actions
from services.actions import flow
from services.models import Approval, CatalogItem, FulfilmentTask, ServiceRequest, StepRun
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory
from tests.integration.conftest import needs_redis_server, needs_services
from tests.integration.harness import wait_for

pytestmark = [
    pytest.mark.integration,
    needs_services,
    needs_redis_server,
    pytest.mark.django_db(transaction=True),
]

MIXED_LOAD_SECONDS = float(os.environ.get("MIXED_LOAD_SECONDS", "20"))
# Who the CONCURRENCY people are: employees submit and read, agents work one queue side by
# side (each their own account, so two of them can race for one task), the rest read.
EMPLOYEES, AGENTS = 6, 4
READERS = CONCURRENCY - EMPLOYEES - AGENTS
# An employee's round: one submission, then these many pages read.
READS_PER_SUBMISSION = 3
# An agent who found the queue empty looks again after this long.
IDLE_SECONDS = 0.25
# The onboardings wait for their approval until the drain, then their plans all run on the
# one worker (about 4 steps a second on 2 cores): the drain grows with the load.
DRAIN_TIMEOUT = 120 + MIXED_LOAD_SECONDS
PASSWORD = "mixed-load-pass"
# The IT problem form: no approval, no plan, straight to IT's queue where the agents work.
AGENTS_ITEM = "report-an-it-problem"
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')
TASK_PATH = re.compile(r"/tasks/(\d+)/")
# After a claim, what frees the task for someone else's claim.
RELEASES = {
    EventKind.UNASSIGNED,
    EventKind.HANDED_OFF,
    EventKind.SENT_BACK,
    EventKind.RETURNED,
    EventKind.RESOLVED,
    EventKind.CANCELLED,
}


@dataclass
class Tally:
    timings: dict[str, load.Timings] = field(default_factory=lambda: defaultdict(load.Timings))
    taken: list[tuple[str, int]] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    # A resolve refused because the task changed since its page was read: an honest 409.
    stale: int = 0

    def failures(self) -> dict[str, str]:
        return {name: t.first_error for name, t in self.timings.items() if t.errors}

    def succeeded(self, name: str) -> int:
        timings = self.timings[name]
        return len(timings.seconds) - timings.errors


async def _employee(client, session, round_, deadline, tally) -> None:
    while time.monotonic() < deadline:
        for scenario in next(round_):
            await load._one(client, scenario, session, tally.timings[scenario.name])


async def _reader(client, sessions, pages, deadline, tally) -> None:
    while time.monotonic() < deadline:
        scenario = next(pages)
        await load._one(client, scenario, sessions[scenario.role], tally.timings[scenario.name])


async def _agent(client, username, session, queue_slug, deadline, tally) -> None:
    """Take the next task, read its page, resolve it; look again a little later if none."""
    take_next = reverse("queue_take_next", args=[queue_slug])
    while time.monotonic() < deadline:
        answer = await _post(client, session, take_next, {}, tally, "agent: take next", {302})
        found = TASK_PATH.fullmatch(answer.headers.get("location", "")) if answer else None
        if found is None:
            await asyncio.sleep(IDLE_SECONDS)
            continue
        task = int(found[1])
        tally.taken.append((username, task))
        page = await client.get(found[0], headers=session.headers())
        if page.status_code != 200:
            load._failed(tally.timings["agent: task page"], f"HTTP {page.status_code}")
            continue
        version = VERSION_FIELD.search(page.text)
        resolve = reverse("task_operation", args=[task, "resolve"])
        data = {"version": version[1] if version else "", "body": "Fixed under load."}
        answer = await _post(client, session, resolve, data, tally, "agent: resolve", {302, 409})
        if answer is not None and answer.status_code == 302:
            tally.resolved.append(task)
        elif answer is not None:
            tally.stale += 1


async def _post(client, session, path, data, tally, name, ok) -> httpx.Response | None:
    timings = tally.timings[name]
    started = time.perf_counter()
    try:
        answer = await client.post(
            path,
            data=data | {"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers=session.headers(),
        )
    except httpx.HTTPError as failure:
        load._failed(timings, f"{type(failure).__name__}: {failure}")
        return None
    timings.seconds.append(time.perf_counter() - started)
    if answer.status_code not in ok:
        load._failed(timings, f"HTTP {answer.status_code}")
        return None
    return answer


def _mixed_load(base_url: str, plan: scenarios.Plan, agents: list[str], it_queue: str,
                agents_submit: Scenario) -> Tally:  # fmt: skip
    by_name = {scenario.name: scenario for scenario in plan.scenarios}
    employee_reads = [s for s in plan.scenarios if s.role == "employee" and s.method == "GET"]
    reads = cycle(employee_reads)
    # Three rounds of four in the IT form, the fourth the bench's own (onboarding: an
    # approval, then a plan that runs on the worker and gives people tasks).
    submissions = cycle([agents_submit, agents_submit, agents_submit, by_name["submit"]])

    def rounds():
        while True:
            yield [next(submissions), *(next(reads) for _ in range(READS_PER_SUBMISSION))]

    dashboards = cycle([s for s in plan.scenarios if s.role != "employee" and s.method == "GET"])
    tally = Tally()

    async def drive() -> None:
        async with load.client(base_url, concurrency=CONCURRENCY) as client:
            sessions = {
                role: await load.sign_in(client, username=username, password=PASSWORD)
                for role, username in plan.accounts.items()
            }
            agent_sessions = {
                username: await load.sign_in(client, username=username, password=PASSWORD)
                for username in agents
            }
            deadline = time.monotonic() + MIXED_LOAD_SECONDS
            round_ = rounds()
            await asyncio.gather(
                *(
                    _employee(client, sessions["employee"], round_, deadline, tally)
                    for _ in range(EMPLOYEES)
                ),
                *(
                    _agent(client, name, session, it_queue, deadline, tally)
                    for name, session in agent_sessions.items()
                ),
                *(_reader(client, sessions, dashboards, deadline, tally) for _ in range(READERS)),
            )

    asyncio.run(drive())
    return tally


def _claims_without_release(tasks: set[int]) -> list[str]:
    """Two claims of one task with nothing between them that gave it up. (A task's events
    are written under its row lock, so their ids are in the order they happened.)"""
    holder: dict[int, int | None] = {}
    problems = []
    events = Event.objects.filter(
        subject_type="services.fulfilmenttask",
        subject_id__in=tasks,
        kind__in=[EventKind.CLAIMED, *RELEASES],
    ).order_by("id")
    for task, kind, actor in events.values_list("subject_id", "kind", "actor_id"):
        if kind == EventKind.CLAIMED:
            if holder.get(task) is not None:
                problems.append(f"task {task}: claimed by {actor} while {holder[task]} held it")
            holder[task] = actor
        else:
            holder[task] = None
    return problems


def _agent_of(department_id: int):
    return (
        DepartmentRole.objects.filter(department_id=department_id, role=DepartmentRole.Role.AGENT)
        .select_related("user")
        .order_by("pk")
        .first()
        .user
    )


def _drain(submitted, queue) -> None:
    """Do what is left, as people and workers would: approve the submitted requests, resolve
    their open tasks and those in the agents' `queue` (the worker carries the plans on),
    until each submitted request is finished."""

    def finished() -> bool:
        for approval in Approval.objects.filter(
            service_request__in=submitted, state=Approval.State.PENDING
        ).select_related("approver"):
            actions.approval_decide(approval=approval, user=approval.approver, approve=True)
        for task in FulfilmentTask.objects.filter(
            Q(service_request__in=submitted) | Q(queue=queue), state__in=FulfilmentTask.OPEN_STATES
        ):
            agent = task.assignee or _agent_of(task.department_id)
            actions.task_claim(task=task, agent=agent)
            actions.task_resolve(task=task, agent=agent, resolution="Done after the load.")
        return not submitted.exclude(state__in=ServiceRequest.FINISHED_STATES).exists()

    wait_for(finished, timeout=DRAIN_TIMEOUT, what="the load's requests to finish", interval=1)


def test_a_mixed_load_answers_without_errors_claims_each_task_once_and_loses_no_request(
    fault_rig,
):
    call_command("seed_demo", password=PASSWORD, without_history=True, stdout=StringIO())
    plan = scenarios.plan(password=PASSWORD)
    item = CatalogItem.objects.get(slug=AGENTS_ITEM)
    it_queue = flow.default_queue(item.department)
    # More agents for IT's queue than the demo's one: several take the next task at once.
    agents = [
        DepartmentRoleFactory(
            user=ProfileFactory(user__username=f"load_agent{n}", department=item.department).user,
            department=item.department,
            role=DepartmentRole.Role.AGENT,
        ).user
        for n in range(AGENTS - 1)
    ]
    agents.append(get_user_model().objects.get(username=plan.accounts["agent"]))
    for agent in agents:
        agent.set_password(PASSWORD)
        agent.save(update_fields=["password"])
    answers = scenarios.form_data(item)
    assert answers is not None
    agents_submit = Scenario(
        "submit: IT problem",
        "employee",
        reverse("catalog_item", args=[item.slug]),
        data=lambda: answers | {"submission_key": os.urandom(8).hex()},
        ok=frozenset({302}),
    )
    last_request = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first()
    fault_rig.worker()
    web = fault_rig.web(workers=2, threads=4)

    tally = _mixed_load(
        web.url, plan, [agent.username for agent in agents], it_queue.slug, agents_submit
    )

    # No error answers: every page 200, every form its redirect (or an honest 409).
    assert tally.failures() == {}
    assert tally.succeeded("submit: IT problem") > 0
    assert tally.resolved, "the agents resolved nothing"
    # No task went to two agents, by their own account or by the event log.
    taken = Counter(task for _, task in tally.taken)
    assert [task for task, times in taken.items() if times > 1] == []
    assert _claims_without_release(set(taken)) == []
    for task in FulfilmentTask.objects.filter(pk__in=tally.resolved).select_related("assignee"):
        assert (task.assignee.username, task.pk) in tally.taken

    submitted = ServiceRequest.objects.filter(pk__gt=last_request or 0)
    assert submitted.count() == tally.succeeded("submit") + tally.succeeded("submit: IT problem")
    _drain(submitted, it_queue)

    # The queues drained, and the event log accounts for every request: submitted once,
    # resolved, each of its tasks queued and resolved, each of its steps done.
    assert not FulfilmentTask.objects.filter(
        service_request__in=submitted, state__in=FulfilmentTask.OPEN_STATES
    ).exists()
    assert not FulfilmentTask.objects.filter(
        queue=it_queue, state__in=FulfilmentTask.OPEN_STATES
    ).exists()
    assert set(submitted.values_list("state", flat=True)) == {ServiceRequest.State.RESOLVED}
    ids = set(submitted.values_list("pk", flat=True))
    request_events = Event.objects.filter(
        subject_type="services.servicerequest", subject_id__in=ids
    )
    for kind in (EventKind.SUBMITTED, EventKind.RESOLVED):
        per_request = Counter(request_events.filter(kind=kind).values_list("subject_id", flat=True))
        assert per_request == dict.fromkeys(ids, 1), kind
    tasks = set(
        FulfilmentTask.objects.filter(service_request__in=submitted).values_list("pk", flat=True)
    )
    task_events = Event.objects.filter(subject_type="services.fulfilmenttask", subject_id__in=tasks)
    for kind in (EventKind.QUEUED, EventKind.RESOLVED):
        assert set(task_events.filter(kind=kind).values_list("subject_id", flat=True)) == tasks
    assert set(
        StepRun.objects.filter(run__service_request__in=submitted).values_list("state", flat=True)
    ) <= {StepRun.State.SUCCEEDED, StepRun.State.SKIPPED}
