"""`seed_queues` fills the department queues with a few hundred tasks and their history.

Seeding takes a few seconds, so the module seeds once, inside a transaction that is
rolled back when the module is done; each test runs in a savepoint within it.
"""

import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from esm.models import Event, EventKind
from services import demo_queues
from services.demo_queues import KEY_PREFIX, seed_queues
from services.models import (
    CannedReply,
    ClockState,
    ExperienceRating,
    FulfilmentTask,
    Queue,
    ServiceRequest,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
TaskState = FulfilmentTask.State
TASK = "services.fulfilmenttask"
REQUEST = "services.servicerequest"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """seed_demo, then seed_queues (a no-op once seed_demo calls it itself)."""
    with django_db_blocker.unblock(), transaction.atomic():
        with mock.patch.object(demo_queues.logger, "warning") as warning:
            call_command("seed_demo", password="x", stdout=StringIO())
            seed_queues()
        yield [call.args[1] if len(call.args) > 1 else call.args[0] for call in warning.mock_calls]
        transaction.set_rollback(True)


def seeded_requests():
    return ServiceRequest.objects.filter(submission_key__startswith=KEY_PREFIX)


def seeded_tasks():
    return FulfilmentTask.objects.filter(service_request__submission_key__startswith=KEY_PREFIX)


def counts():
    models = [*apps.get_app_config("services").get_models(), Event, User]
    return {model._meta.label: model.objects.count() for model in models}


def test_every_department_has_its_queues_and_canned_replies(seeded):
    queues = {queue.slug: queue for queue in Queue.objects.select_related("department")}

    assert {"it-service-desk", "it-access", "hr-cases", "workplace", "finance-operations"} <= set(
        queues
    )
    defaults = Queue.objects.filter(is_default=True)
    assert set(defaults.values_list("slug", flat=True)) == {
        "it-service-desk",
        "hr-cases",
        "workplace",
        "finance-operations",
    }
    assert not queues["it-access"].is_default
    for slug in ["it", "hr", "facilities", "finance"]:
        replies = CannedReply.objects.filter(department__slug=slug)
        assert 2 <= replies.count() <= 3, slug
        for reply in replies:
            assert "{name}" in reply.body, reply
            assert "{reference}" in reply.body, reply


def test_a_few_hundred_tasks_fill_every_queue(seeded):
    tasks = seeded_tasks()

    assert tasks.count() >= 200
    per_queue = dict(tasks.values_list("queue__slug").annotate(n=Count("id")))
    assert min(per_queue.values()) >= 10, per_queue
    assert len(per_queue) == 5, per_queue
    states = set(tasks.values_list("state", flat=True))
    assert {
        TaskState.QUEUED,
        TaskState.IN_PROGRESS,
        TaskState.WAITING_ON_EMPLOYEE,
        TaskState.HANDED_OFF,
        TaskState.DONE,
        TaskState.CANCELLED,
    } <= states
    assert tasks.filter(claimed_at__isnull=False).count() >= 0.6 * tasks.count()


def test_the_history_spans_weeks_and_ends_in_the_past(seeded):
    requests = seeded_requests()
    now = timezone.now()
    first = requests.aggregate(first=Min("submitted_at"))["first"]

    assert requests.count() >= 250
    assert now - first >= dt.timedelta(days=42)
    assert not requests.filter(submitted_at__gt=now).exists()
    assert not Event.objects.filter(occurred_at__gt=now).exists()
    resolved = requests.filter(state=ServiceRequest.State.RESOLVED).count()
    assert 0.4 * requests.count() <= resolved <= 0.75 * requests.count()
    assert requests.filter(state=ServiceRequest.State.IN_PROGRESS).exists()
    assert requests.filter(state=ServiceRequest.State.WAITING_ON_EMPLOYEE).exists()


def test_work_is_handed_off_across_departments_and_sometimes_sent_back(seeded):
    received = seeded_tasks().filter(handed_off_from__isnull=False)
    across = received.exclude(department=F("handed_off_from__department"))
    crossings = set(across.values_list("handed_off_from__department__slug", "department__slug"))

    assert received.count() >= 20
    assert across.count() >= 8
    assert len(crossings) >= 3, crossings
    assert ("facilities", "it") in crossings
    handed_off = Event.objects.filter(kind=EventKind.HANDED_OFF, subject_type=TASK)
    assert {event.payload["to_task"] for event in handed_off} >= set(
        received.values_list("pk", flat=True)
    )
    assert all(event.from_department_id and event.to_department_id for event in handed_off)
    sent_back = Event.objects.filter(kind=EventKind.SENT_BACK)
    assert sent_back.count() >= 3
    reopened = Event.objects.filter(kind=EventKind.RETURNED, subject_type=TASK)
    assert {event.subject_id for event in reopened} >= {
        event.payload["to_task"] for event in sent_back
    }


def test_sla_states_vary_across_the_open_tasks(seeded):
    open_tasks = seeded_tasks().open().with_sla_status()
    states = set(open_tasks.values_list("sla_state", flat=True))

    assert {ClockState.BREACHED, ClockState.AT_RISK, ClockState.ON_TRACK} <= states
    # Some finished late too, for the SLA attainment reports.
    done = seeded_tasks().filter(state=TaskState.DONE)
    assert done.filter(done_at__gt=F("resolution_due_at")).exists()
    assert done.filter(done_at__lte=F("resolution_due_at")).count() > 0.6 * done.count()


def test_the_breach_sweep_flagged_missed_tasks_when_they_were_missed(seeded):
    flagged = {task.pk: task for task in seeded_tasks().filter(sla_breached=True)}
    events = Event.objects.filter(subject_type=TASK, kind=EventKind.SLA_BREACHED)

    # Beat swept during the history too: some tasks were late, then finished anyway.
    assert any(task.state == TaskState.DONE for task in flagged.values())
    assert any(task.is_open for task in flagged.values())
    assert sorted(events.values_list("subject_id", flat=True)) == sorted(flagged)
    for event in events:
        task = flagged[event.subject_id]
        assert event.occurred_at == task.sla_breached_at, task
        assert task.created_at < task.sla_breached_at <= timezone.now(), task
    # Every open task past its due time is flagged by the last sweep, at the real now.
    missed = (
        seeded_tasks()
        .open()
        .filter(sla_paused_at__isnull=True, resolution_due_at__lte=timezone.now())
    )
    assert missed.exists()
    assert not missed.filter(sla_breached=False).exists()


def test_many_resolved_requests_are_rated_some_poorly(seeded):
    ratings = ExperienceRating.objects.filter(
        service_request__submission_key__startswith=KEY_PREFIX
    )
    scores = set(ratings.values_list("score", flat=True))
    resolved = seeded_requests().filter(state=ServiceRequest.State.RESOLVED).count()

    assert ratings.count() >= 0.5 * resolved
    assert {1, 2, 5} <= scores
    assert not ratings.exclude(rated_by=F("service_request__requester")).exists()


def test_every_task_history_is_consistent(seeded):
    tasks = {task.pk: task for task in FulfilmentTask.objects.all()}
    queued = Event.objects.filter(subject_type=TASK, kind=EventKind.QUEUED)
    first_events = dict(
        Event.objects.filter(subject_type=TASK)
        .values_list("subject_id")
        .annotate(first=Min("occurred_at"))
    )

    assert sorted(queued.values_list("subject_id", flat=True)) == sorted(tasks)
    seeded_ids = set(seeded_tasks().values_list("pk", flat=True))
    for event in queued.filter(subject_id__in=seeded_ids):
        task = tasks[event.subject_id]
        # The simulated clock stamps the task and its events alike.
        assert event.occurred_at == task.created_at, task
        assert first_events[task.pk] == task.created_at, task
    for request in seeded_requests().only("pk", "submitted_at"):
        submitted = Event.objects.for_subject(request).get(kind=EventKind.SUBMITTED)
        assert submitted.occurred_at == request.submitted_at
    assert not Event.objects.filter(
        subject_type=REQUEST, kind=EventKind.SUBMITTED, occurred_at__gt=timezone.now()
    ).exists()


def test_no_demo_story_was_refused(seeded):
    assert seeded == []


def test_demo_employees_raise_the_requests_and_cannot_sign_in(seeded):
    employees = User.objects.filter(username__startswith="demo.employee")

    assert employees.count() == len(demo_queues.EMPLOYEES)
    assert not any(person.has_usable_password() for person in employees)
    assert not employees.filter(profile__isnull=True).exists()
    assert set(seeded_requests().values_list("requester__username", flat=True)) <= set(
        employees.values_list("username", flat=True)
    )


def test_seeding_again_changes_nothing(seeded):
    before = counts()

    seed_queues()
    call_command("seed_demo", stdout=StringIO())

    assert counts() == before
