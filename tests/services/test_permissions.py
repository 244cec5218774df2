"""Who may request which item and see which request; the rule and its queryset twin agree."""

import pytest
from django.core.exceptions import ValidationError

from esm.models import DepartmentRole
from esm.permissions import can
from services.models import ApprovalStep, CatalogItem, Entitlement, ServiceRequest, catalog
from tests.esm.factories import LocationFactory
from tests.services.factories import (
    ApprovalFactory,
    CatalogItemFactory,
    EntitlementFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db


def _entitled(user, item):
    by_rule = can(user, "services.request_item", item)
    by_query = CatalogItem.objects.entitled_to(user).filter(pk=item.pk).exists()
    assert by_rule == by_query, "the rule and its queryset twin disagree"
    return by_rule


def _sees(user, service_request):
    by_rule = can(user, "services.view_service_request", service_request)
    by_query = ServiceRequest.objects.visible_to(user).filter(pk=service_request.pk).exists()
    assert by_rule == by_query, "the rule and its queryset twin disagree"
    return by_rule


def test_item_without_entitlement_rows_is_open_to_everyone(employee, outsider):
    item = CatalogItemFactory()

    assert _entitled(employee, item)
    assert _entitled(outsider, item)


def test_unpublished_and_retired_items_are_requestable_by_nobody(employee):
    hidden = CatalogItemFactory(is_published=False)
    retired = CatalogItemFactory(service__status="retired")

    assert not _entitled(employee, hidden)
    assert not _entitled(employee, retired)


def test_department_entitlement(employee, it_agent, it_department):
    item = CatalogItemFactory()
    EntitlementFactory(item=item, department=it_department)

    assert _entitled(it_agent, item)
    assert not _entitled(employee, item)


def test_location_and_department_rules_narrow_each_other(employee, sales_department):
    manchester = LocationFactory(slug="manchester", name="Manchester")
    item = CatalogItemFactory()
    EntitlementFactory(item=item, department=sales_department)
    EntitlementFactory(item=item, location=manchester)

    assert not _entitled(employee, item)
    employee.profile.location = manchester
    employee.profile.save()
    assert _entitled(employee, item)


def test_rows_of_one_kind_widen(employee, it_agent, it_department, sales_department):
    item = CatalogItemFactory()
    EntitlementFactory(item=item, department=it_department)
    EntitlementFactory(item=item, department=sales_department)

    assert _entitled(employee, item)
    assert _entitled(it_agent, item)


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        (Entitlement.Role.AGENT, "it_agent", "employee"),
        (Entitlement.Role.MANAGER, "department_manager", "it_agent"),
        (Entitlement.Role.PEOPLE_MANAGER, "manager", "employee"),
        (Entitlement.Role.EXECUTIVE, "executive", "department_manager"),
    ],
)
def test_role_entitlement(request, role, allowed, refused):
    request.getfixturevalue("employee")  # gives `manager` a direct report
    item = CatalogItemFactory()
    EntitlementFactory(item=item, role=role)

    assert _entitled(request.getfixturevalue(allowed), item)
    assert not _entitled(request.getfixturevalue(refused), item)


def test_a_persons_entitlement_query_is_built_once_and_again_when_they_move(
    employee, it_department, sales_department
):
    """The query is kept per person and what the rules match them on: the rules are read
    afresh each time, and a move to another department is another query at once."""
    item = CatalogItemFactory()
    EntitlementFactory(item=item, department=it_department)
    catalog._entitled_items_sql.cache_clear()

    assert not _entitled(employee, item)
    EntitlementFactory(item=item, department=sales_department)
    assert _entitled(employee, item)  # a rule added since counts, with the query kept
    assert catalog._entitled_items_sql.cache_info().misses == 1

    employee.profile.department = it_department
    employee.profile.save()
    Entitlement.objects.filter(department=sales_department).delete()
    assert _entitled(employee, item)
    assert catalog._entitled_items_sql.cache_info().misses == 2


def test_inactive_people_are_entitled_to_nothing(employee):
    item = CatalogItemFactory()
    employee.is_active = False
    employee.save()

    assert not _entitled(employee, item)


@pytest.fixture
def hr_case(employee, hr_department):
    item = CatalogItemFactory(department=hr_department, is_confidential=True)
    return ServiceRequestFactory(catalog_item=item, requester=employee)


def test_confidential_case_visible_to_requester_and_hr_staff(employee, hr_agent, hr_case):
    assert _sees(employee, hr_case)
    assert _sees(hr_agent, hr_case)


def test_confidential_case_hidden_from_everyone_else(
    hr_case, it_agent, manager, executive, outsider, superuser
):
    for viewer in (it_agent, manager, executive, outsider, superuser):
        assert not _sees(viewer, hr_case), viewer.username


def test_confidential_case_hidden_even_from_a_named_approver(hr_case, manager):
    ApprovalFactory(service_request=hr_case, approver=manager)

    assert not _sees(manager, hr_case)


def test_ordinary_request_visible_to_requester_raiser_staff_and_approvers(
    employee, manager, it_agent, it_department, hr_agent, outsider
):
    item = CatalogItemFactory(department=it_department, allow_on_behalf=True)
    service_request = ServiceRequestFactory(
        catalog_item=item, requester=employee, raised_by=manager
    )

    assert _sees(employee, service_request)
    assert _sees(manager, service_request)
    assert _sees(it_agent, service_request)
    assert not _sees(hr_agent, service_request)
    assert not _sees(outsider, service_request)


def test_a_named_approver_sees_the_request_with_or_without_department_roles(
    employee, outsider, hr_agent, it_department
):
    # The queryset reads approvals by name apart from those to a role (ids read first):
    # both people it decides for, one with roles and one without, must see what they
    # approve, and only that.
    item = CatalogItemFactory(department=it_department)
    approved = ServiceRequestFactory(catalog_item=item, requester=employee)
    other = ServiceRequestFactory(catalog_item=item, requester=employee)
    for approver in (outsider, hr_agent):
        ApprovalFactory(service_request=approved, approver=approver)

    for approver in (outsider, hr_agent):
        assert _sees(approver, approved), approver.username
        assert not _sees(approver, other), approver.username


def test_approvals_by_department_role_reach_everyone_holding_it(
    employee, department_manager, it_agent, hr_department, it_department
):
    service_request = ServiceRequestFactory(
        requester=employee, catalog_item=CatalogItemFactory(department=hr_department)
    )
    approval = ApprovalFactory(
        service_request=service_request,
        department=it_department,
        role=DepartmentRole.Role.MANAGER,
    )

    assert _sees(department_manager, service_request)
    assert can(department_manager, "services.decide_approval", approval)
    assert not can(it_agent, "services.decide_approval", approval)
    assert not can(employee, "services.decide_approval", approval)


def test_only_the_owner_may_act_as_owner(employee, it_agent, it_department):
    service_request = ServiceRequestFactory(
        requester=employee, catalog_item=CatalogItemFactory(department=it_department)
    )

    assert can(employee, "services.own_service_request", service_request)
    assert not can(it_agent, "services.own_service_request", service_request)
    assert can(it_agent, "services.comment_service_request", service_request)


def test_nobody_decides_an_approval_of_their_own_request(manager, employee, it_department):
    item = CatalogItemFactory(department=it_department, allow_on_behalf=True)
    for_the_manager = ServiceRequestFactory(catalog_item=item, requester=manager)
    raised_by_the_manager = ServiceRequestFactory(
        catalog_item=item, requester=employee, raised_by=manager
    )
    for service_request in (for_the_manager, raised_by_the_manager):
        approval = ApprovalFactory(service_request=service_request, approver=manager)
        assert not can(manager, "services.decide_approval", approval)


def test_an_item_with_outside_approvers_cannot_become_confidential(hr_department):
    item = CatalogItemFactory(department=hr_department)
    ApprovalStep.objects.create(item=item, approver=ApprovalStep.Approver.REQUESTER_MANAGER)
    item.is_confidential = True

    with pytest.raises(ValidationError, match="approved only within their department"):
        item.full_clean()
