"""Recording changes to the portal's configuration and to people's access in the event log.

Work (requests, tasks, consults, plan runs) records its own events in its actions. Everything
else a person changes by hand (a catalog item, a plan step, a value stream, a measure, a
department, a role, an administrator flag, a Django group and its permissions) records one
event here, in the transaction of the change, naming who changed what: the changed fields,
with their values before and after unless the values are secret or belong to a case.

Three shapes, one per kind (`docs/events.md`):

- a configuration record: `config_created`, `config_changed`, `config_deleted`;
- a person's department roles: `role_granted`, `role_revoked` on the person, flagged with
  `confidential_access` when the department handles confidential cases (being a superuser
  does not make someone HR: becoming HR is always on the record) and `self_granted` when
  the actor gave the role to themselves;
- a person's administrator rights (staff, superuser, Django groups and permissions):
  `admin_rights_changed` on the person; the rest of what the portal keeps about them,
  `person_created`/`person_updated` as the directory writes them.

Callers take a `snapshot` before they change a record and hand it to `change_record` after;
the Django admin does both for every model it edits (`esm.admin_site`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile

from esm.events import event_record
from esm.models import Department, DepartmentRole, Event, EventKind, Profile
from esm.provisioning import role_event_flags

Actor = AbstractBaseUser | AnonymousUser | None
Snapshot = dict[str, Any]

VALUE_LENGTH = 200
"""A value longer than this (a description, a form's help text) is cut: the log records
that it changed and how it began, not every word of it."""

SECRET_WORDS = ("password", "secret", "token")
"""A field whose name holds one of these is recorded by name only, never its value."""

HIDDEN = "(hidden)"

PASSWORD_SWITCHED_OFF = "switched_off"  # noqa: S105 (what happened to it, not a password)

RIGHTS_FIELDS = frozenset({"is_staff", "is_superuser", "groups", "user_permissions"})
"""What makes a person an administrator of the portal: changed, `admin_rights_changed`."""

# Never part of what a person changed: the portal stamps them itself.
IGNORED_FIELDS = frozenset({"last_login", "date_joined"})


def shown(value: Any) -> Any:
    """`value` as the log keeps it: JSON, short, a related record by its name."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, models.Model):
        value = str(value)
    elif isinstance(value, Decimal | dt.date | dt.time | dt.timedelta):
        value = value.isoformat() if hasattr(value, "isoformat") else str(value)
    elif isinstance(value, FieldFile):
        value = value.name or ""
    elif isinstance(value, dict | list | tuple):
        value = json.dumps(value, default=str, sort_keys=True)
    value = str(value)
    return value if len(value) <= VALUE_LENGTH else value[: VALUE_LENGTH - 1] + "…"


def _is_secret(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def snapshot(obj: models.Model) -> Snapshot:
    """What a person can change of `obj`, now: its editable fields (a related record by
    its name, many-to-many as a sorted list of names). Take it before the change."""
    values: Snapshot = {}
    for field in obj._meta.concrete_fields:
        if not field.editable or field.primary_key or field.name in IGNORED_FIELDS:
            continue
        if _is_secret(field.name):
            values[field.name] = HIDDEN if field.value_from_object(obj) else ""
        elif field.is_relation:
            values[field.name] = shown(getattr(obj, field.name))
        else:
            values[field.name] = shown(field.value_from_object(obj))
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            if field.editable:
                related = getattr(obj, field.name).all()
                values[field.name] = sorted(shown(item) for item in related)
    return values


def snapshot_stored(obj: models.Model) -> Snapshot | None:
    """The snapshot of `obj` as the database holds it (None for a record not saved yet):
    for a caller whose instance already carries the new values, as a bound form's does."""
    if obj.pk is None:
        return None
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    return snapshot(stored) if stored is not None else None


def _differences(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(name for name in after if before.get(name, after[name]) != after[name])


def _changes(names: list[str], before: Snapshot | None, after: Snapshot) -> dict[str, Any]:
    """{field: [before, after]}, secrets left out (`fields` still names them)."""
    return {
        name: [None if before is None else before.get(name), after.get(name)]
        for name in names
        if not _is_secret(name)
    }


def _department_of(obj: models.Model) -> Department | None:
    for field in obj._meta.concrete_fields:
        if field.is_relation and field.related_model is Department:
            return getattr(obj, field.name)
    return None


def _label(obj: models.Model) -> str:
    return shown(str(obj))


def change_record(
    *,
    subject: models.Model,
    actor: Actor,
    before: Snapshot | None,
    via: str,
    values: bool = True,
    related: Snapshot | None = None,
) -> list[Event]:
    """Record that `actor` created (`before=None`) or changed `subject`, whose `snapshot`
    was `before`. Writes nothing when nothing a person can change did change. With
    `values=False` (a record of a case) only the changed fields' names are kept.
    `related` adds what the caller counts as part of the record though it is stored apart
    (a stage's plan steps), as names; `before` then holds the same keys.

    Call inside the transaction of the change, after it (many-to-many included)."""
    after = snapshot(subject) | (related or {})
    if isinstance(subject, DepartmentRole):
        return _role_changed(subject, actor, before, after, via)
    if isinstance(subject, Profile):
        return _person_changed(
            subject.user, actor, before, after, via=via, values=values, created=False
        )
    if isinstance(subject, get_user_model()):
        return _person_changed(
            subject, actor, before, after, via=via, values=values, created=before is None
        )
    names = _filled(after) if before is None else _differences(before, after)
    if before is not None and not names:
        return []
    payload: dict[str, Any] = {"via": via, "fields": names}
    if values:
        payload["name"] = _label(subject)
        payload["changes"] = _changes(names, before, after)
    kind = EventKind.CONFIG_CREATED if before is None else EventKind.CONFIG_CHANGED
    return [
        event_record(
            subject=subject,
            kind=kind,
            actor=actor,
            department=_department_of(subject),
            payload=payload,
        )
    ]


def deletion_record(
    *,
    subject: models.Model,
    actor: Actor,
    via: str,
    values: bool = True,
    removed: Mapping[str, int] | None = None,
) -> list[Event]:
    """Record that `actor` is removing `subject`. Call before deleting it (the event names
    the record by its id), inside the transaction of the deletion; `removed` counts the
    rows that go with it, by model label (`delete_recorded` deletes and counts)."""
    if isinstance(subject, DepartmentRole):
        return _role_changed(subject, actor, snapshot(subject), None, via)
    payload: dict[str, Any] = {"via": via}
    if values:
        payload["name"] = _label(subject)
    if removed:
        payload["removed"] = dict(removed)
    return [
        event_record(
            subject=subject,
            kind=EventKind.CONFIG_DELETED,
            actor=actor,
            department=_department_of(subject),
            payload=payload,
        )
    ]


def delete_recorded(
    *, subject: models.Model, actor: Actor, via: str, values: bool = True
) -> list[Event]:
    """Delete `subject` as `actor` and record it, with how many rows of each kind went
    with it (a catalog item's plan steps, a stage's touchpoints): the database's cascade
    removes them without a word, so the parent's event says what it took along, as the
    admin's confirmation page said before the click. Links between records (the rows of
    a many-to-many) are not counted: they are no one's record.

    Call inside the transaction of the deletion."""
    pk, label = subject.pk, subject._meta.label
    _, counts = subject.delete()
    # The collector forgets the id of what it deleted; the event names the record by it.
    subject.pk = pk
    removed = {}
    for model_label, count in sorted(counts.items()):
        model = apps.get_model(model_label)
        count -= 1 if model_label == label else 0
        if count > 0 and not model._meta.auto_created:
            removed[model._meta.label_lower] = count
    return deletion_record(
        subject=subject, actor=actor, via=via, values=values, removed=removed or None
    )


def password_change_record(*, person: Any, actor: Actor, via: str) -> Event:
    """Record that `actor` set (or switched off) `person`'s password: who and for whom,
    never the value. Set for someone else, it is a way to sign in as them, and flagged."""
    payload: dict[str, Any] = {
        "via": via,
        "fields": ["password"],
        "password": "set" if person.has_usable_password() else PASSWORD_SWITCHED_OFF,
    }
    if actor is None or actor.pk != person.pk:
        payload["password_set_for_another"] = True
    profile = getattr(person, "profile", None)
    return event_record(
        subject=person,
        kind=EventKind.PERSON_UPDATED,
        actor=actor,
        department=profile.department if isinstance(profile, Profile) else None,
        payload=payload,
    )


def _role_event(
    role: DepartmentRole, kind: EventKind, actor: Actor, via: str, **values: str
) -> Event:
    payload: dict[str, Any] = {"via": via, "source": role.source}
    payload |= role_event_flags(
        department_id=role.department_id,
        person_id=role.user_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        granted=kind == EventKind.ROLE_GRANTED,
    )
    return event_record(
        subject=role.user,
        kind=kind,
        actor=actor,
        department=role.department,
        payload=payload,
        **values,
    )


def _role_changed(
    role: DepartmentRole, actor: Actor, before: Snapshot | None, after: Snapshot | None, via: str
) -> list[Event]:
    """A role is granted or revoked as a whole: one changed in place (another department
    or role) is the old one revoked and the new one granted. The person stays: a role is
    edited on its person's page."""
    held = ("department", "role")
    if before is not None and after is not None and all(before[n] == after[n] for n in held):
        return []
    events = []
    if before is not None:
        old = role
        if after is not None:
            # Changed in place: the instance carries the new values, the snapshot the old
            # (a department by its name, which is unique).
            old = DepartmentRole(
                user=role.user,
                department=Department.objects.get(name=before["department"]),
                role=before["role"],
                source=before["source"],
            )
        events.append(_role_event(old, EventKind.ROLE_REVOKED, actor, via, from_value=old.role))
    if after is not None:
        events.append(_role_event(role, EventKind.ROLE_GRANTED, actor, via, to_value=role.role))
    return events


def _filled(after: Snapshot) -> list[str]:
    return sorted(name for name, value in after.items() if value not in ("", None, []))


def _person_changed(
    person: Any,
    actor: Actor,
    before: Snapshot | None,
    after: Snapshot,
    *,
    via: str,
    values: bool,
    created: bool,
) -> list[Event]:
    """What the portal keeps about a person (`person_created`/`person_updated`), and apart
    from it their administrator rights (`admin_rights_changed`)."""
    profile = getattr(person, "profile", None)
    department = profile.department if isinstance(profile, Profile) else None
    names = _filled(after) if before is None else _differences(before, after)
    rights = [name for name in names if name in RIGHTS_FIELDS]
    others = [name for name in names if name not in RIGHTS_FIELDS]
    events = []
    if created or others:
        payload: dict[str, Any] = {"via": via, "fields": others}
        if values:
            payload["changes"] = _changes(others, before, after)
        if created:
            payload["active"] = bool(after.get("is_active"))
        events.append(
            event_record(
                subject=person,
                kind=EventKind.PERSON_CREATED if created else EventKind.PERSON_UPDATED,
                actor=actor,
                department=department,
                payload=payload,
            )
        )
    if rights:
        changes = _changes(rights, before, after)
        payload = {"via": via, "fields": rights, "changes": changes}
        if changes.get("is_superuser", [None, None])[1] is True:
            payload["superuser_granted"] = True
        if actor is not None and actor.pk == person.pk:
            payload["self_granted"] = True
        events.append(
            event_record(
                subject=person,
                kind=EventKind.ADMIN_RIGHTS_CHANGED,
                actor=actor,
                department=department,
                payload=payload,
            )
        )
    return events


FLAGGED = (
    Q(kind__in=[EventKind.ADMIN_RIGHTS_CHANGED, EventKind.BREAK_GLASS_SIGN_IN])
    | (
        Q(kind=EventKind.ROLE_GRANTED)
        & (Q(payload__confidential_access=True) | Q(payload__self_granted=True))
    )
    | Q(kind=EventKind.PERSON_UPDATED, payload__password_set_for_another=True)
)
"""The events `flagged` sets apart, as a filter of the log."""


def flagged(event: Event) -> bool:
    """Whether the audit page sets `event` apart: a way into confidential cases or into
    someone else's account (a role that opens confidential cases or given to oneself, a
    break-glass sign-in, a password set for another person), or administrator rights
    changing. Agrees with `FLAGGED`."""
    payload: Mapping[str, Any] = event.payload or {}
    if event.kind in (EventKind.ADMIN_RIGHTS_CHANGED, EventKind.BREAK_GLASS_SIGN_IN):
        return True
    if event.kind == EventKind.PERSON_UPDATED:
        return payload.get("password_set_for_another") is True
    return event.kind == EventKind.ROLE_GRANTED and (
        payload.get("confidential_access") is True or payload.get("self_granted") is True
    )
