"""IT: grant access to applications: one entitlement per holder and application."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

from services.automation import inputs
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import AppEntitlement, DirectoryAccount


@action(
    "it.grant_access",
    label="Grant application access",
    inputs=(
        Input(
            "applications",
            "Applications: a list, or a form answer (multiple choice, or names one a line)",
        ),
        Input(
            "person",
            "A person field's answer: whose access (default: the account made for this "
            "request, else the requester)",
            required=False,
        ),
    ),
)
def grant_access(context: StepContext) -> dict[str, Any]:
    applications = inputs.as_list(context.require("applications"))
    if not applications:
        raise PermanentError("The step names no application to grant.")
    account, person = _holder(context)
    granted, already_had = [], []
    for application in applications:
        if _held(account, person, application):
            already_had.append(application)
            continue
        try:
            with transaction.atomic():
                AppEntitlement.objects.create(
                    account=account,
                    person=person,
                    application=application,
                    service_request=context.service_request,
                    granted_by_key=context.key,
                )
        except IntegrityError:
            # Granted concurrently by another request: the person has it, which is the goal.
            already_had.append(application)
        else:
            granted.append(application)
    holder = account.username if account is not None else person.get_username()
    return {"holder": holder, "granted": granted, "already_had": already_had}


def _holder(context: StepContext) -> tuple[DirectoryAccount | None, AbstractBaseUser | None]:
    person = inputs.person_input(context)
    if person is None:
        account = inputs.new_account(context)
        if account is not None:
            return account, account.person
        person = context.service_request.requester
    return DirectoryAccount.objects.filter(person=person, active=True).first(), person


def _held(
    account: DirectoryAccount | None, person: AbstractBaseUser | None, application: str
) -> bool:
    holder = Q(pk__in=[])
    if account is not None:
        holder |= Q(account=account)
    if person is not None:
        holder |= Q(person=person)
    return AppEntitlement.objects.filter(holder, application=application).exists()
