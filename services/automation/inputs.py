"""Reading actions' inputs into domain values, and finding what earlier steps made.

Form answers arrive as stored by the portal form: dates as ISO strings, person fields as
user ids, multiple choices as lists. Anything unusable is a `PermanentError`: retrying
will not fix the form, a person will.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone

from esm import clock
from esm.models import Location
from services.automation.registry import PermanentError, StepContext
from services.models import DirectoryAccount, EmployeeRecord

# Where `recipient` inputs may point, besides a literal address.
RECIPIENTS = ("requester", "raised_by", "manager")


def as_date(value: Any, *, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PermanentError(f"'{name}' should be a date, not {value!r}.") from None


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"yes", "true", "1", "on"}
    return bool(value)


def as_list(value: Any) -> list[str]:
    """A list of names from a list answer or a text of names (one a line, or commas)."""
    items = value if isinstance(value, list | tuple) else re.split(r"[,\n]", str(value or ""))
    names: list[str] = []
    for item in items:
        name = " ".join(str(item).split())
        if name and name not in names:
            names.append(name)
    return names


def as_person(value: Any, *, name: str) -> AbstractBaseUser:
    """The user a person field's answer (a user id) names."""
    user_model = get_user_model()
    try:
        return user_model.objects.get(pk=int(value))
    except (TypeError, ValueError, user_model.DoesNotExist):
        raise PermanentError(f"'{name}' should name a person, not {value!r}.") from None


def as_location(value: Any) -> Location:
    """A location by name or slug, in any case (forms offer names, plans write slugs)."""
    text = str(value or "").strip()
    location = (
        Location.objects.filter(name__iexact=text).first()
        or Location.objects.filter(slug__iexact=text).first()
    )
    if location is None:
        raise PermanentError(f"There is no location called {text!r}.")
    return location


def person_input(context: StepContext, name: str = "person") -> AbstractBaseUser | None:
    """The person an optional input names, or None when the plan and form leave it out."""
    value = context.value(name)
    return None if value in (None, "") else as_person(value, name=name)


def made_for_request[ModelT: models.Model](
    context: StepContext, model: type[ModelT]
) -> ModelT | None:
    """The record of `model` an earlier step of this request made, if any (the latest)."""
    return model.objects.filter(service_request=context.service_request).order_by("-pk").first()


def new_hire_record(context: StepContext) -> EmployeeRecord | None:
    return made_for_request(context, EmployeeRecord)


def new_account(context: StepContext) -> DirectoryAccount | None:
    return made_for_request(context, DirectoryAccount)


def for_whom(context: StepContext) -> tuple[AbstractBaseUser | None, EmployeeRecord | None]:
    """Who a step's desk, badge or parking is for: (person, employee record).

    A person named by the `person` input first (offboarding, desk moves); else the new hire
    whose record HR made for this request (onboarding: they have no portal user yet); else
    the requester.
    """
    person = person_input(context)
    if person is not None:
        return person, None
    record = new_hire_record(context)
    if record is not None:
        return record.person, record
    return context.service_request.requester, None


def recipient_addresses(context: StepContext, recipient: str) -> list[str]:
    """E-mail addresses for a `recipient` input: a role around the request, or an address."""
    recipient = str(recipient or "").strip()
    service_request = context.service_request
    if recipient == "requester":
        person = service_request.requester
    elif recipient == "raised_by":
        person = service_request.raised_by
    elif recipient == "manager":
        profile = getattr(service_request.requester, "profile", None)
        person = profile.manager if profile is not None else None
        if person is None:
            raise PermanentError(f"{service_request.requester} has no manager on record.")
    else:
        try:
            validate_email(recipient)
        except ValidationError:
            raise PermanentError(
                f"Send to whom? {recipient!r} is not one of {', '.join(RECIPIENTS)} "
                "nor an e-mail address."
            ) from None
        return [recipient]
    if not person.email:
        raise PermanentError(f"{person} has no e-mail address.")
    return [person.email]


def holder_q(person: AbstractBaseUser | None, record: EmployeeRecord | None, field: str) -> Q:
    """Rows held by the person (in `field`) or by the employee record (see `for_whom`)."""
    condition = Q(pk__in=[])
    if person is not None:
        condition |= Q(**{field: person})
    if record is not None:
        condition |= Q(employee_record=record)
    return condition


def start_day(context: StepContext, record: EmployeeRecord | None) -> dt.date:
    """When a desk, badge or parking starts: the new hire's start date, else `starts_on`,
    else the answer `start_date`, else today."""
    if record is not None:
        return record.start_date
    value = context.value("starts_on") or context.value("start_date")
    return as_date(value, name="starts_on") if value else timezone.localdate(clock.now())


def as_minutes(value: Any, *, name: str, default: int) -> dt.timedelta:
    if value in (None, ""):
        return dt.timedelta(minutes=default)
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = 0
    if minutes <= 0:
        raise PermanentError(f"'{name}' should be a number of minutes, not {value!r}.")
    return dt.timedelta(minutes=minutes)
