"""The staff workspace pages: queues, the task page, the department manager's view."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from esm import clock
from esm.models import BusinessCalendar, Event, EventKind
from services import actions
from services.models import CannedReply, FulfilmentTask, Queue, SlaPolicy, SlaTarget
from services.views.workspace import PEOPLE_PER_PAGE, TASKS_PER_PAGE
from tests.esm.factories import (
    TEST_PASSWORD,
    BusinessCalendarFactory,
    DepartmentRoleFactory,
    UserFactory,
)
from tests.services.factories import CatalogItemFactory, FulfilmentTaskFactory

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


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


def _raise(employee, department, *, subject="Laptop broken", confidential=False, key=None):
    policy, created = SlaPolicy.objects.get_or_create(name="Standard")
    if created:
        SlaTarget.objects.create(
            policy=policy, priority="normal", response_minutes=60, resolution_minutes=480
        )
        SlaTarget.objects.create(
            policy=policy, priority="urgent", response_minutes=15, resolution_minutes=120
        )
    item = CatalogItemFactory(
        department=department, is_confidential=confidential, sla_policy=policy
    )
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=employee,
        subject=subject,
        answers=[
            {"key": "model", "label": "Model", "kind": "text", "value": "X1", "display": "X1"}
        ],
        submission_key=key or subject,
    )
    return service_request.tasks.get()


def _operate(client, task, operation, **data):
    data.setdefault("version", task.version)
    return client.post(reverse("task_operation", args=[task.pk, operation]), data)


def test_queues_are_for_department_staff_only(client, employee):
    assert signed_in(client, employee).get(reverse("queue_list")).status_code == 403


def test_queue_list_shows_my_departments_queues_with_counts(
    client, it_agent, it_queue, hr_queue, employee
):
    _raise(employee, it_queue.department)

    response = signed_in(client, it_agent).get(reverse("queue_list"))

    assert response.status_code == 200
    queues = list(response.context["queues"])
    assert queues == [it_queue]
    assert (queues[0].open_count, queues[0].unclaimed_count) == (1, 1)
    # The breached count is named as the queue's own page names it: a department target.
    assert "Past department target" in response.content.decode()


def test_another_departments_queue_and_tasks_do_not_exist_for_an_agent(
    client, hr_agent, it_queue, employee
):
    task = _raise(employee, it_queue.department)
    signed_in(client, hr_agent)

    assert client.get(reverse("queue_detail", args=[it_queue.slug])).status_code == 404
    assert client.get(reverse("task_detail", args=[task.pk])).status_code == 404
    assert _operate(client, task, "claim").status_code == 404
    task.refresh_from_db()
    assert task.assignee is None


def test_confidential_task_is_invisible_outside_its_department(
    client, it_agent, hr_agent, hr_queue, employee
):
    task = _raise(employee, hr_queue.department, confidential=True)

    assert (
        signed_in(client, it_agent).get(reverse("task_detail", args=[task.pk])).status_code == 404
    )
    client.logout()
    assert (
        signed_in(client, hr_agent).get(reverse("task_detail", args=[task.pk])).status_code == 200
    )


def test_queue_page_filters_and_sorts_by_urgency(client, it_agent, it_queue, employee):
    first = _raise(employee, it_queue.department, subject="Printer jam")
    second = _raise(employee, it_queue.department, subject="VPN down")
    actions.task_set_priority(task=second, by=it_agent, priority="urgent")
    signed_in(client, it_agent)

    response = client.get(reverse("queue_detail", args=[it_queue.slug]))
    # Urgent work is due sooner in business time, so it comes first.
    assert [row["task"].pk for row in response.context["rows"]] == [second.pk, first.pk]

    filtered = client.get(reverse("queue_detail", args=[it_queue.slug]), {"search": "vpn"})
    assert [row["task"].pk for row in filtered.context["rows"]] == [second.pk]
    by_priority = client.get(reverse("queue_detail", args=[it_queue.slug]), {"priority": "urgent"})
    assert [row["task"].pk for row in by_priority.context["rows"]] == [second.pk]


def test_take_next_claims_the_most_urgent_task(client, it_agent, it_queue, employee):
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)

    response = client.post(reverse("queue_take_next", args=[it_queue.slug]))

    assert response.status_code == 302
    assert response["Location"] == reverse("task_detail", args=[task.pk])
    task.refresh_from_db()
    assert task.assignee == it_agent
    empty = client.post(reverse("queue_take_next", args=[it_queue.slug]), follow=True)
    assert "Nothing is waiting" in empty.content.decode()


def test_claim_then_reply_emails_the_employee(
    client, it_agent, it_queue, employee, django_capture_on_commit_callbacks
):
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)

    assert _operate(client, task, "claim").status_code == 302
    task.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = _operate(client, task, "reply", body="On its way.")

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [employee.email]
    assert "On its way." in mail.outbox[0].body


def test_internal_note_never_reaches_the_employee(
    client, it_agent, it_queue, employee, django_capture_on_commit_callbacks
):
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)
    with django_capture_on_commit_callbacks(execute=True):
        _operate(client, task, "note", body="Vendor ticket 4711")
    client.logout()

    page = signed_in(client, employee).get(
        reverse("request_detail", args=[task.service_request.reference])
    )

    assert "Vendor ticket 4711" not in page.content.decode()
    assert mail.outbox == []


def test_a_stale_form_changes_nothing_and_says_who_changed_what(
    client, it_agent, department_manager, it_queue, employee
):
    task = _raise(employee, it_queue.department)
    seen_version = task.version
    actions.task_claim(task=task, agent=department_manager)
    events_before = Event.objects.count()
    signed_in(client, it_agent)

    response = _operate(client, task, "resolve", body="Fixed", version=seen_version)

    assert response.status_code == 409
    assert "changed while you had it open" in response.content.decode()
    task.refresh_from_db()
    assert task.state == FulfilmentTask.State.IN_PROGRESS
    assert Event.objects.count() == events_before


def test_invalid_form_shows_errors_beside_the_field(client, it_agent, it_queue, employee):
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)

    response = _operate(client, task, "resolve", body="")

    assert response.status_code == 400
    assert response.context["resolve_form"].errors["body"]
    task.refresh_from_db()
    assert task.is_open


def test_hand_off_moves_the_work_to_another_queue(client, it_agent, it_queue, hr_queue, employee):
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)

    response = _operate(client, task, "hand-off", to_queue=hr_queue.pk, reason="Payroll question")

    assert response.status_code == 302
    received = FulfilmentTask.objects.get(queue=hr_queue)
    assert received.handed_off_from_id == task.pk
    handoff = Event.objects.get(kind=EventKind.HANDED_OFF)
    assert (handoff.from_department, handoff.to_department) == (
        it_queue.department,
        hr_queue.department,
    )


def test_bulk_assign(client, department_manager, it_agent, it_queue, employee):
    tasks = [_raise(employee, it_queue.department, subject=f"Thing {n}") for n in range(3)]
    signed_in(client, department_manager)

    response = client.post(
        reverse("queue_bulk", args=[it_queue.slug]),
        {"tasks": [task.pk for task in tasks[:2]], "action": "assign", "assignee": it_agent.pk},
    )

    assert response.status_code == 302
    assert FulfilmentTask.objects.filter(assignee=it_agent).count() == 2


def test_assigning_outside_the_department_is_refused_beside_the_field(
    client, it_agent, hr_agent, it_queue, employee
):
    """The assign list offers the department's people; a posted id is checked against them
    (the form builds that check only when something is posted)."""
    task = _raise(employee, it_queue.department)
    signed_in(client, it_agent)

    refused = _operate(client, task, "assign", assignee=hr_agent.pk)

    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    task.refresh_from_db()
    assert task.assignee is None
    assert _operate(client, task, "assign", assignee=it_agent.pk).status_code == 302
    task.refresh_from_db()
    assert task.assignee == it_agent


def test_withdrawing_a_consult_no_longer_open_says_so_and_changes_nothing(
    client, it_agent, hr_agent, it_queue, hr_queue, employee
):
    """The page draws each open consult's withdraw button itself, and the withdraw form
    only when a withdrawal was refused, with its reason."""
    task = actions.task_claim(task=_raise(employee, it_queue.department), agent=it_agent)
    consult = actions.task_consult(task=task, agent=it_agent, to_queue=hr_queue, question="?")
    signed_in(client, it_agent)
    page = client.get(reverse("task_detail", args=[task.pk]))
    assert "Withdraw the question" in page.content.decode()
    assert "withdraw_form" not in page.context
    actions.consult_answer(consult=consult, agent=hr_agent, answer="Yes")
    task.refresh_from_db()

    refused = _operate(client, task, "withdraw-consult", consult=consult.pk)

    assert refused.status_code == 400
    assert "That consult is no longer open." in refused.content.decode()
    consult.refresh_from_db()
    assert consult.state == "answered"


def test_the_queue_page_offers_the_departments_agents_in_both_lists(
    client, department_manager, it_agent, hr_agent, it_queue, employee
):
    """The assignee filter and the bulk-assign list name the same people, the department's
    agents and managers only, each by name, and the bulk list posts their ids."""
    _raise(employee, it_queue.department, subject="Thing")
    signed_in(client, department_manager)

    page = client.get(reverse("queue_detail", args=[it_queue.slug]))

    html = page.content.decode()
    bulk = html[html.index('<select name="assignee" aria-label="Assignee">') :]
    bulk = bulk[: bulk.index("</select>")]
    assert '<option value="" selected>(person)</option>' in bulk
    for person in (it_agent, department_manager):
        option = f'<option value="{person.pk}">{person.get_full_name()}</option>'
        assert option in bulk
        assert html.count(option) == 2  # the filter offers them too
    assert hr_agent.get_full_name() not in html


def test_bulk_priority(client, department_manager, it_queue, employee):
    tasks = [_raise(employee, it_queue.department, subject=f"Thing {n}") for n in range(3)]
    signed_in(client, department_manager)

    response = client.post(
        reverse("queue_bulk", args=[it_queue.slug]),
        {"tasks": [task.pk for task in tasks[1:]], "action": "priority", "priority": "urgent"},
    )

    assert response.status_code == 302
    assert list(FulfilmentTask.objects.order_by("pk").values_list("priority", flat=True)) == [
        "normal",
        "urgent",
        "urgent",
    ]


def test_the_queue_page_paginates(client, it_agent, it_queue, employee, settings):
    for n in range(TASKS_PER_PAGE + 2):
        _raise(employee, it_queue.department, subject=f"Thing {n}")
    signed_in(client, it_agent)
    url = reverse("queue_detail", args=[it_queue.slug])

    first, second = client.get(url), client.get(url, {"page": 2})

    assert len(first.context["rows"]) == TASKS_PER_PAGE
    assert len(second.context["rows"]) == 2
    row = first.context["rows"][0]
    html = first.content.decode()
    assert row["task"].service_request.reference in html
    assert employee.get_full_name() in html
    assert "Unclaimed" in html


def test_the_queue_page_counts_its_pages_with_the_queue_unless_filtered(
    client, it_agent, it_queue, employee
):
    """Unfiltered, the page lists every open task of the queue, so the queue's own open
    count (read with the queue) is the paginator's: no second count. Filtered, the page
    counts what the filters leave."""
    tasks = [_raise(employee, it_queue.department, subject=f"Thing {n}") for n in range(3)]
    actions.task_claim(task=tasks[0], agent=it_agent)
    resolved = _raise(employee, it_queue.department, subject="Done already")
    actions.task_claim(task=resolved, agent=it_agent)
    actions.task_resolve(task=resolved, agent=it_agent, resolution="Fixed.")
    signed_in(client, it_agent)
    url = reverse("queue_detail", args=[it_queue.slug])

    with CaptureQueriesContext(connection) as unfiltered:
        every = client.get(url)
    with CaptureQueriesContext(connection) as filtered:
        queued = client.get(url, {"state": FulfilmentTask.State.QUEUED})

    assert every.context["page"].paginator.count == 3
    assert queued.context["page"].paginator.count == 2
    counts = [
        [q["sql"] for q in queries if q["sql"].startswith('SELECT COUNT(*) AS "__count"')]
        for queries in (unfiltered, filtered)
    ]
    assert [len(found) for found in counts] == [0, 1]


def test_the_queue_page_sorts_and_counts_at_the_time_of_each_visit(client, it_agent, it_queue):
    """Its sort and counts read the clock through queries whose text a process keeps
    (`esm.kept_queries`): the next visit's now, not the first's."""
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    later_due = FulfilmentTaskFactory(
        queue=it_queue,
        resolution_due_at=start + dt.timedelta(hours=10),
        at_risk_at=start + dt.timedelta(hours=1),
    )
    sooner_due = FulfilmentTaskFactory(
        queue=it_queue,
        resolution_due_at=start + dt.timedelta(hours=5),
        at_risk_at=start + dt.timedelta(hours=4),
    )
    signed_in(client, it_agent)
    url = reverse("queue_detail", args=[it_queue.slug])

    def visit(at: dt.datetime) -> tuple[list[int], int]:
        with clock.travel(at):
            response = client.get(url)
        queue = response.context["queue"]
        return [row["task"].pk for row in response.context["rows"]], queue.breached_count

    # Both on track: the sooner due first. Two hours on, the other is at risk and leads.
    # Six hours on, the sooner due is past its target.
    assert visit(start) == ([sooner_due.pk, later_due.pk], 0)
    assert visit(start + dt.timedelta(hours=2)) == ([later_due.pk, sooner_due.pk], 0)
    assert visit(start + dt.timedelta(hours=6)) == ([sooner_due.pk, later_due.pk], 1)


def test_the_tasks_you_hold_are_sorted_at_the_time_of_each_visit(client, it_agent, it_queue):
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    later_due = FulfilmentTaskFactory(
        queue=it_queue,
        assignee=it_agent,
        resolution_due_at=start + dt.timedelta(hours=10),
        at_risk_at=start + dt.timedelta(hours=1),
    )
    sooner_due = FulfilmentTaskFactory(
        queue=it_queue,
        assignee=it_agent,
        resolution_due_at=start + dt.timedelta(hours=5),
        at_risk_at=start + dt.timedelta(hours=4),
    )
    FulfilmentTaskFactory(queue=it_queue, resolution_due_at=start)
    signed_in(client, it_agent)

    def visit(at: dt.datetime) -> list[int]:
        with clock.travel(at):
            response = client.get(reverse("queue_list"))
        return [row["task"].pk for row in response.context["my_tasks"]]

    assert visit(start) == [sooner_due.pk, later_due.pk]
    assert visit(start + dt.timedelta(hours=2)) == [later_due.pk, sooner_due.pk]


def test_an_empty_queue_says_nothing_waits_in_it(client, it_agent, it_queue):
    response = signed_in(client, it_agent).get(reverse("queue_detail", args=[it_queue.slug]))

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Nothing is waiting in this queue." in response.content.decode()


def test_an_invalid_order_leaves_the_queue_most_urgent_first(client, it_agent, it_queue, employee):
    first = _raise(employee, it_queue.department, subject="Printer jam")
    second = _raise(employee, it_queue.department, subject="VPN down")
    actions.task_set_priority(task=second, by=it_agent, priority="urgent")
    signed_in(client, it_agent)

    response = client.get(reverse("queue_detail", args=[it_queue.slug]), {"order": "sideways"})

    assert response.context["filter_form"].errors["order"]
    assert [row["task"].pk for row in response.context["rows"]] == [second.pk, first.pk]


def test_bulk_without_a_choice_changes_nothing(client, department_manager, it_queue, employee):
    task = _raise(employee, it_queue.department)
    signed_in(client, department_manager)

    response = client.post(
        reverse("queue_bulk", args=[it_queue.slug]), {"tasks": [task.pk], "action": "priority"}
    )

    assert response.status_code == 400
    task.refresh_from_db()
    assert task.priority == "normal"


def test_draft_article_from_a_resolved_task(client, it_agent, it_queue, employee):
    task = _raise(employee, it_queue.department)
    actions.task_resolve(task=task, agent=it_agent, resolution="Restart the dock, then sign in.")
    signed_in(client, it_agent)

    response = client.post(reverse("task_draft_article", args=[task.pk]))

    assert response.status_code == 302
    article = task.service_request.catalog_item.articles.get()
    assert (article.status, article.body) == ("draft", "Restart the dock, then sign in.")


def test_department_overview_is_for_its_managers(
    client, department_manager, it_agent, hr_agent, it_queue, hr_queue, employee
):
    with clock.travel(dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)):  # a week ago, Monday
        old = _raise(employee, it_queue.department, subject="Old")
    with clock.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)):
        fresh = _raise(employee, it_queue.department, subject="Fresh")
        done = _raise(employee, it_queue.department, subject="Done")
        actions.task_claim(task=fresh, agent=it_agent)
        actions.task_claim(task=done, agent=it_agent)
        actions.task_resolve(task=done, agent=it_agent, resolution="Fixed")
        actions.task_hand_off(task=fresh, agent=it_agent, to_queue=hr_queue, reason="HR's")
        # Not symmetric, so in and out cannot be swapped unnoticed: two handed in from HR
        # (one of them sent back to HR as incomplete), one handed out.
        for subject in ("To IT", "Also to IT"):
            from_hr = _raise(employee, hr_queue.department, subject=subject)
            received = actions.task_hand_off(
                task=from_hr, agent=department_manager, to_queue=it_queue, reason="x"
            )
        actions.task_send_back(task=received, agent=it_agent, missing="Which laptop?")
        FulfilmentTask.objects.filter(pk=old.pk).update(sla_breached=True)

        response = signed_in(client, department_manager).get(
            reverse("department_overview", args=[it_queue.department.slug])
        )

    assert response.status_code == 200
    overview = response.context["overview"]
    # Open in IT: the old one and the one handed in from HR and kept.
    assert overview["backlog_total"] == 2
    assert overview["backlog"]["Under a day"] == 1
    assert overview["backlog"]["Over a week"] == 1
    assert overview["sla"]["breached"] == 1
    assert overview["handoffs"] == {
        "handed_in": 2,
        "handed_out": 1,
        "sent_back_in": 0,
        "sent_back_out": 1,
    }
    work = {
        person.username: (person.open_tasks, person.done_this_week)
        for person in overview["per_agent"]
    }
    assert work["it_agent"] == (0, 1)
    client.logout()
    assert (
        signed_in(client, it_agent)
        .get(reverse("department_overview", args=[it_queue.department.slug]))
        .status_code
        == 404
    )


def test_department_overview_lists_its_people_a_page_at_a_time_by_name(
    client, department_manager, it_department
):
    """The manager and 25 agents: 26 people, 25 on the first page, one on the second."""
    for n in range(PEOPLE_PER_PAGE):
        agent = UserFactory(username=f"agent{n:02}", first_name="Agent", last_name=f"{n:02}")
        DepartmentRoleFactory(user=agent, department=it_department)
    signed_in(client, department_manager)
    url = reverse("department_overview", args=[it_department.slug])

    first, second = client.get(url), client.get(url, {"page": 2})

    names = [person.username for person in first.context["people"]]
    assert names == [f"agent{n:02}" for n in range(PEOPLE_PER_PAGE)]
    assert [person.username for person in second.context["people"]] == [department_manager.username]
    assert '<span class="meta">26 in all</span>' in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()


# Session, user and roles, then each page's own reads; none of them grows with the data.
# (The task page reads its consults and the queues it may ask; pages reading end-to-end
# targets load the company calendar: three queries.)
# Each page's own reads, plus the navigation's (roles, approvals waiting).
QUERY_BUDGET = {"queue_detail": 18, "task_detail": 21, "queue_list": 19, "overview": 12}


@pytest.mark.parametrize("page", list(QUERY_BUDGET))
def test_workspace_pages_run_a_constant_number_of_queries(
    client, page, department_manager, it_queue, employee, django_assert_max_num_queries
):
    signed_in(client, department_manager)

    def url():
        first = FulfilmentTask.objects.order_by("pk").first()
        return {
            "queue_detail": reverse("queue_detail", args=[it_queue.slug]),
            "task_detail": reverse("task_detail", args=[first.pk]),
            "queue_list": reverse("queue_list"),
            "overview": reverse("department_overview", args=[it_queue.department.slug]),
        }[page]

    for n in range(2):
        task = _raise(employee, it_queue.department, subject=f"Small {n}")
        actions.task_claim(task=task, agent=department_manager)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as small:
        assert client.get(url()).status_code == 200
    for n in range(20):
        task = _raise(employee, it_queue.department, subject=f"Large {n}")
        actions.task_note(task=task, agent=department_manager, body="note")
        # Held by the viewer too, so "Assigned to you" on the queue list grows with the data.
        actions.task_claim(task=task, agent=department_manager)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as large:
        assert client.get(url()).status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries)


def test_pages_work_without_any_business_calendar_for_tasks_without_sla(
    client, it_agent, it_queue, employee
):
    item = CatalogItemFactory(department=it_queue.department)
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject="No SLA here", answers=[], submission_key="n"
    )
    BusinessCalendar.objects.all().delete()
    signed_in(client, it_agent)

    assert client.get(reverse("queue_detail", args=[it_queue.slug])).status_code == 200
    task = service_request.tasks.get()
    assert client.get(reverse("task_detail", args=[task.pk])).status_code == 200


def test_the_receiving_department_reads_the_internal_notes_of_a_handed_off_request(
    client, it_agent, hr_agent, it_queue, hr_queue, employee
):
    task = _raise(employee, it_queue.department)
    actions.task_note(task=task, agent=it_agent, body="Checked the VPN logs")
    actions.task_hand_off(task=task, agent=it_agent, to_queue=hr_queue, reason="Payroll")
    received = FulfilmentTask.objects.get(queue=hr_queue)

    page = signed_in(client, hr_agent).get(reverse("task_detail", args=[received.pk]))

    assert "Checked the VPN logs" in page.content.decode()


def test_canned_replies_fill_the_reply_box(client, it_agent, it_queue, employee):
    CannedReply.objects.create(department=it_queue.department, title="Hi", body="Hello {name}")
    task = _raise(employee, it_queue.department)

    page = signed_in(client, it_agent).get(reverse("task_detail", args=[task.pk]))

    html = page.content.decode()
    assert 'data-target="reply_form-body"' in html
    assert 'id="reply_form-body"' in html


def test_a_missing_calendar_never_loses_a_request(employee, it_queue):
    BusinessCalendar.objects.all().delete()

    task = _raise(employee, it_queue.department)

    assert task.resolution_due_at is None


# -- the navigation's "Overview" --------------------------------------------------------------


def test_overview_entry_leads_a_manager_to_their_department(client, department_manager):
    client.force_login(department_manager)

    response = client.get(reverse("department_overviews"))

    assert response.status_code == 302
    assert response.url == reverse("department_overview", args=["it"])


def test_overview_entry_lets_a_manager_of_several_departments_choose(
    client, department_manager, hr_department
):
    DepartmentRoleFactory(user=department_manager, department=hr_department, role="manager")
    client.force_login(department_manager)

    response = client.get(reverse("department_overviews"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="{reverse("department_overview", args=[hr_department.slug])}"' in page
    assert f'href="{reverse("department_overview", args=["it"])}"' in page


def test_overview_entry_is_refused_to_agents(client, it_agent):
    client.force_login(it_agent)

    assert client.get(reverse("department_overviews")).status_code == 403
