"""Status in words that are true: a finished task's page says how it ended, the request
says who has it now and what comes next, the timeline says each fact once, and every
page's aria-describedby points at something."""

import re
from collections import Counter

import pytest
from django.urls import reverse

from services import actions
from services.models import ApprovalStep, Queue, SlaPolicy, SlaTarget
from tests.esm.factories import BusinessCalendarFactory
from tests.services.factories import ApprovalStepFactory, CatalogItemFactory, FormFieldFactory

pytestmark = pytest.mark.django_db


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


def _item(department, **kwargs):
    policy, created = SlaPolicy.objects.get_or_create(name="Standard")
    if created:
        SlaTarget.objects.create(
            policy=policy, priority="normal", response_minutes=60, resolution_minutes=480
        )
    return CatalogItemFactory(department=department, sla_policy=policy, **kwargs)


def _raise(employee, item, subject="Laptop broken"):
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject=subject, answers=[], submission_key=subject
    )
    return service_request


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response


def _texts(response):
    return [row["text"] for row in response.context["timeline"]]


def _header(html):
    return re.search(r'<p class="lead">(.*?)</p>', html, re.S).group(1)


def _ending_card(html):
    return re.search(r'<section class="card" id="ending".*?</section>', html, re.S).group(0)


def test_a_resolved_task_says_who_resolved_it_not_who_works_on_it(
    client, employee, it_agent, it_queue
):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)
    actions.task_resolve(task=task, agent=it_agent, resolution="New battery fitted.")

    response = _page(client, it_agent, reverse("task_detail", args=[task.pk]))
    html = response.content.decode()

    assert "working on it" not in _header(html)
    assert "Resolved by you" in _header(html)
    card = _ending_card(html)
    assert "Done" in card
    assert "Resolved by you" in card
    assert "New battery fitted." in card
    texts = _texts(response)
    assert texts.count("IT finished its part: resolved by you") == 1
    assert texts.count("Request resolved: all its work is done") == 1
    assert not [text for text, n in Counter(texts).items() if n > 1 and "Comment" not in text]


def test_a_handed_off_task_says_to_whom_when_by_whom_and_why(
    client, employee, it_agent, hr_agent, it_queue, hr_queue
):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)
    actions.task_hand_off(task=task, agent=it_agent, to_queue=hr_queue, reason="A payroll matter.")
    received = service_request.tasks.exclude(pk=task.pk).get()

    html = _page(client, it_agent, reverse("task_detail", args=[task.pk])).content.decode()

    assert "working on it" not in _header(html)
    assert "Handed off to HR Cases by you" in _header(html)
    card = _ending_card(html)
    assert "Handed off" in card
    assert "HR Cases" in card
    assert "HR" in card
    assert "By you" in card
    assert "A payroll matter." in card
    # IT may not open HR's task: no link that would answer 404.
    assert reverse("task_detail", args=[received.pk]) not in card

    received_html = _page(client, hr_agent, reverse("task_detail", args=[received.pk]))
    assert "Handed over by IT" in received_html.content.decode()
    assert "A payroll matter." in received_html.content.decode()


def test_a_handoff_links_the_receiving_task_for_whoever_may_open_it(
    client, employee, it_agent, it_queue, it_department
):
    access = Queue.objects.create(department=it_department, name="IT Access", slug="it-access")
    service_request = _raise(employee, _item(it_department))
    task = service_request.tasks.get()
    actions.task_hand_off(task=task, agent=it_agent, to_queue=access, reason="Licences.")
    received = service_request.tasks.exclude(pk=task.pk).get()

    card = _ending_card(
        _page(client, it_agent, reverse("task_detail", args=[task.pk])).content.decode()
    )

    assert reverse("task_detail", args=[received.pk]) in card
    assert "Licences." in card


def test_a_sent_back_task_says_what_was_missing(
    client, employee, it_agent, hr_agent, it_queue, hr_queue
):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_hand_off(task=task, agent=it_agent, to_queue=hr_queue, reason="Payroll.")
    received = service_request.tasks.exclude(pk=task.pk).get()
    actions.task_send_back(task=received, agent=hr_agent, missing="The employee number.")

    html = _page(client, hr_agent, reverse("task_detail", args=[received.pk])).content.decode()

    assert "Sent back to IT Service Desk by you" in _header(html)
    card = _ending_card(html)
    assert "Sent back" in card
    assert "The employee number." in card


def test_the_timeline_says_work_started_and_the_employees_wait_once(
    client, employee, it_agent, it_queue
):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)
    actions.task_ask(task=task, agent=it_agent, question="Which floor?")

    texts = _texts(
        _page(client, employee, reverse("request_detail", args=[service_request.reference]))
    )

    assert "Picked up in IT" in texts
    assert not any(text.startswith("Work started") for text in texts)
    assert "Waiting for the employee's answer" not in texts
    assert texts.count(f"{it_agent.get_full_name()} asked for more information") == 1


def test_only_the_requester_reads_waiting_for_your_answer(client, employee, it_agent, it_queue):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_ask(task=task, agent=it_agent, question="Which floor?")
    url = reverse("request_detail", args=[service_request.reference])

    mine = _page(client, employee, url).context["progress"]
    theirs = _page(client, it_agent, url).context["progress"]

    assert [row["status"] for row in mine] == ["Waiting for your answer"]
    assert [row["status"] for row in theirs] == [f"Waiting for {employee.get_full_name()}'s answer"]


def test_the_request_names_the_department_that_has_it_now(
    client, employee, hr_agent, it_agent, hr_department, hr_queue, it_queue
):
    service_request = _raise(employee, _item(hr_department))
    task = service_request.tasks.get()
    received = actions.task_hand_off(
        task=task, agent=hr_agent, to_queue=it_queue, reason="A laptop."
    )
    url = reverse("request_detail", args=[service_request.reference])

    response = _page(client, employee, url)

    # Nobody in IT has it yet: the sentence says so, as the progress list does.
    assert response.context["where_it_stands"] == "Waiting for IT to pick it up."
    progress = {row["department"]: row["status"] for row in response.context["progress"]}
    assert progress == {"HR": "Passed on to IT", "IT": "Waiting to be picked up in IT"}
    actions.task_claim(task=received, agent=it_agent)
    assert _page(client, employee, url).context["where_it_stands"] == "IT is working on it."


def test_an_approval_names_its_approver_once(client, employee, manager, it_queue):
    item = _item(it_queue.department)
    ApprovalStepFactory(item=item, position=1)
    service_request = _raise(employee, item)
    approval = service_request.approvals.get()
    actions.approval_decide(approval=approval, user=manager, approve=True, comment="")

    html = _page(
        client, employee, reverse("request_detail", args=[service_request.reference])
    ).content.decode()
    approvals = re.search(r"<h2>Approvals</h2>.*?</ol>", html, re.S).group(0)

    assert approvals.count(manager.get_full_name()) == 1


def _crumbs(html):
    nav = re.search(r'<nav class="crumbs".*?</nav>', html, re.S).group(0)
    return re.findall(r">([^<>]+)</a>", nav)


def test_the_breadcrumbs_show_the_way_the_viewer_came(
    client, employee, manager, it_agent, it_queue
):
    item = _item(it_queue.department)
    ApprovalStepFactory(item=item, position=1)
    service_request = _raise(employee, item)
    actions.approval_decide(
        approval=service_request.approvals.get(), user=manager, approve=True, comment=""
    )
    task = service_request.tasks.get()
    url = reverse("request_detail", args=[service_request.reference])

    assert _crumbs(_page(client, employee, url).content.decode()) == ["My requests"]
    assert _crumbs(_page(client, manager, url).content.decode()) == ["Approvals"]
    assert _crumbs(_page(client, it_agent, url).content.decode()) == [
        "Queues",
        "IT Service Desk",
        task.title,
    ]


def _described_by_ids_missing(html):
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = {
        ref for refs in re.findall(r'aria-describedby="([^"]+)"', html) for ref in refs.split()
    }
    return wanted - ids, wanted


def test_every_aria_describedby_points_at_an_element(client, employee, it_agent, it_queue):
    item = _item(it_queue.department, allow_on_behalf=True)
    FormFieldFactory(item=item, key="floor", label="Floor", help_text="Where you sit.", position=1)
    service_request = _raise(employee, item)
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)

    pages = [
        (employee, reverse("catalog_item", args=[item.slug])),
        (employee, reverse("request_detail", args=[service_request.reference])),
        (it_agent, reverse("task_detail", args=[task.pk])),
        (it_agent, reverse("request_detail", args=[service_request.reference])),
    ]
    described = 0
    for user, url in pages:
        missing, wanted = _described_by_ids_missing(_page(client, user, url).content.decode())
        assert not missing, (url, missing)
        described += len(wanted)
    assert described  # the pages do describe fields with help texts


def test_a_role_approver_comes_from_the_approvals_page(
    client, employee, department_manager, it_department, it_queue
):
    item = _item(it_department)
    ApprovalStepFactory(
        item=item,
        position=1,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=it_department,
        role="manager",
    )
    service_request = _raise(employee, item)
    url = reverse("request_detail", args=[service_request.reference])

    assert _crumbs(_page(client, department_manager, url).content.decode()) == ["Approvals"]


def test_a_finished_task_page_reads_a_constant_number_of_queries(
    client, employee, it_agent, it_queue, hr_queue, django_assert_max_num_queries
):
    service_request = _raise(employee, _item(it_queue.department))
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)
    actions.task_note(task=task, agent=it_agent, body="First look.")
    actions.task_hand_off(task=task, agent=it_agent, to_queue=hr_queue, reason="Payroll.")
    client.force_login(it_agent)
    url = reverse("task_detail", args=[task.pk])

    with django_assert_max_num_queries(25) as small:
        assert client.get(url).status_code == 200
    for n in range(10):
        actions.comment_add(service_request=service_request, author=employee, body=f"Any news {n}?")
    with django_assert_max_num_queries(25) as large:
        assert client.get(url).status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries)
