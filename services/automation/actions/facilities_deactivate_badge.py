"""Facilities: deactivate a person's badges (offboarding)."""

from __future__ import annotations

from typing import Any

from esm import clock
from services.automation import inputs
from services.automation.registry import Input, StepContext, action
from services.models import Badge


@action(
    "facilities.deactivate_badge",
    label="Deactivate badges",
    inputs=(
        Input(
            "person",
            "A person field's answer: whose badges (default: the new hire, else the requester)",
            required=False,
        ),
    ),
)
def deactivate_badge(context: StepContext) -> dict[str, Any]:
    person, record = inputs.for_whom(context)
    badges = Badge.objects.filter(inputs.holder_q(person, record, "holder"), active=True)
    numbers = list(badges.values_list("number", flat=True))
    badges.update(active=False, deactivated_at=clock.now())
    return {"deactivated": numbers}
