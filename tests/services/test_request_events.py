"""The events of request-level actions, asserted one by one (kind, subject, department,
from/to, payload), and a guard that every kind of the log is written with its department.

Value streams, journeys and reports read these rows; a write that goes missing, or loses
its department, must fail here rather than skew a measure unnoticed.
"""

import datetime as dt

import pytest

from esm import clock
from esm.models import CASELESS_KINDS, Event, EventKind
from services import actions
from services.models import Approval, FulfilmentTask, ServiceRequest, StepRun
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step
from tests.services.factories import (
    ApprovalStepFactory,
    CatalogItemFactory,
    QueueFactory,
    SlaTargetFactory,
)

pytestmark = pytest.mark.django_db

REQUEST = "services.servicerequest"
MON_9 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _submit(item, user, key="form-1"):
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=user, subject="Please help", answers=[], submission_key=key
    )
    return service_request


def _request_events(service_request, kind=None):
    events = Event.objects.for_subject(service_request)
    if kind is not None:
        events = events.filter(kind=kind)
    return list(events.order_by("occurred_at", "id"))


def _assert(event, *, kind, department, from_value="", to_value="", actor=None, **payload):
    assert (event.kind, event.subject_type) == (kind, REQUEST)
    assert event.department_id == department.pk
    assert (event.from_value, event.to_value) == (from_value, to_value)
    assert event.actor == actor
    for key, value in payload.items():
        assert event.payload[key] == value, key


def test_approvals_record_who_when_and_for_which_step(employee, manager):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item, position=1)
    with clock.travel(MON_9) as now:
        service_request = _submit(item, employee)
        approval = service_request.approvals.get()
        now.to(MON_9 + dt.timedelta(hours=3))
        actions.approval_decide(approval=approval, user=manager, approve=True, comment="Go")

    approval.refresh_from_db()
    assert (approval.requested_at, approval.decided_at, approval.decided_by) == (
        MON_9,
        MON_9 + dt.timedelta(hours=3),
        manager,
    )
    assert approval.step_key == ""  # an up-front approval, not a plan step's
    requested, approved = _request_events(
        service_request, EventKind.APPROVAL_REQUESTED
    ) + _request_events(service_request, EventKind.APPROVED)
    department = item.department
    _assert(
        requested,
        kind=EventKind.APPROVAL_REQUESTED,
        department=department,
        from_value=ServiceRequest.State.SUBMITTED,
        to_value=ServiceRequest.State.AWAITING_APPROVAL,
        approval=approval.pk,
        label=approval.label,
        step="",
    )
    _assert(
        approved,
        kind=EventKind.APPROVED,
        department=department,
        actor=manager,
        approval=approval.pk,
        comment="Go",
    )


def test_a_rejection_moves_the_request_and_names_its_approval(employee, manager):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)
    service_request = _submit(item, employee)
    approval = service_request.approvals.get()

    actions.approval_decide(approval=approval, user=manager, approve=False, comment="No")

    [rejected] = _request_events(service_request, EventKind.REJECTED)
    _assert(
        rejected,
        kind=EventKind.REJECTED,
        department=item.department,
        from_value=ServiceRequest.State.AWAITING_APPROVAL,
        to_value=ServiceRequest.State.REJECTED,
        actor=manager,
        approval=approval.pk,
        comment="No",
    )


def test_an_approval_nobody_can_give_is_skipped_with_its_own_kind(outsider):
    item = CatalogItemFactory()
    ApprovalStepFactory(item=item)

    service_request = _submit(item, outsider)

    approval = service_request.approvals.get()
    [skipped] = _request_events(service_request, EventKind.APPROVAL_SKIPPED)
    _assert(
        skipped,
        kind=EventKind.APPROVAL_SKIPPED,
        department=item.department,
        approval=approval.pk,
        label=approval.label,
    )
    assert approval.state == Approval.State.SKIPPED


def test_work_started_is_recorded_at_the_first_claim_only(
    employee, it_agent, department_manager, it_department
):
    item = CatalogItemFactory(department=it_department, service__department=it_department)
    with clock.travel(MON_9) as now:
        service_request = _submit(item, employee)
        task = service_request.tasks.get()
        now.to(MON_9 + dt.timedelta(minutes=20))
        actions.task_claim(task=task, agent=it_agent)
        now.to(MON_9 + dt.timedelta(minutes=30))
        actions.task_unassign(task=task, by=department_manager)
        actions.task_claim(task=task, agent=department_manager)

    [queued] = _request_events(service_request, EventKind.QUEUED)
    _assert(
        queued,
        kind=EventKind.QUEUED,
        department=item.department,
        from_value=ServiceRequest.State.SUBMITTED,
        to_value=ServiceRequest.State.IN_PROGRESS,
    )
    assert queued.occurred_at == MON_9
    [started] = _request_events(service_request, EventKind.WORK_STARTED)
    _assert(started, kind=EventKind.WORK_STARTED, department=item.department, actor=it_agent)
    assert (started.occurred_at, started.payload) == (
        MON_9 + dt.timedelta(minutes=20),
        {"task": task.pk},
    )


def test_a_reopen_records_its_reason_and_returns_to_the_queue_that_resolved_last(
    employee, it_agent, facilities_agent, it_department
):
    BusinessCalendarFactory(name="Company", is_default=True)
    facilities = facilities_agent.department_roles.get().department
    desks = QueueFactory(department=facilities, slug="desks")
    item = CatalogItemFactory(department=it_department, service__department=it_department)
    service_request = _submit(item, employee)
    first = service_request.tasks.get()
    actions.task_claim(task=first, agent=it_agent)
    received = actions.task_hand_off(task=first, agent=it_agent, to_queue=desks, reason="Desk")
    actions.task_claim(task=received, agent=facilities_agent)
    actions.task_resolve(task=received, agent=facilities_agent, resolution="Moved the desk")

    actions.service_request_reopen(
        service_request=service_request, user=employee, reason="The desk wobbles"
    )

    [reopened] = _request_events(service_request, EventKind.REOPENED)
    _assert(
        reopened,
        kind=EventKind.REOPENED,
        department=item.department,
        from_value=ServiceRequest.State.RESOLVED,
        to_value=ServiceRequest.State.IN_PROGRESS,
        actor=employee,
        reason="The desk wobbles",
        to_queue="desks",
    )
    new = service_request.tasks.get(state=FulfilmentTask.State.QUEUED)
    assert (new.queue, new.department) == (desks, facilities)


def test_closing_cancelling_and_rating_each_write_their_transition(
    employee, it_agent, it_department
):
    item = CatalogItemFactory(department=it_department, service__department=it_department)
    kept, dropped = _submit(item, employee, "kept"), _submit(item, employee, "dropped")
    actions.service_request_resolve(service_request=kept, user=it_agent, resolution="Done")
    actions.service_request_rate(service_request=kept, user=employee, score=2, comment="Slow")
    actions.service_request_cancel(service_request=dropped, user=employee, reason="Not needed")
    actions.service_requests_close_sweep(now=clock.now() + dt.timedelta(days=30))

    department = item.department
    [rated] = _request_events(kept, EventKind.RATED)
    _assert(rated, kind=EventKind.RATED, department=department, to_value="2", actor=employee)
    [closed] = _request_events(kept, EventKind.CLOSED)
    _assert(
        closed,
        kind=EventKind.CLOSED,
        department=department,
        from_value=ServiceRequest.State.RESOLVED,
        to_value=ServiceRequest.State.CLOSED,
    )
    [cancelled] = _request_events(dropped, EventKind.CANCELLED)
    _assert(
        cancelled,
        kind=EventKind.CANCELLED,
        department=department,
        from_value=ServiceRequest.State.IN_PROGRESS,
        to_value=ServiceRequest.State.CANCELLED,
        actor=employee,
    )


def test_every_kind_of_the_log_is_written_and_always_with_its_department(
    employee,
    manager,
    outsider,
    hr_agent,
    it_agent,
    facilities_agent,
    department_manager,
    hr_department,
    it_department,
    test_actions,
):
    """One small enterprise day that passes through every kind. Removing any event write,
    or writing one without its department, fails this test."""
    BusinessCalendarFactory(name="Company", is_default=True)
    facilities = facilities_agent.department_roles.get().department
    policy = SlaTargetFactory().policy
    QueueFactory(department=it_department, slug="it", is_default=True)
    fac_queue = QueueFactory(department=facilities, slug="fac", is_default=True)

    def item(department, **extra):
        return CatalogItemFactory(
            department=department, service__department=department, sla_policy=policy, **extra
        )

    plain, approved = item(it_department), item(it_department)
    ApprovalStepFactory(item=approved)
    planned = item(hr_department)
    first = plan_step(planned, "record", kind="human")
    plan_step(planned, "account", department=it_department, after=[first])
    plan_step(planned, "nap", action="test.sleep", after=[first])
    plan_step(planned, "busy", action="test.transient", after=[first])
    plan_step(planned, "refused", action="test.permanent", after=[first])
    plan_step(planned, "parking", condition_field="car", condition_value="yes")

    with clock.travel(MON_9) as now:
        # Approvals: approved, rejected, skipped (the outsider has no manager).
        kept = _submit(approved, employee, "kept")
        actions.approval_decide(approval=kept.approvals.get(), user=manager, approve=True)
        refused = _submit(approved, employee, "refused")
        actions.approval_decide(approval=refused.approvals.get(), user=manager, approve=False)
        _submit(approved, outsider, "skipped")

        # A task's life: assign, unassign, claim, priority, ask, answer, consult, hand off,
        # send back, resolve, reopen, rate; and a consult withdrawn.
        task = kept.tasks.get()
        actions.task_assign(task=task, assignee=it_agent, by=department_manager)
        actions.task_unassign(task=task, by=department_manager)
        actions.task_claim(task=task, agent=it_agent)
        actions.task_set_priority(task=task, by=department_manager, priority="high")
        actions.task_ask(task=task, agent=it_agent, question="Which model?")
        actions.comment_add(service_request=kept, author=employee, body="The small one")
        consult = actions.task_consult(
            task=task, agent=it_agent, to_queue=fac_queue, question="Desk free?"
        )
        actions.consult_answer(consult=consult, agent=facilities_agent, answer="Yes")
        withdrawn = actions.task_consult(
            task=task, agent=it_agent, to_queue=fac_queue, question="Parking?"
        )
        actions.consult_withdraw(consult=withdrawn, agent=it_agent)
        received = actions.task_hand_off(task=task, agent=it_agent, to_queue=fac_queue, reason="x")
        actions.task_claim(task=received, agent=facilities_agent)
        actions.task_send_back(task=received, agent=facilities_agent, missing="Floor")
        actions.task_resolve(task=task, agent=it_agent, resolution="Done")
        actions.service_request_reopen(service_request=kept, user=employee, reason="Again")
        reopened = kept.tasks.get(state=FulfilmentTask.State.QUEUED)
        actions.task_claim(task=reopened, agent=it_agent)
        actions.task_resolve(task=reopened, agent=it_agent, resolution="Done again")
        actions.service_request_rate(service_request=kept, user=employee, score=4)

        # A plan: skipped, pending, started, succeeded, sleeping, retried, failed, with
        # people, and cancelled with its request.
        run_for = _submit(planned, employee, "planned")
        actions.task_resolve(task=run_for.tasks.get(), agent=hr_agent, resolution="Recorded")
        for step_run in StepRun.objects.filter(state=StepRun.State.PENDING):
            actions.step_run_execute(step_run.pk)
        actions.service_request_cancel(service_request=run_for, user=employee)

        # Left open, both targets pass; the resolved request closes after its window.
        _submit(plain, employee, "forgotten")
        now.to(MON_9 + dt.timedelta(days=40))
        actions.sla_breach_sweep()
        actions.service_requests_close_sweep()

    written = set(Event.objects.values_list("kind", flat=True))
    # Kinds about people and configuration belong to no case: tests/esm/test_scim.py and
    # tests/esm/test_changes.py write them.
    assert set(EventKind.values) - CASELESS_KINDS - written == set()
    assert not Event.objects.filter(department__isnull=True).exists()
    assert not Event.objects.filter(reference="").exists()


def test_a_reopen_never_goes_to_a_department_that_only_answered_a_consult(
    employee, it_agent, facilities_agent, it_department
):
    facilities = facilities_agent.department_roles.get().department
    desks = QueueFactory(department=facilities, slug="desks")
    item = CatalogItemFactory(department=it_department, service__department=it_department)
    # All in one instant: the consult task is done as late as IT's task, and newer.
    with clock.travel(MON_9):
        service_request = _submit(item, employee)
        task = service_request.tasks.get()
        actions.task_claim(task=task, agent=it_agent)
        consult = actions.task_consult(task=task, agent=it_agent, to_queue=desks, question="?")
        actions.consult_answer(consult=consult, agent=facilities_agent, answer="Yes")
        actions.task_resolve(task=task, agent=it_agent, resolution="Done, with a desk")

        actions.service_request_reopen(service_request=service_request, user=employee, reason="No")

    new = service_request.tasks.get(state=FulfilmentTask.State.QUEUED)
    assert new.department == it_department


def test_asking_again_while_waiting_records_the_question_but_no_state_change(
    employee, it_agent, it_department
):
    item = CatalogItemFactory(department=it_department, service__department=it_department)
    task = _submit(item, employee).tasks.get()
    actions.task_claim(task=task, agent=it_agent)

    actions.task_ask(task=task, agent=it_agent, question="Which model?")
    actions.task_ask(
        task=task, agent=it_agent, question="And the charger?", missing_information=True
    )

    asked = Event.objects.for_subject(task).filter(kind=EventKind.WAITING_ON_EMPLOYEE)
    assert [(e.from_value, e.to_value, e.payload["missing_information"]) for e in asked] == [
        (FulfilmentTask.State.IN_PROGRESS, FulfilmentTask.State.WAITING_ON_EMPLOYEE, False),
        ("", "", True),
    ]
