"""The staff API under /api/v1/: queues and tasks, with the same walls as the pages.

Tasks are opened the way production opens them (raising a request for an item without
approvals puts a task in its department's default queue); queues and SLA policies are
made here, so this module needs no factory beyond the catalog's.
"""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from esm import clock
from esm.models import DepartmentRole, Event, EventKind
from services import actions
from services.models import (
    Comment,
    FulfilmentTask,
    Queue,
    ServiceRequest,
    SlaPolicy,
    SlaTarget,
)
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentRoleFactory,
    ProfileFactory,
    UserFactory,
)
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db

TaskState = FulfilmentTask.State
QUEUES = reverse("api:queues")
# A Monday in March, before the clocks change: Europe/London is UTC.
MONDAY_10AM = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _url(name, task):
    return reverse(f"api:{name}", args=[task.pk])


def _queue_url(name, queue):
    return reverse(f"api:{name}", args=[queue.slug])


def _queue(department, slug, *, is_default=True):
    return Queue.objects.create(
        department=department, name=f"Queue {slug}", slug=slug, is_default=is_default
    )


def _open_task(item, requester, subject="Please help"):
    """Raise a request for `item` the way the portal does; it lands in the default queue."""
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=requester,
        subject=subject,
        answers=[
            {"key": "model", "label": "Model", "kind": "text", "value": "Mac", "display": "Mac"}
        ],
        submission_key=subject,
    )
    return service_request.tasks.get()


def _fresh(task):
    return FulfilmentTask.objects.get(pk=task.pk)


def _kinds(subject):
    return list(Event.objects.for_subject(subject).values_list("kind", flat=True))


def _ids(response):
    return [row["id"] for row in response.json()["results"]]


def _agent(username, department, role=DepartmentRole.Role.AGENT):
    person = UserFactory(username=username, first_name=username.title(), last_name="Agent")
    ProfileFactory(user=person, department=department)
    DepartmentRoleFactory(user=person, department=department, role=role)
    return person


@pytest.fixture(autouse=True)
def default_calendar(db):
    """Mon-Fri 09:00-17:00 London, as every deployment has (seed_demo makes one)."""
    return BusinessCalendarFactory(is_default=True)


@pytest.fixture
def it_desk(it_department):
    return _queue(it_department, "it-desk")


@pytest.fixture
def it_access(it_department):
    return _queue(it_department, "it-access", is_default=False)


@pytest.fixture
def hr_cases(hr_department):
    return _queue(hr_department, "hr-cases")


@pytest.fixture
def facilities_desk(facilities_department):
    return _queue(facilities_department, "facilities-desk")


@pytest.fixture
def laptop(it_department, it_desk):
    return CatalogItemFactory(name="New laptop", slug="new-laptop", department=it_department)


@pytest.fixture
def task(laptop, employee):
    return _open_task(laptop, employee, "My laptop died")


@pytest.fixture
def colleague(it_department):
    """A second IT agent."""
    return _agent("colleague", it_department)


@pytest.fixture
def hr_task(hr_department, hr_cases, employee):
    """The employee's confidential HR case, in the HR queue."""
    item = CatalogItemFactory(
        name="Raise a grievance", department=hr_department, is_confidential=True
    )
    return _open_task(item, employee, "A grievance")


@pytest.fixture
def sla_policy():
    """Normal priority: respond within an hour, resolve within a business day (8 hours)."""
    policy = SlaPolicy.objects.create(name="Standard")
    SlaTarget.objects.create(
        policy=policy, priority="normal", response_minutes=60, resolution_minutes=480
    )
    SlaTarget.objects.create(
        policy=policy, priority="high", response_minutes=30, resolution_minutes=240
    )
    return policy


# Authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "api:queues", []),
        ("get", "api:queue-tasks", ["it-desk"]),
        ("post", "api:queue-take-next", ["it-desk"]),
        ("get", "api:task", [1]),
        *[
            ("post", f"api:task-{action}", [1])
            for action in (
                "claim",
                "assign",
                "unassign",
                "reply",
                "note",
                "ask",
                "resolve",
                "hand-off",
                "send-back",
                "priority",
            )
        ],
    ],
)
def test_anonymous_calls_get_a_json_403_not_a_sign_in_redirect(method, name, args):
    response = getattr(_client(), method)(reverse(name, args=args), format="json")

    assert response.status_code == 403
    assert "Location" not in response
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# Walls between departments -------------------------------------------------------------


def test_queues_lists_the_queues_of_my_departments_with_counts(
    it_agent, task, laptop, employee, it_access, hr_cases, facilities_desk
):
    _open_task(laptop, employee, "Second one")
    breached = _open_task(laptop, employee, "Third one")
    FulfilmentTask.objects.filter(pk=breached.pk).update(
        sla_breached=True, resolution_due_at=MONDAY_10AM
    )
    actions.task_claim(task=task, agent=it_agent)

    response = _client(it_agent).get(QUEUES)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["slug"] for row in rows] == ["it-access", "it-desk"]
    desk = rows[1]
    assert desk["department"] == {"slug": "it", "name": "IT"}
    assert desk["is_default"] is True
    assert (desk["open_count"], desk["unclaimed_count"], desk["breached_count"]) == (3, 2, 1)
    assert (rows[0]["open_count"], rows[0]["unclaimed_count"]) == (0, 0)


def test_people_outside_a_department_see_no_queues(employee, outsider, superuser, it_desk):
    for person in (employee, outsider, superuser):
        assert _client(person).get(QUEUES).json()["results"] == []


def test_agents_of_another_department_get_404_on_its_queue_and_task(
    facilities_agent, it_desk, task
):
    client = _client(facilities_agent)
    version = task.version

    assert client.get(_queue_url("queue-tasks", it_desk)).status_code == 404
    assert client.post(_queue_url("queue-take-next", it_desk)).status_code == 404
    assert client.get(_url("task", task)).status_code == 404
    assert client.post(_url("task-claim", task), format="json").status_code == 404
    response = client.post(_url("task-note", task), {"body": "Peek"}, format="json")
    assert response.status_code == 404
    response = client.post(_url("task-resolve", task), {"resolution": "Done"}, format="json")
    assert response.status_code == 404

    task = _fresh(task)
    assert (task.state, task.assignee, task.version) == (TaskState.QUEUED, None, version)
    assert Comment.objects.count() == 0


def test_an_unknown_queue_or_task_is_404(it_agent, it_desk):
    client = _client(it_agent)

    assert client.get(reverse("api:queue-tasks", args=["nope"])).status_code == 404
    assert client.post(reverse("api:queue-take-next", args=["nope"])).status_code == 404
    assert client.get(reverse("api:task", args=[999])).status_code == 404


def test_confidential_hr_task_is_404_for_it_agents_the_requester_and_a_superuser(
    hr_task, hr_cases, hr_agent, it_agent, employee, superuser, outsider
):
    events_before = Event.objects.count()

    for person in (it_agent, employee, superuser, outsider):
        client = _client(person)
        assert client.get(_queue_url("queue-tasks", hr_cases)).status_code == 404
        assert client.post(_queue_url("queue-take-next", hr_cases)).status_code == 404
        assert client.get(_url("task", hr_task)).status_code == 404
        assert client.post(_url("task-claim", hr_task), format="json").status_code == 404
        response = client.post(_url("task-reply", hr_task), {"body": "Hello"}, format="json")
        assert response.status_code == 404
        response = client.post(_url("task-note", hr_task), {"body": "Hmm"}, format="json")
        assert response.status_code == 404
    assert _client(hr_agent).get(_url("task", hr_task)).status_code == 200

    hr_task = _fresh(hr_task)
    assert (hr_task.state, hr_task.assignee) == (TaskState.QUEUED, None)
    assert Comment.objects.count() == 0
    assert Event.objects.count() == events_before


# Queue lists ---------------------------------------------------------------------------


def test_queue_tasks_come_most_urgent_first_with_what_a_row_shows(
    it_agent, it_desk, laptop, employee
):
    oldest = _open_task(laptop, employee, "Oldest")
    newest = _open_task(laptop, employee, "Newest")
    _open_task(laptop, employee, "Middle")
    FulfilmentTask.objects.filter(pk=newest.pk).update(
        sla_breached=True, resolution_due_at=MONDAY_10AM, response_due_at=MONDAY_10AM
    )
    actions.task_claim(task=oldest, agent=it_agent)

    response = _client(it_agent).get(_queue_url("queue-tasks", it_desk))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["title"] for row in body["results"]] == ["Newest", "Oldest", "Middle"]
    breached, claimed, _ = body["results"]
    assert breached["sla"]["status"] == "breached"
    assert breached["sla"]["time_left_seconds"] < 0
    assert claimed["id"] == oldest.pk
    assert claimed["reference"] == oldest.service_request.reference
    assert claimed["state"] == TaskState.IN_PROGRESS
    assert claimed["priority"] == "normal"
    assert claimed["assignee"]["username"] == "it_agent"
    assert claimed["requester"]["username"] == "employee"
    assert claimed["catalog_item"] == {"id": laptop.pk, "slug": "new-laptop", "name": "New laptop"}
    assert claimed["sla"] == {
        "status": "none",
        "time_left_seconds": None,
        "response_due_at": None,
        "resolution_due_at": None,
        "responded_at": claimed["sla"]["responded_at"],
        "paused_since": None,
    }
    assert claimed["age_seconds"] >= 0
    assert claimed["version"] == _fresh(oldest).version


def test_queue_tasks_leave_out_finished_tasks(it_agent, it_desk, task, laptop, employee):
    done = _open_task(laptop, employee, "Done already")
    actions.task_resolve(task=done, agent=it_agent, resolution="Fixed")

    assert _ids(_client(it_agent).get(_queue_url("queue-tasks", it_desk))) == [task.pk]


def test_queue_tasks_take_the_queue_page_filters(
    it_agent, colleague, it_desk, laptop, employee, manager, it_department
):
    # A name found nowhere else in the queue (a random one could match the other tasks).
    manager.last_name = "Quenneville"
    manager.save(update_fields=["last_name"])
    mine = _open_task(laptop, employee, "Printer on fire")
    theirs = _open_task(laptop, manager, "Screen flickers")
    unclaimed = _open_task(laptop, employee, "Mouse missing")
    other_item = CatalogItemFactory(department=it_department)
    elsewhere = _open_task(other_item, employee, "Other item")
    actions.task_claim(task=mine, agent=it_agent)
    actions.task_claim(task=theirs, agent=colleague)
    actions.task_set_priority(task=unclaimed, by=it_agent, priority="high")
    actions.task_ask(task=theirs, agent=colleague, question="Which screen?")
    FulfilmentTask.objects.filter(pk=elsewhere.pk).update(
        sla_breached=True, resolution_due_at=MONDAY_10AM
    )
    client = _client(it_agent)
    url = _queue_url("queue-tasks", it_desk)

    def ids(**filters):
        response = client.get(url, filters)
        assert response.status_code == 200, response.json()
        return set(_ids(response))

    assert ids(assignee="me") == {mine.pk}
    assert ids(assignee="none") == {unclaimed.pk, elsewhere.pk}
    assert ids(assignee=str(colleague.pk)) == {theirs.pk}
    assert ids(state="waiting_on_employee") == {theirs.pk}
    assert ids(priority="high") == {unclaimed.pk}
    assert ids(catalog_item=str(other_item.pk)) == {elsewhere.pk}
    assert ids(sla="breached") == {elsewhere.pk}
    assert ids(search="printer") == {mine.pk}
    assert ids(search=manager.last_name) == {theirs.pk}
    assert ids(search=unclaimed.service_request.reference.lower()) == {unclaimed.pk}


def test_an_invalid_queue_filter_is_400_with_its_message(it_agent, it_desk, task):
    response = _client(it_agent).get(
        _queue_url("queue-tasks", it_desk), {"priority": "asap", "state": "done"}
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"priority", "state"}
    assert "asap" in errors["priority"][0]


# Task detail ---------------------------------------------------------------------------


def test_task_detail_shows_the_request_answers_sla_and_version(
    it_agent, it_department, it_desk, it_access, employee, sla_policy
):
    item = CatalogItemFactory(
        name="VPN access", slug="vpn", department=it_department, sla_policy=sla_policy
    )
    with clock.travel(MONDAY_10AM):
        task = _open_task(item, employee, "VPN please")

    with clock.travel(MONDAY_10AM + dt.timedelta(hours=1)):
        response = _client(it_agent).get(_url("task", task))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["title"], body["state"]) == (task.pk, "VPN please", "queued")
    assert body["version"] == task.version
    assert body["queue"] == {
        "slug": "it-desk",
        "name": "Queue it-desk",
        "department": {"slug": "it", "name": "IT"},
    }
    assert body["age_seconds"] == 3600
    # Due Tuesday 10:00 (eight working hours); at 11:00 on Monday seven are left.
    assert body["sla"]["status"] == "breached"  # no response within the hour
    assert body["sla"]["time_left_seconds"] == 7 * 3600
    assert body["sla"]["resolution_due_at"] == "2026-03-03T10:00:00Z"
    request = body["service_request"]
    assert request["reference"] == task.service_request.reference
    assert request["subject"] == "VPN please"
    assert request["requester"]["username"] == "employee"
    assert request["item"]["slug"] == "vpn"
    assert request["is_confidential"] is False
    assert [(a["key"], a["display"]) for a in request["answers"]] == [("model", "Mac")]
    assert [q["slug"] for q in body["handoff_queues"]] == ["it-access"]
    assert body["handed_off_from"] is None


def test_sla_time_left_and_at_risk_in_business_hours(
    it_agent, it_department, it_desk, employee, sla_policy
):
    item = CatalogItemFactory(department=it_department, sla_policy=sla_policy)
    with clock.travel(MONDAY_10AM):
        task = _open_task(item, employee, "Clock")
        actions.task_claim(task=task, agent=it_agent)  # the first response, in time

    with clock.travel(MONDAY_10AM + dt.timedelta(hours=6)):  # 16:00: six of eight hours gone
        (row,) = _client(it_agent).get(_queue_url("queue-tasks", it_desk)).json()["results"]
    with clock.travel(MONDAY_10AM + dt.timedelta(hours=20)):  # Tuesday 06:00, before work
        tuesday = _client(it_agent).get(_url("task", task)).json()

    assert (row["sla"]["status"], row["sla"]["time_left_seconds"]) == ("at_risk", 2 * 3600)
    assert (tuesday["sla"]["status"], tuesday["sla"]["time_left_seconds"]) == ("at_risk", 3600)


# Claiming ------------------------------------------------------------------------------


def test_claiming_a_task_assigns_it_and_records_the_claim(it_agent, task):
    response = _client(it_agent).post(_url("task-claim", task), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["assignee"]["username"] == "it_agent"
    assert body["state"] == TaskState.IN_PROGRESS
    assert body["version"] == task.version + 1
    assert _kinds(task).count(EventKind.CLAIMED) == 1


def test_a_second_agent_claiming_the_same_task_gets_409_and_nothing_changes(
    it_agent, colleague, task
):
    first = _client(it_agent).post(_url("task-claim", task), format="json")
    claimed = _fresh(task)
    events_before = Event.objects.count()

    second = _client(colleague).post(_url("task-claim", task), format="json")

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json() == {
        "detail": f"{it_agent.get_full_name()} is already working on this task."
    }
    task = _fresh(task)
    assert (task.assignee, task.version) == (it_agent, claimed.version)
    assert Event.objects.count() == events_before


def test_take_next_claims_the_most_urgent_unclaimed_task_then_204(
    it_agent, colleague, it_desk, laptop, employee
):
    oldest = _open_task(laptop, employee, "Oldest")
    middle = _open_task(laptop, employee, "Middle")
    newest = _open_task(laptop, employee, "Newest")
    held = _open_task(laptop, employee, "Held by a colleague")
    FulfilmentTask.objects.filter(pk=newest.pk).update(
        sla_breached=True, resolution_due_at=MONDAY_10AM
    )
    actions.task_claim(task=held, agent=colleague)
    client = _client(it_agent)
    url = _queue_url("queue-take-next", it_desk)

    taken = [client.post(url) for _ in range(3)]
    empty = client.post(url)

    assert [r.status_code for r in taken] == [200, 200, 200]
    assert [r.json()["id"] for r in taken] == [newest.pk, oldest.pk, middle.pk]
    assert all(r.json()["assignee"]["username"] == "it_agent" for r in taken)
    assert empty.status_code == 204
    assert not empty.content
    assert _fresh(held).assignee == colleague
    assert Event.objects.filter(kind=EventKind.CLAIMED, actor=it_agent).count() == 3


def test_a_department_manager_works_the_queue_too(department_manager, it_desk, task):
    response = _client(department_manager).post(_queue_url("queue-take-next", it_desk))

    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "it_manager"


# Optimistic versions -------------------------------------------------------------------


def test_a_stale_expected_version_is_409_naming_who_changed_it(it_agent, colleague, task):
    read = _client(it_agent).get(_url("task", task)).json()
    actions.task_claim(task=task, agent=colleague)
    changed = _fresh(task)
    events_before = Event.objects.count()

    response = _client(it_agent).post(
        _url("task-resolve", task),
        {"resolution": "Done", "expected_version": read["version"]},
        format="json",
    )

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert f"{colleague.get_full_name()} claimed" in detail
    assert "Nothing was saved" in detail
    task = _fresh(task)
    assert (task.state, task.resolution, task.version) == (
        TaskState.IN_PROGRESS,
        "",
        changed.version,
    )
    assert Event.objects.count() == events_before


def test_the_current_expected_version_goes_through(it_agent, task):
    response = _client(it_agent).post(
        _url("task-claim", task), {"expected_version": task.version}, format="json"
    )

    assert response.status_code == 200


def test_replies_answer_with_the_tasks_new_version(it_agent, task):
    client = _client(it_agent)

    reply = client.post(
        _url("task-reply", task), {"body": "On it", "expected_version": task.version}, format="json"
    ).json()
    resolved = client.post(
        _url("task-resolve", task),
        {"resolution": "Done", "expected_version": reply["task"]["version"]},
        format="json",
    )

    assert reply["task"]["version"] == task.version + 1  # the reply was the first response
    assert resolved.status_code == 200


# Each action, its change and its event -------------------------------------------------


def test_assigning_to_a_colleague(it_agent, colleague, task):
    response = _client(it_agent).post(
        _url("task-assign", task), {"assignee": "colleague"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "colleague"
    event = Event.objects.for_subject(task).get(kind=EventKind.ASSIGNED)
    assert (event.actor, event.payload["assignee"]) == (it_agent, colleague.pk)


def test_assigning_to_someone_outside_the_department_is_400(it_agent, hr_agent, task):
    client = _client(it_agent)

    for username in ("hr_agent", "nobody"):
        response = client.post(_url("task-assign", task), {"assignee": username}, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "assignee": ["Nobody with this username works in this department's queues."]
        }
    assert _fresh(task).assignee is None
    assert EventKind.ASSIGNED not in _kinds(task)


def test_unassigning_puts_the_task_back_in_the_queue(it_agent, task):
    actions.task_claim(task=task, agent=it_agent)

    response = _client(it_agent).post(_url("task-unassign", task), format="json")

    assert response.status_code == 200
    assert (response.json()["assignee"], response.json()["state"]) == (None, TaskState.QUEUED)
    assert _kinds(task).count(EventKind.UNASSIGNED) == 1


def test_a_public_reply_reaches_the_employee(it_agent, employee, task):
    response = _client(it_agent).post(_url("task-reply", task), {"body": "On it"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["body"], body["is_internal"]) == ("On it", False)
    assert body["task"]["id"] == task.pk
    comment = Comment.objects.get()
    assert (comment.author, comment.is_internal) == (it_agent, False)
    event = Event.objects.for_subject(task.service_request).get(kind=EventKind.COMMENTED)
    assert event.to_value == Comment.PUBLIC
    seen = _client(employee).get(
        reverse("api:request-comments", args=[task.service_request.reference])
    )
    assert [c["body"] for c in seen.json()] == ["On it"]


def test_an_internal_note_never_reaches_the_employee(it_agent, employee, task):
    reference = task.service_request.reference
    actions.comment_add(service_request=task.service_request, author=employee, body="Any news?")

    response = _client(it_agent).post(
        _url("task-note", task), {"body": "Vendor RMA 4411, do not share"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["is_internal"] is True
    event = Event.objects.for_subject(task.service_request).filter(kind=EventKind.COMMENTED).last()
    assert (event.actor, event.to_value) == (it_agent, Comment.INTERNAL)
    employee_client = _client(employee)
    comments = employee_client.get(reverse("api:request-comments", args=[reference]))
    assert [c["body"] for c in comments.json()] == ["Any news?"]
    detail = employee_client.get(reverse("api:request", args=[reference]))
    assert "Vendor RMA" not in detail.content.decode()
    assert employee_client.get(_url("task", task)).status_code == 404
    as_staff = _client(it_agent).get(reverse("api:request-comments", args=[reference])).json()
    assert [c["body"] for c in as_staff] == ["Any news?", "Vendor RMA 4411, do not share"]


def test_asking_the_employee_pauses_the_task(it_agent, employee, task):
    actions.task_claim(task=task, agent=it_agent)

    response = _client(it_agent).post(
        _url("task-ask", task), {"question": "Which model?"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["body"], body["is_internal"]) == ("Which model?", False)
    assert body["task"]["state"] == TaskState.WAITING_ON_EMPLOYEE
    task = _fresh(task)
    assert task.state == TaskState.WAITING_ON_EMPLOYEE
    assert task.sla_paused_at is not None
    assert _kinds(task).count(EventKind.WAITING_ON_EMPLOYEE) == 1
    assert task.service_request.state == ServiceRequest.State.WAITING_ON_EMPLOYEE


def test_resolving_the_last_task_resolves_the_request(it_agent, task):
    response = _client(it_agent).post(
        _url("task-resolve", task), {"resolution": "Replaced the battery"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["resolution"]) == (TaskState.DONE, "Replaced the battery")
    assert _kinds(task).count(EventKind.RESOLVED) == 1
    service_request = ServiceRequest.objects.get(pk=task.service_request_id)
    assert service_request.state == ServiceRequest.State.RESOLVED


def test_resolving_a_finished_task_is_409_and_changes_nothing(it_agent, task):
    actions.task_resolve(task=task, agent=it_agent, resolution="Done")
    events_before = Event.objects.count()

    response = _client(it_agent).post(
        _url("task-resolve", task), {"resolution": "Again"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "This task is done; it can no longer change."}
    assert _fresh(task).resolution == "Done"
    assert Event.objects.count() == events_before


def test_handing_off_creates_the_task_in_the_other_queue(
    it_agent, facilities_agent, task, facilities_desk, it_department, facilities_department
):
    response = _client(it_agent).post(
        _url("task-hand-off", task),
        {"to_queue": "facilities-desk", "reason": "Needs a new desk, not a laptop"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["state"] == TaskState.HANDED_OFF
    received = FulfilmentTask.objects.get(queue=facilities_desk)
    assert (received.state, received.handed_off_from_id) == (TaskState.QUEUED, task.pk)
    assert received.handoff_reason == "Needs a new desk, not a laptop"
    event = Event.objects.for_subject(task).get(kind=EventKind.HANDED_OFF)
    assert (event.from_department, event.to_department) == (it_department, facilities_department)
    as_facilities = _client(facilities_agent).get(_url("task", received)).json()
    assert as_facilities["handed_off_from"] == {
        "id": task.pk,
        "department": {"slug": "it", "name": "IT"},
    }
    assert _client(it_agent).get(_url("task", received)).status_code == 404


def test_sending_back_reopens_the_senders_task(
    it_agent, facilities_agent, task, facilities_desk, facilities_department, it_department
):
    actions.task_claim(task=task, agent=it_agent)
    received = actions.task_hand_off(
        task=task, agent=it_agent, to_queue=facilities_desk, reason="Desk move"
    )

    response = _client(facilities_agent).post(
        _url("task-send-back", received), {"missing": "Which floor?"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["state"] == TaskState.CANCELLED
    event = Event.objects.for_subject(received).get(kind=EventKind.SENT_BACK)
    assert (event.from_department, event.to_department) == (facilities_department, it_department)
    assert event.payload["missing"] == "Which floor?"
    sender = _fresh(task)
    assert (sender.state, sender.assignee) == (TaskState.IN_PROGRESS, it_agent)
    assert _kinds(task).count(EventKind.RETURNED) == 1


def test_sending_back_a_task_that_was_not_handed_off_is_409(it_agent, task):
    response = _client(it_agent).post(
        _url("task-send-back", task), {"missing": "Everything"}, format="json"
    )

    assert response.status_code == 409
    assert "handed off" in response.json()["detail"]
    assert _fresh(task).state == TaskState.QUEUED


def test_changing_the_priority(it_agent, task):
    response = _client(it_agent).post(
        _url("task-priority", task), {"priority": "high"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["priority"] == "high"
    event = Event.objects.for_subject(task).get(kind=EventKind.PRIORITY_CHANGED)
    assert (event.from_value, event.to_value) == ("normal", "high")


# Validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("task-reply", {"body": "   "}, "body"),
        ("task-reply", {}, "body"),
        ("task-note", {"body": ""}, "body"),
        ("task-ask", {"question": " "}, "question"),
        ("task-resolve", {"resolution": ""}, "resolution"),
        ("task-hand-off", {"to_queue": "facilities-desk", "reason": ""}, "reason"),
        ("task-send-back", {"missing": ""}, "missing"),
        ("task-priority", {"priority": "asap"}, "priority"),
        ("task-assign", {"assignee": ""}, "assignee"),
        ("task-claim", {"expected_version": "latest"}, "expected_version"),
    ],
)
def test_invalid_input_is_400_with_the_fields_message_and_changes_nothing(
    action, payload, field, it_agent, task, facilities_desk
):
    events_before = Event.objects.count()

    response = _client(it_agent).post(_url(action, task), payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert _fresh(task).version == task.version
    assert Event.objects.count() == events_before
    assert Comment.objects.count() == 0


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("no-such-queue", "No queue has this slug."),
        ("it-desk", "The task is already in that queue."),
    ],
)
def test_handing_off_to_an_unknown_queue_or_its_own_is_400(slug, message, it_agent, task):
    response = _client(it_agent).post(
        _url("task-hand-off", task), {"to_queue": slug, "reason": "Elsewhere"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"to_queue": [message]}
    assert _fresh(task).state == TaskState.QUEUED
    assert FulfilmentTask.objects.count() == 1


def test_a_confidential_case_cannot_be_handed_to_another_department(hr_agent, hr_task, it_desk):
    response = _client(hr_agent).post(
        _url("task-hand-off", hr_task), {"to_queue": "it-desk", "reason": "Laptop"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"to_queue": ["A confidential case stays within its department."]}
    assert not FulfilmentTask.objects.filter(queue=it_desk).exists()
    assert _client(hr_agent).get(_url("task", hr_task)).json()["handoff_queues"] == []


# Query counts --------------------------------------------------------------------------


def _grow_queue(n, *, it_department, employee, colleague, sla_policy):
    for i in range(n):
        item = CatalogItemFactory(department=it_department, sla_policy=sla_policy)
        claimed = _open_task(item, UserFactory(), f"Claimed {n}-{i}")
        actions.task_claim(task=claimed, agent=colleague)
        _open_task(item, employee, f"Unclaimed {n}-{i}")


@pytest.mark.parametrize("name", ["queues", "queue-tasks"])
def test_list_query_counts_do_not_grow_with_the_queue(
    name,
    it_agent,
    colleague,
    it_department,
    it_desk,
    employee,
    sla_policy,
    django_assert_max_num_queries,
):
    url = QUEUES if name == "queues" else _queue_url(name, it_desk)
    client = _client(it_agent)
    grow = {
        "it_department": it_department,
        "employee": employee,
        "colleague": colleague,
        "sla_policy": sla_policy,
    }
    _grow_queue(2, **grow)
    # The rows' end-to-end targets read the company calendar: three queries, once.
    budget = 12 if name == "queues" else 15
    with django_assert_max_num_queries(budget) as small:
        assert client.get(url).status_code == 200

    _grow_queue(12, **grow)
    with django_assert_max_num_queries(budget) as large:
        response = client.get(url)

    assert response.status_code == 200
    if name == "queue-tasks":
        assert response.json()["count"] == 28
    assert len(large.captured_queries) == len(small.captured_queries)


def test_task_detail_query_count_does_not_grow_with_queues_or_conversation(
    it_agent, employee, task, it_department, facilities_department, django_assert_max_num_queries
):
    client = _client(it_agent)
    with django_assert_max_num_queries(15) as before:
        assert client.get(_url("task", task)).status_code == 200

    for n in range(8):
        _queue(facilities_department if n % 2 else it_department, f"extra-{n}", is_default=False)
        actions.task_note(task=task, agent=it_agent, body=f"Note {n}")
    with django_assert_max_num_queries(15) as after:
        response = client.get(_url("task", task))

    assert len(response.json()["handoff_queues"]) == 8
    assert len(after.captured_queries) == len(before.captured_queries)


# Schema --------------------------------------------------------------------------------


def test_the_schema_describes_the_queue_and_task_operations(it_agent):
    paths = _client(it_agent).get(reverse("api-schema"), {"format": "json"}).json()["paths"]

    assert "/api/v1/queues/{slug}/tasks/" in paths
    assert "/api/v1/tasks/{task_id}/hand-off/" in paths
    names = {p["name"] for p in paths["/api/v1/queues/{slug}/tasks/"]["get"]["parameters"]}
    assert {"state", "assignee", "catalog_item", "priority", "sla", "search", "page"} <= names
