"""Facilities: issue a building badge with a unique number."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction

from services.automation import inputs
from services.automation.registry import Input, StepContext, TransientError, action
from services.models import Badge

NUMBER_DIGITS = 8
MAX_NUMBER_TRIES = 5


@action(
    "facilities.issue_badge",
    label="Issue a badge",
    inputs=(
        Input(
            "person",
            "A person field's answer: whose badge (default: the new hire, else the requester)",
            required=False,
        ),
    ),
)
def issue_badge(context: StepContext) -> dict[str, Any]:
    badge = Badge.objects.filter(created_by_key=context.key).first()
    if badge is None:
        holder, record = inputs.for_whom(context)
        badge = _create_with_unique_number(
            holder=holder,
            employee_record=record,
            service_request=context.service_request,
            created_by_key=context.key,
        )
    return {"badge": badge.number}


def _create_with_unique_number(**fields: Any) -> Badge:
    # Random, not sequential: a badge number should not tell how to guess the next one.
    for _ in range(MAX_NUMBER_TRIES):
        number = f"B-{secrets.randbelow(10**NUMBER_DIGITS):0{NUMBER_DIGITS}d}"
        try:
            with transaction.atomic():
                return Badge.objects.create(number=number, **fields)
        except IntegrityError:
            if not Badge.objects.filter(number=number).exists():
                raise
    raise TransientError("Could not find a free badge number; trying again.")
