"""Recording the event log. Reads of it belong to the apps that measure."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction

from esm.models import Department, Event, EventKind


class EventOutsideTransaction(RuntimeError):
    """An event must commit or roll back together with the change it describes."""


def event_record(
    *,
    subject: models.Model,
    kind: EventKind | str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    department: Department | None = None,
    from_department: Department | None = None,
    to_department: Department | None = None,
    from_value: str = "",
    to_value: str = "",
    reference: str = "",
    payload: dict[str, Any] | None = None,
    is_confidential: bool = False,
) -> Event:
    """Append one event about `subject`, inside the caller's transaction.

    Call from an action running in `transaction.atomic()`: an event written outside one
    could survive a change that rolled back (or vanish while the change stays), and every
    measure downstream would then disagree with the data.
    """
    if not transaction.get_connection().in_atomic_block:
        raise EventOutsideTransaction(
            f"event {kind!r} on {subject._meta.label} recorded outside a transaction"
        )
    if subject.pk is None:
        raise ValueError("Save the subject before recording an event about it.")
    return Event.objects.create(
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        department=department,
        from_department=from_department,
        to_department=to_department,
        from_value=from_value,
        to_value=to_value,
        reference=reference,
        payload=payload or {},
        is_confidential=is_confidential,
    )
