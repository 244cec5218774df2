"""The one place that answers "may this person see or do this to that object".

Pages, the API, templates (`{% load rules %}{% test_rule ... %}`) and exports all ask
`can()`. It deliberately goes to the rule set itself rather than `user.has_perm()`:
Django lets an active superuser pass every `has_perm` check, and being a superuser must
not make someone HR.
"""

from collections.abc import Iterable
from typing import Any

import rules
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, QuerySet

from esm.models import Department, DepartmentRole

User = AbstractBaseUser | AnonymousUser

_ROLES_CACHE = "_esm_department_roles"
_DEPARTMENTS_CACHE = "_esm_role_departments"


def department_roles(user: User) -> frozenset[tuple[int, str]]:
    """(department id, role) pairs the user holds; loaded once per user object (with the
    person, when they were read with `person_with_department_roles`)."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _ROLES_CACHE, None)
    if cached is None:
        # The departments come in the same read: pages that list the user's departments
        # (a department report's choices) then need no query of their own.
        roles = DepartmentRole.objects.filter(user=user).select_related("department")
        cached = _remember_roles(user, ((role.role, role.department) for role in roles))
    return cached


def _remember_roles(
    user: AbstractBaseUser, roles: Iterable[tuple[str, Department]]
) -> frozenset[tuple[int, str]]:
    departments: dict[int, Department] = {}
    pairs = set()
    for role, department in roles:
        departments[department.pk] = department
        pairs.add((department.pk, role))
    cached = frozenset(pairs)
    setattr(user, _ROLES_CACHE, cached)
    setattr(user, _DEPARTMENTS_CACHE, departments)
    return cached


_ROLE = "_esm_role"
_ROLE_DEPARTMENT = "_esm_role_department_"


def person_with_department_roles(people: QuerySet[Any]) -> AbstractBaseUser | None:
    """The one person of `people` (filtered to one), with their department roles and the
    roles' departments read in the same query, so that no page asks for them again: the
    roles joined on, one row per role (one with no role for a person who holds none), the
    person taken from the first. Every page reads the signed-in person and nearly every
    page their roles (the navigation does)."""
    fields = [field.attname for field in Department._meta.concrete_fields]
    rows = list(
        people.annotate(
            **{_ROLE: F("department_roles__role")},
            **{
                _ROLE_DEPARTMENT + name: F(f"department_roles__department__{name}")
                for name in fields
            },
        )
    )
    if not rows:
        return None
    person = rows[0]
    _remember_roles(
        person,
        (
            (
                getattr(row, _ROLE),
                Department.from_db(
                    people.db, fields, [getattr(row, _ROLE_DEPARTMENT + name) for name in fields]
                ),
            )
            for row in rows
            if getattr(row, _ROLE) is not None
        ),
    )
    return person


def department_ids_with_role(user: User, *roles: str) -> frozenset[int]:
    return frozenset(dept for dept, role in department_roles(user) if role in roles)


def staff_department_ids(user: User) -> frozenset[int]:
    """The departments the user is staff of (agent or manager): whose work they may see."""
    return department_ids_with_role(user, DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER)


def staff_departments(user: User) -> list[Department]:
    """`staff_department_ids` as departments, by name: read with `department_roles`, so
    no query of its own."""
    ids = staff_department_ids(user)
    departments = getattr(user, _DEPARTMENTS_CACHE, {})
    return sorted((departments[pk] for pk in ids), key=lambda d: (d.name, d.pk))


@rules.predicate
def is_active_person(user: User) -> bool:
    return user.is_authenticated and user.is_active


@rules.predicate
def is_agent(user: User) -> bool:
    return bool(department_ids_with_role(user, DepartmentRole.Role.AGENT))


@rules.predicate
def is_department_manager(user: User) -> bool:
    return bool(department_ids_with_role(user, DepartmentRole.Role.MANAGER))


@rules.predicate
def is_executive(user: User) -> bool:
    if not user.is_authenticated:
        return False
    profile = getattr(user, "profile", None)
    return bool(profile and profile.is_executive)


@rules.predicate
def is_admin(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


@rules.predicate
def is_staff_of_department(user: User, department: Department | None) -> bool:
    """Agent or manager of this department: who may see its confidential cases."""
    if department is None:
        return False
    return department.pk in staff_department_ids(user)


@rules.predicate
def is_manager_of_department(user: User, department: Department | None) -> bool:
    if department is None:
        return False
    return department.pk in department_ids_with_role(user, DepartmentRole.Role.MANAGER)


rules.add_rule("esm.use_portal", is_active_person)
rules.add_rule("esm.work_queues", is_active_person & (is_agent | is_department_manager))
rules.add_rule("esm.use_admin", is_admin)
# Who changed what, from the event log: for the portal's administrators.
rules.add_rule("esm.view_audit", is_active_person & is_admin)
rules.add_rule("esm.work_in_department", is_active_person & is_staff_of_department)
rules.add_rule("esm.manage_department", is_active_person & is_manager_of_department)
rules.add_rule("esm.manage_any_department", is_active_person & is_department_manager)


def can(user: User, permission: str, obj: Any = None) -> bool:
    """Whether `user` holds `permission` (on `obj`, for object permissions)."""
    return rules.test_rule(permission, user, obj)


def owned_work_rules(*, app: str, model: Any, things: str, thing: str) -> None:
    """Register the rules of something owned by a person and read across the enterprise (a
    value stream, a journey map): `<app>.browse_<things>` (the navigation's question, from
    roles already loaded: no query), `view_<things>` (also its owners, whatever their
    roles), `add_<thing>` (admins and department managers), `change_<thing>` (its owner
    and admins) and `view_<thing>` (readers, but a draft only for who may change it).
    `model` has an `owner` and a `status` with a `DRAFT` choice."""

    @rules.predicate
    def owns_one(user: User) -> bool:
        return user.is_authenticated and model.objects.filter(owner=user).exists()

    @rules.predicate
    def is_owner(user: User, obj: Any) -> bool:
        return obj is not None and user.is_authenticated and obj.owner_id == user.pk

    @rules.predicate
    def is_draft(user: User, obj: Any) -> bool:
        return obj is not None and obj.status == model.Status.DRAFT

    browses = is_active_person & (is_agent | is_department_manager | is_executive | is_admin)
    reads = browses | (is_active_person & owns_one)
    shapes = is_active_person & (is_owner | is_admin)
    rules.add_rule(f"{app}.browse_{things}", browses)
    rules.add_rule(f"{app}.view_{things}", reads)
    rules.add_rule(f"{app}.add_{thing}", is_active_person & (is_admin | is_department_manager))
    rules.add_rule(f"{app}.change_{thing}", shapes)
    rules.add_rule(f"{app}.view_{thing}", (reads & ~is_draft) | shapes)
