"""Facilities: end a person's open desk bookings (offboarding, moves)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from esm import clock
from services.automation import inputs
from services.automation.registry import Input, StepContext, action
from services.models import DeskBooking


@action(
    "facilities.release_desk",
    label="Release a desk",
    inputs=(
        Input(
            "person",
            "A person field's answer: whose desk (default: the new hire, else the requester)",
            required=False,
        ),
    ),
)
def release_desk(context: StepContext) -> dict[str, Any]:
    person, record = inputs.for_whom(context)
    bookings = DeskBooking.objects.filter(
        inputs.holder_q(person, record, "person"), ends_on__isnull=True
    )
    released = [str(booking.desk) for booking in bookings.select_related("desk__location")]
    bookings.update(ends_on=timezone.localdate(clock.now()))
    # Nothing open is fine: the person may never have had a desk, or a rerun got here.
    return {"released": released}
