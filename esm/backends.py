"""The password backend the portal signs people in with when single sign-on is off, and
what every backend of ours shares: the signed-in person read with their profile and roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser

from esm.permissions import person_with_department_roles


class ProfileReadWithPerson:
    """`get_user`, which reads the signed-in person from the session on every request,
    reads their profile and their department roles in the same query. The pages ask for
    both (whether the person is an executive, their department, their manager; what they
    may see and do): without it, a query of its own for each on most pages. Refuses an
    inactive person, as Django's `ModelBackend` does."""

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        user = person_with_department_roles(
            get_user_model()._default_manager.select_related("profile").filter(pk=user_id)
        )
        if user is None or not self.user_can_authenticate(user):  # type: ignore[attr-defined]
            return None
        return user


class PasswordBackend(ProfileReadWithPerson, ModelBackend):
    """Django's username and password backend."""
