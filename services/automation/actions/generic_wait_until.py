"""Generic: wait until a date (e.g. the start date), then let the plan go on."""

from __future__ import annotations

from typing import Any

from esm import clock
from services.automation import inputs, workdays
from services.automation.registry import Input, NotYet, StepContext, action


@action(
    "generic.wait_until",
    label="Wait until a date",
    inputs=(Input("date", "The day, e.g. answer:start_date; waits for its first working hour"),),
)
def wait_until(context: StepContext) -> dict[str, Any]:
    day = inputs.as_date(context.require("date"), name="date")
    # The first working hour on or after that day, in the owning department's calendar.
    until = workdays.first_working_moment(context.step_run.department, day)
    if clock.now() < until:
        raise NotYet(until, f"waiting until {until.isoformat()} ({day.isoformat()})")
    return {"waited_until": until.isoformat()}
