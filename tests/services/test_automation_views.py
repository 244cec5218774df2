"""What people see of fulfilment plans: the plan graph, progress, the case timeline."""

import pytest
from django.urls import reverse

from services import actions
from services.models import PlanStep
from tests.esm.factories import TEST_PASSWORD, BusinessCalendarFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _calendar(db, test_actions):
    BusinessCalendarFactory(name="Company", is_default=True)


def signed_in(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def onboarding(it_department, hr_department, facilities_department):
    item = CatalogItemFactory(name="Onboarding", slug="onboarding", department=hr_department)
    record = _step(item, "hr-record", department=hr_department)
    account = _step(item, "it-account", after=[record], department=it_department)
    laptop = _step(item, "laptop", kind="human", after=[record], department=it_department)
    desk = _step(
        item,
        "desk",
        after=[record],
        department=facilities_department,
        condition_field="office",
        condition_value="yes",
    )
    _step(item, "welcome", after=[account, laptop, desk], department=hr_department)
    return item


def _raise(item, employee, **answers):
    rows = [
        {"key": k, "label": k, "kind": "text", "value": v, "display": v} for k, v in answers.items()
    ]
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject="Onboard Kim", answers=rows, submission_key="k"
    )
    return service_request


def test_plan_graph_lays_out_parallel_steps_in_one_column(client, it_agent, onboarding):
    response = signed_in(client, it_agent).get(reverse("plan_detail", args=["onboarding"]))

    assert response.status_code == 200
    x_of = {box["step"].key: box["x"] for box in response.context["boxes"]}
    assert x_of["hr-record"] < x_of["it-account"] == x_of["laptop"] == x_of["desk"]
    assert x_of["desk"] < x_of["welcome"]
    assert len(response.context["edges"]) == 6
    assert b"<svg" in response.content


def test_plan_graph_is_for_staff(client, employee, onboarding):
    assert (
        signed_in(client, employee).get(reverse("plan_detail", args=["onboarding"])).status_code
        == 403
    )


def test_the_employee_sees_one_cross_department_status(
    client, employee, it_agent, onboarding, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(onboarding, employee, office="no")
    url = reverse("request_detail", args=[service_request.reference])

    response = signed_in(client, employee).get(url)

    progress = {row["name"]: row for row in response.context["progress"]}
    assert progress["Hr record"]["status"] == "Done"
    assert progress["Desk"]["status"] == "Not needed"
    assert progress["Laptop"]["status"] == "Waiting to be picked up in IT"
    assert progress["Laptop"]["current"]
    actions.task_claim(task=service_request.tasks.get(), agent=it_agent)
    claimed = {row["name"]: row for row in client.get(url).context["progress"]}
    assert claimed["Laptop"]["status"] == "Being handled by IT"
    assert progress["Welcome"]["status"].startswith("Next")
    texts = [entry["text"] for entry in response.context["timeline"]]
    assert "Hr record: done" in texts
    assert "Queued with IT" in texts


def test_the_status_names_who_has_it_now_and_what_comes_next(
    client, employee, it_agent, onboarding, django_capture_on_commit_callbacks
):
    # An HR item whose open step is IT's: HR is not the one working on it now.
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(onboarding, employee, office="no")
    url = reverse("request_detail", args=[service_request.reference])

    response = signed_in(client, employee).get(url)

    assert response.context["where_it_stands"] == (
        "Waiting for IT to pick it up. Next: Welcome (HR)."
    )
    actions.task_claim(task=service_request.tasks.get(), agent=it_agent)
    assert client.get(url).context["where_it_stands"] == (
        "IT is working on it. Next: Welcome (HR)."
    )


def test_task_events_reach_the_timeline_but_staff_bookkeeping_does_not(
    client, employee, it_agent, it_department
):
    item = CatalogItemFactory(department=it_department)
    service_request = _raise(item, employee)
    task = service_request.tasks.get()
    actions.task_claim(task=task, agent=it_agent)
    actions.task_set_priority(task=task, by=it_agent, priority="high")

    employee_view = signed_in(client, employee).get(
        reverse("request_detail", args=[service_request.reference])
    )
    texts = [entry["text"] for entry in employee_view.context["timeline"]]
    assert "Picked up in IT" in texts
    assert not any("Priority" in text for text in texts)


def test_task_forms_show_no_label_for_their_hidden_version(
    client, it_agent, it_department, employee
):
    task = _raise(CatalogItemFactory(department=it_department), employee).tasks.get()

    page = signed_in(client, it_agent).get(reverse("task_detail", args=[task.pk])).content.decode()

    assert ">Version<" not in page
    assert 'name="version"' in page


def test_plan_steps_keep_their_order(onboarding):
    assert list(PlanStep.objects.filter(item=onboarding).values_list("key", flat=True)) == [
        "hr-record",
        "it-account",
        "laptop",
        "desk",
        "welcome",
    ]


def test_staff_reach_the_plan_from_the_item_page(client, it_agent, employee, onboarding):
    plan_link = f'href="{reverse("plan_detail", args=["onboarding"])}"'

    staff_page = signed_in(client, it_agent).get(reverse("catalog_item", args=["onboarding"]))
    employee_page = signed_in(client, employee).get(reverse("catalog_item", args=["onboarding"]))

    assert plan_link in staff_page.content.decode()
    assert plan_link not in employee_page.content.decode()


def test_an_item_without_a_plan_offers_no_plan_link(client, it_agent, it_department):
    item = CatalogItemFactory(department=it_department)

    page = signed_in(client, it_agent).get(reverse("catalog_item", args=[item.slug]))

    assert "plan/" not in page.content.decode()


def test_staff_reach_the_plan_from_a_plan_task(
    client, employee, it_agent, onboarding, it_department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _raise(onboarding, employee, office="no")
    plan_task = service_request.tasks.get(step_key="laptop")
    plain_request, _ = actions.service_request_submit(
        item=CatalogItemFactory(department=it_department),
        raised_by=employee,
        subject="Plain",
        answers=[],
        submission_key="plain",
    )
    plain_task = plain_request.tasks.get()
    plan_link = f'href="{reverse("plan_detail", args=["onboarding"])}"'

    signed_in(client, it_agent)
    assert plan_link in client.get(reverse("task_detail", args=[plan_task.pk])).content.decode()
    assert "/plan/" not in client.get(reverse("task_detail", args=[plain_task.pk])).content.decode()
