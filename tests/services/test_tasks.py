"""Fulfilment tasks in department queues: claim, work, ask, hand off, send back, resolve."""

import datetime as dt
import uuid
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import transaction
from django.urls import reverse

from esm import clock
from esm.models import DepartmentRole, Event, EventKind
from services import actions, notifications, sla
from services.actions import ActionRefused, StaleVersion
from services.actions._base import request_lock
from services.actions.tasks import task_open_for_request
from services.models import Comment, FulfilmentTask, ServiceRequest
from services.selectors import comments_for_viewer, timeline_for_viewer
from services.tasks import sla_breach_sweep_task
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    DepartmentRoleFactory,
    UserFactory,
)
from tests.services.factories import (
    CannedReplyFactory,
    CatalogItemFactory,
    QueueFactory,
    SlaPolicyFactory,
    SlaTargetFactory,
)

pytestmark = pytest.mark.django_db

TaskState = FulfilmentTask.State
RequestState = ServiceRequest.State
LONDON = ZoneInfo("Europe/London")
# Monday 2 November 2026; London is on GMT, so these wall-clock times are also UTC.
MON, TUE, WED, THU = (dt.date(2026, 11, day) for day in range(2, 6))


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def _task_url(task):
    return f"{django_settings.PORTAL_BASE_URL}{reverse('task_detail', args=[task.pk])}"


# -- the enterprise under test --------------------------------------------------------------


@pytest.fixture(autouse=True)
def company_calendar(db):
    """Monday to Friday 09:00-17:00 in London, for every department without its own."""
    return BusinessCalendarFactory(name="Company", time_zone="Europe/London", is_default=True)


@pytest.fixture
def it_queue(it_department):
    return QueueFactory(
        department=it_department, name="IT Service Desk", slug="it-desk", is_default=True
    )


@pytest.fixture
def it_access_queue(it_department):
    return QueueFactory(department=it_department, name="IT Access", slug="it-access")


@pytest.fixture
def facilities_queue(facilities_department):
    return QueueFactory(
        department=facilities_department, name="Workplace", slug="workplace", is_default=True
    )


@pytest.fixture
def hr_queue(hr_department):
    return QueueFactory(department=hr_department, name="HR Cases", slug="hr-cases", is_default=True)


@pytest.fixture
def hr_relations_queue(hr_department):
    return QueueFactory(department=hr_department, name="Employee Relations", slug="hr-relations")


@pytest.fixture
def it_colleague(it_department):
    colleague = UserFactory(username="it_colleague", first_name="Cleo", last_name="Colleague")
    DepartmentRoleFactory(user=colleague, department=it_department)
    return colleague


@pytest.fixture
def hr_manager(hr_department):
    boss = UserFactory(username="hr_manager")
    DepartmentRoleFactory(user=boss, department=hr_department, role=DepartmentRole.Role.MANAGER)
    return boss


@pytest.fixture
def it_item(it_department, it_queue):
    return CatalogItemFactory(service__department=it_department, name="Laptop repair")


@pytest.fixture
def policy():
    """Normal: respond in 1 business hour, resolve in 16; high: 30 minutes and 8 hours."""
    policy = SlaPolicyFactory(name="Standard")
    SlaTargetFactory(policy=policy, priority="normal", response_minutes=60, resolution_minutes=960)
    SlaTargetFactory(policy=policy, priority="high", response_minutes=30, resolution_minutes=480)
    return policy


def _submit(item, requester, subject="Laptop will not start"):
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=requester,
        subject=subject,
        answers=[],
        submission_key=uuid.uuid4().hex,
    )
    return service_request


def _task(item, requester, **kwargs):
    """A new request's task, waiting in its department's default queue."""
    return _submit(item, requester, **kwargs).tasks.get()


def _refresh(*objects):
    for obj in objects:
        obj.refresh_from_db()


def _mark():
    """The newest event id: what a test compares against to see what an action recorded."""
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events(subject, since=0):
    return list(Event.objects.for_subject(subject).filter(id__gt=since))


def _kinds(subject, since=0):
    return [event.kind for event in _events(subject, since)]


def _snapshot(task):
    task = FulfilmentTask.objects.get(pk=task.pk)
    return {
        field.attname: getattr(task, field.attname)
        for field in FulfilmentTask._meta.concrete_fields
    }


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what the actions schedule after commit, letting any error surface.

    (The actions schedule notifications as robust callbacks: executed by the test helper
    they would only log a failure, and an e-mail test could pass on an empty outbox.)
    """

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks() as callbacks:
            yield callbacks
        for callback in callbacks:
            callback()

    return run


# -- claim, take next, assign, unassign ----------------------------------------------------


def test_claim_takes_the_task_and_writes_one_event(employee, it_item, it_agent, it_department):
    with clock.travel(at(MON, 9)):
        task = _task(it_item, employee)
    since = _mark()

    with clock.travel(at(MON, 9, 20)):
        claimed = actions.task_claim(task=task, agent=it_agent, expected_version=task.version)

    task.refresh_from_db()
    assert (task.state, task.assignee, task.version) == (TaskState.IN_PROGRESS, it_agent, 2)
    assert task.claimed_at == task.responded_at == at(MON, 9, 20)
    assert claimed == task
    [event] = _events(task, since)
    assert event.payload["assignee"] == it_agent.pk
    assert (event.kind, event.actor, event.to_value, event.department) == (
        EventKind.CLAIMED,
        it_agent,
        TaskState.IN_PROGRESS,
        it_department,
    )
    assert (event.reference, event.payload) == (
        task.service_request.reference,
        {"version": 2, "assignee": it_agent.pk},
    )
    [started] = _events(task.service_request, since)
    assert (started.kind, started.actor, started.payload) == (
        EventKind.WORK_STARTED,
        it_agent,
        {"task": task.pk},
    )


def test_a_task_claimed_by_one_agent_is_refused_to_another(
    employee, it_item, it_agent, it_colleague
):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_colleague)
    before, since = _snapshot(task), _mark()

    with pytest.raises(ActionRefused, match="Cleo Colleague is already working on this task"):
        actions.task_claim(task=task, agent=it_agent)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


def test_claiming_a_task_you_already_hold_changes_nothing(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    before = _snapshot(task)

    actions.task_claim(task=task, agent=it_agent)

    assert _snapshot(task)["version"] == before["version"]
    assert _kinds(task) == [EventKind.QUEUED, EventKind.CLAIMED]


def test_agents_of_another_department_cannot_claim(
    employee, it_item, hr_agent, facilities_agent, outsider
):
    task = _task(it_item, employee)
    before, since = _snapshot(task), _mark()

    for stranger in (hr_agent, facilities_agent, outsider, employee):
        with pytest.raises(ActionRefused, match="does not work in this department"):
            actions.task_claim(task=task, agent=stranger)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


def test_a_closed_task_cannot_be_claimed(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_resolve(task=task, agent=it_agent, resolution="Rebooted")
    before = _snapshot(task)

    with pytest.raises(ActionRefused, match="is done; it can no longer change"):
        actions.task_claim(task=task, agent=it_agent)

    assert _snapshot(task) == before


def test_take_next_gives_the_most_urgent_unclaimed_task(
    employee, it_department, it_queue, it_agent, it_colleague, policy
):
    normal = CatalogItemFactory(service__department=it_department, sla_policy=policy)
    high = CatalogItemFactory(
        service__department=it_department, sla_policy=policy, default_priority="high"
    )
    with clock.travel(at(MON, 9)):
        no_sla = _task(CatalogItemFactory(service__department=it_department), employee)
    with clock.travel(at(MON, 10, 45)):
        older = _task(normal, employee)  # due Wednesday 10:45
        claimed = _task(high, employee)  # due Tuesday 10:45, but a colleague has it
        actions.task_claim(task=claimed, agent=it_colleague)
    with clock.travel(at(MON, 11)):
        urgent = _task(high, employee)  # newer, yet due first: Tuesday 11:00
    with clock.travel(at(MON, 11, 10)):
        since = _mark()

        taken = [actions.task_take_next(queue=it_queue, agent=it_agent) for _ in range(4)]

    assert taken == [urgent, older, no_sla, None]
    for task in taken[:3]:
        task.refresh_from_db()
        assert (task.state, task.assignee) == (TaskState.IN_PROGRESS, it_agent)
        assert _kinds(task, since) == [EventKind.CLAIMED]
    claimed.refresh_from_db()
    assert claimed.assignee == it_colleague


def test_take_next_on_an_empty_queue_gives_nothing(it_queue, it_agent):
    assert actions.task_take_next(queue=it_queue, agent=it_agent) is None
    assert not Event.objects.exists()


def test_take_next_skips_tasks_waiting_on_the_employee(employee, it_item, it_queue, it_agent):
    task = _task(it_item, employee)
    actions.task_ask(task=task, agent=it_agent, question="Which laptop?")

    assert actions.task_take_next(queue=it_queue, agent=it_agent) is None


def test_take_next_only_for_the_queues_department(employee, it_item, it_queue, hr_agent):
    task = _task(it_item, employee)
    before = _snapshot(task)

    with pytest.raises(ActionRefused):
        actions.task_take_next(queue=it_queue, agent=hr_agent)

    assert _snapshot(task) == before


def test_assign_to_a_colleague_writes_one_event_and_emails_them(
    employee, it_item, it_agent, department_manager, on_commit
):
    task = _task(it_item, employee)
    since = _mark()

    with on_commit():
        actions.task_assign(task=task, assignee=it_agent, by=department_manager)

    task.refresh_from_db()
    assert (task.state, task.assignee) == (TaskState.IN_PROGRESS, it_agent)
    [event] = _events(task, since)
    assert event.payload["assignee"] == it_agent.pk
    assert (event.kind, event.actor, event.to_value) == (
        EventKind.ASSIGNED,
        department_manager,
        TaskState.IN_PROGRESS,
    )
    [message] = mail.outbox
    assert message.to == ["it_agent@example.com"]
    assert message.subject == f"Assigned to you: {task.service_request.reference} {task.title}"
    assert _task_url(task) in message.body


def test_assigning_to_oneself_is_a_claim_without_email(employee, it_item, it_agent, on_commit):
    task = _task(it_item, employee)
    since = _mark()

    with on_commit():
        actions.task_assign(task=task, assignee=it_agent, by=it_agent)

    assert _kinds(task, since) == [EventKind.CLAIMED]
    assert mail.outbox == []


def test_assigning_to_the_current_assignee_changes_nothing(
    employee, it_item, it_agent, department_manager
):
    task = _task(it_item, employee)
    actions.task_assign(task=task, assignee=it_agent, by=department_manager)
    before, since = _snapshot(task), _mark()

    actions.task_assign(task=task, assignee=it_agent, by=department_manager)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


def test_assign_to_an_agent_of_another_department_is_refused(
    employee, it_item, hr_agent, department_manager, on_commit
):
    task = _task(it_item, employee)
    before, since = _snapshot(task), _mark()

    with on_commit(), pytest.raises(ActionRefused, match="does not work in this department"):
        actions.task_assign(task=task, assignee=hr_agent, by=department_manager)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0
    assert mail.outbox == []


def test_unassign_returns_the_task_to_the_queue(employee, it_item, it_agent, department_manager):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    since = _mark()

    actions.task_unassign(task=task, by=department_manager)

    task.refresh_from_db()
    assert (task.state, task.assignee) == (TaskState.QUEUED, None)
    [event] = _events(task, since)
    assert event.payload["previous_assignee"] == it_agent.pk
    assert (event.kind, event.actor, event.from_value) == (
        EventKind.UNASSIGNED,
        department_manager,
        TaskState.IN_PROGRESS,
    )


def test_unassigning_an_unassigned_task_changes_nothing(employee, it_item, it_agent):
    task = _task(it_item, employee)
    before, since = _snapshot(task), _mark()

    actions.task_unassign(task=task, by=it_agent)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


def test_unassigning_a_task_waiting_on_the_employee_keeps_it_waiting(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    actions.task_ask(task=task, agent=it_agent, question="Which model?")

    actions.task_unassign(task=task, by=it_agent)

    task.refresh_from_db()
    assert (task.state, task.assignee) == (TaskState.WAITING_ON_EMPLOYEE, None)


# -- reply, internal note, ask, the employee's answer ---------------------------------------


def test_public_reply_is_the_first_response_and_emails_the_employee(
    employee, it_item, it_agent, on_commit
):
    with clock.travel(at(MON, 9)):
        task = _task(it_item, employee)
    since = _mark()

    with clock.travel(at(MON, 9, 10)), on_commit():
        comment = actions.task_reply(task=task, agent=it_agent, body="On my way to your desk.")
    with clock.travel(at(MON, 11)):
        actions.task_reply(task=task, agent=it_agent, body="Fixed, I think.")

    task.refresh_from_db()
    assert task.responded_at == at(MON, 9, 10)
    assert (comment.author, comment.is_internal) == (it_agent, False)
    assert _events(task, since) == []  # a reply is no transition of the task
    assert [(e.kind, e.to_value) for e in _events(task.service_request, since)] == [
        (EventKind.COMMENTED, Comment.PUBLIC),
        (EventKind.COMMENTED, Comment.PUBLIC),
    ]
    [message] = mail.outbox  # the second reply ran outside `on_commit`: nothing sent
    reference = task.service_request.reference
    assert message.to == ["employee@example.com"]
    assert message.subject.startswith(f"{reference}: a reply from ")
    assert "On my way to your desk." in message.body
    assert f"/requests/{reference}/" in message.body


def test_reply_on_a_closed_task_is_refused(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_resolve(task=task, agent=it_agent, resolution="Done")

    with pytest.raises(ActionRefused):
        actions.task_reply(task=task, agent=it_agent, body="One more thing")

    assert not Comment.objects.exists()


def test_internal_note_never_emails_and_never_reaches_the_employee(
    employee, it_item, it_agent, on_commit
):
    task = _task(it_item, employee)
    since = _mark()

    with on_commit() as callbacks:
        note = actions.task_note(task=task, agent=it_agent, body="Suspect the docking station.")

    assert note.is_internal
    assert callbacks == []
    assert mail.outbox == []
    assert _events(task, since) == []
    service_request = task.service_request
    assert note not in comments_for_viewer(user=employee, service_request=service_request)
    assert note in comments_for_viewer(user=it_agent, service_request=service_request)
    employee_timeline = timeline_for_viewer(user=employee, service_request=service_request)
    assert Comment.INTERNAL not in [event.to_value for event in employee_timeline]
    task.refresh_from_db()
    assert task.responded_at is None  # a note is not a response to the employee


def test_ask_waits_on_the_employee_pauses_the_clock_and_emails_the_question(
    employee, it_item, it_agent, on_commit
):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    since = _mark()

    with clock.travel(at(MON, 10)), on_commit():
        question = actions.task_ask(
            task=task, agent=it_agent, question="Does it show a blinking light?"
        )

    task.refresh_from_db()
    service_request = task.service_request
    service_request.refresh_from_db()
    assert task.state == TaskState.WAITING_ON_EMPLOYEE
    assert task.sla_paused_at == at(MON, 10)
    assert service_request.state == RequestState.WAITING_ON_EMPLOYEE
    [event] = _events(task, since)
    assert (event.kind, event.from_value, event.to_value, event.actor) == (
        EventKind.WAITING_ON_EMPLOYEE,
        TaskState.IN_PROGRESS,
        TaskState.WAITING_ON_EMPLOYEE,
        it_agent,
    )
    assert [(e.kind, e.to_value) for e in _events(service_request, since)] == [
        (EventKind.COMMENTED, Comment.PUBLIC),
        (EventKind.WAITING_ON_EMPLOYEE, RequestState.WAITING_ON_EMPLOYEE),
    ]
    assert question in comments_for_viewer(user=employee, service_request=service_request)
    [message] = mail.outbox
    assert message.to == ["employee@example.com"]
    assert message.subject == f"{service_request.reference}: we need something from you"
    assert "Does it show a blinking light?" in message.body
    request_page = reverse("request_detail", args=[service_request.reference])
    assert f"{django_settings.PORTAL_BASE_URL}{request_page}" in message.body


def test_the_employees_answer_resumes_the_task_and_shifts_its_clock(
    employee, it_department, it_agent, policy
):
    item = CatalogItemFactory(service__department=it_department, sla_policy=policy)
    with clock.travel(at(MON, 9)):
        task = _task(item, employee)  # normal: due Tuesday 17:00
        actions.task_claim(task=task, agent=it_agent)
    with clock.travel(at(MON, 13)):
        actions.task_ask(task=task, agent=it_agent, question="Which model?")
    since = _mark()

    with clock.travel(at(WED, 9)):
        actions.comment_add(service_request=task.service_request, author=employee, body="X1")

    task.refresh_from_db()
    service_request = task.service_request
    service_request.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    assert task.sla_paused_at is None
    # Twelve business hours were left at the pause: Wednesday and half of Thursday.
    assert task.resolution_due_at == at(THU, 13)
    [event] = _events(task, since)
    assert (event.kind, event.from_value, event.to_value, event.actor) == (
        EventKind.RESUMED,
        TaskState.WAITING_ON_EMPLOYEE,
        TaskState.IN_PROGRESS,
        employee,
    )
    assert service_request.state == RequestState.IN_PROGRESS
    assert _kinds(service_request, since) == [EventKind.COMMENTED, EventKind.RESUMED]


def test_an_answer_to_an_unclaimed_task_puts_it_back_in_the_queue(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_ask(task=task, agent=it_agent, question="Which model?")

    actions.comment_add(service_request=task.service_request, author=employee, body="X1")

    task.refresh_from_db()
    assert task.state == TaskState.QUEUED


def test_only_the_employee_speaking_resumes_the_task(employee, it_item, it_agent, it_colleague):
    task = _task(it_item, employee)
    actions.task_ask(task=task, agent=it_agent, question="Which model?")
    since = _mark()

    actions.comment_add(
        service_request=task.service_request, author=it_colleague, body="I'll chase them."
    )

    task.refresh_from_db()
    assert task.state == TaskState.WAITING_ON_EMPLOYEE
    assert task.sla_paused_at is not None
    assert _events(task, since) == []


def test_an_answer_resumes_a_task_without_sla_even_with_no_calendar(
    employee, it_item, it_agent, company_calendar
):
    company_calendar.delete()
    task = _task(it_item, employee)
    actions.task_ask(task=task, agent=it_agent, question="Which model?")

    actions.comment_add(service_request=task.service_request, author=employee, body="X1")

    task.refresh_from_db()
    assert task.state == TaskState.QUEUED


# -- resolve ---------------------------------------------------------------------------------


def test_resolve_needs_a_resolution_note(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    before, since = _snapshot(task), _mark()

    with pytest.raises(ActionRefused, match="resolution note"):
        actions.task_resolve(task=task, agent=it_agent, resolution="  \n")

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


def test_resolving_the_last_open_task_resolves_the_request_and_emails_the_employee(
    employee, it_item, it_agent, on_commit
):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    since = _mark()

    with clock.travel(at(MON, 15)), on_commit():
        actions.task_resolve(task=task, agent=it_agent, resolution="Replaced the battery.")

    task.refresh_from_db()
    service_request = task.service_request
    service_request.refresh_from_db()
    assert (task.state, task.done_at, task.resolution) == (
        TaskState.DONE,
        at(MON, 15),
        "Replaced the battery.",
    )
    [event] = _events(task, since)
    assert (event.kind, event.from_value, event.to_value) == (
        EventKind.RESOLVED,
        TaskState.IN_PROGRESS,
        TaskState.DONE,
    )
    assert (service_request.state, service_request.resolved_at) == (
        RequestState.RESOLVED,
        at(MON, 15),
    )
    assert service_request.resolution == "Replaced the battery."
    assert _kinds(service_request, since) == [EventKind.RESOLVED]
    [message] = mail.outbox
    assert message.to == ["employee@example.com"]
    assert message.subject == f"{service_request.reference} is resolved"
    assert "Replaced the battery." in message.body


def _open_parallel_task(service_request, *, actor):
    """A second task on the same request (fulfilment plans will fan requests out like this)."""
    with transaction.atomic():
        locked = request_lock(service_request)
        return task_open_for_request(locked, actor=actor, title="Image the laptop")


def test_a_request_stays_in_progress_while_another_task_is_open(
    employee, it_item, it_agent, on_commit
):
    service_request = _submit(it_item, employee)
    first = service_request.tasks.get()
    second = _open_parallel_task(service_request, actor=it_agent)

    with on_commit():
        actions.task_resolve(task=second, agent=it_agent, resolution="Laptop imaged")
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS
    assert mail.outbox == []

    with on_commit():
        actions.task_resolve(task=first, agent=it_agent, resolution="Battery replaced")
    service_request.refresh_from_db()
    assert service_request.state == RequestState.RESOLVED
    assert service_request.resolution == "Battery replaced"
    [message] = mail.outbox
    assert message.subject == f"{service_request.reference} is resolved"


def test_a_request_waits_on_the_employee_while_any_task_does(
    employee, it_item, it_agent, on_commit
):
    service_request = _submit(it_item, employee)
    asking = service_request.tasks.get()
    other = _open_parallel_task(service_request, actor=it_agent)
    actions.task_ask(task=asking, agent=it_agent, question="Which model?")

    with on_commit():
        actions.task_resolve(task=other, agent=it_agent, resolution="Imaged")

    service_request.refresh_from_db()
    assert service_request.state == RequestState.WAITING_ON_EMPLOYEE
    assert mail.outbox == []


def test_resolving_the_whole_request_closes_its_open_tasks(employee, it_item, it_agent):
    service_request = _submit(it_item, employee)
    waiting = service_request.tasks.get()
    queued = _open_parallel_task(service_request, actor=it_agent)
    actions.task_ask(task=waiting, agent=it_agent, question="Which model?")
    since = _mark()

    with clock.travel(at(MON, 16)):
        actions.service_request_resolve(
            service_request=service_request, user=None, resolution="Replaced under warranty"
        )

    _refresh(waiting, queued)
    for task, previous in ((waiting, TaskState.WAITING_ON_EMPLOYEE), (queued, TaskState.QUEUED)):
        assert (task.state, task.done_at, task.sla_paused_at) == (TaskState.DONE, at(MON, 16), None)
        assert task.resolution == "Replaced under warranty"
        [event] = _events(task, since)
        assert (event.kind, event.actor, event.from_value, event.to_value) == (
            EventKind.RESOLVED,
            None,
            previous,
            TaskState.DONE,
        )


# -- hand off and send back ------------------------------------------------------------------


def test_hand_off_creates_the_task_in_the_other_queue_and_closes_this_one(
    employee,
    it_item,
    it_agent,
    it_department,
    facilities_department,
    facilities_queue,
):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    task.refresh_from_db()
    since = _mark()

    with clock.travel(at(MON, 11)):
        received = actions.task_hand_off(
            task=task,
            agent=it_agent,
            to_queue=facilities_queue,
            reason="The desk power socket is dead",
            expected_version=task.version,
        )

    task.refresh_from_db()
    service_request = task.service_request
    service_request.refresh_from_db()
    assert (task.state, task.done_at) == (TaskState.HANDED_OFF, at(MON, 11))
    assert (received.queue, received.department, received.state, received.assignee) == (
        facilities_queue,
        facilities_department,
        TaskState.QUEUED,
        None,
    )
    assert (received.handed_off_from, received.handoff_reason) == (
        task,
        "The desk power socket is dead",
    )
    assert (received.title, received.priority) == (task.title, task.priority)
    [handoff] = _events(task, since)
    assert (handoff.kind, handoff.from_value, handoff.to_value) == (
        EventKind.HANDED_OFF,
        TaskState.IN_PROGRESS,
        TaskState.HANDED_OFF,
    )
    assert (handoff.department, handoff.from_department, handoff.to_department) == (
        it_department,
        it_department,
        facilities_department,
    )
    assert handoff.payload == {
        "version": task.version,
        "to_task": received.pk,
        "reason": "The desk power socket is dead",
    }
    [queued] = _events(received, since)
    assert (queued.kind, queued.department, queued.payload["queue"]) == (
        EventKind.QUEUED,
        facilities_department,
        "workplace",
    )
    assert service_request.state == RequestState.IN_PROGRESS
    assert _events(service_request, since) == []


def test_hand_off_within_the_department_to_another_queue(
    employee, it_item, it_agent, it_department, it_access_queue
):
    task = _task(it_item, employee)

    received = actions.task_hand_off(
        task=task, agent=it_agent, to_queue=it_access_queue, reason="Needs an access change"
    )

    assert (received.queue, received.department) == (it_access_queue, it_department)
    handoff = Event.objects.for_subject(task).get(kind=EventKind.HANDED_OFF)
    assert (handoff.from_department, handoff.to_department) == (it_department, it_department)


@pytest.mark.parametrize(
    ("queue", "reason", "message"),
    [
        pytest.param("it_queue", "Wrong place", "already in that queue", id="same-queue"),
        pytest.param("facilities_queue", " ", "Say why", id="no-reason"),
    ],
)
def test_hand_off_refusals_change_nothing(
    request, employee, it_item, it_agent, facilities_queue, queue, reason, message
):
    task = _task(it_item, employee)
    before, since = _snapshot(task), _mark()

    with pytest.raises(ActionRefused, match=message):
        actions.task_hand_off(
            task=task, agent=it_agent, to_queue=request.getfixturevalue(queue), reason=reason
        )

    assert _snapshot(task) == before
    assert FulfilmentTask.objects.count() == 1
    assert Event.objects.filter(id__gt=since).count() == 0


def test_a_confidential_case_is_never_handed_outside_its_department(
    employee, hr_department, hr_queue, hr_relations_queue, hr_agent, it_queue
):
    item = CatalogItemFactory(service__department=hr_department, is_confidential=True)
    task = _task(item, employee, subject="Grievance")
    before, since = _snapshot(task), _mark()

    with pytest.raises(ActionRefused, match="confidential case stays within its department"):
        actions.task_hand_off(task=task, agent=hr_agent, to_queue=it_queue, reason="Laptop too")

    assert _snapshot(task) == before
    assert FulfilmentTask.objects.count() == 1
    assert Event.objects.filter(id__gt=since).count() == 0

    received = actions.task_hand_off(
        task=task, agent=hr_agent, to_queue=hr_relations_queue, reason="Employee relations"
    )
    assert received.department == hr_department
    assert all(Event.objects.for_subject(received).values_list("is_confidential", flat=True))


def test_send_back_reopens_the_senders_task_and_records_it(
    employee,
    it_item,
    it_agent,
    it_department,
    facilities_agent,
    facilities_department,
    facilities_queue,
):
    sender = _task(it_item, employee)
    actions.task_claim(task=sender, agent=it_agent)
    received = actions.task_hand_off(
        task=sender, agent=it_agent, to_queue=facilities_queue, reason="Needs a desk"
    )
    actions.task_claim(task=received, agent=facilities_agent)
    since = _mark()

    with clock.travel(at(TUE, 10)):
        reopened = actions.task_send_back(
            task=received, agent=facilities_agent, missing="Which building and floor?"
        )

    _refresh(sender, received)
    assert reopened == sender
    assert (received.state, received.done_at) == (TaskState.CANCELLED, at(TUE, 10))
    assert (sender.state, sender.assignee, sender.done_at) == (
        TaskState.IN_PROGRESS,
        it_agent,
        None,
    )
    [sent_back] = _events(received, since)
    assert (sent_back.kind, sent_back.actor, sent_back.from_value, sent_back.to_value) == (
        EventKind.SENT_BACK,
        facilities_agent,
        TaskState.IN_PROGRESS,
        TaskState.CANCELLED,
    )
    assert (sent_back.from_department, sent_back.to_department) == (
        facilities_department,
        it_department,
    )
    assert sent_back.payload["missing"] == "Which building and floor?"
    assert sent_back.payload["to_task"] == sender.pk
    [reopen] = _events(sender, since)
    assert (reopen.kind, reopen.from_value, reopen.to_value, reopen.department) == (
        EventKind.RETURNED,
        TaskState.HANDED_OFF,
        TaskState.IN_PROGRESS,
        it_department,
    )
    service_request = sender.service_request
    service_request.refresh_from_db()
    assert service_request.state == RequestState.IN_PROGRESS


def test_a_sent_back_task_without_assignee_reopens_in_the_queue(
    employee, it_item, it_agent, facilities_agent, facilities_queue
):
    sender = _task(it_item, employee)
    received = actions.task_hand_off(
        task=sender, agent=it_agent, to_queue=facilities_queue, reason="Needs a desk"
    )

    actions.task_send_back(task=received, agent=facilities_agent, missing="Which floor?")

    sender.refresh_from_db()
    assert sender.state == TaskState.QUEUED


@pytest.mark.parametrize(
    ("handed_off", "missing", "message"),
    [
        pytest.param(False, "Which floor?", "Only a task handed off", id="not-handed-off"),
        pytest.param(True, "", "Say what is missing", id="nothing-missing"),
    ],
)
def test_send_back_refusals_change_nothing(
    employee, it_item, it_agent, facilities_agent, facilities_queue, handed_off, missing, message
):
    task = _task(it_item, employee)
    if handed_off:
        task = actions.task_hand_off(
            task=task, agent=it_agent, to_queue=facilities_queue, reason="Needs a desk"
        )
    before = {t.pk: _snapshot(t) for t in FulfilmentTask.objects.all()}
    since = _mark()

    with pytest.raises(ActionRefused, match=message):
        actions.task_send_back(task=task, agent=facilities_agent, missing=missing)

    assert {t.pk: _snapshot(t) for t in FulfilmentTask.objects.all()} == before
    assert Event.objects.filter(id__gt=since).count() == 0


# -- every transition writes exactly one event on the task -----------------------------------


def test_a_whole_journey_writes_one_event_per_transition(
    employee,
    it_item,
    it_agent,
    it_colleague,
    department_manager,
    it_department,
    facilities_agent,
    facilities_department,
    facilities_queue,
):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    actions.task_ask(task=task, agent=it_agent, question="Which model?")
    actions.comment_add(service_request=task.service_request, author=employee, body="X1")
    actions.task_unassign(task=task, by=department_manager)
    actions.task_assign(task=task, assignee=it_colleague, by=department_manager)
    actions.task_set_priority(task=task, by=department_manager, priority="high")
    received = actions.task_hand_off(
        task=task, agent=it_colleague, to_queue=facilities_queue, reason="Desk too"
    )
    actions.task_claim(task=received, agent=facilities_agent)
    actions.task_send_back(task=received, agent=facilities_agent, missing="Which floor?")
    actions.task_resolve(task=task, agent=it_colleague, resolution="Fixed, no desk needed")

    def story(subject):
        return [
            (e.kind, e.from_value, e.to_value, e.department, e.payload["version"])
            for e in _events(subject)
        ]

    waiting = TaskState.WAITING_ON_EMPLOYEE
    assert story(task) == [
        (EventKind.QUEUED, "", TaskState.QUEUED, it_department, 1),
        (EventKind.CLAIMED, TaskState.QUEUED, TaskState.IN_PROGRESS, it_department, 2),
        (EventKind.WAITING_ON_EMPLOYEE, TaskState.IN_PROGRESS, waiting, it_department, 3),
        (EventKind.RESUMED, waiting, TaskState.IN_PROGRESS, it_department, 4),
        (EventKind.UNASSIGNED, TaskState.IN_PROGRESS, TaskState.QUEUED, it_department, 5),
        (EventKind.ASSIGNED, TaskState.QUEUED, TaskState.IN_PROGRESS, it_department, 6),
        (EventKind.PRIORITY_CHANGED, "normal", "high", it_department, 7),
        (EventKind.HANDED_OFF, TaskState.IN_PROGRESS, TaskState.HANDED_OFF, it_department, 8),
        (EventKind.RETURNED, TaskState.HANDED_OFF, TaskState.IN_PROGRESS, it_department, 9),
        (EventKind.RESOLVED, TaskState.IN_PROGRESS, TaskState.DONE, it_department, 10),
    ]
    assert story(received) == [
        (EventKind.QUEUED, "", TaskState.QUEUED, facilities_department, 1),
        (EventKind.CLAIMED, TaskState.QUEUED, TaskState.IN_PROGRESS, facilities_department, 2),
        (
            EventKind.SENT_BACK,
            TaskState.IN_PROGRESS,
            TaskState.CANCELLED,
            facilities_department,
            3,
        ),
    ]
    _refresh(task, received)
    assert (task.version, received.version) == (10, 3)
    assert _kinds(task.service_request) == [
        EventKind.SUBMITTED,
        EventKind.QUEUED,
        EventKind.WORK_STARTED,
        EventKind.COMMENTED,
        EventKind.WAITING_ON_EMPLOYEE,
        EventKind.COMMENTED,
        EventKind.RESUMED,
        EventKind.RESOLVED,
    ]


def test_cancelling_the_request_cancels_its_open_tasks(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_agent)
    since = _mark()

    actions.service_request_cancel(service_request=task.service_request, user=employee)

    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert [(e.kind, e.from_value, e.to_value) for e in _events(task, since)] == [
        (EventKind.CANCELLED, TaskState.IN_PROGRESS, TaskState.CANCELLED)
    ]


# -- optimistic versions: who changed what -------------------------------------------------


def _stale_calls(it_agent, department_manager, facilities_queue):
    return {
        "claim": lambda task, v: actions.task_claim(task=task, agent=it_agent, expected_version=v),
        "assign": lambda task, v: actions.task_assign(
            task=task, assignee=it_agent, by=department_manager, expected_version=v
        ),
        "unassign": lambda task, v: actions.task_unassign(
            task=task, by=it_agent, expected_version=v
        ),
        "reply": lambda task, v: actions.task_reply(
            task=task, agent=it_agent, body="Hello", expected_version=v
        ),
        "ask": lambda task, v: actions.task_ask(
            task=task, agent=it_agent, question="Which one?", expected_version=v
        ),
        "resolve": lambda task, v: actions.task_resolve(
            task=task, agent=it_agent, resolution="Done", expected_version=v
        ),
        "hand_off": lambda task, v: actions.task_hand_off(
            task=task, agent=it_agent, to_queue=facilities_queue, reason="Desk", expected_version=v
        ),
        "set_priority": lambda task, v: actions.task_set_priority(
            task=task, by=it_agent, priority="high", expected_version=v
        ),
    }


@pytest.mark.parametrize(
    "action",
    ["claim", "assign", "unassign", "reply", "ask", "resolve", "hand_off", "set_priority"],
)
def test_a_stale_version_says_who_changed_what_and_saves_nothing(
    action,
    employee,
    it_item,
    it_agent,
    it_colleague,
    department_manager,
    facilities_queue,
    on_commit,
):
    task = _task(it_item, employee)
    opened_version = task.version  # the agent opens the task page...
    actions.task_claim(task=task, agent=it_colleague)  # ...a colleague takes it meanwhile
    actions.task_set_priority(task=task, by=it_colleague, priority="low")
    before, since = _snapshot(task), _mark()
    call = _stale_calls(it_agent, department_manager, facilities_queue)[action]

    with on_commit(), pytest.raises(StaleVersion) as refused:
        call(task, opened_version)

    assert str(refused.value) == (
        "This task changed while you had it open "
        "(Cleo Colleague claimed; Cleo Colleague priority changed). "
        "Nothing was saved; review it and try again."
    )
    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0
    assert FulfilmentTask.objects.count() == 1
    assert not Comment.objects.exists()
    assert mail.outbox == []


def test_the_current_version_goes_through(employee, it_item, it_agent, it_colleague):
    task = _task(it_item, employee)
    actions.task_claim(task=task, agent=it_colleague)
    task.refresh_from_db()

    actions.task_resolve(
        task=task, agent=it_colleague, resolution="Done", expected_version=task.version
    )

    task.refresh_from_db()
    assert task.state == TaskState.DONE


def test_a_stale_version_after_a_colleagues_reply_names_them(
    employee, it_item, it_agent, it_colleague
):
    task = _task(it_item, employee)
    opened_version = task.version
    actions.task_reply(task=task, agent=it_colleague, body="Looking into it")

    with pytest.raises(StaleVersion, match="Cleo Colleague"):
        actions.task_claim(task=task, agent=it_agent, expected_version=opened_version)


def test_a_stale_version_names_the_system_when_nobody_acted(employee, it_item, it_agent):
    task = _task(it_item, employee)
    actions.service_request_resolve(
        service_request=task.service_request, user=None, resolution="Closed by an automation"
    )

    with pytest.raises(StaleVersion, match=r"\(The system resolved\)"):
        actions.task_claim(task=task, agent=it_agent, expected_version=1)


def test_setting_the_same_priority_changes_nothing(employee, it_item, it_agent):
    task = _task(it_item, employee)
    before, since = _snapshot(task), _mark()

    actions.task_set_priority(task=task, by=it_agent, priority=task.priority)

    assert _snapshot(task) == before
    assert Event.objects.filter(id__gt=since).count() == 0


# -- bulk actions ------------------------------------------------------------------------------


def test_bulk_assign_reports_the_refused_ones(
    employee, it_item, it_agent, department_manager, facilities_queue, on_commit
):
    first, second, handed_off = (_task(it_item, employee) for _ in range(3))
    actions.task_hand_off(task=handed_off, agent=it_agent, to_queue=facilities_queue, reason="Desk")
    chosen = FulfilmentTask.objects.filter(pk__in=[first.pk, second.pk, handed_off.pk])

    with on_commit():
        changed, refused = actions.tasks_assign_bulk(
            tasks=chosen, assignee=it_agent, by=department_manager
        )

    assert changed == 2
    assert refused == [
        f"{handed_off.service_request.reference}: This task is handed off; it can no longer change."
    ]
    assert set(FulfilmentTask.objects.filter(assignee=it_agent)) == {first, second}
    assert len(mail.outbox) == 2


def test_bulk_assign_to_an_agent_of_another_department_refuses_each(
    employee, it_item, hr_agent, department_manager
):
    tasks = [_task(it_item, employee) for _ in range(2)]
    since = _mark()

    changed, refused = actions.tasks_assign_bulk(
        tasks=FulfilmentTask.objects.all(), assignee=hr_agent, by=department_manager
    )

    assert changed == 0
    assert refused == [
        f"{task.service_request.reference}: That person does not work in this department's queues."
        for task in tasks
    ]
    assert not FulfilmentTask.objects.filter(assignee__isnull=False).exists()
    assert Event.objects.filter(id__gt=since).count() == 0


def test_bulk_priority_reports_the_refused_ones(employee, it_item, it_agent, department_manager):
    open_task, done = _task(it_item, employee), _task(it_item, employee)
    actions.task_resolve(task=done, agent=it_agent, resolution="Done")

    changed, refused = actions.tasks_set_priority_bulk(
        tasks=FulfilmentTask.objects.all(), priority="urgent", by=department_manager
    )

    assert changed == 1
    assert refused == [
        f"{done.service_request.reference}: This task is done; it can no longer change."
    ]
    _refresh(open_task, done)
    assert (open_task.priority, done.priority) == ("urgent", "normal")


def test_bulk_priority_refuses_an_unknown_priority(employee, it_item, department_manager):
    task = _task(it_item, employee)

    changed, refused = actions.tasks_set_priority_bulk(
        tasks=FulfilmentTask.objects.all(), priority="whenever", by=department_manager
    )

    assert (changed, refused) == (0, [f"{task.service_request.reference}: Unknown priority."])


# -- the SLA breach sweep ----------------------------------------------------------------------


@pytest.fixture
def sweep_world(employee, it_department, hr_department, it_agent, policy):
    """Tasks on Tuesday 10:00, each with a reason to be flagged by the sweep or not."""
    it_high = CatalogItemFactory(
        service__department=it_department, sla_policy=policy, default_priority="high"
    )
    hr_high = CatalogItemFactory(
        service__department=hr_department, sla_policy=policy, default_priority="high"
    )
    no_sla = CatalogItemFactory(service__department=it_department)
    world = {}
    with clock.travel(at(MON, 9)):
        world["overdue"] = _task(it_high, employee)  # due Monday 17:00
        actions.task_claim(task=world["overdue"], agent=it_agent)
        world["hr_overdue"] = _task(hr_high, employee)
        world["paused"] = _task(it_high, employee)
        world["flagged"] = _task(it_high, employee)
        world["done"] = _task(it_high, employee)
        world["handed_off"] = _task(it_high, employee)
        world["no_sla"] = _task(no_sla, employee)
    with clock.travel(at(MON, 10)):
        actions.task_ask(task=world["paused"], agent=it_agent, question="Which one?")
        FulfilmentTask.objects.filter(pk=world["flagged"].pk).update(
            sla_breached=True, sla_breached_at=at(MON, 17, 1)
        )
        actions.task_resolve(task=world["done"], agent=it_agent, resolution="Done")
    with clock.travel(at(TUE, 9)):
        world["no_response"] = _task(it_high, employee)  # response due 09:30
    with clock.travel(at(TUE, 9, 45)):
        actions.task_hand_off(
            task=world["handed_off"],
            agent=it_agent,
            to_queue=QueueFactory(department=it_department, slug="it-elsewhere"),
            reason="Elsewhere",
        )  # the new task there starts its own clock: response due 10:15
        world["fresh"] = _task(it_high, employee)  # response due 10:15
        world["responded"] = _task(it_high, employee)
        actions.task_reply(task=world["responded"], agent=it_agent, body="On it")
    return world


def test_sweep_flags_only_due_unpaused_unflagged_open_tasks_once(
    sweep_world, it_department, hr_department
):
    since = _mark()

    with clock.travel(at(TUE, 10)):
        flagged = actions.sla_breach_sweep()

    world = sweep_world
    assert sorted(flagged) == sorted(
        [world["overdue"].pk, world["hr_overdue"].pk, world["no_response"].pk]
    )
    for name in ("overdue", "hr_overdue", "no_response"):
        task = world[name]
        task.refresh_from_db()
        assert (task.sla_breached, task.sla_breached_at) == (True, at(TUE, 10))
    for name in ("paused", "done", "handed_off", "no_sla", "fresh", "responded"):
        world[name].refresh_from_db()
        assert not world[name].sla_breached, name
    breaches = Event.objects.filter(id__gt=since)
    assert sorted((e.subject_id, e.kind, e.to_value, e.actor) for e in breaches) == sorted(
        [
            (world["overdue"].pk, EventKind.SLA_BREACHED, "resolution", None),
            (world["hr_overdue"].pk, EventKind.SLA_BREACHED, "resolution", None),
            (world["no_response"].pk, EventKind.SLA_BREACHED, "response", None),
        ]
    )
    assert {e.subject_id: e.department for e in breaches}[world["hr_overdue"].pk] == hr_department

    with clock.travel(at(TUE, 10, 1)):
        assert actions.sla_breach_sweep() == []
    assert Event.objects.filter(id__gt=since).count() == 3


def test_sweep_emails_each_breach_to_its_departments_managers(
    sweep_world, department_manager, hr_manager, on_commit
):
    with clock.travel(at(TUE, 10)), on_commit():
        actions.sla_breach_sweep()

    world = sweep_world
    by_subject = {message.subject: message for message in mail.outbox}
    assert len(mail.outbox) == 3
    for name, manager in (
        ("overdue", department_manager),
        ("hr_overdue", hr_manager),
        ("no_response", department_manager),
    ):
        task = world[name]
        message = by_subject[f"SLA breached: {task.service_request.reference} {task.title}"]
        assert message.to == [manager.email]
        assert _task_url(task) in message.body


def test_a_task_paused_by_a_question_is_caught_after_the_answer(sweep_world, employee):
    paused = sweep_world["paused"]
    with clock.travel(at(TUE, 10)):
        actions.sla_breach_sweep()
    # Asked on Monday at 10:00 with 7 hours left, answered at 10:30: due Wednesday 9:30.
    with clock.travel(at(TUE, 10, 30)):
        actions.comment_add(service_request=paused.service_request, author=employee, body="X1")

    with clock.travel(at(WED, 9, 29)):
        before_due = actions.sla_breach_sweep()
    with clock.travel(at(WED, 9, 30)):
        at_due = actions.sla_breach_sweep()

    assert paused.pk not in before_due
    assert at_due == [paused.pk]


def test_the_beat_task_runs_the_sweep(sweep_world):
    with clock.travel(at(TUE, 10)):
        assert sla_breach_sweep_task.delay().get() == 3


# -- who sees which tasks ------------------------------------------------------------------------


def test_agents_see_only_their_departments_tasks(
    employee,
    it_item,
    hr_department,
    hr_queue,
    facilities_department,
    facilities_queue,
    it_agent,
    hr_agent,
    facilities_agent,
    department_manager,
    executive,
    outsider,
    superuser,
):
    it_task = _task(it_item, employee)
    hr_case = _task(
        CatalogItemFactory(service__department=hr_department, is_confidential=True),
        employee,
        subject="Grievance",
    )
    desk = _task(CatalogItemFactory(service__department=facilities_department), employee)
    both = UserFactory(username="it_and_facilities")
    DepartmentRoleFactory(user=both, department=it_task.department)
    DepartmentRoleFactory(user=both, department=facilities_department)
    inactive = UserFactory(username="gone", is_active=False)
    DepartmentRoleFactory(user=inactive, department=it_task.department)

    def visible(user):
        return set(FulfilmentTask.objects.visible_to(user))

    assert visible(it_agent) == {it_task}
    assert visible(department_manager) == {it_task}
    assert visible(hr_agent) == {hr_case}
    assert visible(facilities_agent) == {desk}
    assert visible(both) == {it_task, desk}
    for nobody in (employee, executive, outsider, superuser, inactive, AnonymousUser()):
        assert visible(nobody) == set()


def test_a_department_with_several_queues_sees_all_of_them(
    employee, it_item, it_agent, it_access_queue
):
    desk_task = _task(it_item, employee)
    access_task = actions.task_hand_off(
        task=_task(it_item, employee), agent=it_agent, to_queue=it_access_queue, reason="Access"
    )

    assert set(FulfilmentTask.objects.visible_to(it_agent).open()) == {desk_task, access_task}


# -- canned replies ------------------------------------------------------------------------------


def test_canned_reply_fills_in_the_name_and_reference(it_department, it_item):
    requester = UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    nameless = UserFactory(username="grace", first_name="", last_name="")
    reply = CannedReplyFactory(
        department=it_department, body="Hello {name}, {reference} is in hand. ({name})"
    )
    service_request = _submit(it_item, requester)
    other = _submit(it_item, nameless)

    assert reply.render(service_request) == (
        f"Hello Ada Lovelace, {service_request.reference} is in hand. (Ada Lovelace)"
    )
    assert reply.render(other) == f"Hello grace, {other.reference} is in hand. (grace)"


def test_a_canned_reply_is_sent_as_a_public_reply(employee, it_item, it_agent, on_commit):
    task = _task(it_item, employee)
    reply = CannedReplyFactory(department=task.department, body="Hi {name}: {reference} is done.")

    with on_commit():
        actions.task_reply(task=task, agent=it_agent, body=reply.render(task.service_request))

    [message] = mail.outbox
    assert f"{task.service_request.reference} is done." in message.body


# -- the clock in the department's own calendar --------------------------------------------------


def test_tasks_handed_to_another_time_zone_run_on_its_clock(
    employee, it_department, it_agent, policy
):
    new_york = DepartmentFactory(
        name="IT Americas",
        slug="it-americas",
        calendar=BusinessCalendarFactory(time_zone="America/New_York"),
    )
    americas = QueueFactory(department=new_york, slug="americas")
    item = CatalogItemFactory(
        service__department=it_department, sla_policy=policy, default_priority="high"
    )
    with clock.travel(at(MON, 14)):
        task = _task(item, employee)
        received = actions.task_hand_off(
            task=task, agent=it_agent, to_queue=americas, reason="Follow the sun"
        )

    # 14:00 in London is 09:00 in New York: a full working day ahead there.
    assert received.resolution_due_at == dt.datetime(2026, 11, 2, 22, tzinfo=dt.UTC)
    assert sla.clock_read(
        received, sla.schedule_for(new_york), now=at(MON, 20)
    ).left == dt.timedelta(hours=2)


# -- notifications run on a worker, after commit, from ids --------------------------------------


def test_an_unknown_notification_is_an_error():
    with pytest.raises(ValueError, match="unknown notification 'carrier_pigeon'"):
        notifications.send("carrier_pigeon", 1)


def test_nobody_is_emailed_without_an_address(it_item, it_agent, on_commit):
    requester = UserFactory(username="no_mail", email="")
    task = _task(it_item, requester)

    with on_commit() as callbacks:
        actions.task_reply(task=task, agent=it_agent, body="Hello")

    assert len(callbacks) == 1
    assert mail.outbox == []


def test_an_assignment_undone_before_the_worker_ran_emails_nobody(
    employee, it_item, it_agent, department_manager, on_commit
):
    task = _task(it_item, employee)

    with on_commit():
        actions.task_assign(task=task, assignee=it_agent, by=department_manager)
        actions.task_unassign(task=task, by=department_manager)

    assert mail.outbox == []
