"""Recording the event log. Reads of it belong to the apps that measure."""

from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction

from esm.models import Department, Event, EventKind


class EventOutsideTransaction(RuntimeError):
    """An event must commit or roll back together with the change it describes."""


class EventDetails(TypedDict, total=False):
    """What an event may say besides its subject and kind (each defaults to empty)."""

    actor: AbstractBaseUser | AnonymousUser | None
    department: Department | None
    from_department: Department | None
    to_department: Department | None
    from_value: str
    to_value: str
    reference: str
    payload: dict[str, Any] | None
    is_confidential: bool


def event_record(
    *, subject: models.Model, kind: EventKind | str, **details: Unpack[EventDetails]
) -> Event:
    """Append one event about `subject`, inside the caller's transaction.

    Call from an action running in `transaction.atomic()`: an event written outside one
    could survive a change that rolled back (or vanish while the change stays), and every
    measure downstream would then disagree with the data.
    """
    event = _event_build(subject, kind, details)
    event.save(force_insert=True)
    return event


def events_record(records: list[tuple[models.Model, EventKind | str, EventDetails]]) -> list[Event]:
    """Append several events in one INSERT, each a (subject, kind, details) of
    `event_record`, under its rules. For actions that change many rows at once, such as
    readying a plan's parallel steps."""
    return Event.objects.bulk_create(
        [_event_build(subject, kind, details) for subject, kind, details in records]
    )


def _event_build(subject: models.Model, kind: EventKind | str, details: EventDetails) -> Event:
    if not transaction.get_connection().in_atomic_block:
        raise EventOutsideTransaction(
            f"event {kind!r} on {subject._meta.label} recorded outside a transaction"
        )
    if subject.pk is None:
        raise ValueError("Save the subject before recording an event about it.")
    if unknown := details.keys() - EventDetails.__annotations__.keys():
        raise TypeError(f"an event has no {', '.join(sorted(unknown))}")
    actor = details.get("actor")
    return Event(
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        department=details.get("department"),
        from_department=details.get("from_department"),
        to_department=details.get("to_department"),
        from_value=details.get("from_value", ""),
        to_value=details.get("to_value", ""),
        reference=details.get("reference", ""),
        payload=details.get("payload") or {},
        is_confidential=details.get("is_confidential", False),
    )
