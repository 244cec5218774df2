"""HR: create the employee record of a new hire, with their start date."""

from __future__ import annotations

from typing import Any

from services.automation import inputs
from services.automation.registry import Input, StepContext, action
from services.models import EmployeeRecord


@action(
    "hr.create_employee_record",
    label="Create the employee record",
    inputs=(
        Input("first_name", "First name (default: the answer 'first_name')"),
        Input("last_name", "Last name (default: the answer 'last_name')"),
        Input("start_date", "First day (default: the answer 'start_date')"),
        Input("role", "Job title (default: the answer 'role')", required=False),
        Input("location", "Location name or slug (default: the answer)", required=False),
    ),
)
def create_employee_record(context: StepContext) -> dict[str, Any]:
    record = EmployeeRecord.objects.filter(created_by_key=context.key).first()
    if record is None:
        location = context.value("location")
        record = EmployeeRecord.objects.create(
            first_name=" ".join(str(context.require("first_name")).split()),
            last_name=" ".join(str(context.require("last_name")).split()),
            start_date=inputs.as_date(context.require("start_date"), name="start_date"),
            role=str(context.value("role") or "").strip(),
            location=inputs.as_location(location) if location else None,
            # The hiring manager is who raised the request for the hire.
            hiring_manager=context.service_request.raised_by,
            service_request=context.service_request,
            created_by_key=context.key,
        )
    return {
        "employee_record": record.pk,
        "name": record.full_name,
        "start_date": record.start_date.isoformat(),
    }
