"""The REST API under /api/v1/: the same entitlement and confidentiality as the pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from esm.models import Event, EventKind
from services import actions
from services.models import Attachment, Comment, ExperienceRating, FormField, ServiceRequest
from tests.esm.factories import UserFactory
from tests.services.factories import (
    ApprovalStepFactory,
    CatalogItemFactory,
    EntitlementFactory,
    FormFieldFactory,
    ServiceFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db

Kind = FormField.Kind
State = ServiceRequest.State

ITEMS = reverse("api:catalog-items")
SERVICES = reverse("api:catalog-services")
REQUESTS = reverse("api:requests")


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _item_url(item):
    return reverse("api:catalog-item", args=[item.slug])


def _url(name, service_request):
    return reverse(f"api:{name}", args=[service_request.reference])


def _slugs(response):
    return [row["slug"] for row in response.json()["results"]]


def _references(response):
    return [row["reference"] for row in response.json()["results"]]


def _submit(item, user, key="k-1", **extra):
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=user, subject="Please help", answers=[], submission_key=key, **extra
    )
    return service_request


def _kinds(service_request):
    return list(Event.objects.for_subject(service_request).values_list("kind", flat=True))


@pytest.fixture
def laptop_item(it_department):
    """An IT item with a choice, a conditional follow-up and a number."""
    item = CatalogItemFactory(
        name="New laptop", slug="new-laptop", department=it_department, allow_on_behalf=True
    )
    model = FormFieldFactory(
        item=item, key="model", label="Model", kind=Kind.CHOICE, choices="Mac\nWindows\nOther"
    )
    FormFieldFactory(
        item=item,
        key="other_model",
        label="Which one?",
        required=True,
        show_when_field=model,
        show_when_value="Other",
    )
    FormFieldFactory(
        item=item, key="screens", label="Screens", kind=Kind.NUMBER, min_value=0, max_value=3
    )
    return item


@pytest.fixture
def hr_case(employee, hr_department):
    """A confidential HR case the employee raised."""
    item = CatalogItemFactory(
        name="Raise a grievance", department=hr_department, is_confidential=True
    )
    return _submit(item, employee, key="grievance")


# Authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "api:catalog-items", []),
        ("get", "api:catalog-services", []),
        ("get", "api:catalog-item", ["new-laptop"]),
        ("get", "api:requests", []),
        ("post", "api:requests", []),
        ("get", "api:request", ["REQ-000001"]),
        ("get", "api:request-comments", ["REQ-000001"]),
        ("post", "api:request-comments", ["REQ-000001"]),
        ("post", "api:request-cancel", ["REQ-000001"]),
        ("post", "api:request-rate", ["REQ-000001"]),
    ],
)
def test_anonymous_calls_get_a_json_403_not_a_sign_in_redirect(method, name, args):
    response = getattr(_client(), method)(reverse(name, args=args), format="json")

    assert response.status_code in (401, 403)
    assert "Location" not in response
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# Catalog -------------------------------------------------------------------------------


def test_catalog_lists_only_items_the_person_is_entitled_to(employee, hr_department):
    open_item = CatalogItemFactory(name="Password reset")
    hr_only = CatalogItemFactory(name="Payroll correction")
    EntitlementFactory(item=hr_only, department=hr_department)
    CatalogItemFactory(name="Draft item", is_published=False)
    client = _client(employee)

    response = client.get(ITEMS)

    assert response.status_code == 200
    assert _slugs(response) == [open_item.slug]
    assert client.get(_item_url(hr_only)).status_code == 404
    assert client.get(reverse("api:catalog-item", args=["draft-item"])).status_code == 404


def test_entitled_staff_see_the_item_that_is_hidden_from_others(hr_agent, hr_department):
    hr_only = CatalogItemFactory()
    EntitlementFactory(item=hr_only, department=hr_department)

    client = _client(hr_agent)

    assert _slugs(client.get(ITEMS)) == [hr_only.slug]
    assert client.get(_item_url(hr_only)).status_code == 200


def test_catalog_filters_by_department_category_and_words(employee, it_department, hr_department):
    laptop = CatalogItemFactory(
        name="Laptop replacement",
        department=it_department,
        service__category__slug="hardware",
    )
    CatalogItemFactory(name="Laptop bag", department=hr_department)
    CatalogItemFactory(name="Parental leave", department=hr_department)
    client = _client(employee)

    assert _slugs(client.get(ITEMS, {"department": "it"})) == [laptop.slug]
    assert _slugs(client.get(ITEMS, {"category": "hardware"})) == [laptop.slug]
    assert _slugs(client.get(ITEMS, {"search": "laptop replacement"})) == [laptop.slug]
    assert len(_slugs(client.get(ITEMS, {"search": "laptop"}))) == 2


def test_item_detail_describes_its_form(employee, laptop_item):
    response = _client(employee).get(_item_url(laptop_item))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "New laptop"
    assert body["department"] == {"slug": "it", "name": "IT"}
    model, other, screens = body["fields"]
    assert model["key"] == "model"
    assert model["kind"] == "choice"
    assert model["choices"] == ["Mac", "Windows", "Other"]
    assert model["show_when"] is None
    assert other["required"] is True
    assert other["show_when"] == {"field": "model", "value": "Other"}
    assert (screens["min"], screens["max"]) == ("0.00", "3.00")


def test_item_description_html_is_sanitized(employee):
    item = CatalogItemFactory(description="**Bold** <script>alert(1)</script>")

    body = _client(employee).get(_item_url(item)).json()

    assert "<strong>Bold</strong>" in body["description_html"]
    assert "<script>" not in body["description_html"]


def test_services_list_only_live_services_with_an_entitled_item(employee, hr_department):
    offered = ServiceFactory(name="Workplace")
    CatalogItemFactory(service=offered)
    hr_only = ServiceFactory(name="Payroll")
    EntitlementFactory(item=CatalogItemFactory(service=hr_only), department=hr_department)
    retired = ServiceFactory(name="Fax", status="retired")
    CatalogItemFactory(service=retired)
    ServiceFactory(name="Empty")

    response = _client(employee).get(SERVICES)

    assert response.status_code == 200
    assert _slugs(response) == [offered.slug]
    assert response.json()["results"][0]["outcome"]


# Raising a request ---------------------------------------------------------------------


def test_raising_a_request_stores_the_answers_and_records_the_event(employee, laptop_item):
    response = _client(employee).post(
        REQUESTS,
        {
            "item": "new-laptop",
            "subject": "My laptop died",
            "answers": {"model": "Mac", "screens": 2},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    service_request = ServiceRequest.objects.get()
    assert body["reference"] == service_request.reference
    assert response["Location"] == _url("request", service_request)
    assert body["state"] == service_request.state
    assert service_request.is_open
    assert body["requester"]["username"] == "employee"
    assert [(a["key"], a["display"]) for a in body["answers"]] == [
        ("model", "Mac"),
        ("screens", "2"),
    ]
    assert service_request.raised_by == employee
    assert _kinds(service_request)[0] == EventKind.SUBMITTED
    assert Event.objects.get(kind=EventKind.SUBMITTED).actor == employee


def test_invalid_answers_get_400_keyed_by_field_and_save_nothing(employee, laptop_item):
    response = _client(employee).post(
        REQUESTS,
        {
            "item": "new-laptop",
            "subject": "",
            "answers": {"model": "Other", "screens": 9, "colour": "red"},
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert "subject" in errors
    response = _client(employee).post(
        REQUESTS,
        {
            "item": "new-laptop",
            "subject": "New one",
            "answers": {"model": "Other", "screens": 9, "colour": "red"},
        },
        format="json",
    )
    assert response.status_code == 400
    answers = response.json()["answers"]
    assert answers["other_model"] == ["This field is required."]
    assert "less than or equal to 3" in answers["screens"][0]
    assert answers["colour"] == ["Not a question of this item."]
    assert ServiceRequest.objects.count() == 0
    assert Event.objects.count() == 0


def test_a_hidden_conditional_answer_is_neither_required_nor_stored(employee, laptop_item):
    response = _client(employee).post(
        REQUESTS,
        {
            "item": "new-laptop",
            "subject": "New one",
            "answers": {"model": "Mac", "other_model": "ThinkPad"},
        },
        format="json",
    )

    assert response.status_code == 201
    assert [a["key"] for a in response.json()["answers"]] == ["model"]


def test_json_types_map_onto_the_form(employee):
    item = CatalogItemFactory(slug="kit")
    FormFieldFactory(item=item, key="urgent", kind=Kind.YES_NO, required=True)
    FormFieldFactory(item=item, key="extras", kind=Kind.MULTI_CHOICE, choices="Mouse\nDock\nBag")
    client = _client(employee)

    response = client.post(
        REQUESTS,
        {
            "item": "kit",
            "subject": "Kit",
            "answers": {"urgent": True, "extras": ["Mouse", "Dock"]},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    displays = {a["key"]: a["display"] for a in response.json()["answers"]}
    assert displays == {"urgent": "Yes", "extras": "Mouse, Dock"}

    refused = client.post(
        REQUESTS,
        {"item": "kit", "subject": "Kit", "answers": {"urgent": "maybe", "extras": "Mouse"}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["answers"] == {
        "urgent": ['Send true, false, "yes" or "no".'],
        "extras": ["Send a list of choices."],
    }


def test_an_item_the_person_is_not_entitled_to_is_404_and_nothing_is_saved(employee, hr_department):
    hidden = CatalogItemFactory(slug="payroll-fix")
    EntitlementFactory(item=hidden, department=hr_department)

    response = _client(employee).post(
        REQUESTS, {"item": "payroll-fix", "subject": "Fix it"}, format="json"
    )

    assert response.status_code == 404
    assert ServiceRequest.objects.count() == 0


def test_the_same_submission_key_twice_creates_one_request(employee, laptop_item):
    client = _client(employee)
    payload = {
        "item": "new-laptop",
        "subject": "Double click",
        "answers": {"model": "Mac"},
        "submission_key": "form-123",
    }

    first = client.post(REQUESTS, payload, format="json")
    second = client.post(REQUESTS, payload, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["reference"] == second.json()["reference"]
    assert ServiceRequest.objects.count() == 1
    assert Event.objects.filter(kind=EventKind.SUBMITTED).count() == 1


def test_the_idempotency_key_header_is_honoured(employee, laptop_item):
    client = _client(employee)
    payload = {"item": "new-laptop", "subject": "Resent", "answers": {"model": "Mac"}}

    first = client.post(REQUESTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    second = client.post(REQUESTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert (first.status_code, second.status_code) == (201, 200)
    assert ServiceRequest.objects.count() == 1


def test_without_any_key_each_call_raises_a_new_request(employee, laptop_item):
    client = _client(employee)
    payload = {"item": "new-laptop", "subject": "Two laptops", "answers": {"model": "Mac"}}

    assert client.post(REQUESTS, payload, format="json").status_code == 201
    assert client.post(REQUESTS, payload, format="json").status_code == 201

    assert ServiceRequest.objects.count() == 2


def test_a_key_reused_for_another_item_is_refused(employee, laptop_item):
    CatalogItemFactory(slug="desk-move")
    client = _client(employee)
    client.post(
        REQUESTS,
        {"item": "new-laptop", "subject": "Laptop", "submission_key": "k"},
        format="json",
    )

    response = client.post(
        REQUESTS, {"item": "desk-move", "subject": "Desk", "submission_key": "k"}, format="json"
    )

    assert response.status_code == 409
    assert "REQ-" in response.json()["detail"]
    assert ServiceRequest.objects.count() == 1


def test_raising_on_behalf_of_a_colleague(employee, manager, laptop_item):
    response = _client(manager).post(
        REQUESTS,
        {"item": "new-laptop", "subject": "For my report", "on_behalf_of": "employee"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["requester"]["username"], body["raised_by"]["username"]) == (
        "employee",
        "manager",
    )
    assert _references(_client(employee).get(REQUESTS)) == [body["reference"]]


def test_on_behalf_is_refused_where_the_item_does_not_allow_it(employee, manager):
    CatalogItemFactory(slug="own-only")

    response = _client(manager).post(
        REQUESTS,
        {"item": "own-only", "subject": "For someone", "on_behalf_of": "employee"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "on_behalf_of": ["This item can't be raised on behalf of someone else."]
    }
    assert ServiceRequest.objects.count() == 0


def test_attachments_are_refused_in_json_with_a_clear_message(employee):
    item = CatalogItemFactory(slug="expense")
    FormFieldFactory(item=item, key="receipt", kind=Kind.ATTACHMENT, required=True)
    client = _client(employee)

    sent = client.post(
        REQUESTS,
        {"item": "expense", "subject": "Taxi", "answers": {"receipt": "receipt.pdf"}},
        format="json",
    )
    missing = client.post(REQUESTS, {"item": "expense", "subject": "Taxi"}, format="json")

    for response in (sent, missing):
        assert response.status_code == 400
        (message,) = response.json()["answers"]["receipt"]
        assert "multipart/form-data" in message
        assert "answers.receipt" in message
    assert ServiceRequest.objects.count() == 0


def test_multipart_carries_files_and_repeated_choices(employee):
    item = CatalogItemFactory(slug="expense")
    FormFieldFactory(item=item, key="receipt", kind=Kind.ATTACHMENT, required=True)
    FormFieldFactory(item=item, key="kinds", kind=Kind.MULTI_CHOICE, choices="Taxi\nMeal\nHotel")
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4", content_type="application/pdf")

    response = _client(employee).post(
        REQUESTS,
        {
            "item": "expense",
            "subject": "Trip",
            "answers.receipt": upload,
            "answers.kinds": ["Taxi", "Meal"],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [a["key"] for a in body["answers"]] == ["kinds"]
    assert [(a["name"], a["field_key"]) for a in body["attachments"]] == [
        ("receipt.pdf", "receipt")
    ]
    assert Attachment.objects.get().service_request.reference == body["reference"]


@override_settings(ATTACHMENT_MAX_BYTES=10)
def test_an_oversized_upload_is_413_and_saves_nothing(employee):
    item = CatalogItemFactory(slug="expense")
    FormFieldFactory(item=item, key="receipt", kind=Kind.ATTACHMENT)
    upload = SimpleUploadedFile("receipt.pdf", b"x" * 11, content_type="application/pdf")

    response = _client(employee).post(
        REQUESTS,
        {"item": "expense", "subject": "Trip", "answers.receipt": upload},
        format="multipart",
    )

    assert response.status_code == 413
    assert "at most" in response.json()["answers"]["receipt"][0]
    assert ServiceRequest.objects.count() == Attachment.objects.count() == 0


def test_an_item_with_approvals_waits_for_the_first_approver(employee, manager, laptop_item):
    ApprovalStepFactory(item=laptop_item)

    response = _client(employee).post(
        REQUESTS, {"item": "new-laptop", "subject": "Approve me"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["state"] == State.AWAITING_APPROVAL
    assert [(a["label"], a["state"]) for a in body["approvals"]] == [
        (f"{manager.get_full_name()} ({employee.get_full_name()}'s manager)", "pending")
    ]


# Reading requests ----------------------------------------------------------------------


def test_my_requests_lists_mine_and_those_raised_for_me(employee, manager, outsider):
    mine = ServiceRequestFactory(requester=employee)
    for_me = ServiceRequestFactory(requester=employee, raised_by=manager)
    ServiceRequestFactory(requester=outsider)

    response = _client(employee).get(REQUESTS)

    assert response.status_code == 200
    assert set(_references(response)) == {mine.reference, for_me.reference}
    assert response.json()["count"] == 2


def test_my_requests_filter_by_state_and_search(employee):
    printer = ServiceRequestFactory(requester=employee, subject="Printer jammed")
    done = ServiceRequestFactory(requester=employee, subject="Old", state=State.RESOLVED)
    gone = ServiceRequestFactory(requester=employee, subject="Never mind", state=State.CANCELLED)
    client = _client(employee)

    assert _references(client.get(REQUESTS, {"state": "open"})) == [printer.reference]
    assert set(_references(client.get(REQUESTS, {"state": "closed"}))) == {
        done.reference,
        gone.reference,
    }
    assert _references(client.get(REQUESTS, {"state": "cancelled"})) == [gone.reference]
    assert _references(client.get(REQUESTS, {"search": "printer"})) == [printer.reference]
    assert _references(client.get(REQUESTS, {"search": done.reference.lower()})) == [done.reference]
    assert client.get(REQUESTS, {"state": "bogus"}).status_code == 400


def test_request_detail_for_the_requester(employee, laptop_item):
    service_request = _submit(laptop_item, employee)

    response = _client(employee).get(_url("request", service_request))

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == service_request.reference
    assert body["item"] == {"slug": "new-laptop", "name": "New laptop"}
    assert body["rating"] is None


def test_a_request_of_someone_else_is_404(employee, outsider, laptop_item):
    service_request = _submit(laptop_item, employee)

    assert _client(outsider).get(_url("request", service_request)).status_code == 404
    assert _client(outsider).get(reverse("api:request", args=["nonsense"])).status_code == 404


def test_confidential_case_visible_to_the_requester_and_hr_only(
    hr_case, employee, hr_agent, it_agent, outsider
):
    state_before = hr_case.state
    assert _client(employee).get(_url("request", hr_case)).status_code == 200
    assert _client(hr_agent).get(_url("request", hr_case)).status_code == 200

    for person in (it_agent, outsider):
        client = _client(person)
        assert client.get(_url("request", hr_case)).status_code == 404
        assert client.get(_url("request-comments", hr_case)).status_code == 404
        assert client.get(REQUESTS, {"search": hr_case.reference}).json()["results"] == []
        response = client.post(_url("request-comments", hr_case), {"body": "Hi"}, format="json")
        assert response.status_code == 404
        response = client.post(_url("request-cancel", hr_case), format="json")
        assert response.status_code == 404
    assert Comment.objects.count() == 0
    hr_case.refresh_from_db()
    assert hr_case.state == state_before


def test_a_superuser_does_not_see_a_confidential_case(hr_case, superuser):
    assert _client(superuser).get(_url("request", hr_case)).status_code == 404


def test_department_staff_may_see_but_not_cancel_an_employee_request(
    employee, it_agent, laptop_item
):
    service_request = _submit(laptop_item, employee)
    client = _client(it_agent)

    assert client.get(_url("request", service_request)).status_code == 200
    response = client.post(_url("request-cancel", service_request), format="json")

    assert response.status_code == 403
    service_request.refresh_from_db()
    assert service_request.is_open


# Comments ------------------------------------------------------------------------------


def test_commenting_adds_a_public_comment_and_an_event(employee, laptop_item):
    service_request = _submit(laptop_item, employee)

    response = _client(employee).post(
        _url("request-comments", service_request), {"body": "Any news?"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["body"] == "Any news?"
    assert response.json()["is_internal"] is False
    comment = Comment.objects.get()
    assert (comment.author, comment.is_internal) == (employee, False)
    assert _kinds(service_request)[-1] == EventKind.COMMENTED


def test_an_empty_comment_is_400_and_saves_nothing(employee, laptop_item):
    service_request = _submit(laptop_item, employee)

    response = _client(employee).post(
        _url("request-comments", service_request), {"body": "   "}, format="json"
    )

    assert response.status_code == 400
    assert "body" in response.json()
    assert Comment.objects.count() == 0


def test_internal_notes_are_listed_only_for_the_department_staff(employee, it_agent, laptop_item):
    service_request = _submit(laptop_item, employee)
    actions.comment_add(service_request=service_request, author=employee, body="Public")
    actions.comment_add(
        service_request=service_request, author=it_agent, body="Internal", is_internal=True
    )

    as_employee = _client(employee).get(_url("request-comments", service_request)).json()
    as_agent = _client(it_agent).get(_url("request-comments", service_request)).json()

    assert [c["body"] for c in as_employee] == ["Public"]
    assert [c["body"] for c in as_agent] == ["Public", "Internal"]


def test_commenting_on_a_closed_request_is_refused(employee, laptop_item):
    service_request = _submit(laptop_item, employee)
    actions.service_request_cancel(service_request=service_request, user=employee)

    response = _client(employee).post(
        _url("request-comments", service_request), {"body": "Wait"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "This request is closed; raise a new one to continue."}
    assert Comment.objects.count() == 0


# Cancel and rate -----------------------------------------------------------------------


def test_cancelling_an_open_request(employee, laptop_item):
    service_request = _submit(laptop_item, employee)

    response = _client(employee).post(
        _url("request-cancel", service_request), {"reason": "Found one"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["state"] == State.CANCELLED
    assert response.json()["resolution"] == "Found one"
    assert _kinds(service_request)[-1] == EventKind.CANCELLED


def test_cancelling_a_finished_request_is_refused_and_changes_nothing(employee, laptop_item):
    service_request = _submit(laptop_item, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    events_before = Event.objects.count()

    response = _client(employee).post(_url("request-cancel", service_request), format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Only a request that is not resolved yet can be cancelled."
    }
    service_request.refresh_from_db()
    assert service_request.state == State.RESOLVED
    assert Event.objects.count() == events_before


def test_rating_a_resolved_request_once(employee, laptop_item):
    service_request = _submit(laptop_item, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    client = _client(employee)

    response = client.post(
        _url("request-rate", service_request), {"score": 4, "comment": "Quick"}, format="json"
    )
    again = client.post(_url("request-rate", service_request), {"score": 1}, format="json")

    assert response.status_code == 201
    assert response.json()["score"] == 4
    assert again.status_code == 409
    assert ExperienceRating.objects.get().score == 4
    assert client.get(_url("request", service_request)).json()["rating"]["score"] == 4
    assert _kinds(service_request).count(EventKind.RATED) == 1


def test_rating_is_refused_before_resolution_and_out_of_range(employee, laptop_item):
    service_request = _submit(laptop_item, employee)
    client = _client(employee)

    early = client.post(_url("request-rate", service_request), {"score": 5}, format="json")
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    too_high = client.post(_url("request-rate", service_request), {"score": 6}, format="json")

    assert early.status_code == 409
    assert early.json() == {"detail": "A request can be rated once it is resolved."}
    assert too_high.status_code == 400
    assert "score" in too_high.json()
    assert ExperienceRating.objects.count() == 0


def test_only_the_people_a_request_belongs_to_may_rate_it(employee, it_agent, laptop_item):
    service_request = _submit(laptop_item, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")

    response = _client(it_agent).post(
        _url("request-rate", service_request), {"score": 5}, format="json"
    )

    assert response.status_code == 403
    assert ExperienceRating.objects.count() == 0


# Query counts --------------------------------------------------------------------------


def _grow_catalog_and_requests(n, *, requester, it_department):
    for _ in range(n):
        item = CatalogItemFactory(department=it_department)
        FormFieldFactory(item=item)
        ServiceRequestFactory(catalog_item=item, requester=requester)
        ServiceRequestFactory(
            catalog_item=item, requester=requester, raised_by=UserFactory(), state=State.RESOLVED
        )


@pytest.mark.parametrize("url", [ITEMS, SERVICES, REQUESTS])
def test_list_query_count_does_not_grow_with_the_data(
    url, employee, it_department, django_assert_max_num_queries
):
    client = _client(employee)
    _grow_catalog_and_requests(2, requester=employee, it_department=it_department)
    with django_assert_max_num_queries(10) as small:
        assert client.get(url).status_code == 200

    _grow_catalog_and_requests(20, requester=employee, it_department=it_department)
    with django_assert_max_num_queries(10) as large:
        response = client.get(url)

    assert response.status_code == 200
    assert response.json()["count"] >= 20
    assert len(large.captured_queries) == len(small.captured_queries)


def test_detail_query_counts_do_not_grow_with_the_form_or_conversation(
    employee, it_agent, laptop_item, django_assert_max_num_queries
):
    service_request = _submit(laptop_item, employee)
    client = _client(employee)
    urls = [
        _item_url(laptop_item),
        _url("request", service_request),
        _url("request-comments", service_request),
    ]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(12) as queries:
            assert client.get(url).status_code == 200
        counts[url] = len(queries.captured_queries)

    for n in range(10):
        FormFieldFactory(item=laptop_item, key=f"extra-{n}")
        actions.comment_add(service_request=service_request, author=it_agent, body=f"Note {n}")

    for url in urls:
        with django_assert_max_num_queries(12) as queries:
            assert client.get(url).status_code == 200
        assert len(queries.captured_queries) == counts[url], url


# Schema and docs -----------------------------------------------------------------------


def test_the_openapi_schema_is_served(employee):
    response = _client(employee).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/requests/" in paths
    assert "/api/v1/catalog/items/{slug}/" in paths


def test_the_interactive_docs_use_the_bundled_swagger_ui(employee):
    response = _client(employee).get(reverse("api-docs"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_api_root_lists_the_endpoints_to_start_from(employee):
    response = _client(employee).get("/api/v1/", format="json")

    assert response.status_code == 200
    assert response.json() == {
        "catalog-services": "http://testserver/api/v1/catalog/services/",
        "catalog-items": "http://testserver/api/v1/catalog/items/",
        "requests": "http://testserver/api/v1/requests/",
        "queues": "http://testserver/api/v1/queues/",
        "knowledge-sharing": "http://testserver/api/v1/knowledge-sharing/",
    }


def test_api_root_is_for_signed_in_people():
    response = _client().get("/api/v1/", format="json")

    assert response.status_code in (401, 403)
