"""Plans run end to end on a real Celery worker, over the Redis the project is configured with."""

import os

import pytest

from esm.models import Event, EventKind
from services.models import AutomationRun, ServiceRequest, StepRun
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
