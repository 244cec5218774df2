"""HR: put the new hire's orientation in the calendar on their first working morning."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.automation import inputs, workdays
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import OrientationEvent

DEFAULT_AT = dt.time(9, 30)
DEFAULT_MINUTES = 90


@action(
    "hr.schedule_orientation",
    label="Schedule orientation",
    inputs=(
        Input(
            "start_date",
            "First day (default: the employee record's start date, else the answer)",
            required=False,
        ),
        Input("at", "Local time on the first working day, HH:MM (default 09:30)", required=False),
        Input("duration_minutes", "Length (default 90)", required=False),
        Input("title", "Calendar title (default: Orientation: <name>)", required=False),
        Input("location", "Location name or slug (default: the record's)", required=False),
    ),
)
def schedule_orientation(context: StepContext) -> dict[str, Any]:
    event = OrientationEvent.objects.filter(created_by_key=context.key).first()
    if event is None:
        person, record = inputs.for_whom(context)
        first_day = (
            record.start_date
            if record is not None
            else inputs.as_date(context.require("start_date"), name="start_date")
        )
        # The first working morning in the owning department's calendar (the company's
        # unless the department keeps its own): a Saturday start means Monday's session.
        starts_at = workdays.working_morning(
            context.step_run.department, first_day, _time(context.value("at"))
        )
        location = context.value("location")
        name = record.full_name if record is not None else person.get_full_name()
        event = OrientationEvent.objects.create(
            title=str(context.value("title") or f"Orientation: {name}".strip(": ")),
            employee_record=record,
            person=person,
            starts_at=starts_at,
            ends_at=starts_at
            + inputs.as_minutes(
                context.value("duration_minutes"), name="duration_minutes", default=DEFAULT_MINUTES
            ),
            location=(
                inputs.as_location(location)
                if location
                else (record.location if record is not None else None)
            ),
            service_request=context.service_request,
            created_by_key=context.key,
        )
    return {"orientation": event.pk, "starts_at": event.starts_at.isoformat()}


def _time(value: Any) -> dt.time:
    if not value:
        return DEFAULT_AT
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise PermanentError(f"'at' should be a time like 09:30, not {value!r}.") from None
