"""A run snapshots its plan when it starts: editing the plan later changes new runs only."""

import uuid

import pytest

from esm.models import Event, EventKind
from services import actions, selectors
from services.models import AutomationRun, FulfilmentTask, PlanStep, Queue, StepRun
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.factories import CatalogItemFactory, FulfilmentTaskFactory

pytestmark = pytest.mark.django_db

State = StepRun.State


@pytest.fixture(autouse=True)
def _calendar_and_calls(db, test_actions):
    BusinessCalendarFactory(name="Company", is_default=True)


def _submit(item, user):
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=user,
        subject="Onboard Kim",
        answers=[],
        submission_key=uuid.uuid4().hex,
    )
    return service_request


def _runs_of(service_request):
    return {
        step_run.step_key: step_run
        for step_run in StepRun.objects.filter(run__service_request=service_request)
    }


@pytest.fixture
def plan(hr_department, it_department):
    item = CatalogItemFactory(department=hr_department)
    hardware = Queue.objects.create(department=it_department, name="Hardware", slug="hardware")
    first = _step(item, "first", params={"label": "as planned"}, department=hr_department)
    _step(
        item,
        "laptop",
        kind="human",
        after=[first],
        department=it_department,
        queue=hardware,
        condition_field="office",
        condition_value="",
    )
    _step(item, "account", after=[first], department=it_department)
    _step(item, "extra", after=[first], department=hr_department)
    return item


def test_a_run_keeps_its_plan_and_each_step_run_what_it_executes(
    employee, plan, hr_department, it_department
):
    service_request = _submit(plan, employee)

    run = AutomationRun.objects.get()
    laptop = next(step for step in run.plan if step["key"] == "laptop")
    assert [step["key"] for step in run.plan] == ["first", "laptop", "account", "extra"]
    assert laptop == {
        "id": PlanStep.objects.get(key="laptop").pk,
        "key": "laptop",
        "name": "Laptop",
        "kind": "human",
        "department": it_department.pk,
        "department_slug": it_department.slug,
        "queue": Queue.objects.get(slug="hardware").pk,
        "queue_slug": "hardware",
        "action": "",
        "params": {},
        "after": ["first"],
        "condition_field": "office",
        "condition_value": "",
        "position": 1,
    }
    first = _runs_of(service_request)["first"]
    assert (first.name, first.kind, first.department, first.action) == (
        "First",
        "automated",
        hr_department,
        "test.record",
    )
    assert (first.params, first.after, first.position) == ({"label": "as planned"}, [], 0)
    assert _runs_of(service_request)["account"].after == ["first"]


def test_editing_the_plan_after_a_run_started_changes_nothing_in_that_run(
    employee, plan, it_department, facilities_department, django_capture_on_commit_callbacks
):
    service_request = _submit(plan, employee)  # "first" waits for a worker, PENDING
    recorded = list(Event.objects.values_list("pk", "kind", "payload"))

    # The plan is edited while the run is on its way.
    PlanStep.objects.filter(key="laptop").update(
        name="Renamed", department=facilities_department, queue=None
    )
    PlanStep.objects.filter(key="first").update(params={"label": "edited"})
    PlanStep.objects.get(key="account").after.add(PlanStep.objects.get(key="laptop"))
    PlanStep.objects.get(key="extra").delete()

    with django_capture_on_commit_callbacks(execute=True):
        actions.step_run_execute(_runs_of(service_request)["first"].pk)

    runs = _runs_of(service_request)
    assert runs["first"].result == {"called": "as planned"}
    # The added dependency does not hold the account back; the deleted step still ran.
    assert {key: step_run.state for key, step_run in runs.items()} == {
        "first": State.SUCCEEDED,
        "laptop": State.WITH_PEOPLE,
        "account": State.SUCCEEDED,
        "extra": State.SUCCEEDED,
    }
    assert runs["extra"].step is None
    task = FulfilmentTask.objects.get()
    assert (task.title, task.department, task.queue.slug) == ("Laptop", it_department, "hardware")
    with_people = Event.objects.get(kind=EventKind.STEP_WITH_PEOPLE)
    assert with_people.department == it_department
    assert (with_people.payload["name"], with_people.payload["step"]) == ("Laptop", "laptop")
    extra_events = Event.objects.filter(
        subject_id=runs["extra"].pk, subject_type="services.steprun"
    )
    assert {event.payload["step"] for event in extra_events} == {"extra"}
    # What was recorded before the edit is as it was.
    assert (
        list(
            Event.objects.filter(pk__in=[pk for pk, _, _ in recorded]).values_list(
                "pk", "kind", "payload"
            )
        )
        == recorded
    )
    # The employee's page reads the run, not the plan.
    progress = selectors.request_progress(service_request=service_request)
    assert [row["name"] for row in progress] == ["First", "Laptop", "Account", "Extra"]
    assert progress[1]["department"] == it_department.name


def test_a_new_run_uses_the_plan_as_it_is_now(
    employee, plan, facilities_department, django_capture_on_commit_callbacks
):
    PlanStep.objects.filter(key="laptop").update(
        name="Renamed", department=facilities_department, queue=None
    )
    PlanStep.objects.filter(key="first").update(params={"label": "edited"})
    PlanStep.objects.get(key="account").after.add(PlanStep.objects.get(key="laptop"))
    PlanStep.objects.get(key="extra").delete()

    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(plan, employee)

    runs = _runs_of(service_request)
    assert set(runs) == {"first", "laptop", "account"}
    assert runs["first"].result == {"called": "edited"}
    assert runs["account"].state == State.WAITING  # now waits for the laptop
    task = FulfilmentTask.objects.get()
    assert (task.title, task.department) == ("Renamed", facilities_department)


def test_deleting_the_plan_steps_keeps_a_finished_run_readable(
    employee, plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(plan, employee)

    PlanStep.objects.filter(item=plan).delete()

    assert StepRun.objects.filter(step__isnull=True).count() == 4
    progress = selectors.request_progress(service_request=service_request)
    assert [row["name"] for row in progress] == ["First", "Laptop", "Account", "Extra"]
    assert AutomationRun.objects.get().plan[0]["key"] == "first"


def test_a_requests_page_reads_its_steps_only_when_it_has_a_run(
    employee, plan, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        planned = _submit(plan, employee)
    planless = FulfilmentTaskFactory(
        service_request__requester=employee, title="Fix the printer"
    ).service_request

    def progress_of(service_request):
        read = selectors.request_for_viewer(user=employee, reference=service_request.reference)
        with django_assert_num_queries(1):
            return [row["name"] for row in selectors.request_progress(service_request=read)]

    # Its run's steps; without a run, its tasks, and no read of steps it cannot have.
    assert progress_of(planned) == ["First", "Laptop", "Account", "Extra"]
    assert progress_of(planless) == ["Fix the printer"]
