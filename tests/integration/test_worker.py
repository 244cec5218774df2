"""Plans run end to end on a real Celery worker, over the Redis the project is configured with."""

import os
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from esm.models import Event, EventKind
from services import actions as services_actions
from services.forms import RequestForm
from services.models import (
    AutomationRun,
    Badge,
    CatalogItem,
    DeskBooking,
    DirectoryAccount,
    ServiceRequest,
    StepRun,
)
from tests.integration import actions
from tests.integration.conftest import needs_services
from tests.integration.harness import wait_for
from tests.integration.plans import plan_step, step_states, submit
from tests.services.factories import CatalogItemFactory

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT = 60


def _finished(service_request: ServiceRequest) -> bool:
    service_request.refresh_from_db()
    return service_request.state in ServiceRequest.FINISHED_STATES


def test_a_plan_with_parallel_branches_and_a_join_completes_on_a_real_worker(shared_rig, employee):
    item = CatalogItemFactory()
    record = plan_step(item, "hr-record")
    account = plan_step(item, "it-account", after=[record])
    access = plan_step(item, "app-access", after=[account])
    desk = plan_step(item, "desk", after=[record])
    badge = plan_step(item, "badge", after=[record])
    plan_step(item, "tell-manager", after=[access, desk, badge])
    worker = shared_rig.worker()

    service_request = submit(item, employee)

    wait_for(lambda: _finished(service_request), timeout=RUN_TIMEOUT, what="the run to finish")
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert set(step_states(service_request).values()) == {StepRun.State.SUCCEEDED}
    assert AutomationRun.objects.get().state == AutomationRun.State.DONE
    effects = actions.effects()
    # Each step took effect once, in the worker's pool processes, and the join came last.
    assert sorted(effect["step"] for effect in effects) == sorted(step_states(service_request))
    assert effects[0]["step"] == "hr-record"
    assert effects[-1]["step"] == "tell-manager"
    assert {effect["pid"] for effect in effects}.isdisjoint({os.getpid(), worker.pid})
    assert set(StepRun.objects.values_list("deliveries", "attempts")) == {(1, 1)}
    assert Event.objects.filter(kind=EventKind.STEP_SUCCEEDED).count() == 6


def test_the_demo_onboarding_plan_runs_its_real_actions_on_a_real_worker(shared_rig):
    call_command("seed_demo", password="integration-pass", without_history=True, stdout=StringIO())
    people = {user.username: user for user in get_user_model().objects.all()}
    item = CatalogItem.objects.get(slug="new-hire-onboarding")
    answers = {
        "first_name": "Kim",
        "last_name": "Tan",
        "start_date": "2027-01-04",
        "role": "Account Executive",
        "location": "London HQ",
        "laptop_needed": "yes",
        "laptop_model": "MacBook Air 13",
    }
    form = RequestForm(
        {"subject": "Kim Tan joins", "submission_key": "onboard-kim"}
        | {f"field_{key}": value for key, value in answers.items()},
        item=item,
    )
    assert form.is_valid(), form.errors
    shared_rig.worker()
    service_request, _ = services_actions.service_request_submit(
        item=item,
        raised_by=people["sam"],
        subject="Kim Tan joins",
        answers=form.answer_rows(),
        submission_key="onboard-kim",
    )
    approval = service_request.approvals.get(state="pending")
    services_actions.approval_decide(approval=approval, user=approval.approver, approve=True)

    def automated_steps_done() -> bool:
        # Everything but the welcome pack and the word to the manager, which wait for the
        # laptop and the desk set-up that people do.
        states = step_states(service_request)
        ready = ("app-access", "desk", "badge", "orientation")
        return all(states.get(key) == StepRun.State.SUCCEEDED for key in ready)

    wait_for(automated_steps_done, timeout=RUN_TIMEOUT, what="the automated onboarding steps")
    states = step_states(service_request)
    assert states["laptop"] == StepRun.State.WITH_PEOPLE
    assert DirectoryAccount.objects.filter(username__startswith="kim.tan").count() == 1
    assert DeskBooking.objects.filter(service_request=service_request).count() == 1
    assert Badge.objects.filter(service_request=service_request).count() == 1

    laptop = service_request.tasks.get(state="queued", department__slug="it")
    services_actions.task_resolve(task=laptop, agent=people["ivan"], resolution="Laptop ready")
    workstation = service_request.tasks.get(state="queued", department__slug="facilities")
    services_actions.task_resolve(
        task=workstation, agent=people["fiona"], resolution="Screen and dock in place"
    )

    wait_for(lambda: _finished(service_request), timeout=RUN_TIMEOUT, what="the run to finish")
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert set(step_states(service_request).values()) == {StepRun.State.SUCCEEDED}


def test_a_worker_keeps_a_sound_database_connection_and_replaces_a_dead_one(shared_rig):
    """A task does not pay for a new PostgreSQL connection: each pool process keeps its
    own from task to task. One that died (the server ended it) is replaced before the
    next task uses it, and that task runs as usual."""
    shared_rig.worker()

    kept = {actions.backend_pid_task.delay().get(timeout=RUN_TIMEOUT) for _ in range(8)}
    with connection.cursor() as cursor:
        for pid in kept:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    replaced = {actions.backend_pid_task.delay().get(timeout=RUN_TIMEOUT) for _ in range(8)}

    assert 1 <= len(kept) <= 2  # one per pool process, not one per task
    assert 1 <= len(replaced) <= 2
    assert replaced.isdisjoint(kept)
