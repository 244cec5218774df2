"""The sign-in backends read the signed-in person with their profile and department roles,
in one query, and refuse an inactive person, as Django's do."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from esm.backends import PasswordBackend
from esm.models import DepartmentRole
from esm.oidc import LocalPasswordBackend, SignInBackend
from esm.permissions import department_roles, staff_department_ids, staff_departments
from tests.esm.factories import (
    BusinessCalendarFactory,
    DepartmentFactory,
    DepartmentRoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [PasswordBackend, LocalPasswordBackend, SignInBackend])
def test_the_signed_in_person_comes_with_their_profile_in_one_query(
    backend, employee, django_assert_num_queries
):
    with django_assert_num_queries(1):
        person = backend().get_user(employee.pk)
        assert person.profile.department_id == employee.profile.department_id


@pytest.mark.parametrize("backend", [PasswordBackend, LocalPasswordBackend, SignInBackend])
def test_the_signed_in_persons_roles_and_their_departments_come_in_the_same_query(
    backend, django_assert_num_queries
):
    person = UserFactory(username="two-departments")
    calendar = BusinessCalendarFactory(name="Site hours")
    it = DepartmentFactory(name="IT", slug="it", description="Laptops", calendar=calendar)
    hr = DepartmentFactory(name="HR", slug="hr", head=person)
    DepartmentRoleFactory(user=person, department=it, role=DepartmentRole.Role.AGENT)
    DepartmentRoleFactory(user=person, department=it, role=DepartmentRole.Role.MANAGER)
    DepartmentRoleFactory(user=person, department=hr, role=DepartmentRole.Role.AGENT)
    DepartmentRoleFactory(role=DepartmentRole.Role.MANAGER, department=hr)  # someone else's

    with django_assert_num_queries(1):
        read = backend().get_user(person.pk)
        assert read == person
        assert department_roles(read) == {
            (it.pk, "agent"),
            (it.pk, "manager"),
            (hr.pk, "agent"),
        }
        assert staff_department_ids(read) == {it.pk, hr.pk}
        departments = staff_departments(read)
    # Whole departments, every field read: nothing deferred to ask for later.
    assert departments == [hr, it]
    with django_assert_num_queries(0):
        assert [(d.name, d.slug, d.description, d.head_id, d.calendar_id) for d in departments] == [
            ("HR", "hr", "", person.pk, None),
            ("IT", "it", "Laptops", None, calendar.pk),
        ]


def test_a_person_with_no_role_is_read_with_none_and_not_asked_again(
    employee, django_assert_num_queries
):
    with django_assert_num_queries(1):
        read = PasswordBackend().get_user(employee.pk)
        assert department_roles(read) == frozenset()
        assert staff_departments(read) == []


def test_a_person_without_a_profile_is_read_all_the_same(django_assert_num_queries):
    person = UserFactory(username="no-profile")
    assert not hasattr(get_user_model().objects.get(pk=person.pk), "profile")

    with django_assert_num_queries(1):
        assert PasswordBackend().get_user(person.pk) == person


def test_an_inactive_or_unknown_person_is_not_signed_in(employee):
    get_user_model().objects.filter(pk=employee.pk).update(is_active=False)

    assert PasswordBackend().get_user(employee.pk) is None
    assert SignInBackend().get_user(employee.pk) is None
    assert PasswordBackend().get_user(10**9) is None


def test_pages_read_the_profile_with_the_person(client, employee, django_assert_max_num_queries):
    # The portal's home asks whether the person is an executive: no query of its own now.
    client.force_login(employee)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("home")).status_code == 200
