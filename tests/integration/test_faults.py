"""Faults on real processes: killed workers, a step that keeps killing its worker, a Redis
outage while employees submit and read through a live server. Each test runs on its own
redis-server, which it may stop, and its own workers and web server."""

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from esm.models import Event, EventKind
from services import actions as service_actions
from services.actions import automation
from services.models import AutomationRun, ServiceRequest, StepRun
from tests.integration import actions
from tests.integration.conftest import needs_redis_server, needs_services
from tests.integration.harness import wait_for
from tests.integration.plans import plan_step, step_states, submit
from tests.integration.portal import Portal
from tests.services.factories import CatalogItemFactory

pytestmark = [
    pytest.mark.integration,
    needs_services,
    needs_redis_server,
    pytest.mark.django_db(transaction=True),
]

State = StepRun.State
RUN_TIMEOUT = 60


def _state_of(service_request: ServiceRequest) -> str:
    service_request.refresh_from_db()
    return service_request.state


def _resolved(service_request: ServiceRequest) -> bool:
    return _state_of(service_request) == ServiceRequest.State.RESOLVED


def _effect_count(step: str) -> int:
    return sum(1 for effect in actions.effects() if effect["step"] == step)


def _blocking_plan(item, marker_dir: Path) -> None:
    before = plan_step(item, "hr-record")
    params = {"marker_dir": str(marker_dir)}
    blocked = plan_step(
        item, "it-account", action="integration.block", after=[before], params=params
    )
    plan_step(item, "tell-manager", after=[blocked])


@pytest.mark.parametrize("recovery", ["broker redelivery", "sweep"])
def test_a_step_whose_worker_is_killed_runs_once_in_effect_on_a_new_worker(
    fault_rig, employee, tmp_path, recovery
):
    item = CatalogItemFactory()
    _blocking_plan(item, tmp_path)
    victim = fault_rig.worker()
    service_request = submit(item, employee)
    wait_for(
        lambda: (tmp_path / "it-account.entered.1").exists(),
        timeout=RUN_TIMEOUT,
        what="the blocking step to start",
    )

    # Mid-step: its effect row is written, not committed, and the request row is locked.
    victim.kill()
    (tmp_path / "release").touch()
    step_run = StepRun.objects.get(step_key="it-account")
    assert (step_run.state, step_run.deliveries) == (State.RUNNING, 1)
    assert _effect_count("it-account") == 0

    if recovery == "broker redelivery":
        # Late acks: the message is still unacknowledged in Redis; a worker takes it back
        # once the visibility timeout has passed (an hour by default, a second here).
        fault_rig.worker(ESM_BROKER_VISIBILITY_TIMEOUT="1")
    else:
        # The beat sweep finds the step stuck RUNNING and enqueues it again.
        fault_rig.worker()
        later = timezone.now() + automation.STUCK_RUNNING_AFTER + dt.timedelta(seconds=1)
        assert automation.step_runs_sweep(now=later) == [step_run.pk]

    wait_for(lambda: _resolved(service_request), timeout=RUN_TIMEOUT, what="the run to finish")
    step_run.refresh_from_db()
    assert (step_run.state, step_run.deliveries, step_run.attempts) == (State.SUCCEEDED, 2, 1)
    assert [(e["step"], e["delivery"]) for e in actions.effects()] == [
        ("hr-record", 1),
        ("it-account", 2),
        ("tell-manager", 1),
    ]


def test_a_step_that_keeps_killing_its_worker_goes_to_a_person_and_the_plan_goes_on(
    fault_rig, employee, it_department, it_agent
):
    item = CatalogItemFactory()
    crashing = plan_step(
        item, "it-account", action="integration.kill_worker", department=it_department
    )
    plan_step(item, "tell-manager", after=[crashing])
    fault_rig.worker()

    service_request = submit(item, employee)

    # Each delivery kills its pool process; the worker replaces the process and, with
    # reject_on_worker_lost, puts the message back; the delivery counter stops the loop.
    # (The worker notices a dead pool process at once or at its 5s pool check.)
    step_run = wait_for(
        lambda: StepRun.objects.filter(step=crashing, state=State.WITH_PEOPLE).first(),
        timeout=RUN_TIMEOUT,
        what="the crashing step to reach a person",
    )
    assert step_run.deliveries == automation.MAX_DELIVERIES + 1
    assert "deliveries that never finished" in step_run.last_error
    assert actions.effects() == []
    task = step_run.task
    assert (task.department, task.title) == (it_department, "It account (automation failed)")
    assert _state_of(service_request) == ServiceRequest.State.IN_PROGRESS

    service_actions.task_resolve(task=task, agent=it_agent, resolution="Created by hand")

    wait_for(lambda: _resolved(service_request), timeout=RUN_TIMEOUT, what="the run to finish")
    assert step_states(service_request) == {
        "it-account": State.SUCCEEDED,
        "tell-manager": State.SUCCEEDED,
    }
    assert [effect["step"] for effect in actions.effects()] == ["tell-manager"]


def test_while_redis_is_down_employees_submit_and_read_their_requests_and_automations_run_after(
    fault_rig, private_redis, employee
):
    item = CatalogItemFactory()
    first = plan_step(item, "hr-record")
    plan_step(item, "it-account", after=[first])
    plan_step(item, "desk", after=[first])
    fault_rig.worker()
    # The web processes' cache and broker are this Redis: both go down with it.
    web = fault_rig.web()
    private_redis.stop()

    portal = Portal(web.url, username=employee.username)
    submitted = portal.submit(item)

    # Saved, with its first step waiting for a worker: the publish was lost, not the request.
    assert submitted.status_code == 302, submitted.text
    service_request = ServiceRequest.objects.get(requester=employee)
    assert submitted.headers["location"] == reverse(
        "request_detail", args=[service_request.reference]
    )
    assert _state_of(service_request) == ServiceRequest.State.IN_PROGRESS
    assert step_states(service_request)["hr-record"] == State.PENDING
    assert Event.objects.for_subject(service_request).filter(kind=EventKind.SUBMITTED).exists()
    # The pages an employee reads next answer from the database; the cache fails open.
    for page in (
        reverse("home"),
        reverse("my_requests"),
        reverse("request_detail", args=[service_request.reference]),
        reverse("api:requests"),
    ):
        answer = portal.get(page)
        assert answer.status_code == 200, (page, answer.status_code)
        if page != reverse("home"):
            assert service_request.reference in answer.text, page
    portal.close()

    private_redis.start()
    later = timezone.now() + automation.LOST_MESSAGE_AFTER + dt.timedelta(seconds=1)
    swept = automation.step_runs_sweep(now=later)

    assert swept == list(StepRun.objects.filter(step=first).values_list("pk", flat=True))
    wait_for(lambda: _resolved(service_request), timeout=RUN_TIMEOUT, what="the run to finish")
    assert set(step_states(service_request).values()) == {State.SUCCEEDED}
    assert AutomationRun.objects.get().state == AutomationRun.State.DONE
    assert sorted(effect["step"] for effect in actions.effects()) == [
        "desk",
        "hr-record",
        "it-account",
    ]
