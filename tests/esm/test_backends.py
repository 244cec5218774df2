"""The sign-in backends read the signed-in person with their profile, in one query, and
refuse an inactive person, as Django's do."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from esm.backends import PasswordBackend
from esm.oidc import LocalPasswordBackend, SignInBackend
from tests.esm.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [PasswordBackend, LocalPasswordBackend, SignInBackend])
def test_the_signed_in_person_comes_with_their_profile_in_one_query(
    backend, employee, django_assert_num_queries
):
    with django_assert_num_queries(1):
        person = backend().get_user(employee.pk)
        assert person.profile.department_id == employee.profile.department_id


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
