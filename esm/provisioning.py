"""The directory keeps the portal's people: provisioning clients, people, groups and roles.

An identity provider (through SCIM, `esm.scim`) creates, changes and deactivates people and
puts them in groups; a group may stand for a department role. Two rules live here so that
every way in (SCIM, and single sign-on's group claims) applies the same ones:

- a mapping never grants a role in a confidential department unless it says so explicitly
  (`role_mapping_allowed`): which departments are confidential is the business of the app
  that owns the cases, so it tells us (`confidential_departments_register`);
- deactivating a person is offboarding: the app that raises requests registers a handler
  (`offboarding_handler_register`) that runs after the deactivation commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from esm import clock
from esm.events import event_record
from esm.models import (
    Department,
    DepartmentRole,
    DirectoryGroup,
    Event,
    EventKind,
    Profile,
    ProvisioningClient,
)

User = get_user_model()

# --- Which departments are confidential -------------------------------------------------------

_CONFIDENTIAL_SOURCES: list[Callable[[], Iterable[int]]] = []


def confidential_departments_register(source: Callable[[], Iterable[int]]) -> None:
    """`source()` answers the ids of departments that handle confidential cases."""
    _CONFIDENTIAL_SOURCES.append(source)


def confidential_department_ids() -> set[int]:
    return {pk for source in _CONFIDENTIAL_SOURCES for pk in source()}


def role_mapping_allowed(
    *, department: Department, explicitly_allowed: bool, confidential: set[int] | None = None
) -> bool:
    """Whether a mapping (a directory group, a sign-in group claim) may grant a role in
    `department`. A confidential department (HR) needs an explicit allowance, so that a
    broad group never makes someone HR by accident. With nobody registered to say which
    departments are confidential, every one counts as confidential: the rule fails closed.
    `confidential` is `confidential_department_ids()`, passed in when asking in a loop.
    """
    if explicitly_allowed:
        return True
    if not _CONFIDENTIAL_SOURCES:
        return False
    ids = confidential if confidential is not None else confidential_department_ids()
    return department.pk not in ids


def role_event_flags(
    *,
    department_id: int,
    person_id: int,
    actor: AbstractBaseUser | None,
    granted: bool,
    confidential: set[int] | None = None,
) -> dict[str, bool]:
    """What a role event's payload flags, whichever way the role came (the admin, the
    directory, a sign-in's groups): `confidential_access` when the department handles
    confidential cases (being a superuser does not make someone HR: this role does), and
    `self_granted` when the actor gave the role to themselves. The audit page sets both
    apart, so that every way into confidential cases stands out.
    `confidential` is `confidential_department_ids()`, passed in when asking in a loop."""
    ids = confidential if confidential is not None else confidential_department_ids()
    flags = {}
    if department_id in ids:
        flags["confidential_access"] = True
    if granted and actor is not None and actor.pk == person_id:
        flags["self_granted"] = True
    return flags


# --- Offboarding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaver:
    """A person the directory deactivated, for the offboarding handlers.

    `deactivation` is the id of the `person_deactivated` event: one deactivation, one key,
    so a handler run twice raises nothing twice.
    """

    person_id: int
    raised_by_id: int
    deactivation: int


_OFFBOARDING_HANDLERS: list[Callable[[Leaver], None]] = []


def offboarding_handler_register(handler: Callable[[Leaver], None]) -> None:
    """`handler(leaver)` runs after a deactivation commits; it must be idempotent."""
    _OFFBOARDING_HANDLERS.append(handler)


# --- Provisioning clients ---------------------------------------------------------------------


def token_hash(token: str) -> str:
    # A token is 256 random bits, so a plain SHA-256 cannot be brute-forced; a slow password
    # hash would only slow every SCIM call down.
    return hashlib.sha256(token.encode()).hexdigest()


def provisioning_client_new(*, name: str) -> tuple[ProvisioningClient, str]:
    """An unsaved client with its account saved, and its token (shown once, never stored)."""
    account = User.objects.create_user(
        username=f"provisioning-{slugify(name)}"[:150],
        first_name=name[:150],
        is_active=False,
    )
    token = secrets.token_urlsafe(32)
    return ProvisioningClient(name=name, account=account, token_hash=token_hash(token)), token


@transaction.atomic
def provisioning_client_token_rotate(*, client: ProvisioningClient, by: AbstractBaseUser) -> str:
    """Give `client` a new token, as `by`; the old one stops working at once. Returns the
    new one. The log records that the token changed and who changed it, never a value
    (nor its hash): the shape of a configuration change with a secret field."""
    token = secrets.token_urlsafe(32)
    ProvisioningClient.objects.filter(pk=client.pk).update(token_hash=token_hash(token))
    client.token_hash = token_hash(token)
    event_record(
        subject=client,
        kind=EventKind.CONFIG_CHANGED,
        actor=by,
        payload={
            "via": "token_rotate",
            "name": client.name,
            "fields": ["token_hash"],
            "changes": {},
        },
    )
    return token


def provisioning_client_authenticate(token: str) -> ProvisioningClient | None:
    """The active client with this token, its last use noted; None for any other token."""
    if not token:
        return None
    client = (
        ProvisioningClient.objects.select_related("account")
        .filter(token_hash=token_hash(token), is_active=True)
        .first()
    )
    if client is not None:
        client.last_used_at = clock.now()
        ProvisioningClient.objects.filter(pk=client.pk).update(last_used_at=client.last_used_at)
    return client


# --- People -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonValues:
    """What the directory says about a person. `department_name` is the name it sent, kept
    when no department of the portal matches it (the person then has none)."""

    username: str
    external_id: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    is_active: bool = True
    job_title: str = ""
    department: Department | None = None
    department_name: str = ""
    manager: AbstractBaseUser | None = None


def department_for_directory(name: str) -> Department | None:
    """The department a directory's department name means: by name or slug, any case."""
    if not name:
        return None
    return Department.objects.filter(Q(name__iexact=name) | Q(slug__iexact=name)).first()


_USER_FIELDS = ("username", "first_name", "last_name", "email")
_PROFILE_FIELDS = ("external_id", "job_title", "department", "manager")


class UsernameTaken(Exception):
    """Another person has this username, in any case (directories compare without case)."""


def _username_check(username: str, *, person_id: int | None = None) -> None:
    if User.objects.filter(username__iexact=username).exclude(pk=person_id).exists():
        raise UsernameTaken(username)


def _person_event(
    person: AbstractBaseUser,
    kind: EventKind,
    client: ProvisioningClient,
    *,
    payload: dict[str, object] | None = None,
    from_value: str = "",
    to_value: str = "",
) -> Event:
    profile = getattr(person, "profile", None)
    return event_record(
        subject=person,
        kind=kind,
        actor=client.account,
        department=profile.department if profile else None,
        from_value=from_value,
        to_value=to_value,
        payload={"client": client.name, **(payload or {})},
    )


@transaction.atomic
def person_provision(*, values: PersonValues, client: ProvisioningClient) -> AbstractBaseUser:
    """Create a person as the directory describes them. They sign in through single sign-on,
    so their account has no usable password. Raises UsernameTaken."""
    _username_check(values.username)
    person = User.objects.create_user(
        username=values.username,
        first_name=values.first_name,
        last_name=values.last_name,
        email=values.email,
        is_active=values.is_active,
    )
    Profile.objects.create(
        user=person,
        external_id=values.external_id,
        job_title=values.job_title,
        department=values.department,
        manager=values.manager,
    )
    payload: dict[str, object] = {"active": values.is_active}
    if values.department is None and values.department_name:
        payload["unmatched_department"] = values.department_name
    _person_event(person, EventKind.PERSON_CREATED, client, payload=payload)
    return person


@transaction.atomic
def person_directory_update(
    *, person: AbstractBaseUser, values: PersonValues, client: ProvisioningClient, via: str = ""
) -> AbstractBaseUser:
    """Bring a person in step with the directory. Writes `person_updated` naming the fields
    that changed (nothing when none did); a change of `is_active` is a deactivation (which
    starts offboarding) or a reactivation. Raises UsernameTaken."""
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.username != values.username:
        _username_check(values.username, person_id=person.pk)
    profile, _ = Profile.objects.get_or_create(user=person)
    changed = [name for name in _USER_FIELDS if getattr(person, name) != getattr(values, name)]
    for name in changed:
        setattr(person, name, getattr(values, name))
    profile_changed = [
        name for name in _PROFILE_FIELDS if getattr(profile, name) != getattr(values, name)
    ]
    for name in profile_changed:
        setattr(profile, name, getattr(values, name))
    if changed:
        person.save(update_fields=changed)
    if profile_changed:
        profile.save(update_fields=profile_changed)
    if changed or profile_changed:
        payload: dict[str, object] = {"fields": changed + profile_changed}
        if values.department is None and values.department_name:
            payload["unmatched_department"] = values.department_name
        _person_event(person, EventKind.PERSON_UPDATED, client, payload=payload)
    if person.is_active and not values.is_active:
        _deactivate_locked(person, client=client, via=via or "active")
    elif not person.is_active and values.is_active:
        person.is_active = True
        person.save(update_fields=["is_active"])
        _person_event(
            person,
            EventKind.PERSON_REACTIVATED,
            client,
            from_value="inactive",
            to_value="active",
        )
    return person


@transaction.atomic
def person_deactivate(
    *, person: AbstractBaseUser, client: ProvisioningClient, via: str
) -> AbstractBaseUser:
    """Deactivate a person: they can no longer sign in, and their offboarding starts after
    commit. A person already inactive is left alone, so a repeated deactivation (the
    provider retries, or sends PATCH then DELETE) raises nothing new."""
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.is_active:
        _deactivate_locked(person, client=client, via=via)
    return person


def _deactivate_locked(person: AbstractBaseUser, *, client: ProvisioningClient, via: str) -> None:
    person.is_active = False
    person.save(update_fields=["is_active"])
    deactivation = _person_event(
        person,
        EventKind.PERSON_DEACTIVATED,
        client,
        from_value="active",
        to_value="inactive",
        payload={"via": via},
    )
    leaver = Leaver(
        person_id=person.pk, raised_by_id=client.account_id, deactivation=deactivation.pk
    )
    for handler in _OFFBOARDING_HANDLERS:
        # Robust: the deactivation stands whatever a handler does, and the provider must
        # get its answer; Django logs a failing handler.
        transaction.on_commit(lambda handler=handler: handler(leaver), robust=True)


# --- Groups and the roles they grant ----------------------------------------------------------

_MAPPED_NAME = re.compile(r"^(?P<department>[-\w]+):(?P<role>agent|manager)$")


def directory_group_mapping_guess(display_name: str) -> tuple[Department | None, str]:
    """The department role a group named `<department slug>:<role>` stands for."""
    found = _MAPPED_NAME.match(display_name.strip().lower())
    if found is None:
        return None, ""
    department = Department.objects.filter(slug=found["department"]).first()
    return (department, found["role"]) if department else (None, "")


def _granted_roles(user_ids: Iterable[int]) -> dict[int, set[tuple[int, str]]]:
    """Per person, the (department id, role) pairs their mapped groups grant them."""
    confidential = confidential_department_ids()
    granted: dict[int, set[tuple[int, str]]] = {pk: set() for pk in user_ids}
    memberships = DirectoryGroup.members.through.objects.filter(
        user_id__in=granted, directorygroup__department__isnull=False
    ).select_related("directorygroup__department")
    for membership in memberships:
        group = membership.directorygroup
        if group.department is not None and role_mapping_allowed(
            department=group.department,
            explicitly_allowed=group.allows_confidential,
            confidential=confidential,
        ):
            granted[membership.user_id].add((group.department_id, group.role))
    return granted


def _roles_follow(
    before: dict[int, set[tuple[int, str]]],
    *,
    group: DirectoryGroup,
    client: ProvisioningClient | None = None,
    actor: AbstractBaseUser | None = None,
) -> None:
    """Grant the roles the groups grant now and did not before; revoke those they granted
    before and no longer do. A role someone held before a group granted it was given by
    hand, and stays."""
    after = _granted_roles(before)
    departments = {d.pk: d for d in Department.objects.all()}
    confidential = confidential_department_ids()
    payload: dict[str, object] = {"group": group.display_name}
    if client is not None:
        payload["client"], actor = client.name, client.account
    for user_id in sorted(before):
        person = User(pk=user_id)
        for department_id, role in sorted(after[user_id] - before[user_id]):
            _, created = DepartmentRole.objects.get_or_create(
                user_id=user_id,
                department_id=department_id,
                role=role,
                defaults={"source": DepartmentRole.Source.DIRECTORY},
            )
            if created:
                event_record(
                    subject=person,
                    kind=EventKind.ROLE_GRANTED,
                    actor=actor,
                    department=departments[department_id],
                    to_value=role,
                    payload=payload
                    | role_event_flags(
                        department_id=department_id,
                        person_id=user_id,
                        actor=actor,
                        granted=True,
                        confidential=confidential,
                    ),
                )
        for department_id, role in sorted(before[user_id] - after[user_id]):
            deleted, _ = DepartmentRole.objects.filter(
                user_id=user_id,
                department_id=department_id,
                role=role,
                source=DepartmentRole.Source.DIRECTORY,
            ).delete()
            if deleted:
                event_record(
                    subject=person,
                    kind=EventKind.ROLE_REVOKED,
                    actor=actor,
                    department=departments[department_id],
                    from_value=role,
                    payload=payload
                    | role_event_flags(
                        department_id=department_id,
                        person_id=user_id,
                        actor=actor,
                        granted=False,
                        confidential=confidential,
                    ),
                )


@transaction.atomic
def directory_group_create(
    *,
    display_name: str,
    external_id: str,
    member_ids: set[int],
    client: ProvisioningClient,
) -> DirectoryGroup:
    """Create a group (mapped by its name when it reads `<department slug>:<role>`) with its
    members, granting them its role. Raises `django.db.IntegrityError` when the name is
    taken."""
    department, role = directory_group_mapping_guess(display_name)
    with transaction.atomic():
        group = DirectoryGroup.objects.create(
            display_name=display_name, external_id=external_id, department=department, role=role
        )
    before = _granted_roles(member_ids)
    group.members.set(member_ids)
    _roles_follow(before, client=client, group=group)
    return group


@transaction.atomic
def directory_group_update(
    *,
    group: DirectoryGroup,
    display_name: str,
    external_id: str,
    member_ids: set[int],
    client: ProvisioningClient,
) -> DirectoryGroup:
    """Rename a group and set its members; the roles it grants follow the members. Its
    mapping stays as it is (a rename in the directory does not remap it)."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
    current = set(group.members.values_list("pk", flat=True))
    if (group.display_name, group.external_id) != (display_name, external_id):
        group.display_name, group.external_id = display_name, external_id
        with transaction.atomic():
            group.save(update_fields=["display_name", "external_id"])
    if current != member_ids:
        before = _granted_roles(current | member_ids)
        group.members.set(member_ids)
        _roles_follow(before, client=client, group=group)
    return group


@transaction.atomic
def directory_group_delete(*, group: DirectoryGroup, client: ProvisioningClient) -> None:
    """Remove a group; the roles only it granted are revoked."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
    before = _granted_roles(group.members.values_list("pk", flat=True))
    group.delete()
    _roles_follow(before, client=client, group=group)


@transaction.atomic
def directory_group_remap(
    *,
    group: DirectoryGroup,
    department: Department | None,
    role: str,
    allows_confidential: bool,
    actor: AbstractBaseUser,
) -> DirectoryGroup:
    """Change the department role a group stands for (an admin's decision); its members'
    roles follow at once."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
    before = _granted_roles(group.members.values_list("pk", flat=True))
    group.department, group.role = department, role
    group.allows_confidential = allows_confidential
    group.save(update_fields=["department", "role", "allows_confidential"])
    _roles_follow(before, group=group, actor=actor)
    return group
