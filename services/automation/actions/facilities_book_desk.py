"""Facilities: book a free desk at a location; two concurrent bookings never share a desk."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.utils import timezone

from esm import clock
from esm.models import Location
from services.automation import inputs
from services.automation.registry import (
    Input,
    PermanentError,
    StepContext,
    TransientError,
    action,
)
from services.models import Desk, DeskBooking

# A pick loses only to a booking committed between our query and our insert; a few tries
# settle any realistic burst.
MAX_PICKS = 5


@action(
    "facilities.book_desk",
    label="Book a desk",
    inputs=(
        Input("location", "Location name or slug (e.g. the answer 'location')"),
        Input("floor", "Preferred floor (others if it is full)", required=False),
        Input(
            "person",
            "A person field's answer: who sits there (default: the new hire, else the requester)",
            required=False,
        ),
        Input(
            "starts_on",
            "From (default: the new hire's start date, the answer 'start_date', or today)",
            required=False,
        ),
        Input(
            "replace_current",
            "yes: end the person's other open bookings (a desk move)",
            required=False,
        ),
    ),
)
def book_desk(context: StepContext) -> dict[str, Any]:
    booking = (
        DeskBooking.objects.filter(created_by_key=context.key)
        .select_related("desk__location")
        .first()
    )
    if booking is not None:
        return _result(booking)
    location = inputs.as_location(context.require("location"))
    person, record = inputs.for_whom(context)
    starts_on = inputs.start_day(context, record)
    floor = str(context.value("floor") or "").strip()
    for _ in range(MAX_PICKS):
        desk = _lock_a_free_desk(location, floor)
        if desk is None:
            raise PermanentError(_no_desk(location))
        try:
            with transaction.atomic():  # a savepoint: losing the desk must not abort the step
                booking = DeskBooking.objects.create(
                    desk=desk,
                    person=person,
                    employee_record=record,
                    starts_on=starts_on,
                    service_request=context.service_request,
                    created_by_key=context.key,
                )
        except IntegrityError:
            # The database's one-open-booking-per-desk rule caught a booking committed after
            # our query saw the desk free: pick again, with a fresh view.
            if not DeskBooking.objects.filter(desk=desk, ends_on__isnull=True).exists():
                raise
            continue
        if person is not None and inputs.as_bool(context.value("replace_current")):
            # Only now: while the old desk was still held, it could not be picked again.
            DeskBooking.objects.filter(person=person, ends_on__isnull=True).exclude(
                pk=booking.pk
            ).update(ends_on=timezone.localdate(clock.now()))
        return _result(booking)
    raise TransientError(f"Desks at {location} kept being taken while booking; trying again.")


def _lock_a_free_desk(location: Location, floor: str) -> Desk | None:
    """Lock and return a free desk (the preferred floor first), or None when all are taken.

    On PostgreSQL, FOR UPDATE SKIP LOCKED: a concurrent booking holding a candidate desk's
    row lock makes us take the next desk instead of waiting for it or picking it too. On
    SQLite the lock is a no-op, and writers are serialised by the database anyway. Either
    way the unique constraint on open bookings is the backstop.
    """
    taken = DeskBooking.objects.filter(desk=OuterRef("pk"), ends_on__isnull=True)
    preferred_first = Case(
        When(floor=floor, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        Desk.objects.filter(location=location, active=True)
        .filter(~Exists(taken))
        .order_by(preferred_first, "floor", "code")
        .select_for_update(skip_locked=True)
        .first()
    )


def _no_desk(location: Location) -> str:
    if not Desk.objects.filter(location=location, active=True).exists():
        return f"{location} has no bookable desks in the inventory: arrange a place by hand."
    return f"No free desk at {location}: one must be found by hand."


def _result(booking: DeskBooking) -> dict[str, Any]:
    return {
        "booking": booking.pk,
        "desk": booking.desk.code,
        "floor": booking.desk.floor,
        "location": booking.desk.location.name,
        "starts_on": booking.starts_on.isoformat(),
    }
