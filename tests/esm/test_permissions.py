"""Who may do what: the rule set behind `can()`, asked by pages, the API and templates."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from esm.models import DepartmentRole
from esm.permissions import can
from tests.esm.factories import DepartmentRoleFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def anonymous():
    return AnonymousUser()


@pytest.fixture
def inactive_agent(it_department):
    """An IT agent whose account was switched off: their roles count for nothing."""
    user = UserFactory(username="inactive_agent", is_active=False)
    ProfileFactory(user=user, department=it_department)
    DepartmentRoleFactory(user=user, department=it_department, role=DepartmentRole.Role.AGENT)
    return user


@pytest.fixture
def inactive_manager(it_department):
    user = UserFactory(username="inactive_manager", is_active=False)
    DepartmentRoleFactory(user=user, department=it_department, role=DepartmentRole.Role.MANAGER)
    return user


@pytest.fixture
def inactive_executive(sales_department):
    user = UserFactory(username="inactive_executive", is_active=False)
    ProfileFactory(user=user, department=sales_department, is_executive=True)
    return user


@pytest.fixture
def staff_member(db):
    """Staff (Django admin access) without being a superuser."""
    return UserFactory(username="staff_member", is_staff=True)


@pytest.fixture
def inactive_staff(db):
    return UserFactory(username="inactive_staff", is_staff=True, is_superuser=True, is_active=False)


# Columns: use_portal, work_queues, browse_reports, use_admin. Reporting's rule sits here
# because the navigation asks it on every page: every active person reads some dashboards.
GLOBAL_RULES = ["esm.use_portal", "esm.work_queues", "reporting.browse_reports", "esm.use_admin"]
GLOBAL_MATRIX = {
    "employee": (True, False, True, False),
    "manager": (True, False, True, False),  # a line manager, no department role
    "it_agent": (True, True, True, False),
    "hr_agent": (True, True, True, False),
    "facilities_agent": (True, True, True, False),
    "department_manager": (True, True, True, False),
    "executive": (True, False, True, False),
    "outsider": (True, False, True, False),
    "superuser": (True, False, True, True),
    "staff_member": (True, False, True, True),
    "anonymous": (False, False, False, False),
    "inactive_agent": (False, False, False, False),
    "inactive_manager": (False, False, False, False),
    "inactive_executive": (False, False, False, False),
    "inactive_staff": (False, False, False, False),
}


@pytest.mark.parametrize(("persona", "expected"), GLOBAL_MATRIX.items(), ids=list(GLOBAL_MATRIX))
def test_global_rules_follow_each_persona_roles(request, persona, expected):
    user = request.getfixturevalue(persona)

    answers = tuple(can(user, permission) for permission in GLOBAL_RULES)

    assert dict(zip(GLOBAL_RULES, answers, strict=True)) == dict(
        zip(GLOBAL_RULES, expected, strict=True)
    )


# Per persona: the departments (by fixture) each object rule holds for.
DEPARTMENTS = ["it_department", "hr_department", "facilities_department", "sales_department"]
DEPARTMENT_MATRIX = {
    "it_agent": ({"it_department"}, set()),
    "hr_agent": ({"hr_department"}, set()),
    "facilities_agent": ({"facilities_department"}, set()),
    "department_manager": ({"it_department"}, {"it_department"}),
    "employee": (set(), set()),
    "manager": (set(), set()),
    "executive": (set(), set()),
    "outsider": (set(), set()),
    "superuser": (set(), set()),
    "anonymous": (set(), set()),
    "inactive_agent": (set(), set()),
    "inactive_manager": (set(), set()),
}


@pytest.mark.parametrize(
    ("persona", "expected"), DEPARTMENT_MATRIX.items(), ids=list(DEPARTMENT_MATRIX)
)
def test_department_rules_hold_only_for_the_persona_own_departments(request, persona, expected):
    user = request.getfixturevalue(persona)
    departments = {name: request.getfixturevalue(name) for name in DEPARTMENTS}

    works_in = {n for n, d in departments.items() if can(user, "esm.work_in_department", d)}
    manages = {n for n, d in departments.items() if can(user, "esm.manage_department", d)}

    assert (works_in, manages) == expected


def test_an_it_agent_is_not_staff_of_hr(it_agent, hr_department):
    assert can(it_agent, "esm.work_in_department", hr_department) is False
    assert can(it_agent, "esm.manage_department", hr_department) is False


def test_an_agent_of_two_departments_works_in_both_but_manages_neither(
    it_agent, it_department, hr_department
):
    DepartmentRoleFactory(user=it_agent, department=hr_department, role=DepartmentRole.Role.AGENT)
    user = User.objects.get(pk=it_agent.pk)

    assert can(user, "esm.work_in_department", it_department)
    assert can(user, "esm.work_in_department", hr_department)
    assert not can(user, "esm.manage_department", it_department)
    assert not can(user, "esm.manage_department", hr_department)


def test_department_rules_refuse_when_there_is_no_department(it_agent, department_manager):
    assert can(it_agent, "esm.work_in_department", None) is False
    assert can(department_manager, "esm.manage_department", None) is False


def test_a_superuser_without_an_hr_role_is_not_staff_of_hr(superuser, hr_department):
    # Django's has_perm lets an active superuser pass everything, which is exactly why the
    # portal asks can(): being a superuser must not make someone HR.
    assert superuser.has_perm("esm.work_in_department", hr_department) is True

    assert can(superuser, "esm.work_in_department", hr_department) is False
    assert can(superuser, "esm.manage_department", hr_department) is False


def test_a_superuser_given_an_hr_role_is_staff_of_hr(superuser, hr_department):
    DepartmentRoleFactory(user=superuser, department=hr_department, role=DepartmentRole.Role.AGENT)

    assert can(superuser, "esm.work_in_department", hr_department) is True


def test_the_role_lookup_runs_once_per_user_object(
    it_agent, it_department, hr_department, django_assert_num_queries
):
    user = User.objects.get(pk=it_agent.pk)

    with django_assert_num_queries(1):
        assert can(user, "esm.work_queues")
    with django_assert_num_queries(0):
        assert can(user, "esm.work_queues")
        assert can(user, "esm.work_in_department", it_department)
        assert not can(user, "esm.work_in_department", hr_department)
        assert not can(user, "esm.manage_department", it_department)


def test_a_fresh_user_object_sees_roles_granted_since(it_agent, hr_department):
    remembered = User.objects.get(pk=it_agent.pk)
    assert not can(remembered, "esm.work_in_department", hr_department)

    DepartmentRoleFactory(user=it_agent, department=hr_department, role=DepartmentRole.Role.AGENT)

    # The memo lives on the user object (one request), never across requests.
    assert not can(remembered, "esm.work_in_department", hr_department)
    assert can(User.objects.get(pk=it_agent.pk), "esm.work_in_department", hr_department)


def test_anonymous_checks_run_no_query(anonymous, it_department, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert not can(anonymous, "esm.work_queues")
        assert not can(anonymous, "reporting.browse_reports")
        assert not can(anonymous, "esm.work_in_department", it_department)
