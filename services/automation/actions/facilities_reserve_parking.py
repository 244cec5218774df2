"""Facilities: reserve a parking space for a car at a location."""

from __future__ import annotations

import re
from typing import Any

from services.automation import inputs
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import ParkingReservation


@action(
    "facilities.reserve_parking",
    label="Reserve parking",
    inputs=(
        Input("location", "Location name or slug (e.g. the answer 'location')"),
        Input("plate", "Registration plate (e.g. the answer 'plate')"),
        Input(
            "person",
            "A person field's answer: whose car (default: the new hire, else the requester)",
            required=False,
        ),
        Input(
            "starts_on",
            "From (default: the new hire's start date, the answer 'start_date', or today)",
            required=False,
        ),
    ),
)
def reserve_parking(context: StepContext) -> dict[str, Any]:
    reservation = (
        ParkingReservation.objects.filter(created_by_key=context.key)
        .select_related("location")
        .first()
    )
    if reservation is None:
        plate = re.sub(r"[^A-Z0-9]", "", str(context.require("plate")).upper())
        if not 2 <= len(plate) <= ParkingReservation._meta.get_field("plate").max_length:
            raise PermanentError(f"{context.value('plate')!r} is not a registration plate.")
        location = inputs.as_location(context.require("location"))
        person, record = inputs.for_whom(context)
        reservation = ParkingReservation.objects.create(
            location=location,
            plate=plate,
            person=person,
            employee_record=record,
            starts_on=inputs.start_day(context, record),
            service_request=context.service_request,
            created_by_key=context.key,
        )
    return {
        "parking": reservation.pk,
        "plate": reservation.plate,
        "location": reservation.location.name,
        "starts_on": reservation.starts_on.isoformat(),
    }
