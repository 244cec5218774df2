"""The event log of plan runs: one event per transition of a step run and of a run.

Value-stream metrics (process time and wait per stage, handoff delay) are computed from
these rows, so each transition is asserted here with its kind, subject, department,
from/to states and the `run` and `step` it names.
"""

import datetime as dt

import pytest

from esm import clock
from esm.models import Event, EventKind
from services import actions
from services.actions import automation
from services.automation import registry
from services.models import AutomationRun, FulfilmentTask, Queue, StepRun
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.automation_doubles import submit as _submit
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

State = StepRun.State
STEP_RUN, RUN, TASK = "services.steprun", "services.automationrun", "services.fulfilmenttask"
RUN_AND_STEP_KINDS = {
    kind for kind in EventKind if kind.value.startswith("step_") or kind.value.startswith("run_")
}


@pytest.fixture(autouse=True)
def _calendar_and_calls(db, test_actions):
    BusinessCalendarFactory(name="Company", is_default=True)


def _step_run(key):
    return StepRun.objects.select_related("run__service_request").get(step_key=key)


def _events_of(subject_type, subject_id, kind=None):
    events = Event.objects.filter(subject_type=subject_type, subject_id=subject_id)
    if kind is not None:
        events = events.filter(kind=kind)
    return list(events.order_by("occurred_at", "id"))


def _one(step_run, kind):
    events = _events_of(STEP_RUN, step_run.pk, kind)
    assert len(events) == 1, f"{kind}: {events}"
    return events[0]


def _assert_step_event(event, step_run, *, department, from_value, to_value, **payload):
    assert event.subject_type == STEP_RUN
    assert event.subject_id == step_run.pk
    assert event.department_id == department.pk
    assert (event.from_value, event.to_value) == (from_value, to_value)
    assert event.actor_id is None
    assert event.reference == step_run.run.service_request.reference
    assert event.payload["run"] == step_run.run_id
    assert event.payload["step"] == step_run.step_key
    assert event.payload["name"] == step_run.name
    for key, value in payload.items():
        assert event.payload[key] == value, key


# --- Runs ------------------------------------------------------------------------------


def test_starting_a_run_records_run_started_then_skipped_and_pending_steps(
    employee, hr_department, it_department
):
    item = CatalogItemFactory(department=hr_department)
    _step(item, "desk", condition_field="office", condition_value="yes", department=it_department)
    _step(item, "account", department=it_department)

    service_request = _submit(item, employee, {"office": "no"})

    run = AutomationRun.objects.get()
    (started,) = _events_of(RUN, run.pk)
    assert started.kind == EventKind.RUN_STARTED
    assert started.department_id == hr_department.pk  # the request's department
    assert (started.from_value, started.to_value) == ("", AutomationRun.State.RUNNING)
    assert started.payload == {"run": run.pk, "item": item.slug, "steps": ["desk", "account"]}
    assert started.reference == service_request.reference

    desk = _step_run("desk")
    _assert_step_event(
        _one(desk, EventKind.STEP_SKIPPED),
        desk,
        department=it_department,
        from_value=State.WAITING,
        to_value=State.SKIPPED,
        condition="office",
    )
    account = _step_run("account")
    _assert_step_event(
        _one(account, EventKind.STEP_PENDING),
        account,
        department=it_department,
        from_value=State.WAITING,
        to_value=State.PENDING,
    )
    assert len(_events_of(STEP_RUN, desk.pk)) == len(_events_of(STEP_RUN, account.pk)) == 1


def test_a_finished_run_records_run_finished_done(
    employee, hr_department, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(department=hr_department)
    _step(item, "only")

    with django_capture_on_commit_callbacks(execute=True):
        _submit(item, employee)

    run = AutomationRun.objects.get()
    kinds = [event.kind for event in _events_of(RUN, run.pk)]
    assert kinds == [EventKind.RUN_STARTED, EventKind.RUN_FINISHED]
    finished = _events_of(RUN, run.pk, EventKind.RUN_FINISHED)[0]
    assert finished.department_id == hr_department.pk
    assert (finished.from_value, finished.to_value) == (
        AutomationRun.State.RUNNING,
        AutomationRun.State.DONE,
    )
    assert finished.payload == {"run": run.pk}


def test_cancelling_records_each_unfinished_step_cancelled_and_the_run_finished(
    employee, hr_department, it_department
):
    item = CatalogItemFactory(department=hr_department)
    first = _step(item, "first", department=it_department)
    _step(item, "then", kind="human", after=[first], department=it_department)
    service_request = _submit(item, employee)  # first PENDING, then WAITING

    actions.service_request_cancel(service_request=service_request, user=employee)

    for key, previous in (("first", State.PENDING), ("then", State.WAITING)):
        step_run = _step_run(key)
        _assert_step_event(
            _one(step_run, EventKind.STEP_CANCELLED),
            step_run,
            department=it_department,
            from_value=previous,
            to_value=State.CANCELLED,
        )
    run = AutomationRun.objects.get()
    finished = _events_of(RUN, run.pk, EventKind.RUN_FINISHED)
    assert [(e.from_value, e.to_value) for e in finished] == [("running", "cancelled")]


# --- Automated steps ---------------------------------------------------------------------


def test_an_automated_step_records_started_and_succeeded(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "account", department=it_department)
    _submit(item, employee)
    step_run = _step_run("account")

    assert actions.step_run_execute(step_run.pk) == "succeeded"

    _assert_step_event(
        _one(step_run, EventKind.STEP_STARTED),
        step_run,
        department=it_department,
        from_value=State.PENDING,
        to_value=State.RUNNING,
        delivery=1,
    )
    _assert_step_event(
        _one(step_run, EventKind.STEP_SUCCEEDED),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value=State.SUCCEEDED,
    )


def test_a_redelivered_step_records_a_start_from_running(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "account", department=it_department)
    _submit(item, employee)
    step_run = _step_run("account")
    StepRun.objects.filter(pk=step_run.pk).update(state=State.RUNNING, deliveries=1)

    actions.step_run_execute(step_run.pk)

    _assert_step_event(
        _one(step_run, EventKind.STEP_STARTED),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value=State.RUNNING,
        delivery=2,
    )


def test_a_transient_error_records_retried(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "busy", action="test.transient", department=it_department)
    _submit(item, employee)
    step_run = _step_run("busy")

    assert actions.step_run_execute(step_run.pk).startswith("retry in")

    _assert_step_event(
        _one(step_run, EventKind.STEP_RETRIED),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value=State.PENDING,
        attempt=1,
        error="service busy",
        retry_in_s=automation.BACKOFF_BASE_SECONDS,
    )


def test_a_step_not_due_yet_records_sleeping(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "start-date", action="test.sleep", department=it_department)
    _submit(item, employee)
    step_run = _step_run("start-date")

    assert actions.step_run_execute(step_run.pk).startswith("sleeping until")

    step_run.refresh_from_db()
    _assert_step_event(
        _one(step_run, EventKind.STEP_SLEEPING),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value=State.PENDING,
        until=step_run.due_at.isoformat(),
    )


def test_a_failed_step_records_the_failure_and_its_handover_to_people(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "account", action="test.permanent", department=it_department)
    _submit(item, employee)
    step_run = _step_run("account")

    assert actions.step_run_execute(step_run.pk) == "failed"

    task = FulfilmentTask.objects.get()
    _assert_step_event(
        _one(step_run, EventKind.STEP_FAILED),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value="",
        error="account name taken",
        attempt=1,
    )
    _assert_step_event(
        _one(step_run, EventKind.STEP_WITH_PEOPLE),
        step_run,
        department=it_department,
        from_value=State.RUNNING,
        to_value=State.WITH_PEOPLE,
        task=task.pk,
        queue=task.queue.slug,
    )
    assert (task.automation_run_id, task.step_key) == (step_run.run_id, "account")


def test_an_approval_step_records_with_people_then_succeeded_by_approval(
    employee, manager, hr_department, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(department=hr_department)
    _step(item, "budget", action="generic.wait_for_approval", params={"approver": "manager"})
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _submit(item, employee)
    approval = service_request.approvals.get(state="pending")
    step_run = _step_run("budget")

    _assert_step_event(
        _one(step_run, EventKind.STEP_WITH_PEOPLE),
        step_run,
        department=hr_department,
        from_value=State.RUNNING,
        to_value=State.WITH_PEOPLE,
        approval=approval.pk,
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.approval_decide(approval=approval, user=manager, approve=True)

    _assert_step_event(
        _one(step_run, EventKind.STEP_SUCCEEDED),
        step_run,
        department=hr_department,
        from_value=State.WITH_PEOPLE,
        to_value=State.SUCCEEDED,
        by_approval=True,
    )
    assert approval.step_key == "budget"


# --- Human steps and their tasks -------------------------------------------------------


def test_a_human_step_records_its_handover_and_its_end_by_a_person(
    employee, it_department, it_agent, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory()
    queue = Queue.objects.create(department=it_department, name="Hardware", slug="hardware")
    _step(item, "laptop", kind="human", department=it_department, queue=queue)
    with django_capture_on_commit_callbacks(execute=True):
        _submit(item, employee)
    step_run = _step_run("laptop")
    task = FulfilmentTask.objects.get()

    _assert_step_event(
        _one(step_run, EventKind.STEP_WITH_PEOPLE),
        step_run,
        department=it_department,
        from_value=State.WAITING,
        to_value=State.WITH_PEOPLE,
        task=task.pk,
        queue="hardware",
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=task, agent=it_agent, resolution="Laptop handed over")

    _assert_step_event(
        _one(step_run, EventKind.STEP_SUCCEEDED),
        step_run,
        department=it_department,
        from_value=State.WITH_PEOPLE,
        to_value=State.SUCCEEDED,
        by_person=True,
        task=task.pk,
    )


def test_every_event_of_a_step_task_names_its_run_and_step_across_handoffs(
    employee, it_department, hr_department, it_agent, hr_agent, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(department=hr_department)
    _step(item, "paperwork", kind="human", department=hr_department)
    with django_capture_on_commit_callbacks(execute=True):
        _submit(item, employee)
    run = AutomationRun.objects.get()
    hr_task = FulfilmentTask.objects.get()
    it_queue = Queue.objects.create(department=it_department, name="IT", slug="it-q")

    actions.task_claim(task=hr_task, agent=hr_agent)
    received = actions.task_hand_off(task=hr_task, agent=hr_agent, to_queue=it_queue, reason="IT?")
    sender = actions.task_send_back(task=received, agent=it_agent, missing="Not ours")
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=sender, agent=hr_agent, resolution="Done by HR")

    received.refresh_from_db()
    assert sender.pk == hr_task.pk
    assert (received.automation_run_id, received.step_key) == (run.pk, "paperwork")
    events = Event.objects.filter(subject_type=TASK)
    assert {event.kind for event in events} >= {
        EventKind.QUEUED,
        EventKind.CLAIMED,
        EventKind.HANDED_OFF,
        EventKind.SENT_BACK,
        EventKind.RETURNED,
        EventKind.RESOLVED,
    }
    assert {event.subject_id for event in events} == {hr_task.pk, received.pk}
    for event in events:
        assert (event.payload["run"], event.payload["step"]) == (run.pk, "paperwork"), event


def test_a_task_outside_a_plan_names_no_run_or_step(employee, it_agent):
    item = CatalogItemFactory()  # no plan: the request gets one task in its department
    service_request = _submit(item, employee)
    task = service_request.tasks.get()

    actions.task_resolve(task=task, agent=it_agent, resolution="Done")

    events = Event.objects.filter(subject_type=TASK, subject_id=task.pk)
    assert events.count() >= 2
    for event in events:
        assert not {"run", "step"} & event.payload.keys(), event.payload
    assert (task.automation_run_id, task.step_key) == (None, "")


# --- The whole log -----------------------------------------------------------------------


def test_every_step_and_run_kind_is_written_and_each_step_runs_state_chain_is_unbroken(
    employee, hr_department, it_department, it_agent, django_capture_on_commit_callbacks
):
    """One plan through every transition: each run and step kind is written, and each step
    run's events chain (each starts where the previous one left it).

    Removing any one event write makes this fail: its kind goes missing, or a chain breaks.
    """
    item = CatalogItemFactory(department=hr_department)
    _step(item, "skipped", condition_field="office", condition_value="yes")
    _step(item, "auto", department=it_department)
    _step(item, "sleepy", action="test.sleep")
    _step(item, "busy", action="test.transient")
    _step(item, "broken", action="test.permanent", department=it_department)
    _step(item, "human", kind="human", department=it_department)
    service_request = _submit(item, employee, {"office": "no"})
    for key in ("auto", "sleepy", "busy", "broken"):
        actions.step_run_execute(_step_run(key).pk)
    human_task = FulfilmentTask.objects.get(step_key="human", state=FulfilmentTask.State.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        actions.task_resolve(task=human_task, agent=it_agent, resolution="Done")
    actions.service_request_cancel(service_request=service_request, user=employee)

    written = set(
        Event.objects.filter(reference=service_request.reference).values_list("kind", flat=True)
    )
    assert written >= RUN_AND_STEP_KINDS
    for step_run in StepRun.objects.all():
        state = State.WAITING
        for event in _events_of(STEP_RUN, step_run.pk):
            assert event.from_value == state, (step_run.step_key, event.kind)
            # A failure is a fact, not a move: its handover to people records the move.
            state = event.to_value or state
        step_run.refresh_from_db()
        assert state == step_run.state, step_run.step_key
    run = AutomationRun.objects.get()
    assert [(e.kind, e.from_value, e.to_value) for e in _events_of(RUN, run.pk)] == [
        (EventKind.RUN_STARTED, "", "running"),
        (EventKind.RUN_FINISHED, "running", "cancelled"),
    ]


# --- Guarded changes that change nothing write nothing --------------------------------


def test_a_guarded_update_that_matches_no_row_writes_no_event(employee, it_department):
    item = CatalogItemFactory()
    _step(item, "busy", action="test.transient", department=it_department)
    service_request = _submit(item, employee)
    stale = _step_run("busy")
    # A worker held the step RUNNING; meanwhile the request was cancelled under it.
    StepRun.objects.filter(pk=stale.pk).update(state=State.RUNNING, deliveries=1)
    actions.service_request_cancel(service_request=service_request, user=employee)
    before = Event.objects.count()

    assert automation._retry_or_fail(stale, "service busy") == "finished elsewhere"
    automation._sleep_until(stale, registry.NotYet(clock.now() + dt.timedelta(days=1)))
    assert actions.step_run_execute(stale.pk).startswith("not runnable")
    automation._fail(stale, "too late")

    assert Event.objects.count() == before
    stale.refresh_from_db()
    assert stale.state == State.CANCELLED
