"""SCIM resources to and from the portal's people and groups.

A write reads the resource (POST, PUT) or applies the operations (PATCH) onto a plain
state, checks it whole, and only then hands it to one action of `esm.provisioning`: a bad
operation anywhere in a PATCH changes nothing.

Providers send more of the SCIM schemas than the portal keeps (phone numbers, addresses,
employee numbers): attributes of the core User schema and of the enterprise extension are
accepted and not kept; an attribute of no schema is refused (invalidValue, or invalidPath
in a PATCH).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from esm.models import DirectoryGroup
from esm.provisioning import PersonValues, department_for_directory
from esm.scim.errors import ScimError, invalid_path, invalid_syntax, invalid_value

User = get_user_model()

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

_ENTERPRISE = ENTERPRISE_SCHEMA.lower()
_READ_ONLY = {"schemas", "id", "meta", "groups"}
# Attributes of the User schemas the portal does not keep: accepted, not stored.
_USER_NOT_KEPT = {
    "displayname",
    "nickname",
    "profileurl",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "password",
    "phonenumbers",
    "addresses",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509certificates",
}
_ENTERPRISE_NOT_KEPT = {"employeenumber", "costcenter", "organization", "division"}
_NAME_KEPT = {"givenname": "first_name", "familyname": "last_name"}
_NAME_NOT_KEPT = {"formatted", "middlename", "honorificprefix", "honorificsuffix"}
_EMAIL_FILTER = re.compile(r'^emails\[\s*type\s+eq\s+"(?P<type>[^"]*)"\s*\](?P<sub>\.value)?$')
_MEMBER_FILTER = re.compile(r'^members\[\s*value\s+eq\s+"(?P<value>[^"]*)"\s*\]$')
_OPERATIONS = {"add", "replace", "remove"}


def id_of(text: str) -> int | None:
    """The portal id a SCIM id names, or None when it cannot name one (not a number, or too
    long for a database key)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else None


# --- Users ------------------------------------------------------------------------------------


@dataclass
class _Person:
    """A person as plain values while operations are applied; checked by `_values`."""

    username: str = ""
    external_id: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    is_active: bool = True
    job_title: str = ""
    department: str = ""
    manager: str = ""


def _person_of(user: AbstractBaseUser) -> _Person:
    profile = getattr(user, "profile", None)
    return _Person(
        username=user.username,
        external_id=profile.external_id if profile else "",
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        is_active=user.is_active,
        job_title=profile.job_title if profile else "",
        department=profile.department.name if profile and profile.department else "",
        manager=str(profile.manager_id) if profile and profile.manager_id else "",
    )


def _text(value: Any, name: str, *, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be a string.")
    value = value.strip()
    if len(value) > max_length:
        raise invalid_value(f"{name} is longer than {max_length} characters.")
    return value


def _boolean(value: Any, name: str) -> bool:
    # Entra ID sends booleans as the strings "True" and "False" in PATCH operations.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(f"{name} must be true or false.")


def _reference(value: Any, name: str) -> str:
    """An id given as "12" or {"value": "12"} (providers send either)."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be the id of a user.")
    return value.strip()


def _email_of(emails: Any) -> str:
    """The address the portal keeps from a list of emails: the primary one, else the work
    one, else the first."""
    if emails is None:
        return ""
    if isinstance(emails, dict):
        emails = [emails]
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise invalid_value("emails must be a list of objects with a value.")
    if not emails:
        return ""
    chosen = (
        next((e for e in emails if e.get("primary") is True), None)
        or next((e for e in emails if str(e.get("type", "")).lower() == "work"), None)
        or emails[0]
    )
    return _text(chosen.get("value"), "emails.value", max_length=254)


def _strip_core_prefix(path: str) -> str:
    core = USER_SCHEMA.lower() + ":"
    return path[len(core) :] if path.startswith(core) else path


def _user_set(person: _Person, path: str, value: Any, *, remove: bool = False) -> None:
    """Set (or with `remove`, clear) the attribute at a SCIM path, lower-cased."""
    path = _strip_core_prefix(path)
    if remove:
        value = None
    if path in ("schemas", "id", "meta", "groups"):
        if remove or path != "schemas":
            raise ScimError(f"{path} cannot be changed.", scim_type="mutability")
        return
    if path == "username":
        if remove:
            raise invalid_value("userName is required and cannot be removed.")
        person.username = _text(value, "userName", max_length=150)
    elif path == "externalid":
        person.external_id = _text(value, "externalId", max_length=255)
    elif path == "active":
        if remove:
            raise invalid_value("active cannot be removed; set it to false.")
        person.is_active = _boolean(value, "active")
    elif path == "title":
        person.job_title = _text(value, "title", max_length=150)
    elif path == "name":
        if value is not None and not isinstance(value, dict):
            raise invalid_value("name must be an object.")
        for key, part in (value or {"givenName": None, "familyName": None}).items():
            _user_set(person, f"name.{key.lower()}", part)
    elif path.startswith("name."):
        sub = path.removeprefix("name.")
        if sub in _NAME_KEPT:
            setattr(person, _NAME_KEPT[sub], _text(value, f"name.{sub}", max_length=150))
        elif sub not in _NAME_NOT_KEPT:
            raise invalid_path(f"name has no attribute {sub}.")
    elif path == "emails":
        person.email = _email_of(value)
    elif found := _EMAIL_FILTER.match(path):
        # The portal keeps one address, the work one; other types are not kept.
        if found["type"].lower() == "work":
            address = value.get("value") if isinstance(value, dict) else value
            person.email = _text(address, "emails.value", max_length=254)
    elif path == _ENTERPRISE:
        if value is not None and not isinstance(value, dict):
            raise invalid_value(f"{ENTERPRISE_SCHEMA} must be an object.")
        for key, part in (value or {"department": None, "manager": None}).items():
            _user_set(person, f"{_ENTERPRISE}:{key.lower()}", part)
    elif path.startswith(_ENTERPRISE + ":"):
        sub = path.removeprefix(_ENTERPRISE + ":")
        if sub == "department":
            person.department = _text(value, "department", max_length=100)
        elif sub in ("manager", "manager.value"):
            person.manager = _reference(value, "manager")
        elif sub.split(".")[0] not in _ENTERPRISE_NOT_KEPT:
            raise invalid_path(f"The enterprise extension has no attribute {sub}.")
    elif path.split("[")[0].split(".")[0] not in _USER_NOT_KEPT:
        raise invalid_path(f"Users have no attribute {path}.")


def _user_read(person: _Person, body: dict[str, Any]) -> None:
    for key, value in body.items():
        try:
            _user_set(person, key.lower(), value)
        except ScimError as error:
            if error.scim_type in ("invalidPath", "mutability"):
                if key.lower() in _READ_ONLY:
                    continue  # a resource read back and sent again carries its id and meta
                raise invalid_value(f"Unknown attribute {key}.") from error
            raise


def _values(person: _Person, *, user: AbstractBaseUser | None) -> PersonValues:
    if not person.username:
        raise invalid_value("userName is required.")
    try:
        UnicodeUsernameValidator()(person.username)
    except ValidationError as error:
        raise invalid_value(f"userName: {error.messages[0]}") from error
    if person.email:
        try:
            validate_email(person.email)
        except ValidationError as error:
            raise invalid_value(f"{person.email!r} is not an e-mail address.") from error
    manager = None
    if person.manager:
        manager_id = id_of(person.manager)
        manager = User.objects.filter(pk=manager_id).first() if manager_id else None
        if manager is None:
            raise invalid_value(f"No user has the id {person.manager!r} (manager).")
        if user is not None and manager.pk == user.pk:
            raise invalid_value("Nobody manages themselves.")
    return PersonValues(
        username=person.username,
        external_id=person.external_id,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        is_active=person.is_active,
        job_title=person.job_title,
        department=department_for_directory(person.department),
        department_name=person.department,
        manager=manager,
    )


def _schemas_check(body: Any, schema: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_syntax("The body must be a JSON object.")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or schema not in schemas:
        raise invalid_syntax(f"The body's schemas must include {schema}.")
    return body


def user_values_read(body: Any, *, user: AbstractBaseUser | None = None) -> PersonValues:
    """The values of a User resource (POST, or PUT of `user`): what it leaves out is empty."""
    person = _Person()
    _user_read(person, _schemas_check(body, USER_SCHEMA))
    return _values(person, user=user)


def _operations(body: Any) -> list[dict[str, Any]]:
    body = _schemas_check(body, PATCH_SCHEMA)
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("Operations must be a list of at least one operation.")
    for operation in operations:
        if not isinstance(operation, dict) or str(operation.get("op", "")).lower() not in (
            _OPERATIONS
        ):
            raise invalid_syntax("Each operation needs an op: add, replace or remove.")
        path = operation.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise invalid_path("A path must be a non-empty string.")
        if path is None and not isinstance(operation.get("value"), dict):
            raise invalid_syntax("An operation without a path needs an object as its value.")
        if path is None and operation["op"].lower() == "remove":
            raise ScimError("A remove operation needs a path.", scim_type="noTarget")
    return operations


def user_values_patched(user: AbstractBaseUser, body: Any) -> PersonValues:
    """The values of `user` after the PATCH operations in `body` (Entra ID and Okta shapes:
    a path and a value, or no path and an object of attributes)."""
    person = _person_of(user)
    for operation in _operations(body):
        op, path, value = operation["op"].lower(), operation.get("path"), operation.get("value")
        if path is None:
            for key, part in value.items():
                # Okta sends the resource's own id along with the attributes it replaces.
                if key.strip().lower() not in _READ_ONLY:
                    _user_set(person, key.strip().lower(), part)
        else:
            _user_set(person, path.strip().lower(), value, remove=op == "remove")
    return _values(person, user=user)


def user_resource(user: AbstractBaseUser, location: Callable[[str, int], str]) -> dict[str, Any]:
    """The User resource of `user`, read from its loaded profile (department, manager)
    and directory groups; `location(kind, pk)` is the URL of a resource."""
    profile = getattr(user, "profile", None)
    display = user.get_full_name() or user.username
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": str(user.pk),
        "externalId": profile.external_id if profile else "",
        "userName": user.username,
        "name": {
            "givenName": user.first_name,
            "familyName": user.last_name,
            "formatted": user.get_full_name(),
        },
        "displayName": display,
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "active": user.is_active,
        "title": profile.job_title if profile else "",
        "groups": [
            {
                "value": str(group.pk),
                "display": group.display_name,
                "$ref": location("Groups", group.pk),
            }
            for group in user.directory_groups.all()
        ],
        "meta": {
            "resourceType": "User",
            "created": user.date_joined.isoformat(),
            "location": location("Users", user.pk),
        },
    }
    enterprise: dict[str, Any] = {}
    if profile and profile.department:
        enterprise["department"] = profile.department.name
    if profile and profile.manager:
        manager = profile.manager
        enterprise["manager"] = {
            "value": str(manager.pk),
            "$ref": location("Users", manager.pk),
            "displayName": manager.get_full_name() or manager.username,
        }
    resource[ENTERPRISE_SCHEMA] = enterprise
    return resource


# --- Groups -----------------------------------------------------------------------------------


@dataclass
class GroupState:
    display_name: str = ""
    external_id: str = ""
    member_ids: set[int] = field(default_factory=set)


def _member_ids(value: Any) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise invalid_value("members must be a list of objects with a value.")
    ids = set()
    for member in value:
        if not isinstance(member, dict):
            raise invalid_value("members must be a list of objects with a value.")
        if str(member.get("type", "User")).lower() != "user":
            raise invalid_value("Only users can be members; groups in groups are not kept.")
        reference = _reference(member, "members.value")
        member_id = id_of(reference)
        if member_id is None:
            raise invalid_value(f"No user has the id {reference!r}.")
        ids.add(member_id)
    return ids


def _group_set(state: GroupState, path: str, value: Any, op: str) -> None:
    if path in ("schemas", "id", "meta"):
        if op == "remove" or path != "schemas":
            raise ScimError(f"{path} cannot be changed.", scim_type="mutability")
    elif path == "displayname":
        if op == "remove":
            raise invalid_value("displayName is required and cannot be removed.")
        state.display_name = _text(value, "displayName", max_length=255)
    elif path == "externalid":
        state.external_id = _text(None if op == "remove" else value, "externalId", max_length=255)
    elif path == "members":
        members = _member_ids(value)
        if op == "add":
            state.member_ids |= members
        elif op == "remove":
            # Entra ID names the members to remove in the value; no value removes them all.
            state.member_ids = state.member_ids - members if value is not None else set()
        else:
            state.member_ids = members
    elif (found := _MEMBER_FILTER.match(path)) and op == "remove":
        member_id = id_of(found["value"])
        if member_id is None:
            raise ScimError(f"No member has the id {found['value']!r}.", scim_type="noTarget")
        state.member_ids.discard(member_id)
    else:
        raise invalid_path(f"Groups have no attribute {path} to {op}.")


def _group_checked(state: GroupState) -> GroupState:
    if not state.display_name:
        raise invalid_value("displayName is required.")
    known = set(User.objects.filter(pk__in=state.member_ids).values_list("pk", flat=True))
    if unknown := sorted(state.member_ids - known):
        raise invalid_value(f"No user has the id {unknown[0]!r}.")
    return state


def group_state_read(body: Any) -> GroupState:
    """The values of a Group resource (POST, PUT)."""
    state = GroupState()
    for key, value in _schemas_check(body, GROUP_SCHEMA).items():
        path = key.lower()
        if path in ("schemas", "id", "meta"):
            continue
        try:
            _group_set(state, path, value, "replace")
        except ScimError as error:
            if error.scim_type == "invalidPath":
                raise invalid_value(f"Unknown attribute {key}.") from error
            raise
    return _group_checked(state)


def group_state_patched(group: DirectoryGroup, body: Any) -> GroupState:
    """The values of `group` after the PATCH operations in `body`."""
    state = GroupState(
        display_name=group.display_name,
        external_id=group.external_id,
        member_ids={member.pk for member in group.members.all()},
    )
    for operation in _operations(body):
        op, path, value = operation["op"].lower(), operation.get("path"), operation.get("value")
        if path is None:
            for key, part in value.items():
                if key.strip().lower() not in _READ_ONLY:
                    _group_set(state, key.strip().lower(), part, op)
        else:
            _group_set(state, path.strip().lower(), value, op)
    return _group_checked(state)


def group_resource(
    group: DirectoryGroup, location: Callable[[str, int], str], *, members: bool = True
) -> dict[str, Any]:
    """The Group resource of `group`, its members loaded."""
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": str(group.pk),
        "externalId": group.external_id,
        "displayName": group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": group.created_at.isoformat(),
            "location": location("Groups", group.pk),
        },
    }
    if members:
        resource["members"] = [
            {
                "value": str(member.pk),
                "display": member.get_full_name() or member.username,
                "$ref": location("Users", member.pk),
            }
            for member in group.members.all()
        ]
    return resource


def attributes_pick(
    resource: dict[str, Any], attributes: Iterable[str], excluded: Iterable[str]
) -> dict[str, Any]:
    """The resource with only `attributes` (plus id and schemas), or without `excluded`
    (RFC 7644 section 3.4.2.5; top-level attributes only)."""
    wanted = {name.strip().lower() for name in attributes if name.strip()}
    unwanted = {name.strip().lower() for name in excluded if name.strip()}
    kept = {}
    for key, value in resource.items():
        name = key.lower()
        if name in ("id", "schemas") or ((not wanted or name in wanted) and name not in unwanted):
            kept[key] = value
    return kept
