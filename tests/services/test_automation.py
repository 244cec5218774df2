"""Fulfilment plans: instantiation, dependencies, conditions, human steps, failures."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from esm.models import Event, EventKind
from services import actions
from services.models import AutomationRun, Queue, ServiceRequest, StepRun
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import CALLS
from tests.services.automation_doubles import plan_step as _step
from tests.services.automation_doubles import submit as _submit
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

State = StepRun.State


@pytest.fixture(autouse=True)
def _calendar(db, test_actions):
    BusinessCalendarFactory(name="Company", is_default=True)


def _states(service_request):
    return dict(
        StepRun.objects.filter(run__service_request=service_request).values_list(
            "step_key", "state"
        )
    )


def test_a_plan_runs_in_dependency_order_and_resolves_the_request(
    employee, it_agent, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    record_step = _step(item, "hr-record")
    account = _step(item, "account", after=[record_step])
    laptop = _step(item, "laptop", kind="human", after=[record_step])
    _step(item, "welcome", after=[account, laptop])

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee)
    service_request.refresh_from_db()

    # The record and the account ran (eagerly), the laptop waits for a person, the join waits.
    assert _states(service_request) == {
        "hr-record": State.SUCCEEDED,
        "account": State.SUCCEEDED,
        "laptop": State.WITH_PEOPLE,
        "welcome": State.WAITING,
    }
    assert service_request.state == ServiceRequest.State.IN_PROGRESS
    task = service_request.tasks.get()
    assert task.title == "Laptop"

    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=task, agent=it_agent, resolution="Laptop handed over")
    service_request.refresh_from_db()

    assert _states(service_request)["welcome"] == State.SUCCEEDED
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert AutomationRun.objects.get().state == AutomationRun.State.DONE
    assert len(CALLS) == 3


def test_conditions_on_answers_skip_steps_and_their_dependents_still_run(
    employee, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    laptop = _step(item, "laptop", condition_field="laptop", condition_value="yes")
    _step(item, "notify", after=[laptop])

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee, {"laptop": "no"})

    assert _states(service_request) == {"laptop": State.SKIPPED, "notify": State.SUCCEEDED}
    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_running_a_step_twice_has_the_effect_of_running_it_once(employee):
    item = CatalogItemFactory()
    _step(item, "only")
    _submit(item, employee)  # on-commit callbacks not run: the step waits, PENDING
    step_run = StepRun.objects.get()

    first = actions.step_run_execute(step_run.pk)
    second = actions.step_run_execute(step_run.pk)

    assert (first, second[:12]) == ("succeeded", "not runnable")
    assert [step_run.idempotency_key] == CALLS


def test_a_parallel_step_claims_and_finishes_in_a_fixed_number_of_queries(
    employee, django_assert_num_queries
):
    """A worker's step is two transactions (here savepoints). The claim: update the step,
    read it with its run and request, record STEP_STARTED, look for the request's
    WORK_STARTED. The work: lock the request, read the run's steps, save the step, write
    its event and the next steps' in one INSERT, read the request's tasks."""
    item = CatalogItemFactory()
    first = _step(item, "hr-record")
    parallel = [_step(item, key, after=[first]) for key in ("account", "desk", "badge")]
    _step(item, "welcome", after=parallel)
    service_request = _submit(item, employee)
    actions.step_run_execute(StepRun.objects.get(step_key="hr-record").pk)
    account = StepRun.objects.get(step_key="account")

    with django_assert_num_queries(4 + 2 + 5 + 2):
        assert actions.step_run_execute(account.pk) == "succeeded"

    assert _states(service_request)["account"] == State.SUCCEEDED
    assert _states(service_request)["welcome"] == State.WAITING


def test_a_step_redelivered_after_its_worker_died_runs_again(employee):
    item = CatalogItemFactory()
    _step(item, "only")
    _submit(item, employee)
    step_run = StepRun.objects.get()
    # The worker claimed it and died: its transaction rolled back, the message came back.
    StepRun.objects.filter(pk=step_run.pk).update(state=State.RUNNING, deliveries=1)

    assert actions.step_run_execute(step_run.pk) == "succeeded"

    step_run.refresh_from_db()
    assert (step_run.state, step_run.deliveries) == (State.SUCCEEDED, 2)
    assert [step_run.idempotency_key] == CALLS


def test_transient_errors_retry_with_backoff_then_go_to_a_person(
    employee, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    _step(item, "busy", action="test.transient")
    service_request = _submit(item, employee)
    step_run = StepRun.objects.get()

    outcome = actions.step_run_execute(step_run.pk)
    step_run.refresh_from_db()
    assert outcome.startswith("retry in")
    assert (step_run.state, step_run.attempts) == (State.PENDING, 1)
    assert step_run.due_at is not None
    assert actions.step_run_execute(step_run.pk).startswith("not runnable")  # not due yet

    for _ in range(10):
        StepRun.objects.filter(pk=step_run.pk).update(due_at=None)
        actions.step_run_execute(step_run.pk)
    step_run.refresh_from_db()

    assert step_run.state == State.WITH_PEOPLE
    assert "Gave up after" in step_run.last_error
    task = service_request.tasks.get()
    assert "automation failed" in task.title
    assert "service busy" in task.handoff_reason
    assert Event.objects.filter(kind=EventKind.STEP_RETRIED).count() == 4
    assert Event.objects.filter(kind=EventKind.STEP_FAILED).count() == 1


def test_a_permanent_failure_becomes_a_task_in_the_owning_department(
    employee, it_department, it_agent, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    _step(item, "account", action="test.permanent", department=it_department)

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee)

    task = service_request.tasks.get()
    assert task.department == it_department
    assert "account name taken" in task.handoff_reason
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=task, agent=it_agent, resolution="Created by hand")
    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_a_step_that_keeps_killing_its_worker_is_sent_to_a_person(employee):
    item = CatalogItemFactory()
    _step(item, "crashy")
    service_request = _submit(item, employee)
    step_run = StepRun.objects.get()
    # Three deliveries that never finished (the worker died each time).
    StepRun.objects.filter(pk=step_run.pk).update(state=State.RUNNING, deliveries=3)

    assert actions.step_run_execute(step_run.pk) == "poisoned"

    step_run.refresh_from_db()
    assert step_run.state == State.WITH_PEOPLE
    assert service_request.tasks.count() == 1
    assert CALLS == []


def test_the_sweep_re_enqueues_steps_whose_message_was_lost(
    employee, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    _step(item, "lost")
    # Submitted without running on-commit callbacks: the message was never published.
    service_request = _submit(item, employee)
    step_run = StepRun.objects.get()
    assert step_run.state == State.PENDING
    later = timezone.now() + actions.automation.LOST_MESSAGE_AFTER * 2

    assert actions.step_runs_sweep(now=timezone.now()) == []  # not lost yet
    with django_capture_on_commit_callbacks(execute=True):
        swept = actions.step_runs_sweep(now=later)

    assert swept == [step_run.pk]
    step_run.refresh_from_db()
    assert step_run.state == State.SUCCEEDED
    assert [step_run.idempotency_key] == CALLS
    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_cancelling_the_request_cancels_the_run(employee):
    item = CatalogItemFactory()
    _step(item, "later", kind="human")
    service_request = _submit(item, employee)

    actions.service_request_cancel(service_request=service_request, user=employee)

    assert _states(service_request) == {"later": State.CANCELLED}
    assert AutomationRun.objects.get().state == AutomationRun.State.CANCELLED


@pytest.fixture
def approval_plan(hr_department):
    item = CatalogItemFactory(department=hr_department)
    gate = _step(item, "budget", action="generic.wait_for_approval", params={"approver": "manager"})
    _step(item, "order", after=[gate])
    return item


def test_a_plan_waits_for_an_approval_and_goes_on_when_given(
    employee, manager, approval_plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(approval_plan, employee)
    assert _states(service_request) == {"budget": State.WITH_PEOPLE, "order": State.WAITING}
    approval = service_request.approvals.get(state="pending")
    assert approval.approver == manager

    with django_capture_on_commit_callbacks(execute=True):
        actions.approval_decide(approval=approval, user=manager, approve=True)

    assert _states(service_request) == {"budget": State.SUCCEEDED, "order": State.SUCCEEDED}
    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_a_mid_plan_approval_is_e_mailed_to_its_approver(
    employee, manager, approval_plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(approval_plan, employee)

    [message] = [m for m in mail.outbox if m.subject.startswith("Waiting for your approval")]
    assert message.to == [manager.email]
    assert service_request.reference in message.subject


def test_a_rejected_mid_plan_approval_ends_the_request(
    employee, manager, approval_plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(approval_plan, employee)
    approval = service_request.approvals.get(state="pending")

    actions.approval_decide(approval=approval, user=manager, approve=False, comment="No budget")

    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.REJECTED
    assert AutomationRun.objects.get().state == AutomationRun.State.CANCELLED
    assert CALLS == []


def test_an_unexpected_error_goes_to_a_person_with_the_message(employee):
    item = CatalogItemFactory()
    _step(item, "buggy", action="test.buggy")
    service_request = _submit(item, employee)
    step_run = StepRun.objects.get()

    assert actions.step_run_execute(step_run.pk) == "failed"

    step_run.refresh_from_db()
    assert step_run.state == State.WITH_PEOPLE
    assert "ZeroDivisionError" in step_run.last_error
    assert "ZeroDivisionError" in service_request.tasks.get().handoff_reason


def test_a_sent_back_step_task_still_finishes_the_step(
    employee, it_department, hr_department, it_agent, hr_agent, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(department=hr_department)
    _step(item, "paperwork", kind="human", department=hr_department)
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee)
    hr_task = service_request.tasks.get()
    it_queue = Queue.objects.create(department=it_department, name="IT", slug="it-q")
    received = actions.task_hand_off(task=hr_task, agent=hr_agent, to_queue=it_queue, reason="IT?")
    sender = actions.task_send_back(task=received, agent=it_agent, missing="Not ours")

    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=sender, agent=hr_agent, resolution="Done by HR")

    service_request.refresh_from_db()
    assert _states(service_request) == {"paperwork": State.SUCCEEDED}
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_a_confidential_case_keeps_its_steps_in_its_department(
    employee, it_department, hr_department, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(department=hr_department, is_confidential=True)
    step = _step(item, "elsewhere", kind="human", department=it_department)

    with pytest.raises(ValidationError):
        step.full_clean()
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee)

    task = service_request.tasks.get()
    assert task.department == hr_department
    assert set(
        Event.objects.filter(reference=service_request.reference)
        .exclude(department=None)
        .values_list("department", flat=True)
    ) == {hr_department.pk}
