"""The admin edits fulfilment plans with their catalog item."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.forms import inlineformset_factory
from django.urls import reverse

from esm.admin_masking import MaskedRelationsMixin
from services.admin import FormFieldFormSet, PlanStepForm, PlanStepFormSet
from services.models import (
    CatalogItem,
    Comment,
    DirectoryAccount,
    FormField,
    PlanStep,
    Queue,
    SentMessage,
)
from services.models.automation import plan_cycle
from tests.esm.factories import TEST_PASSWORD
from tests.services.factories import (
    CatalogItemFactory,
    FormFieldFactory,
    FulfilmentTaskFactory,
    QueueFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db


def test_the_item_admin_offers_registered_actions_and_only_its_own_steps(client, superuser):
    item, other = CatalogItemFactory(), CatalogItemFactory()
    PlanStep.objects.create(
        item=item, key="mine", name="Mine", kind="human", department=item.department
    )
    PlanStep.objects.create(
        item=other, key="theirs", name="Theirs", kind="human", department=other.department
    )
    client.login(username=superuser.username, password=TEST_PASSWORD)

    page = client.get(reverse("admin:services_catalogitem_change", args=[item.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "it.create_account" in html
    # The item's form, entitlement and approvals are edited inline on the same page.
    for prefix in ("fields", "entitlements", "approval_steps", "plan_steps"):
        assert f'name="{prefix}-TOTAL_FORMS"' in html, prefix
    assert 'name="fields-__prefix__-show_when_field"' in html
    assert ">Mine<" in html or "Mine</option>" in html
    assert "Theirs</option>" not in html


def _show_when_options(html, index):
    select = re.search(rf'<select name="fields-{index}-show_when_field".*?</select>', html, re.S)
    return re.findall(r'<option value="(\d*)"', select.group(0))


def test_show_when_offers_only_the_item_s_own_fields_with_a_constant_number_of_queries(
    client, superuser, django_assert_max_num_queries
):
    item, other = CatalogItemFactory(), CatalogItemFactory()
    own = FormFieldFactory.create_batch(3, item=item)
    FormFieldFactory.create_batch(40, item=other)
    client.force_login(superuser)
    url = reverse("admin:services_catalogitem_change", args=[item.pk])
    client.get(url)  # content types and such, cached for later pages

    with django_assert_max_num_queries(25) as few:
        page = client.get(url)

    html = page.content.decode()
    expected = ["", *(str(field.pk) for field in own)]
    assert _show_when_options(html, 0) == expected
    assert _show_when_options(html, "__prefix__") == expected
    assert f"{own[1].label} ({own[1].key})" in html
    # The rest of the catalog no longer weighs on the page; the item's own fields cost no
    # query each.
    FormFieldFactory.create_batch(200, item=other)
    assert abs(len(client.get(url).content) - len(page.content)) < 100
    FormFieldFactory.create_batch(20, item=item)
    with django_assert_max_num_queries(25) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_show_when_refuses_a_field_of_another_item():
    item = CatalogItemFactory()
    own, stranger = FormFieldFactory(item=item), FormFieldFactory(item=CatalogItemFactory())
    formset_class = inlineformset_factory(
        CatalogItem,
        FormField,
        formset=FormFieldFormSet,
        fk_name="item",
        fields=["key", "label", "kind", "show_when_field", "show_when_value"],
        extra=0,
    )
    data = {
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "1",
        "fields-0-id": str(own.pk),
        "fields-0-item": str(item.pk),
        "fields-0-key": own.key,
        "fields-0-label": own.label,
        "fields-0-kind": own.kind,
        "fields-0-show_when_field": str(stranger.pk),
        "fields-0-show_when_value": "yes",
    }

    formset = formset_class(data, instance=item, prefix="fields")

    assert not formset.is_valid()
    assert "show_when_field" in formset.errors[0]
    own.refresh_from_db()
    assert own.show_when_field is None


def test_records_of_confidential_cases_are_hidden_from_admins_outside_the_department(
    client, superuser, hr_agent, hr_department, employee
):
    hr_agent.is_staff = True
    hr_agent.save()
    case = ServiceRequestFactory(
        requester=employee,
        catalog_item=CatalogItemFactory(department=hr_department, is_confidential=True),
    )
    SentMessage.objects.create(
        key="k1", template="welcome_pack", recipients="x@example.com", service_request=case
    )
    DirectoryAccount.objects.create(
        first_name="Kim", last_name="Tan", username="kim.tan", service_request=case
    )
    client.login(username=superuser.username, password=TEST_PASSWORD)

    for name in ("servicerequest", "sentmessage", "directoryaccount"):
        page = client.get(reverse(f"admin:services_{name}_changelist"))
        assert page.status_code == 200
        assert page.context["cl"].result_count == 0, name


def test_plan_cycle_finds_steps_waiting_for_each_other():
    assert plan_cycle({1: set(), 2: {1}, 3: {1, 2}}) == []
    assert plan_cycle({1: set(), 2: {3}, 3: {2}, 4: {1}}) == [2, 3]
    assert plan_cycle({5: {5}}) == [5]


def test_the_plan_inline_refuses_a_loop_and_saves_nothing():
    item = CatalogItemFactory()
    first, second = (
        PlanStep.objects.create(
            item=item, key=key, name=key.title(), kind="human", department=item.department
        )
        for key in ("first", "second")
    )
    second.after.set([first])
    formset_class = inlineformset_factory(
        CatalogItem,
        PlanStep,
        form=PlanStepForm,
        formset=PlanStepFormSet,
        fk_name="item",
        fields=PlanStepForm.Meta.fields,
        extra=0,
    )
    data = {"steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "2"}
    for index, (step, after) in enumerate([(first, second), (second, first)]):
        data |= {
            f"steps-{index}-id": str(step.pk),
            f"steps-{index}-item": str(item.pk),
            f"steps-{index}-position": str(index),
            f"steps-{index}-key": step.key,
            f"steps-{index}-name": step.name,
            f"steps-{index}-kind": "human",
            f"steps-{index}-department": str(item.department_id),
            f"steps-{index}-params": "{}",
            f"steps-{index}-after": [str(after.pk)],
        }

    formset = formset_class(data, instance=item, prefix="steps")

    assert not formset.is_valid()
    assert "loop" in " ".join(formset.non_form_errors())
    assert list(first.after.all()) == []


CANARY = "Grievance against line manager 7f3a"


@pytest.fixture
def confidential_case(employee, hr_department):
    case = ServiceRequestFactory(
        requester=employee,
        subject=CANARY,
        catalog_item=CatalogItemFactory(department=hr_department, is_confidential=True),
    )
    task = FulfilmentTaskFactory(service_request=case, title=CANARY)
    Comment.objects.create(service_request=case, author=employee, body=CANARY)
    return task


def test_a_queue_s_delete_page_names_no_confidential_task_to_an_admin_outside_hr(
    client, superuser, confidential_case
):
    queue = confidential_case.queue
    open_task = FulfilmentTaskFactory(queue=queue, title="Order a standing desk")
    client.force_login(superuser)

    page = client.get(reverse("admin:services_queue_delete", args=[queue.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert CANARY not in html
    assert "(confidential)" in html
    assert str(open_task) in html


def test_hr_staff_see_their_confidential_tasks_on_the_delete_page(
    client, hr_agent, confidential_case
):
    hr_agent.is_staff = hr_agent.is_superuser = True
    hr_agent.save()
    client.force_login(hr_agent)

    page = client.get(reverse("admin:services_queue_delete", args=[confidential_case.queue_id]))

    assert CANARY in page.content.decode()


def test_a_person_s_delete_page_names_none_of_their_confidential_case(
    client, superuser, employee, confidential_case
):
    client.force_login(superuser)

    page = client.get(reverse("admin:auth_user_delete", args=[employee.pk]))

    assert page.status_code == 200
    assert CANARY not in page.content.decode()


def test_deleting_a_queue_still_works(client, superuser, confidential_case):
    empty = QueueFactory(department=confidential_case.department)
    client.force_login(superuser)

    done = client.post(reverse("admin:services_queue_delete", args=[empty.pk]), {"post": "yes"})

    assert done.status_code == 302
    assert not Queue.objects.filter(pk=empty.pk).exists()
    assert Queue.objects.filter(pk=confidential_case.queue_id).exists()


def test_confidential_requests_and_their_records_stay_out_of_admin_pages(
    client, superuser, confidential_case
):
    case = confidential_case.service_request
    client.force_login(superuser)

    listing = client.get(reverse("admin:services_servicerequest_changelist"))
    searched = client.get(reverse("admin:services_servicerequest_changelist"), {"q": "7f3a"})
    for name in ("change", "history", "delete"):
        page = client.get(reverse(f"admin:services_servicerequest_{name}", args=[case.pk]))
        assert page.status_code == 404, name
        assert CANARY not in page.content.decode()

    assert CANARY not in listing.content.decode()
    assert searched.context["cl"].result_count == 0


def _request_admin_url(name: str, pk: int) -> str:
    return reverse(f"admin:services_servicerequest_{name}", args=[pk])


@pytest.mark.parametrize("persona", ["superuser", "staff_admin"])
def test_a_confidential_case_s_admin_pages_answer_as_an_unknown_id_and_change_nothing(
    request, client, confidential_case, persona
):
    if persona == "staff_admin":
        viewer = get_user_model().objects.create_user("staffer", is_staff=True)
    else:
        viewer = request.getfixturevalue(persona)
    case = confidential_case.service_request
    unknown = case.pk + 1000
    client.force_login(viewer)

    form = {"post": "yes", "subject": "Changed"}
    answers = {
        (name, method): [
            getattr(client, method)(_request_admin_url(name, pk), form).status_code
            for pk in (case.pk, unknown)
        ]
        for name in ("change", "history", "delete")
        for method in ("get", "post")
        if (name, method) != ("history", "post")
    }

    assert all(got == [404, 404] for got in answers.values()), answers
    case.refresh_from_db()
    assert case.subject == CANARY


def test_every_admin_of_the_core_and_services_masks_confidential_cases():
    # People (who raised, wrote, were assigned) and everything of the two apps can lead
    # to a case; groups and the measuring apps' configuration cannot.
    for model, model_admin in admin.site._registry.items():
        if model is get_user_model() or model._meta.app_label in ("esm", "services"):
            assert isinstance(model_admin, MaskedRelationsMixin), model
