"""The self-service portal pages, driven through the test client as each persona."""

import datetime as dt
import re
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from esm.models import DepartmentRole, Event, Profile
from esm.navigation import nav_items
from esm.permissions import department_roles
from services import actions, selectors
from services.models import (
    Approval,
    ApprovalStep,
    Article,
    ArticleFeedback,
    ArticleView,
    Attachment,
    CatalogItem,
    Comment,
    Entitlement,
    ExperienceRating,
    FormField,
    ServiceRequest,
)
from services.selectors import SUGGESTIONS_SHOWN
from services.views.portal import APPROVALS_PER_PAGE
from tests.esm.factories import UserFactory
from tests.services.factories import (
    ApprovalFactory,
    ApprovalStepFactory,
    ArticleFactory,
    CatalogItemFactory,
    CategoryFactory,
    EntitlementFactory,
    FormFieldFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db

State = ServiceRequest.State
HOME = reverse("home")
MY_REQUESTS = reverse("my_requests")
APPROVALS = reverse("approvals")


def signed_in(client, user):
    client.force_login(user)
    return client


def item_url(item):
    return reverse("catalog_item", args=[item.slug])


def detail_url(service_request):
    return reverse("request_detail", args=[service_request.reference])


def submit(item, person, subject="Please help", **kwargs):
    """A request as the portal creates it: through the action, with its events."""
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=person,
        subject=subject,
        answers=kwargs.pop("answers", []),
        submission_key=uuid.uuid4().hex,
        **kwargs,
    )
    return service_request


def form_data(**answers):
    return {"subject": "A new laptop", "submission_key": uuid.uuid4().hex, **answers}


@pytest.fixture
def laptop(it_department):
    """An IT item open to everyone, with one required question."""
    item = CatalogItemFactory(
        name="New laptop",
        slug="new-laptop",
        summary="A laptop for your work.",
        description="Pick a **model**; we set it up for you.",
        service__department=it_department,
        service__name="Workplace technology",
        service__outcome="Everyone has a working computer from day one.",
        expected_days=4,
    )
    FormFieldFactory(item=item, key="model", label="Model", required=True, position=1)
    return item


@pytest.fixture
def hr_only(hr_department):
    """Only people of the HR department may ask for it."""
    item = CatalogItemFactory(
        name="Payroll correction", slug="payroll-correction", service__department=hr_department
    )
    EntitlementFactory(item=item, department=hr_department)
    return item


@pytest.fixture
def parental_leave(hr_department):
    return CatalogItemFactory(
        name="Parental leave",
        slug="parental-leave",
        service__department=hr_department,
        is_confidential=True,
    )


# -- home: search, browse, popular and recent -----------------------------------------------


def test_home_greets_and_asks_what_they_need(client, employee):
    response = signed_in(client, employee).get(HOME)

    assert response.status_code == 200
    assert "what do you need?" in response.content.decode()


def test_home_search_finds_entitled_items_and_published_articles(client, employee, laptop, hr_only):
    ArticleFactory(title="Laptop battery tips", slug="battery")
    ArticleFactory(title="Laptop draft", slug="draft", status=Article.Status.DRAFT)

    response = signed_in(client, employee).get(HOME, {"q": "laptop"})

    content = response.content.decode()
    assert list(response.context["items"].object_list) == [laptop]
    assert item_url(laptop) in content
    assert "Laptop battery tips" in content
    assert "Laptop draft" not in content


def test_items_the_person_is_not_entitled_to_appear_nowhere_on_home(
    client, employee, hr_agent, hr_only, hr_department
):
    submit(hr_only, hr_agent)  # popular from now on, for those who may ask for it

    for params in [{}, {"q": "payroll"}, {"department": "hr"}]:
        content = signed_in(client, employee).get(HOME, params).content.decode()
        assert "Payroll correction" not in content, params
        assert item_url(hr_only) not in content, params
    assert "Payroll correction" in signed_in(client, hr_agent).get(HOME).content.decode()


def test_search_facets_count_the_items_found(client, employee, laptop, facilities_department):
    CatalogItemFactory(name="Office chair", service__department=facilities_department)
    signed_in(client, employee)

    found = client.get(HOME, {"q": "chair"}).context["facets"]["departments"]

    assert found == [("facilities", "Facilities", 1)]


def test_home_browses_by_department_and_category(client, employee, laptop, facilities_department):
    chairs = CategoryFactory(name="Furniture", slug="furniture")
    chair = CatalogItemFactory(
        name="Office chair", service__department=facilities_department, service__category=chairs
    )
    signed_in(client, employee)

    facets = client.get(HOME).context["facets"]
    assert ("facilities", "Facilities", 1) in facets["departments"]
    assert ("furniture", "Furniture", 1) in facets["categories"]

    by_department = client.get(HOME, {"department": "facilities"})
    assert list(by_department.context["items"].object_list) == [chair]
    assert "from Facilities" in by_department.content.decode()
    by_category = client.get(HOME, {"category": "furniture"})
    assert list(by_category.context["items"].object_list) == [chair]
    assert list(client.get(HOME, {"department": "it"}).context["items"].object_list) == [laptop]


def test_home_shows_popular_and_my_recent_items(client, employee, outsider, laptop, it_department):
    mouse = CatalogItemFactory(name="Mouse", service__department=it_department)
    submit(laptop, outsider)
    submit(laptop, outsider)
    submit(mouse, employee)
    actions.catalog_items_count_recent()

    response = signed_in(client, employee).get(HOME)

    assert list(response.context["popular"]) == [laptop, mouse]
    assert list(response.context["recent"]) == [mouse]
    assert "Asked for recently" in response.content.decode()


def test_home_search_with_nothing_found_says_so(client, employee, laptop):
    response = signed_in(client, employee).get(HOME, {"q": "submarine"})

    content = response.content.decode()
    assert "No service you can ask for matches" in content
    assert "No article matches" in content


# -- the item page --------------------------------------------------------------------------


def test_item_page_shows_what_to_expect_and_the_form(client, employee, laptop, hr_department):
    FormFieldFactory(item=laptop, key="dock", label="Dock", help_text="USB-C or Thunderbolt?")
    ApprovalStepFactory(item=laptop, position=1)
    ApprovalStepFactory(
        item=laptop,
        position=2,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=hr_department,
        role="manager",
    )

    response = signed_in(client, employee).get(item_url(laptop))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Pick a <strong>model</strong>" in content
    assert "About 4 working days" in content
    assert "Everyone has a working computer from day one." in content
    assert "Needs approval from your manager, then a manager in HR before IT starts." in content
    assert 'enctype="multipart/form-data"' in content
    assert 'name="field_model"' in content
    assert "USB-C or Thunderbolt?" in content
    assert 'name="submission_key"' in content
    assert "csrfmiddlewaretoken" in content
    assert reverse("catalog_item_suggestions", args=[laptop.slug]) in content


@pytest.mark.parametrize("method", ["get", "post"])
def test_item_page_is_404_for_people_not_entitled(client, employee, hr_only, method):
    response = getattr(signed_in(client, employee), method)(item_url(hr_only), form_data())

    assert response.status_code == 404
    assert not ServiceRequest.objects.exists()


def test_suggestions_are_404_for_people_not_entitled(client, employee, hr_only):
    url = reverse("catalog_item_suggestions", args=[hr_only.slug])

    assert signed_in(client, employee).get(url, {"subject": "payslip"}).status_code == 404


def test_typing_a_subject_suggests_matching_articles(client, employee, laptop):
    ArticleFactory(title="Laptop will not start", slug="laptop-start")
    ArticleFactory(title="Expenses", slug="expenses")
    url = reverse("catalog_item_suggestions", args=[laptop.slug])

    response = signed_in(client, employee).get(url, {"subject": "my laptop is slow"})

    assert response.status_code == 200
    content = response.content.decode()
    assert f'href="/knowledge/laptop-start/?from={laptop.slug}"' in content
    assert "Expenses" not in content
    assert "<html" not in content  # a fragment for htmx, not a page
    assert client.get(url, {"subject": ""}).content.strip() == b""


# -- submitting -----------------------------------------------------------------------------


def test_submitting_creates_one_request_and_shows_it(client, employee, laptop):
    response = signed_in(client, employee).post(item_url(laptop), form_data(field_model="X1"))

    service_request = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response.url == f"/requests/{service_request.reference}/"
    assert service_request.requester == employee
    assert service_request.answers == [
        {"key": "model", "label": "Model", "kind": "text", "value": "X1", "display": "X1"}
    ]
    page = client.get(response.url)
    assert f"Your request {service_request.reference} is submitted" in page.content.decode()


def test_the_same_form_sent_twice_creates_one_request(client, employee, laptop):
    data = form_data(field_model="X1")
    signed_in(client, employee)

    first = client.post(item_url(laptop), data)
    second = client.post(item_url(laptop), data)

    assert ServiceRequest.objects.count() == 1
    assert second.status_code == 302
    assert second.url == first.url
    assert "already sent" in client.get(second.url).content.decode()


def test_errors_show_beside_the_field_and_save_nothing(client, employee, laptop):
    response = signed_in(client, employee).post(item_url(laptop), form_data(field_model=""))

    assert response.status_code == 400
    assert not ServiceRequest.objects.exists()
    assert not Event.objects.exists()
    content = response.content.decode()
    field = re.search(r'<div class="field has-error"[^>]*>(.*?)</div>', content, re.DOTALL)
    assert field, content
    assert 'name="field_model"' in field.group(1)
    assert "This field is required." in field.group(1)
    assert 'value="A new laptop"' in content  # what was typed is kept


@pytest.fixture
def with_upload(laptop):
    FormFieldFactory(item=laptop, key="quote", label="Quote", kind=FormField.Kind.ATTACHMENT)
    return laptop


def test_an_oversized_upload_is_413_and_saves_nothing(client, employee, with_upload, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    upload = SimpleUploadedFile("quote.pdf", b"x" * 101, content_type="application/pdf")

    response = signed_in(client, employee).post(
        item_url(with_upload), form_data(field_model="X1", field_quote=upload)
    )

    assert response.status_code == 413
    assert "files may be at most" in response.content.decode()
    assert not ServiceRequest.objects.exists()
    assert not Attachment.objects.exists()


def test_an_upload_of_a_refused_type_is_400(client, employee, with_upload):
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")

    response = signed_in(client, employee).post(
        item_url(with_upload), form_data(field_model="X1", field_quote=upload)
    )

    assert response.status_code == 400
    assert ".exe files are not accepted" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_an_accepted_upload_becomes_an_attachment(client, employee, with_upload):
    upload = SimpleUploadedFile("quote.pdf", b"%PDF-1.7", content_type="application/pdf")

    signed_in(client, employee).post(
        item_url(with_upload), form_data(field_model="X1", field_quote=upload)
    )

    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.field_key) == ("quote.pdf", "quote")


@pytest.fixture
def with_condition(laptop):
    """'Reason' is asked (and required) only when 'Replacing a laptop?' is yes."""
    replacing = FormFieldFactory(
        item=laptop, key="replacing", label="Replacing a laptop?", kind="yes_no", position=2
    )
    FormFieldFactory(
        item=laptop,
        key="reason",
        label="What happened to it?",
        required=True,
        position=3,
        show_when_field=replacing,
        show_when_value="yes",
    )
    return laptop


def test_the_conditional_field_carries_its_condition_for_the_browser(
    client, employee, with_condition
):
    content = signed_in(client, employee).get(item_url(with_condition)).content.decode()

    assert 'data-show-when="field_replacing" data-show-value="yes"' in content
    assert "js/request-form.js" in content


def test_a_hidden_conditional_field_is_neither_required_nor_stored(
    client, employee, with_condition
):
    response = signed_in(client, employee).post(
        item_url(with_condition),
        form_data(field_model="X1", field_replacing="no", field_reason="sent by a crafty client"),
    )

    assert response.status_code == 302
    assert [row["key"] for row in ServiceRequest.objects.get().answers] == ["model", "replacing"]


def test_a_shown_conditional_field_is_required(client, employee, with_condition):
    response = signed_in(client, employee).post(
        item_url(with_condition), form_data(field_model="X1", field_replacing="yes")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["field_reason"] == ["This field is required."]
    assert not ServiceRequest.objects.exists()


def test_raising_on_behalf_of_a_colleague(client, manager, employee, laptop):
    laptop.allow_on_behalf = True
    laptop.save()

    signed_in(client, manager).post(
        item_url(laptop), form_data(field_model="X1", on_behalf_of="employee")
    )

    service_request = ServiceRequest.objects.get()
    assert (service_request.requester, service_request.raised_by) == (employee, manager)
    assert service_request in signed_in(client, employee).get(MY_REQUESTS).context["page"]


def test_on_behalf_is_ignored_where_the_item_does_not_allow_it(client, manager, employee, laptop):
    content = signed_in(client, manager).get(item_url(laptop)).content.decode()
    assert 'name="on_behalf_of"' not in content

    client.post(item_url(laptop), form_data(field_model="X1", on_behalf_of="employee"))

    assert ServiceRequest.objects.get().requester == manager


def test_posting_without_the_csrf_token_is_refused(employee, laptop):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)

    response = client.post(item_url(laptop), form_data(field_model="X1"))

    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


# -- knowledge ------------------------------------------------------------------------------


def test_an_article_renders_sanitized_markdown_and_counts_the_read(client, employee):
    article = ArticleFactory(
        slug="vpn",
        body="# VPN\n\n<script>alert('owned')</script>\n\n"
        '<a href="javascript:alert(1)" onclick="steal()">click</a> **bold**',
    )

    response = signed_in(client, employee).get(reverse("article_detail", args=["vpn"]))

    content = response.content.decode()
    assert "<h1>VPN</h1>" in content
    assert "<strong>bold</strong>" in content
    assert "<script>alert" not in content
    assert "javascript:" not in content
    assert "onclick" not in content
    article.refresh_from_db()
    assert article.view_count == 1
    assert "read 1 time" in content


def test_reading_from_an_item_page_records_a_possible_deflection(client, employee, laptop, hr_only):
    article = ArticleFactory(slug="reset")
    url = reverse("article_detail", args=["reset"])
    signed_in(client, employee)

    client.get(url, {"from": laptop.slug})
    client.get(url, {"from": hr_only.slug})  # not theirs to ask for: only a read
    client.get(url, {"from": "no-such-item"})
    client.get(url)

    assert list(ArticleView.objects.values_list("catalog_item", "user")) == [
        (laptop.pk, employee.pk)
    ]
    article.refresh_from_db()
    assert article.view_count == 4


def test_an_article_lists_only_related_items_the_reader_may_ask_for(
    client, employee, laptop, hr_only
):
    article = ArticleFactory(slug="kit")
    article.related_items.set([laptop, hr_only])

    content = signed_in(client, employee).get(reverse("article_detail", args=["kit"])).content

    assert item_url(laptop).encode() in content
    assert item_url(hr_only).encode() not in content


def test_draft_articles_are_404_for_readers_outside_the_department(client, employee, it_agent):
    ArticleFactory(slug="wip", status=Article.Status.DRAFT, department=it_agent.profile.department)
    url = reverse("article_detail", args=["wip"])

    assert signed_in(client, employee).get(url).status_code == 404
    assert signed_in(client, it_agent).get(url).status_code == 200


def test_did_this_help_records_the_answer(client, employee):
    article = ArticleFactory(slug="printing")
    url = reverse("article_feedback", args=["printing"])
    signed_in(client, employee)

    assert client.post(url, {"helpful": "yes"}).status_code == 302
    fragment = client.post(url, {"helpful": "no"}, headers={"HX-Request": "true"})

    assert ArticleFeedback.objects.get(article=article, user=employee).helpful is False
    assert "You said it did not help" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert client.post(url, {"helpful": "maybe"}).status_code == 400


# -- approvals ------------------------------------------------------------------------------


@pytest.fixture
def needs_approval(laptop):
    ApprovalStepFactory(item=laptop, position=1)
    return laptop


def test_approvers_see_what_waits_for_them(client, employee, manager, outsider, needs_approval):
    service_request = submit(
        needs_approval,
        employee,
        subject="Faster laptop",
        answers=[{"key": "model", "label": "Model", "display": "X1", "value": "X1"}],
    )

    content = signed_in(client, manager).get(APPROVALS).content.decode()

    assert service_request.reference in content
    assert "Faster laptop" in content
    decide = reverse("approval_decision", args=[service_request.approvals.get().pk])
    assert f'action="{decide}"' in content
    assert "Nothing is waiting" in signed_in(client, outsider).get(APPROVALS).content.decode()


def test_approving_passes_the_request_on(client, employee, manager, needs_approval):
    service_request = submit(needs_approval, employee)
    approval = service_request.approvals.get()

    response = signed_in(client, manager).post(
        reverse("approval_decision", args=[approval.pk]), {"decision": "approve"}
    )

    assert response.status_code == 302
    assert response.url == APPROVALS
    service_request.refresh_from_db()
    assert service_request.state not in (State.AWAITING_APPROVAL, State.REJECTED)
    assert "Nothing is waiting" in client.get(APPROVALS).content.decode()


def test_rejecting_needs_a_reason_and_the_employee_sees_it(
    client, employee, manager, needs_approval
):
    service_request = submit(needs_approval, employee)
    url = reverse("approval_decision", args=[service_request.approvals.get().pk])
    signed_in(client, manager)

    refused = client.post(url, {"decision": "reject", "comment": ""})

    assert refused.status_code == 400
    assert "Say why" in refused.content.decode()
    service_request.refresh_from_db()
    assert service_request.state == State.AWAITING_APPROVAL

    client.post(url, {"decision": "reject", "comment": "Your laptop is six months old."})

    service_request.refresh_from_db()
    assert service_request.state == State.REJECTED
    page = signed_in(client, employee).get(detail_url(service_request)).content.decode()
    assert "Rejected by" in page
    assert "Your laptop is six months old." in page


def test_approvals_come_a_page_at_a_time_and_a_refused_decision_stays_on_its_page(
    client, employee, manager, needs_approval
):
    pending = [submit(needs_approval, employee, subject=f"Ask {n}") for n in range(12)]
    last = pending[-1].approvals.get()
    signed_in(client, manager)

    first = client.get(APPROVALS)
    second = client.get(f"{APPROVALS}?page=2")

    assert len(first.context["rows"]) == APPROVALS_PER_PAGE
    assert len(second.context["rows"]) == 12 - APPROVALS_PER_PAGE
    assert first.context["page"].paginator.count == 12
    assert f'href="{APPROVALS}?page=2"' in first.content.decode()
    refused = client.post(
        reverse("approval_decision", args=[last.pk]), {"decision": "reject", "page": "2"}
    )
    assert refused.status_code == 400
    assert refused.context["page"].number == 2
    assert f'href="{APPROVALS}?page=1"' in refused.content.decode()
    decided = client.post(
        reverse("approval_decision", args=[last.pk]), {"decision": "approve", "page": "2"}
    )
    assert decided.url == f"{APPROVALS}?page=2"
    last.refresh_from_db()
    assert last.state == Approval.State.APPROVED


@pytest.mark.parametrize("persona", ["employee", "outsider", "it_agent"])
def test_only_the_approver_may_decide(request, client, employee, manager, needs_approval, persona):
    service_request = submit(needs_approval, employee)
    url = reverse("approval_decision", args=[service_request.approvals.get().pk])

    response = signed_in(client, request.getfixturevalue(persona)).post(
        url, {"decision": "approve"}
    )

    assert response.status_code == 404
    assert service_request.approvals.get().state == Approval.State.PENDING


def test_a_decided_approval_cannot_be_decided_again(client, employee, manager, needs_approval):
    service_request = submit(needs_approval, employee)
    url = reverse("approval_decision", args=[service_request.approvals.get().pk])
    signed_in(client, manager).post(url, {"decision": "approve"})

    assert client.post(url, {"decision": "reject", "comment": "changed my mind"}).status_code == 404
    assert service_request.approvals.get().state == Approval.State.APPROVED


def test_a_confidential_case_shows_its_approver_no_details(
    client, employee, manager, parental_leave
):
    ApprovalStepFactory(item=parental_leave, position=1)
    service_request = submit(parental_leave, employee, subject="Twins due in May")

    content = signed_in(client, manager).get(APPROVALS).content.decode()

    assert service_request.reference in content
    assert "Twins due in May" not in content
    assert detail_url(service_request) not in content


# -- my requests ----------------------------------------------------------------------------


def test_my_requests_filters_by_state_and_searches(client, employee, laptop, outsider):
    printer = CatalogItemFactory(name="Printer access")
    open_one = ServiceRequestFactory(requester=employee, catalog_item=laptop, subject="Laptop")
    done = ServiceRequestFactory(requester=employee, catalog_item=printer, state=State.RESOLVED)
    ServiceRequestFactory(requester=outsider, subject="Laptop for someone else")
    signed_in(client, employee)

    def listed(**params):
        return list(client.get(MY_REQUESTS, params).context["page"].object_list)

    assert listed() == [done, open_one]
    assert listed(state="open") == [open_one]
    assert listed(state="closed") == [done]
    assert listed(state="resolved") == [done]
    assert listed(q="laptop") == [open_one]
    assert listed(q="printer") == [done]
    assert listed(q=done.reference) == [done]
    assert listed(q=done.reference.lower().replace("-", "")) == [done]
    assert listed(state="nonsense") == [done, open_one]


def test_my_requests_pages_by_twenty_and_keeps_the_filters(client, employee, laptop):
    ServiceRequestFactory.create_batch(45, requester=employee, catalog_item=laptop)
    signed_in(client, employee)

    first = client.get(MY_REQUESTS, {"state": "open", "q": "Request"})
    third = client.get(MY_REQUESTS, {"state": "open", "q": "Request", "page": 3})

    assert len(first.context["page"].object_list) == 20
    assert len(third.context["page"].object_list) == 5
    assert 'href="?state=open&amp;q=Request&amp;page=2"' in first.content.decode()
    assert client.get(MY_REQUESTS, {"page": 99}).context["page"].number == 3


def test_my_requests_empty_states(client, employee, laptop):
    signed_in(client, employee)
    assert "You have not asked for anything yet" in client.get(MY_REQUESTS).content.decode()

    ServiceRequestFactory(requester=employee, catalog_item=laptop)

    assert "No request matches" in client.get(MY_REQUESTS, {"q": "zebra"}).content.decode()


# -- one request ----------------------------------------------------------------------------


def test_the_request_page_says_where_it_stands(client, employee, needs_approval):
    service_request = submit(
        needs_approval,
        employee,
        answers=[{"key": "model", "label": "Model", "value": "X1", "display": "X1 Carbon"}],
    )

    response = signed_in(client, employee).get(detail_url(service_request))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Awaiting approval" in content
    assert "Waiting for approval from" in content
    assert "X1 Carbon" in content
    assert "Submitted by you" in content  # the timeline, from events


def test_the_request_page_is_404_for_an_outsider(client, employee, outsider, laptop):
    service_request = submit(laptop, employee)

    assert signed_in(client, outsider).get(detail_url(service_request)).status_code == 404
    assert client.get("/requests/not-a-reference/").status_code == 404


def test_a_confidential_hr_case_is_404_for_an_it_agent(
    client, employee, it_agent, hr_agent, parental_leave
):
    service_request = submit(parental_leave, employee)

    assert signed_in(client, it_agent).get(detail_url(service_request)).status_code == 404
    assert signed_in(client, hr_agent).get(detail_url(service_request)).status_code == 200
    assert signed_in(client, employee).get(detail_url(service_request)).status_code == 200


def test_a_reference_in_another_spelling_redirects_to_the_page(client, employee, laptop):
    service_request = submit(laptop, employee)

    response = signed_in(client, employee).get(f"/requests/req{service_request.pk}/")

    assert response.status_code == 301
    assert response.url == detail_url(service_request)


def test_internal_notes_are_never_shown_to_the_employee(client, employee, it_agent, laptop):
    service_request = submit(laptop, employee)
    actions.comment_add(service_request=service_request, author=it_agent, body="Public reply")
    actions.comment_add(
        service_request=service_request,
        author=it_agent,
        body="Staff only: check the budget",
        is_internal=True,
    )

    employee_view = signed_in(client, employee).get(detail_url(service_request)).content.decode()
    agent_view = signed_in(client, it_agent).get(detail_url(service_request)).content.decode()

    assert "Public reply" in employee_view
    assert "Staff only" not in employee_view
    assert "Internal note" not in employee_view
    assert "Staff only: check the budget" in agent_view


def test_commenting_with_an_attachment(client, employee, laptop):
    service_request = submit(laptop, employee)
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")

    response = signed_in(client, employee).post(
        reverse("request_comment", args=[service_request.reference]),
        {"body": "Here is a photo", "attachment": upload},
    )

    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.body, comment.author, comment.is_internal) == (
        "Here is a photo",
        employee,
        False,
    )
    page = client.get(detail_url(service_request)).content.decode()
    assert reverse("attachment_download", args=[Attachment.objects.get().pk]) in page


def test_an_empty_or_oversized_comment_changes_nothing(client, employee, laptop, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    service_request = submit(laptop, employee)
    url = reverse("request_comment", args=[service_request.reference])
    signed_in(client, employee)

    empty = client.post(url, {"body": ""})
    big = SimpleUploadedFile("big.pdf", b"x" * 11, content_type="application/pdf")
    oversized = client.post(url, {"body": "see attached", "attachment": big})
    program = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    refused_type = client.post(url, {"body": "see attached", "attachment": program})

    assert empty.status_code == 400
    assert oversized.status_code == 413
    assert refused_type.status_code == 400
    assert ".exe files are not accepted" in refused_type.content.decode()
    assert not Comment.objects.exists()
    assert not Attachment.objects.exists()


def test_a_script_in_a_comment_is_shown_as_text(client, employee, it_agent, laptop):
    service_request = submit(laptop, employee)
    actions.comment_add(
        service_request=service_request,
        author=it_agent,
        body="<script>alert('owned')</script><img src=x onerror=alert(1)>",
    )

    content = signed_in(client, employee).get(detail_url(service_request)).content.decode()

    assert "<script>alert" not in content
    assert "<img src=x" not in content
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in content


def test_the_employee_cancels_an_open_request(client, employee, laptop):
    service_request = submit(laptop, employee)
    signed_in(client, employee)
    assert "Cancel this request" in client.get(detail_url(service_request)).content.decode()

    response = client.post(
        reverse("request_cancel", args=[service_request.reference]), {"reason": "Found one"}
    )

    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.state == State.CANCELLED
    page = client.get(detail_url(service_request)).content.decode()
    assert "Cancel this request" not in page
    assert 'name="body"' not in page  # a closed request takes no more comments


def test_a_resolved_request_cannot_be_cancelled(client, employee, laptop):
    service_request = submit(laptop, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    signed_in(client, employee)
    assert "Cancel this request" not in client.get(detail_url(service_request)).content.decode()

    response = client.post(reverse("request_cancel", args=[service_request.reference]))

    service_request.refresh_from_db()
    assert service_request.state == State.RESOLVED
    assert "Only a request that is not resolved yet can be cancelled." in (
        client.get(response.url).content.decode()
    )


def test_only_the_owner_may_cancel(client, employee, it_agent, laptop):
    service_request = submit(laptop, employee)

    response = signed_in(client, it_agent).post(
        reverse("request_cancel", args=[service_request.reference])
    )

    assert response.status_code == 403
    assert ServiceRequest.objects.get().state == service_request.state


def test_reopening_within_the_window(client, employee, laptop):
    service_request = submit(laptop, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    signed_in(client, employee)
    assert "You can reopen it until" in client.get(detail_url(service_request)).content.decode()

    client.post(
        reverse("request_reopen", args=[service_request.reference]), {"reason": "Still broken"}
    )

    service_request.refresh_from_db()
    assert service_request.state == State.IN_PROGRESS
    assert "Still broken" in client.get(detail_url(service_request)).content.decode()


def test_reopening_after_the_window_is_refused_and_changes_nothing(
    client, employee, laptop, settings
):
    service_request = submit(laptop, employee)
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    too_long_ago = timezone.now() - dt.timedelta(days=settings.REOPEN_WINDOW_DAYS, hours=1)
    ServiceRequest.objects.filter(pk=service_request.pk).update(resolved_at=too_long_ago)
    signed_in(client, employee)
    assert "Not solved?" not in client.get(detail_url(service_request)).content.decode()

    response = client.post(
        reverse("request_reopen", args=[service_request.reference]), {"reason": "Still broken"}
    )

    service_request.refresh_from_db()
    assert service_request.state == State.RESOLVED
    assert not Comment.objects.exists()
    assert "please raise a new one" in client.get(response.url).content.decode()


def test_rating_after_resolution_once(client, employee, laptop):
    service_request = submit(laptop, employee)
    signed_in(client, employee)
    assert "How was it?" not in client.get(detail_url(service_request)).content.decode()
    actions.service_request_resolve(service_request=service_request, user=None, resolution="Done")
    assert "How was it?" in client.get(detail_url(service_request)).content.decode()
    url = reverse("request_rate", args=[service_request.reference])

    assert client.post(url, {"score": "9"}).status_code == 400
    client.post(url, {"score": "4", "comment": "Quick"})
    again = client.post(url, {"score": "1"})

    rating = ExperienceRating.objects.get()
    assert (rating.score, rating.comment, rating.rated_by) == (4, "Quick", employee)
    page = client.get(again.url).content.decode()
    assert "rated already" in page
    assert "How was it?" not in page
    assert "4/5" in page


# -- attachments ----------------------------------------------------------------------------


@pytest.fixture
def attachment(employee, parental_leave):
    service_request = submit(parental_leave, employee)
    return Attachment.objects.create(
        service_request=service_request,
        uploaded_by=employee,
        file=ContentFile(b"<html><script>alert(1)</script></html>", name="letter.pdf"),
        name="letter.pdf",
        content_type="text/html",
        size=38,
    )


def test_an_attachment_is_served_as_a_download_to_those_who_may_see_it(
    client, employee, hr_agent, attachment
):
    for person in (employee, hr_agent):
        response = signed_in(client, person).get(
            reverse("attachment_download", args=[attachment.pk])
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"  # by its name, not as declared
        assert response["Content-Disposition"] == 'attachment; filename="letter.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content).startswith(b"<html>")


@pytest.mark.parametrize("persona", ["outsider", "it_agent", "manager"])
def test_an_attachment_is_404_for_everyone_else(request, client, attachment, persona):
    response = signed_in(client, request.getfixturevalue(persona)).get(
        reverse("attachment_download", args=[attachment.pk])
    )

    assert response.status_code == 404


# -- navigation -----------------------------------------------------------------------------


def test_every_signed_in_person_finds_their_requests(client, outsider):
    response = signed_in(client, outsider).get(HOME)

    labels = [item.label for item in response.context["nav_items"]]
    assert labels[:2] == ["Portal", "My requests"]
    assert f'href="{MY_REQUESTS}"' in response.content.decode()


def test_people_who_never_approve_are_not_offered_approvals(client, outsider, it_agent):
    for person in (outsider, it_agent):
        client.force_login(person)
        response = client.get(HOME)
        assert "Approvals" not in [item.label for item in response.context["nav_items"]]
        assert f'href="{APPROVALS}"' not in response.content.decode()


def test_navigation_counts_the_approvals_waiting_for_the_person(client, employee, manager, laptop):
    ApprovalStepFactory(item=laptop)
    for _ in range(2):
        submit(laptop, employee)

    response = signed_in(client, manager).get(HOME)

    [approvals] = [item for item in response.context["nav_items"] if item.label == "Approvals"]
    assert approvals.count == 2
    assert '<span class="nav-count" aria-label="2 waiting">2</span>' in response.content.decode()


def test_an_approver_by_role_or_name_is_offered_approvals_before_anything_waits(
    client, it_agent, outsider, it_department, laptop
):
    ApprovalStepFactory(
        item=laptop,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=it_department,
        role=DepartmentRole.Role.AGENT,
    )
    ApprovalStepFactory(item=laptop, approver=ApprovalStep.Approver.PERSON, person=outsider)

    for person in (it_agent, outsider):
        client.force_login(person)
        items = client.get(HOME).context["nav_items"]
        [approvals] = [item for item in items if item.label == "Approvals"]
        assert approvals.count == 0


def test_someone_who_decided_an_approval_keeps_the_entry(client, employee, manager, laptop):
    ApprovalStepFactory(item=laptop)
    service_request = submit(laptop, employee)
    approval = service_request.approvals.get()
    actions.approval_decide(approval=approval, user=manager, approve=True, comment="")
    Profile.objects.filter(user=employee).update(manager=None)

    items = signed_in(client, manager).get(HOME).context["nav_items"]

    assert [item.count for item in items if item.label == "Approvals"] == [0]


def test_the_navigation_reads_the_approvals_in_one_query(
    rf, employee, manager, laptop, django_assert_num_queries
):
    ApprovalStepFactory(item=laptop)
    submit(laptop, employee)
    request = rf.get(HOME)
    request.user = manager
    department_roles(manager)

    with django_assert_num_queries(1):
        items = nav_items(request)

    assert [item.count for item in items if item.label == "Approvals"] == [1]


def test_the_navigation_builds_a_persons_approvals_query_once_and_again_for_new_roles(
    client, employee, it_agent, it_department, laptop
):
    """The count's SQL is kept per person and roles: a second page reads the approvals
    afresh with the query built for the first; a role granted since is another query, so a
    request awaiting that role's approval is counted at once."""
    ApprovalStepFactory(
        item=laptop,
        approver=ApprovalStep.Approver.DEPARTMENT_ROLE,
        department=it_department,
        role=DepartmentRole.Role.MANAGER,
    )
    submit(laptop, employee)
    client.force_login(it_agent)

    def waiting() -> list[int]:
        items = client.get(HOME).context["nav_items"]
        return [item.count for item in items if item.label == "Approvals"]

    selectors._approval_summary_sql.cache_clear()
    assert waiting() == []  # an agent approves nothing here
    assert waiting() == []
    assert selectors._approval_summary_sql.cache_info()[:2] == (1, 1)  # hits, misses

    DepartmentRole.objects.create(
        user=it_agent, department=it_department, role=DepartmentRole.Role.MANAGER
    )
    assert waiting() == [1]
    assert selectors._approval_summary_sql.cache_info().misses == 2


def test_anonymous_visitors_are_sent_to_sign_in(client, laptop):
    for url in [HOME, item_url(laptop), MY_REQUESTS, APPROVALS, "/requests/REQ-000001/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


# -- the number of queries does not grow with the data --------------------------------------


def _grow_catalog(count, *, employee, it_department):
    category = CategoryFactory(name="Hardware", slug="hardware")
    for _ in range(count):
        item = CatalogItemFactory(service__department=it_department, service__category=category)
        EntitlementFactory(item=item, role=Entitlement.Role.PEOPLE_MANAGER)
        other = CatalogItemFactory(service__department=it_department)
        ServiceRequestFactory(catalog_item=other, requester=employee)
        ArticleFactory(title=f"Item guide {other.pk}").related_items.add(other)


def _grow_form(item, count, *, hr_department):
    for _ in range(count):
        controller = FormFieldFactory(item=item, kind=FormField.Kind.YES_NO)
        FormFieldFactory(
            item=item,
            kind="choice",
            choices="a\nb",
            show_when_field=controller,
            show_when_value="yes",
        )
        ApprovalStepFactory(
            item=item, approver="department_role", department=hr_department, role="manager"
        )
        ApprovalStepFactory(item=item, approver="person", person=UserFactory())


def _grow_requests(count, *, employee, item):
    for service_request in ServiceRequestFactory.create_batch(
        count, requester=employee, catalog_item=item, state=State.AWAITING_APPROVAL
    ):
        ApprovalFactory(
            service_request=service_request,
            approver=employee.profile.manager,
            label="Manager",
            position=1,
        )


def _grow_request(service_request, count, *, employee, it_agent):
    for number in range(count):
        actions.comment_add(
            service_request=service_request,
            author=it_agent if number % 2 else employee,
            body=f"Comment {number}",
            is_internal=number % 3 == 0,
            uploads=[("", SimpleUploadedFile(f"f{number}.txt", b"x", content_type="text/plain"))],
        )
    start = service_request.approvals.count()
    for number in range(count):
        Approval.objects.create(
            service_request=service_request,
            position=start + number + 1,
            label="Someone",
            approver=UserFactory(),
            state=Approval.State.APPROVED,
            decided_by=UserFactory(),
            decided_at=timezone.now(),
        )


# Session, user, roles, approvals waiting and profile (navigation, entitlement), then each
# page's own reads.
QUERY_BUDGET = {
    "home": 9,
    "search": 10,
    "item": 9,
    "my_requests": 7,
    "detail": 10,
    "approvals": 7,  # and the count of its pages
}


@pytest.mark.parametrize("page", list(QUERY_BUDGET))
def test_page_query_count_does_not_grow_with_the_data(
    client,
    page,
    employee,
    it_agent,
    it_department,
    hr_department,
    laptop,
    django_assert_max_num_queries,
):
    ApprovalStepFactory(item=laptop, position=0)
    service_request = submit(laptop, employee)
    actions.approval_decide(
        approval=service_request.approvals.get(), user=employee.profile.manager, approve=True
    )
    urls = {
        "home": HOME,
        "search": f"{HOME}?q=item&department=it",
        "item": item_url(laptop),
        "my_requests": f"{MY_REQUESTS}?state=open",
        "detail": detail_url(service_request),
        "approvals": APPROVALS,
    }

    def grow(count):
        _grow_catalog(count, employee=employee, it_department=it_department)
        _grow_form(laptop, count, hr_department=hr_department)
        _grow_requests(count, employee=employee, item=laptop)
        _grow_request(service_request, count, employee=employee, it_agent=it_agent)

    signed_in(client, employee.profile.manager if page == "approvals" else employee)
    grow(2)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as small:
        assert client.get(urls[page]).status_code == 200

    grow(25)
    with django_assert_max_num_queries(QUERY_BUDGET[page]) as large:
        response = client.get(urls[page])
    assert response.status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries)
    # The large data did reach the page.
    shown = {
        "home": lambda context: sum(count for _, _, count in context["facets"]["departments"]),
        "search": lambda context: context["items"].paginator.count,
        "item": lambda context: len(context["approvers"]),
        "my_requests": lambda context: context["page"].paginator.count,
        "detail": lambda context: len(context["service_request"].approvals.all()),
        "approvals": lambda context: context["page"].paginator.count,
    }
    assert shown[page](response.context) >= 27


@pytest.mark.parametrize(("page", "budget"), [("article", 15), ("suggestions", 6)])
def test_knowledge_pages_run_a_constant_number_of_queries(
    client, page, budget, employee, it_department, laptop, django_assert_max_num_queries
):
    guide = ArticleFactory(title="Laptop guide", slug="laptop-guide", body="Set up a laptop.")
    url = {
        "article": f"{reverse('article_detail', args=[guide.slug])}?from={laptop.slug}",
        "suggestions": reverse("catalog_item_suggestions", args=[laptop.slug])
        + "?subject=item guide",
    }[page]
    signed_in(client, employee)

    def grow(count):
        _grow_catalog(count, employee=employee, it_department=it_department)
        guide.related_items.set(CatalogItem.objects.filter(entitlements__isnull=True))

    grow(2)
    with django_assert_max_num_queries(budget) as small:
        assert client.get(url).status_code == 200
    grow(25)
    with django_assert_max_num_queries(budget) as large:
        response = client.get(url)

    assert len(large.captured_queries) == len(small.captured_queries)
    if page == "article":
        assert len(response.context["related_items"]) >= 27
    else:
        assert len(response.context["articles"]) == SUGGESTIONS_SHOWN
