"""`seed_demo` loads a real catalog, knowledge base and a few requests, once."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.data import load
from esm.models import DepartmentRole, Event
from services.forms import RequestForm
from services.models import (
    ApprovalStep,
    Article,
    CatalogItem,
    ExperienceRating,
    FormField,
    Service,
    ServiceRequest,
)
from services.selectors import catalog_items_for, popular_items_for

pytestmark = pytest.mark.django_db

User = get_user_model()

REQUIRED_ITEMS = {
    "New hire onboarding": "hr",
    "Password reset": "it",
    "Software access": "it",
    "Desk move": "facilities",
    "Parental leave": "hr",
    "Report a facilities issue": "facilities",
    "Offboarding": "hr",
}


def seed_demo():
    call_command("seed_demo", password="demo-pass-123", without_history=True, stdout=StringIO())


@pytest.fixture
def seeded():
    seed_demo()


def seeded_items():
    return CatalogItem.objects.filter(slug__in=[spec["slug"] for spec in load("catalog")["items"]])


def counts():
    models = [*apps.get_app_config("services").get_models(), Event, User]
    result = {model._meta.label: model.objects.count() for model in models}
    result["article related items"] = Article.related_items.through.objects.count()
    return result


def user(username):
    return User.objects.get(username=username)


def test_running_seed_demo_twice_changes_nothing(seeded):
    before = counts()
    states = dict(ServiceRequest.objects.values_list("submission_key", "state"))

    seed_demo()

    assert counts() == before
    assert dict(ServiceRequest.objects.values_list("submission_key", "state")) == states
    assert before["services.CatalogItem"] >= 25


def test_the_catalog_has_the_named_items_in_their_departments(seeded):
    items = {item.name: item.department.slug for item in CatalogItem.objects.all()}

    for name, department in REQUIRED_ITEMS.items():
        assert items.get(name) == department, name


def test_the_catalog_spans_it_hr_facilities_and_finance(seeded):
    assert seeded_items().count() >= 25
    departments = set(seeded_items().values_list("department__slug", flat=True))
    assert departments >= {"it", "hr", "facilities", "finance"}
    assert not seeded_items().filter(sla_policy__isnull=True).exists()
    for item in seeded_items().select_related("sla_policy"):
        assert item.sla_policy.targets.count() == 4, item


def test_services_are_outcome_phrased_and_owned_by_a_person(seeded):
    onboarding = CatalogItem.objects.get(name="New hire onboarding").service

    assert onboarding.department.slug == "hr"
    assert onboarding.owner.username == "holly"
    assert "day one" in onboarding.outcome
    assert not Service.objects.filter(owner__isnull=True).exists()
    assert not Service.objects.filter(category__isnull=True).exists()


def test_at_least_ten_published_articles_linked_to_items(seeded):
    published = Article.objects.published()

    assert published.count() >= 10
    assert Article.objects.filter(status=Article.Status.DRAFT).exists()
    assert not published.filter(related_items__isnull=True).exists()
    for title in ["Reset your password yourself", "Setting up VPN", "How parental leave works"]:
        assert published.filter(title=title).exists(), title
    password_reset = CatalogItem.objects.get(name="Password reset")
    assert password_reset.articles.filter(title="Reset your password yourself").exists()


def test_every_form_field_kind_is_used(seeded):
    used = set(FormField.objects.filter(item__in=seeded_items()).values_list("kind", flat=True))

    assert used == set(FormField.Kind.values)


def test_validation_rules_are_used(seeded):
    fields = FormField.objects.filter(item__in=seeded_items())

    assert fields.filter(pattern=r"CC-\d{4}").exists()
    assert fields.filter(
        kind=FormField.Kind.NUMBER, min_value__isnull=False, max_value__isnull=False
    ).exists()
    assert fields.filter(
        kind=FormField.Kind.MULTI_CHOICE, min_value__isnull=False, max_value__isnull=False
    ).exists()


def test_every_seeded_row_passes_model_validation(seeded):
    for item in seeded_items():
        item.full_clean()
        for field in item.fields.all():
            field.full_clean()
        for step in item.approval_steps.all():
            step.full_clean()
        for rule in item.entitlements.all():
            rule.full_clean()


def test_field_conditions_point_at_a_field_of_the_same_item(seeded):
    conditional = FormField.objects.filter(
        item__in=seeded_items(), show_when_field__isnull=False
    ).select_related("show_when_field")

    assert conditional.exists()
    for field in conditional:
        assert field.show_when_field.item_id == field.item_id, field
        assert field.show_when_field.position < field.position, field
        assert field.show_when_value, field


def test_new_hire_onboarding_form(seeded):
    item = CatalogItem.objects.get(name="New hire onboarding")
    fields = {field.key: field for field in item.fields.all()}
    base = {
        "subject": "A new hire",
        "submission_key": "k",
        "field_first_name": "Jo",
        "field_last_name": "Bloggs",
        "field_start_date": "2030-01-07",
        "field_location": "Manchester",
    }

    assert fields["start_date"].kind == FormField.Kind.DATE
    assert fields["start_date"].required
    assert fields["laptop_needed"].kind == FormField.Kind.YES_NO
    assert fields["laptop_model"].show_when_field == fields["laptop_needed"]
    assert fields["laptop_model"].show_when_value == "yes"
    assert item.allow_on_behalf
    assert list(item.approval_steps.values_list("approver", flat=True)) == [
        ApprovalStep.Approver.REQUESTER_MANAGER
    ]
    without = RequestForm(data={**base, "field_laptop_needed": "no"}, item=item)
    assert without.is_valid(), without.errors
    assert "laptop_model" not in without.answers
    missing = RequestForm(data={**base, "field_laptop_needed": "yes"}, item=item)
    assert not missing.is_valid()
    assert "field_laptop_model" in missing.errors


def test_software_access_needs_the_manager_then_an_it_manager(seeded):
    item = CatalogItem.objects.get(name="Software access")
    steps = list(item.approval_steps.all())

    assert [step.approver for step in steps] == [
        ApprovalStep.Approver.REQUESTER_MANAGER,
        ApprovalStep.Approver.DEPARTMENT_ROLE,
    ]
    assert (steps[1].department.slug, steps[1].role) == ("it", DepartmentRole.Role.MANAGER)
    assert not CatalogItem.objects.get(name="Password reset").approval_steps.exists()


def test_parental_leave_is_confidential_and_approved_only_by_hr(seeded):
    item = CatalogItem.objects.get(name="Parental leave")

    assert item.is_confidential
    assert not item.allow_on_behalf
    assert [
        (step.approver, step.department.slug, step.role) for step in item.approval_steps.all()
    ] == [(ApprovalStep.Approver.DEPARTMENT_ROLE, "hr", DepartmentRole.Role.MANAGER)]


def test_confidential_items_are_approved_only_by_their_department(seeded):
    for item in seeded_items().filter(is_confidential=True):
        for step in item.approval_steps.all():
            assert step.approver == ApprovalStep.Approver.DEPARTMENT_ROLE, item
            assert step.department_id == item.department_id, item


def test_entitlement_rules_narrow_who_sees_items(seeded):
    def visible(username):
        return set(catalog_items_for(user=user(username)).values_list("name", flat=True))

    alex, sam, felix, erin = visible("alex"), visible("sam"), visible("felix"), visible("erin")

    assert "Team budget approval" not in alex
    assert "Team budget approval" in sam
    assert "Corporate credit card" not in alex
    assert {"Corporate credit card"} <= felix & erin
    assert "Parking permit (Manchester)" not in alex
    assert "Parking permit (Manchester)" in felix
    assert "Password reset" in alex


def test_demo_requests_give_my_requests_and_popular_content(seeded):
    alex = user("alex")
    mine = ServiceRequest.objects.filter(requester=alex)

    assert mine.count() >= 5
    # Alex's password reset is resolved by its plan, which runs on commit: a test's
    # transaction never commits, so test_history checks it on a committed seed.
    finished = [ServiceRequest.State.RESOLVED, ServiceRequest.State.CLOSED]
    assert ServiceRequest.objects.filter(state__in=finished).exists()
    assert ExperienceRating.objects.exists()
    assert mine.filter(comments__isnull=False).exists()
    assert ServiceRequest.objects.filter(approvals__state="approved").exists()
    assert ServiceRequest.objects.filter(
        raised_by__username="hana", requester__username="fred"
    ).exists()
    assert popular_items_for(user=alex).exists()
    assert Event.objects.filter(reference__startswith="REQ-").exists()


def test_a_confidential_demo_request_stays_confidential(seeded):
    case = ServiceRequest.objects.get(submission_key="demo-0007")

    assert case.is_confidential
    assert not ServiceRequest.objects.visible_to(user("sam")).filter(pk=case.pk).exists()
    assert ServiceRequest.objects.visible_to(user("hana")).filter(pk=case.pk).exists()
