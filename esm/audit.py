"""Reads of the audit trail: who changed what, when, from the event log.

For the portal's administrators (`esm.view_audit`). Every row is an event as written, never
a figure of its own. A confidential case's events are shown to someone outside its
department as its reference and time only (being a superuser does not make someone HR),
and are left out as soon as the list is narrowed by person or kind: a filter must not
tell who raised or worked a confidential case.

A page is one query for the events (with their actor and department) and at most one for
the people they are about, whatever the size of the log: pages follow a keyset cursor
(time, id) rather than a count and an offset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse

from esm.changes import FLAGGED, PASSWORD_SWITCHED_OFF, flagged
from esm.models import Event, EventKind
from esm.permissions import User, staff_department_ids

PAGE_SIZE = 50

WORK_TYPES = (
    "services.servicerequest",
    "services.fulfilmenttask",
    "services.consult",
    "services.steprun",
    "services.automationrun",
)
PERSON_TYPE = "auth.user"

CATEGORIES = {
    "work": "Requests and their work",
    "people": "People, roles and rights",
    "configuration": "Configuration",
}


@dataclass(frozen=True)
class AuditFilters:
    actor: Any = None
    category: str = ""
    kind: str = ""
    subject_type: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    flagged_only: bool = False
    cursor: tuple[dt.datetime, int] | None = None

    @property
    def names_someone(self) -> bool:
        """Whether the list is narrowed so that a row would say who did what."""
        return self.actor is not None or bool(self.kind) or self.flagged_only


def subject_type_choices() -> list[tuple[str, str]]:
    """Every kind of record the log may be about, by name: no query of the log."""
    return sorted(
        (
            (model._meta.label_lower, str(model._meta.verbose_name).capitalize())
            for model in apps.get_models()
        ),
        key=lambda choice: choice[1],
    )


def audit_events(*, viewer: User, filters: AuditFilters) -> tuple[list[Event], bool]:
    """One page of the log, newest first, and whether an older page follows."""
    events: QuerySet[Event] = Event.objects.select_related("actor", "department")
    hidden = Q(is_confidential=True) & ~Q(department_id__in=staff_department_ids(viewer))
    if filters.names_someone:
        events = events.exclude(hidden)
    if filters.actor is not None:
        events = events.filter(actor=filters.actor)
    if filters.category == "work":
        events = events.filter(subject_type__in=WORK_TYPES)
    elif filters.category == "people":
        events = events.filter(subject_type=PERSON_TYPE)
    elif filters.category == "configuration":
        events = events.exclude(subject_type__in=(*WORK_TYPES, PERSON_TYPE))
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.subject_type:
        events = events.filter(subject_type=filters.subject_type)
    if filters.start is not None:
        events = events.filter(occurred_at__gte=filters.start)
    if filters.end is not None:
        events = events.filter(occurred_at__lt=filters.end)
    if filters.flagged_only:
        events = events.filter(FLAGGED)
    if filters.cursor is not None:
        at, pk = filters.cursor
        events = events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    page = list(events.order_by("-occurred_at", "-id")[: PAGE_SIZE + 1])
    return page[:PAGE_SIZE], len(page) > PAGE_SIZE


@dataclass
class Change:
    field: str
    before: Any = None
    after: Any = None
    shown: bool = True
    """False for a field named without its values (a secret, a case's content)."""


@dataclass
class AuditRow:
    event: Event
    what: str
    """The kind of record, in words."""
    subject: str
    masked: bool = False
    flagged: bool = False
    link: str = ""
    summary: str = ""
    flag: str = ""
    """Why the row is flagged, in words."""
    changes: list[Change] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """What a deletion took with it: "3 plan steps"."""


def _model_of(subject_type: str) -> Any:
    try:
        return apps.get_model(subject_type)
    except (LookupError, ValueError):
        return None


def _admin_link(viewer: Any, model: Any, pk: int) -> str:
    """The record's admin page, where the viewer may open it."""
    if model is None or not admin.site.is_registered(model):
        return ""
    opts = model._meta
    if not viewer.has_perm(f"{opts.app_label}.view_{opts.model_name}") and not viewer.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    ):
        return ""
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def _changes(event: Event) -> list[Change]:
    payload = event.payload or {}
    if "password" in payload:
        return []  # The summary says it: a password is named by the summary, never shown.
    values = payload.get("changes") or {}
    return [
        Change(name, *values[name]) if name in values else Change(name, shown=False)
        for name in payload.get("fields", [])
    ]


def _flag(event: Event) -> str:
    """Why `flagged(event)`, in words ("" when it is not)."""
    if not flagged(event):
        return ""
    payload = event.payload or {}
    if event.kind == EventKind.BREAK_GLASS_SIGN_IN:
        return "break-glass sign-in"
    if event.kind == EventKind.PERSON_UPDATED:
        return "password set by someone else"
    if payload.get("superuser_granted"):
        words = "made superuser"
    elif payload.get("confidential_access"):
        words = "opens confidential cases"
    elif event.kind == EventKind.ADMIN_RIGHTS_CHANGED:
        words = "administrator rights"
    else:
        words = "role"
    return f"{words} · to themselves" if payload.get("self_granted") else words


def _removed(event: Event) -> list[str]:
    removed = (event.payload or {}).get("removed") or {}
    words = []
    for label, count in removed.items():
        model = _model_of(label)
        if model is None:
            words.append(f"{count} of {label}")
        else:
            name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
            words.append(f"{count} {name}")
    return words


def _summary(event: Event) -> str:
    payload = event.payload or {}
    if event.kind == EventKind.BREAK_GLASS_SIGN_IN:
        return f"Signed in with a password from {payload.get('address') or 'an unknown address'}"
    if event.kind == EventKind.PERSON_UPDATED and "password" in payload:
        if payload["password"] == PASSWORD_SWITCHED_OFF:
            return "Password sign-in switched off (no value is recorded)"
        return "Password changed (no value is recorded)"
    if event.kind in (EventKind.ROLE_GRANTED, EventKind.ROLE_REVOKED):
        role = event.to_value or event.from_value
        where = event.department.name if event.department else "a department"
        how = f" (directory group {payload['group']})" if payload.get("group") else ""
        return f"{role} of {where}{how}"
    if event.kind == EventKind.SLA_BREACHED:
        # Its `to_value` names the target: "response", "resolution" or "end_to_end".
        return f"The {event.to_value.replace('_', '-')} target was missed"
    if event.from_value or event.to_value:
        return f"{event.from_value or '—'} → {event.to_value or '—'}"
    return ""


def audit_rows(*, viewer: Any, events: list[Event]) -> list[AuditRow]:
    """The page's events in words, with a link to each record where the viewer may open
    it. One query at most, for the names of the people the events are about."""
    staff_of = staff_department_ids(viewer)
    person_ids = {e.subject_id for e in events if e.subject_type == PERSON_TYPE}
    people = (
        {person.pk: person for person in get_user_model().objects.filter(pk__in=person_ids)}
        if person_ids
        else {}
    )
    rows = []
    for event in events:
        model = _model_of(event.subject_type)
        what = str(model._meta.verbose_name).capitalize() if model else event.subject_type
        if event.is_confidential and event.department_id not in staff_of:
            rows.append(
                AuditRow(event, what, event.reference or "a confidential case", masked=True)
            )
            continue
        if event.subject_type == PERSON_TYPE:
            person = people.get(event.subject_id)
            subject = (person.get_full_name() or person.get_username()) if person else "(removed)"
        elif event.reference:
            subject = event.reference
        else:
            subject = (event.payload or {}).get("name") or f"#{event.subject_id}"
        link = ""
        if event.kind != EventKind.CONFIG_DELETED:
            link = _admin_link(viewer, model, event.subject_id)
        rows.append(
            AuditRow(
                event,
                what,
                subject,
                flagged=flagged(event),
                link=link,
                summary=_summary(event),
                flag=_flag(event),
                changes=_changes(event),
                removed=_removed(event),
            )
        )
    return rows
