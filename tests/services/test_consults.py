"""Consults: asking another department about a task, without handing the work off."""

import datetime as dt
import logging

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from esm.models import Event, EventKind
from esm.permissions import can
from services import actions
from services.actions import ActionRefused
from services.models import Consult, FulfilmentTask, Queue, ServiceRequest
from tests.esm.factories import TEST_PASSWORD, BusinessCalendarFactory
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db
State = FulfilmentTask.State


@pytest.fixture(autouse=True)
def company_calendar(db):
    return BusinessCalendarFactory(name="Company", is_default=True)


@pytest.fixture
def it_queue(it_department):
    return Queue.objects.create(
        department=it_department, name="IT Service Desk", slug="it-desk", is_default=True
    )


@pytest.fixture
def hr_queue(hr_department):
    return Queue.objects.create(
        department=hr_department, name="HR Cases", slug="hr-cases", is_default=True
    )


@pytest.fixture
def facilities_queue(facilities_department):
    return Queue.objects.create(
        department=facilities_department, name="Workplace", slug="workplace", is_default=True
    )


def _raise(employee, department, *, subject="Grievance about my team", confidential=False):
    item = CatalogItemFactory(department=department, is_confidential=confidential)
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject=subject, answers=[], submission_key=subject
    )
    return service_request.tasks.get()


@pytest.fixture
def hr_task(employee, hr_department, hr_queue, hr_agent):
    task = _raise(employee, hr_department, confidential=True)
    return actions.task_claim(task=task, agent=hr_agent)


def _fresh(obj):
    obj.refresh_from_db()
    return obj


def _events(subject):
    return list(Event.objects.for_subject(subject).order_by("id"))


def signed_in(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


# -- actions -----------------------------------------------------------------------------


def test_asking_queues_a_consult_task_and_the_asking_task_waits(hr_task, hr_agent, it_queue):
    consult = actions.task_consult(
        task=hr_task, agent=hr_agent, to_queue=it_queue, question="Which laptop has she?"
    )

    assert consult.consult_task.queue == it_queue
    assert consult.consult_task.state == State.QUEUED
    assert consult.consult_task.title == "Question from HR"  # not the confidential title
    assert _fresh(hr_task).state == State.WAITING_ON_DEPARTMENT
    assert _fresh(hr_task.service_request).state == ServiceRequest.State.IN_PROGRESS
    [asked] = _events(consult)
    assert asked.kind == EventKind.CONSULT_ASKED
    assert (asked.department.slug, asked.from_department.slug, asked.to_department.slug) == (
        "hr",
        "hr",
        "it",
    )
    assert asked.to_value == Consult.State.OPEN
    assert asked.is_confidential
    assert asked.payload["asking_task"] == hr_task.pk
    assert asked.payload["consult_task"] == consult.consult_task_id
    waiting = _events(hr_task)[-1]
    assert waiting.kind == EventKind.WAITING_ON_DEPARTMENT
    assert (waiting.from_value, waiting.to_value) == (
        State.IN_PROGRESS,
        State.WAITING_ON_DEPARTMENT,
    )
    assert waiting.to_department.slug == "it"
    assert waiting.is_confidential


def test_answering_the_last_consult_resumes_the_asking_task(
    hr_task, hr_agent, it_agent, facilities_agent, it_queue, facilities_queue
):
    first = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="A?")
    second = actions.task_consult(
        task=hr_task, agent=hr_agent, to_queue=facilities_queue, question="B?"
    )

    actions.consult_answer(consult=first, agent=it_agent, answer="A laptop.")
    assert _fresh(hr_task).state == State.WAITING_ON_DEPARTMENT
    actions.consult_answer(consult=second, agent=facilities_agent, answer="Desk 4.")

    assert _fresh(hr_task).state == State.IN_PROGRESS
    assert _fresh(first).answer == "A laptop."
    assert _fresh(first.consult_task).state == State.DONE
    answered = _events(first)[-1]
    assert answered.kind == EventKind.CONSULT_ANSWERED
    assert (answered.department.slug, answered.from_department.slug) == ("it", "it")
    assert answered.to_department.slug == "hr"
    assert (answered.from_value, answered.to_value) == ("open", "answered")
    ended = _events(hr_task)[-1]
    assert ended.kind == EventKind.DEPARTMENT_WAIT_ENDED
    assert (ended.from_value, ended.to_value) == (State.WAITING_ON_DEPARTMENT, State.IN_PROGRESS)
    assert (ended.from_department.slug, ended.to_department.slug) == ("facilities", "hr")


def test_withdrawing_cancels_the_consult_task_and_resumes(hr_task, hr_agent, it_queue):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")

    actions.consult_withdraw(consult=consult, agent=hr_agent)

    assert _fresh(consult).state == Consult.State.WITHDRAWN
    assert _fresh(consult.consult_task).state == State.CANCELLED
    assert _fresh(hr_task).state == State.IN_PROGRESS
    assert _events(consult)[-1].kind == EventKind.CONSULT_WITHDRAWN


def test_employee_answer_returns_to_waiting_on_the_department(
    hr_task, hr_agent, it_queue, employee
):
    actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")
    actions.task_ask(task=hr_task, agent=hr_agent, question="When?", missing_information=True)
    assert _fresh(hr_task).state == State.WAITING_ON_EMPLOYEE

    actions.comment_add(service_request=hr_task.service_request, author=employee, body="Monday")

    assert _fresh(hr_task).state == State.WAITING_ON_DEPARTMENT


def test_cancelling_the_request_withdraws_its_open_consults(hr_task, hr_agent, it_queue, employee):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")

    actions.service_request_cancel(service_request=hr_task.service_request, user=employee)

    assert _fresh(consult).state == Consult.State.WITHDRAWN
    assert _fresh(consult.consult_task).state == State.CANCELLED
    assert _fresh(hr_task).state == State.CANCELLED


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("own_department", "your own department"),
        ("empty_question", "Write the question"),
        ("consult_of_consult", "itself a consult"),
        ("outsider", "does not work in this department"),
    ],
)
def test_refused_consults_change_nothing(
    case, message, hr_task, hr_agent, it_agent, it_queue, outsider, hr_department
):
    other_hr_queue = Queue.objects.create(department=hr_department, name="ER", slug="er")
    task, agent, queue, question = hr_task, hr_agent, it_queue, "Which laptop?"
    if case == "own_department":
        queue = other_hr_queue
    elif case == "empty_question":
        question = "  "
    elif case == "consult_of_consult":
        consult = actions.task_consult(
            task=hr_task, agent=hr_agent, to_queue=it_queue, question="?"
        )
        task, agent, queue = consult.consult_task, it_agent, other_hr_queue
    else:
        agent = outsider
    before = (Consult.objects.count(), Event.objects.count(), _fresh(task).version)

    with pytest.raises(ActionRefused, match=message):
        actions.task_consult(task=task, agent=agent, to_queue=queue, question=question)

    assert (Consult.objects.count(), Event.objects.count(), _fresh(task).version) == before


@pytest.mark.parametrize("operation", ["hand_off", "resolve", "reply", "ask"])
def test_a_consult_task_only_answers(operation, hr_task, hr_agent, it_agent, it_queue, hr_queue):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")
    task = consult.consult_task
    calls = {
        "hand_off": lambda: actions.task_hand_off(
            task=task, agent=it_agent, to_queue=hr_queue, reason="x"
        ),
        "resolve": lambda: actions.task_resolve(task=task, agent=it_agent, resolution="x"),
        "reply": lambda: actions.task_reply(task=task, agent=it_agent, body="x"),
        "ask": lambda: actions.task_ask(task=task, agent=it_agent, question="x"),
    }
    events = Event.objects.count()

    with pytest.raises(ActionRefused, match="consult from another department"):
        calls[operation]()

    assert Event.objects.count() == events
    assert _fresh(task).state == State.QUEUED


def test_the_asking_task_cannot_resolve_with_an_open_consult(hr_task, hr_agent, it_queue):
    actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")

    with pytest.raises(ActionRefused, match="not answered"):
        actions.task_resolve(task=hr_task, agent=hr_agent, resolution="Done")

    assert _fresh(hr_task).state == State.WAITING_ON_DEPARTMENT


def test_answer_twice_is_refused(hr_task, hr_agent, it_agent, it_queue):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")
    actions.consult_answer(consult=consult, agent=it_agent, answer="Yes")

    with pytest.raises(ActionRefused, match="already answered"):
        actions.consult_answer(consult=consult, agent=it_agent, answer="No")

    assert _fresh(consult).answer == "Yes"


# -- permissions and pages ---------------------------------------------------------------


def test_consulted_department_sees_the_question_not_the_confidential_case(
    client, hr_task, hr_agent, it_agent, it_queue
):
    consult = actions.task_consult(
        task=hr_task, agent=hr_agent, to_queue=it_queue, question="Which laptop has she?"
    )
    actions.task_note(task=hr_task, agent=hr_agent, body="Sensitive note")
    signed_in(client, it_agent)

    page = client.get(reverse("task_detail", args=[consult.consult_task_id])).content.decode()
    queue = client.get(reverse("queue_detail", args=[it_queue.slug])).content.decode()

    assert "Which laptop has she?" in page
    assert "Question from HR" in page
    hidden = (
        "Grievance about my team",
        "Sensitive note",
        "Employee",
        "the asking task",
        "End to end",
    )
    for secret in hidden:
        assert secret not in page
    assert "Consult from HR" in queue
    assert "Grievance" not in queue
    assert "Employee-Persona" not in queue
    assert client.get(reverse("task_detail", args=[hr_task.pk])).status_code == 404
    searched = client.get(reverse("queue_detail", args=[it_queue.slug]), {"search": "grievance"})
    assert "Question from HR" not in searched.content.decode()


def test_asking_department_sees_the_answer_and_links_both_ways(
    client, hr_task, hr_agent, it_agent, it_queue
):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    actions.consult_answer(consult=consult, agent=it_agent, answer="A ThinkPad X1.")
    signed_in(client, hr_agent)

    page = client.get(reverse("task_detail", args=[hr_task.pk])).content.decode()
    consult_page = client.get(reverse("task_detail", args=[consult.consult_task_id]))

    assert "A ThinkPad X1." in page
    assert consult_page.status_code == 404  # HR is not staff of IT's queue


def test_an_outsider_gets_404_for_both_tasks(client, hr_task, hr_agent, it_queue, outsider):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    signed_in(client, outsider)

    for pk in (hr_task.pk, consult.consult_task_id):
        assert client.get(reverse("task_detail", args=[pk])).status_code == 404


def test_the_rule_and_the_queryset_agree(hr_task, hr_agent, it_agent, it_queue):

    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    for user in (hr_agent, it_agent):
        for task in FulfilmentTask.objects.visible_to(user).with_case_hidden(user):
            assert task.case_hidden == (not can(user, "services.view_task_case", task))
    assert not can(it_agent, "services.view_task_case", consult.consult_task)
    assert can(hr_agent, "services.view_task_case", hr_task)


def test_consult_form_asks_and_errors_sit_beside_the_field(client, hr_task, hr_agent, it_queue):
    signed_in(client, hr_agent)
    url = reverse("task_operation", args=[hr_task.pk, "consult"])

    bad = client.post(url, {"version": hr_task.version, "to_queue": it_queue.pk, "question": ""})
    assert bad.status_code == 400
    assert 'id="consult_form-question"' in bad.content.decode()
    assert Consult.objects.count() == 0

    good = client.post(
        url, {"version": _fresh(hr_task).version, "to_queue": it_queue.pk, "question": "Q?"}
    )
    assert good.status_code == 302
    assert Consult.objects.get().question == "Q?"


def test_answer_form_answers(client, hr_task, hr_agent, it_agent, it_queue):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    task = consult.consult_task
    signed_in(client, it_agent)

    response = client.post(
        reverse("task_operation", args=[task.pk, "answer"]),
        {"version": _fresh(task).version, "body": "The answer"},
    )

    assert response.status_code == 302
    assert _fresh(consult).answer == "The answer"


def test_ask_form_records_missing_information(client, hr_task, hr_agent):
    signed_in(client, hr_agent)

    response = client.post(
        reverse("task_operation", args=[hr_task.pk, "ask"]),
        {"version": hr_task.version, "body": "Which team?", "missing_information": "on"},
    )

    assert response.status_code == 302
    assert _events(hr_task)[-1].payload["missing_information"] is True


def test_consult_pages_run_a_constant_number_of_queries(
    client, hr_task, hr_agent, it_agent, it_queue, django_assert_max_num_queries
):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    signed_in(client, it_agent)
    with django_assert_max_num_queries(18):
        assert client.get(reverse("task_detail", args=[consult.consult_task_id])).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(reverse("queue_detail", args=[it_queue.slug])).status_code == 200
    signed_in(client, hr_agent)
    with django_assert_max_num_queries(18):
        assert client.get(reverse("task_detail", args=[hr_task.pk])).status_code == 200


def test_a_task_names_the_consult_it_answers_and_an_ordinary_task_none(hr_task, hr_agent, it_queue):
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")

    assert FulfilmentTask.objects.get(pk=consult.consult_task_id).consult_answered == consult
    assert FulfilmentTask.objects.get(pk=hr_task.pk).consult_answered is None


def test_the_queue_rows_badge_the_consult_without_a_failed_template_lookup(
    client, caplog, hr_task, hr_agent, employee, it_department, it_agent, it_queue
):
    """Django logs every variable a template fails to resolve. A failed attribute of a row
    (`task.consult` raises for an ordinary task) also lists every attribute of the task
    before it gives up: on each of 25 rows, a cost the queue page must not pay."""
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="Q?")
    actions.task_claim(task=consult.consult_task, agent=it_agent)
    actions.task_claim(task=_raise(employee, it_department, subject="New monitor"), agent=it_agent)
    signed_in(client, it_agent)

    with caplog.at_level(logging.DEBUG, logger="django.template"):
        page = client.get(reverse("queue_detail", args=[it_queue.slug])).content.decode()
        listed = client.get(reverse("queue_list")).content.decode()

    assert page.count("Consult from HR") == 1
    assert "New monitor" in page
    assert listed.count("Consult from HR") == 1
    assert "New monitor" in listed
    failed = [record.getMessage() for record in caplog.records]
    assert not [message for message in failed if "'consult'" in message], failed


# -- API ---------------------------------------------------------------------------------


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_asks_answers_and_hides_the_case(hr_task, hr_agent, it_agent, it_queue):
    asked = _api(hr_agent).post(
        f"/api/v1/tasks/{hr_task.pk}/consults/", {"to_queue": it_queue.slug, "question": "Q?"}
    )
    assert asked.status_code == 200, asked.content
    assert asked.json()["state"] == State.WAITING_ON_DEPARTMENT
    [consult] = asked.json()["consults_asked"]

    detail = _api(it_agent).get(f"/api/v1/tasks/{consult['consult_task']}/").json()
    assert detail["service_request"] is None
    assert detail["requester"] is None
    assert detail["consult"]["question"] == "Q?"
    rows = _api(it_agent).get(f"/api/v1/queues/{it_queue.slug}/tasks/").json()["results"]
    assert [row["requester"] for row in rows] == [None]
    assert rows[0]["consult_from"]["slug"] == "hr"

    answered = _api(it_agent).post(
        f"/api/v1/tasks/{consult['consult_task']}/answer/", {"answer": "Yes"}
    )
    assert answered.status_code == 200, answered.content
    assert _fresh(hr_task).state == State.IN_PROGRESS


def test_api_refuses_bad_consults_with_field_messages(hr_task, hr_agent, hr_queue):
    own = _api(hr_agent).post(
        f"/api/v1/tasks/{hr_task.pk}/consults/", {"to_queue": hr_queue.slug, "question": "Q?"}
    )
    missing = _api(hr_agent).post(f"/api/v1/tasks/{hr_task.pk}/consults/", {"to_queue": "nope"})

    assert own.status_code == 400
    assert "to_queue" in own.json()
    assert missing.status_code == 400
    assert "question" in missing.json()
    assert Consult.objects.count() == 0


def test_api_ask_records_missing_information(hr_task, hr_agent):
    response = _api(hr_agent).post(
        f"/api/v1/tasks/{hr_task.pk}/ask/", {"question": "Which?", "missing_information": True}
    )

    assert response.status_code == 201, response.content
    assert _events(hr_task)[-1].payload["missing_information"] is True


def test_a_confidential_case_s_promise_never_shows_in_the_consulted_queue(
    client, hr_task, hr_agent, it_agent, it_queue
):
    """The request's end-to-end target is part of the case: the consulted department
    sees "not shown" in its queue and API, and cannot filter or sort by it to find out."""
    consult = actions.task_consult(task=hr_task, agent=hr_agent, to_queue=it_queue, question="?")
    ServiceRequest.objects.filter(pk=hr_task.service_request_id).update(
        end_to_end_due_at=timezone.now() - dt.timedelta(days=3),
        end_to_end_breached=True,
        end_to_end_breached_at=timezone.now() - dt.timedelta(days=3),
    )
    signed_in(client, it_agent)
    queue_url = reverse("queue_detail", args=[it_queue.slug])

    page = client.get(queue_url).content.decode()
    breached = client.get(queue_url, {"end_to_end": "breached"}).context["rows"]
    rows = _api(it_agent).get(f"/api/v1/queues/{it_queue.slug}/tasks/").json()["results"]
    api_breached = _api(it_agent).get(
        f"/api/v1/queues/{it_queue.slug}/tasks/", {"end_to_end": "breached"}
    )
    detail = _api(it_agent).get(f"/api/v1/tasks/{consult.consult_task_id}/").json()

    assert "Not shown" in page
    assert "overdue" not in page
    assert list(breached) == []
    assert [row["end_to_end"] for row in rows] == [None]
    assert api_breached.json()["results"] == []
    assert detail["end_to_end"] is None
    # HR, whose case it is, sees its own promise breached.
    hr_rows = _api(hr_agent).get(f"/api/v1/queues/{hr_task.queue.slug}/tasks/").json()
    assert hr_rows["results"][0]["end_to_end"]["status"] == "breached"


def test_a_task_cannot_be_sent_back_while_its_consult_is_open(
    hr_agent, it_agent, it_queue, it_department, facilities_agent, employee
):
    """Sending back cancels the task: its open question would be left with nobody to
    withdraw it, so the request could never resolve."""
    facilities = facilities_agent.department_roles.get().department
    fac_queue = Queue.objects.create(department=facilities, name="Desks", slug="desks")
    task = _raise(employee, it_department)
    actions.task_claim(task=task, agent=it_agent)
    received = actions.task_hand_off(task=task, agent=it_agent, to_queue=fac_queue, reason="x")
    actions.task_claim(task=received, agent=facilities_agent)
    actions.task_consult(task=received, agent=facilities_agent, to_queue=it_queue, question="?")
    events_before = Event.objects.count()

    with pytest.raises(ActionRefused, match="consult"):
        actions.task_send_back(task=received, agent=facilities_agent, missing="Floor")

    assert _fresh(received).state == State.WAITING_ON_DEPARTMENT
    assert Event.objects.count() == events_before
