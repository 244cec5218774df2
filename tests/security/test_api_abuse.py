"""The API against a caller who guesses and pushes: another person's things by id, fields
the caller may not set, filters and orderings on private fields, huge pages."""

import pytest

from services.models import Comment, FulfilmentTask, ServiceRequest
from tests.security.world import HR_CANARY

pytestmark = pytest.mark.django_db


def _snapshot(service_request: ServiceRequest) -> tuple:
    service_request.refresh_from_db()
    return (
        service_request.state,
        service_request.requester_id,
        service_request.department_id,
        service_request.is_confidential,
        service_request.comments.count(),
    )


def test_another_person_s_request_task_and_comments_by_id_are_not_found(world):
    client = world.clients["it_agent"]
    case = world.hr_case
    before = _snapshot(case.service_request)

    answers = [
        client.get(f"/api/v1/requests/{case.service_request.reference}/").status_code,
        client.get(f"/api/v1/requests/{case.service_request.reference}/comments/").status_code,
        client.get(f"/api/v1/tasks/{case.task.pk}/").status_code,
        client.post(
            f"/api/v1/requests/{case.service_request.reference}/comments/",
            {"body": "guess"},
            content_type="application/json",
        ).status_code,
        client.post(f"/api/v1/tasks/{case.task.pk}/note/", {"body": "guess"}).status_code,
    ]

    assert answers == [404] * 5
    assert _snapshot(case.service_request) == before


def test_ids_one_past_the_last_answer_like_ids_one_may_not_see(world):
    client = world.clients["employee"]
    last = FulfilmentTask.objects.order_by("-pk").first().pk

    seen = client.get(f"/api/v1/tasks/{world.hr_case.task.pk}/")
    missing = client.get(f"/api/v1/tasks/{last + 1}/")

    assert (seen.status_code, missing.status_code) == (404, 404)
    assert seen.json() == missing.json()


def test_creating_a_request_ignores_fields_the_caller_may_not_set(world):
    client = world.clients["employee"]
    other = world.people["executive"]

    response = client.post(
        "/api/v1/requests/",
        {
            "item": "laptop",
            "subject": "A new laptop",
            "state": "resolved",
            "requester": other.pk,
            "raised_by": other.pk,
            "assignee": world.people["it_agent"].pk,
            "department": world.hr_case.service_request.department_id,
            "reference": "REQ-999999",
            "is_confidential": True,
            "priority": "critical",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    created = ServiceRequest.objects.filter(subject="A new laptop").get()
    assert response.json()["reference"] == created.reference != "REQ-999999"
    # What a submission to a department with a queue becomes, not the "resolved" sent.
    assert created.state == ServiceRequest.State.IN_PROGRESS
    assert created.requester_id == created.raised_by_id == world.people["employee"].pk
    assert created.department_id == world.it_case.service_request.department_id
    assert created.is_confidential is False
    assert created.priority == created.catalog_item.default_priority


def test_a_comment_cannot_be_made_internal_or_moved_to_another_case(world):
    client = world.clients["employee"]
    it_request, hr_request = world.it_case.service_request, world.hr_case.service_request
    hr_comments = hr_request.comments.count()

    response = client.post(
        f"/api/v1/requests/{it_request.reference}/comments/",
        {"body": "Any news?", "is_internal": True, "service_request": hr_request.pk},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    comment = Comment.objects.filter(service_request=it_request).latest("id")
    assert (comment.body, comment.is_internal) == ("Any news?", False)
    assert hr_request.comments.count() == hr_comments


@pytest.mark.parametrize(
    "query",
    [
        "ordering=is_confidential",
        "ordering=-answers",
        "ordering=requester__password",
        "is_confidential=true",
        "department=hr",
        f"search={HR_CANARY}",
        f"answers__icontains={HR_CANARY}",
        "requester=1",
    ],
)
def test_filters_and_orderings_on_private_fields_change_no_visibility(world, query):
    client = world.clients["it_agent"]

    response = client.get(f"/api/v1/requests/?{query}")

    assert response.status_code in (200, 400)
    assert HR_CANARY.encode() not in response.content
    if response.status_code == 200:
        references = [r["reference"] for r in response.json()["results"]]
        assert world.hr_case.service_request.reference not in references


@pytest.mark.parametrize("query", ["ordering=-service_request__is_confidential", "q=zq-hr"])
def test_queue_filters_show_no_task_of_another_department(world, query):
    response = world.clients["it_agent"].get(f"/api/v1/queues/it-desk/tasks/?{query}")

    assert response.status_code in (200, 400)
    assert HR_CANARY.encode() not in response.content


def test_page_size_is_capped_at_the_documented_maximum(world, settings):
    client = world.clients["employee"]
    for n in range(30):
        client.post(
            "/api/v1/requests/",
            {"item": "laptop", "subject": f"Laptop {n}", "submission_key": f"bulk-{n}"},
            content_type="application/json",
        )
    maximum = settings.REST_FRAMEWORK["PAGE_SIZE"]

    page = client.get("/api/v1/requests/?page_size=100000&limit=100000").json()

    assert page["count"] > maximum
    assert len(page["results"]) == maximum
