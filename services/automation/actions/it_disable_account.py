"""IT: disable a leaver's directory accounts (offboarding); unused links stop working."""

from __future__ import annotations

from typing import Any

from esm import clock
from services.automation import inputs
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import DirectoryAccount, OneTimeLink


@action(
    "it.disable_account",
    label="Disable a directory account",
    inputs=(Input("person", "A person field's answer: whose accounts to disable"),),
)
def disable_account(context: StepContext) -> dict[str, Any]:
    person = inputs.as_person(context.require("person"), name="person")
    accounts = DirectoryAccount.objects.filter(person=person)
    if not accounts.exists():
        # Not "nothing to do": the person may hold an account the directory does not link
        # to them, and only a person can check.
        raise PermanentError(f"{person} has no directory account.")
    now = clock.now()
    disabled = list(accounts.filter(active=True).values_list("username", flat=True))
    accounts.filter(active=True).update(active=False, disabled_at=now)
    OneTimeLink.objects.filter(
        account__person=person, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    return {"person": person.get_username(), "disabled": disabled}
