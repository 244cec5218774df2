"""Reads of the enterprise core, shaped for the pages that show them."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from esm import clock
from esm.models import BusinessCalendar, Department, DepartmentRole, Holiday
from esm.permissions import staff_department_ids


def _upcoming_holidays() -> QuerySet[Holiday]:
    today = timezone.localdate(clock.now())
    return Holiday.objects.filter(date__gte=today, date__lt=today + dt.timedelta(days=366))


def default_calendar() -> BusinessCalendar | None:
    """The company default calendar with its working periods and upcoming holidays loaded."""
    return (
        BusinessCalendar.objects.filter(is_default=True)
        .prefetch_related(
            "working_periods",
            Prefetch("holidays", queryset=_upcoming_holidays(), to_attr="upcoming_holidays"),
        )
        .first()
    )


def departments_worked_by(user: AbstractBaseUser) -> QuerySet[Department]:
    """The departments a person is staff of, with their team and business calendar loaded."""
    ids = staff_department_ids(user)
    return (
        Department.objects.filter(pk__in=ids)
        .select_related("calendar", "head")
        .prefetch_related(
            Prefetch(
                "roles",
                queryset=DepartmentRole.objects.select_related("user").order_by(
                    "role", "user__first_name", "user__last_name"
                ),
            ),
            "calendar__working_periods",
            Prefetch(
                "calendar__holidays", queryset=_upcoming_holidays(), to_attr="upcoming_holidays"
            ),
        )
    )
