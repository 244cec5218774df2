"""The API's errors: what the schema says each operation can answer, and that it does."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from esm.models import Event
from services import actions
from services.models import Comment
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _served(user):
    return _client(user).get(reverse("api-schema"), {"format": "json"}).json()


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def _body_ref(response):
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


@pytest.fixture
def own_request(employee, it_department):
    item = CatalogItemFactory(name="Laptop", slug="laptop", department=it_department)
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=employee, subject="A laptop", answers=[], submission_key="k-1"
    )
    return service_request


def test_every_operation_documents_refusal_and_rate_limit_with_their_bodies(employee):
    schema = _served(employee)

    for name, operation in _operations(schema):
        responses = operation["responses"]
        assert _body_ref(responses["403"]) == "ErrorDetail", name
        assert _body_ref(responses["429"]) == "ErrorDetail", name
        assert "Retry-After" in responses["429"]["headers"], name
    assert schema["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]


def test_operations_with_a_body_document_bad_input_size_and_content_type(employee):
    with_body = [
        (name, operation)
        for name, operation in _operations(_served(employee))
        if "requestBody" in operation
    ]

    assert with_body
    for name, operation in with_body:
        responses = operation["responses"]
        assert _body_ref(responses["400"]) == "ValidationErrors", name
        assert {"413", "415"} <= set(responses), name


def test_a_paginated_list_documents_a_page_past_the_end_and_answers_it(employee):
    operation = _served(employee)["paths"]["/api/v1/requests/"]["get"]
    page = next(p for p in operation["parameters"] if p["name"] == "page")

    response = _client(employee).get(reverse("api:requests"), {"page": 9})

    assert page["schema"]["minimum"] == 1
    assert "page past the end" in operation["responses"]["404"]["description"]
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_a_number_where_text_is_expected_is_refused_and_nothing_saved(employee, own_request):
    url = reverse("api:request-comments", args=[own_request.reference])
    before = (Comment.objects.count(), Event.objects.count())

    response = _client(employee).post(url, {"body": 42}, format="json")

    assert response.status_code == 400
    assert response.json() == {"body": ["Not a valid string."]}
    assert (Comment.objects.count(), Event.objects.count()) == before


def test_text_is_still_taken_as_text(employee, own_request):
    url = reverse("api:request-comments", args=[own_request.reference])

    response = _client(employee).post(url, {"body": "42"}, format="json")

    assert response.status_code == 201
    assert Comment.objects.get(service_request=own_request, author=employee).body == "42"


def test_a_body_that_does_not_parse_is_400_with_one_detail(employee, own_request):
    url = reverse("api:request-comments", args=[own_request.reference])

    response = _client(employee).post(url, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}
    assert not Comment.objects.filter(service_request=own_request, author=employee).exists()


def test_an_api_address_that_matches_no_operation_answers_json(employee):
    response = _client(employee).get("/api/v1/portfolio/; /")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_page_address_that_matches_nothing_still_answers_the_page(employee, settings):
    settings.DEBUG = False

    response = _client(employee).get("/no-such-page/at-all/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
