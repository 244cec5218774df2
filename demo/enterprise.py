"""The demo enterprise's core: locations, calendars, departments and people in every role.

Everything is keyed by natural keys (slugs, usernames, names), so seeding again changes
nothing; an existing account keeps its password unless one is given.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from demo.data import load
from esm.models import (
    BusinessCalendar,
    Department,
    DepartmentRole,
    Holiday,
    Location,
    Profile,
    WorkingPeriod,
)

User = get_user_model()


@dataclass(frozen=True)
class SeededAccount:
    username: str
    describes: str
    password: str | None  # None when the account already existed and kept its password
    generated: bool = False  # the password was made up here, not given by the caller


def _calendar(spec: dict[str, Any], holidays: list[dict[str, Any]]) -> BusinessCalendar:
    default = spec.get("default", False)
    if default:
        # Whatever the company default is called now, it stays the default.
        existing = BusinessCalendar.objects.filter(is_default=True).first()
        if existing is not None:
            return existing
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=spec["name"], defaults={"time_zone": "Europe/London", "is_default": default}
    )
    if created:
        WorkingPeriod.objects.bulk_create(
            WorkingPeriod(
                calendar=calendar, weekday=day, starts_at=spec["opens"], ends_at=spec["closes"]
            )
            for day in range(5)
        )
        Holiday.objects.bulk_create(
            Holiday(calendar=calendar, date=holiday["date"], name=holiday["name"])
            for holiday in holidays
        )
    return calendar


def _account(spec: dict[str, Any], *, password: str | None, domain: str) -> tuple[Any, str | None]:
    user = User.objects.filter(username=spec["username"]).first()
    chosen = None
    if user is None:
        chosen = password or secrets.token_urlsafe(9)
        user = User.objects.create_user(
            username=spec["username"],
            email=f"{spec['username']}@{domain}",
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            password=chosen,
            is_staff=spec.get("is_admin", False),
            is_superuser=spec.get("is_admin", False),
        )
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
        chosen = password
    return user, chosen


def seed(*, password: str | None = None) -> list[SeededAccount]:
    """Load the demo enterprise; returns the demo accounts and any password just set."""
    data = load("enterprise")
    locations = {
        slug: Location.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in data["locations"].items()
    }
    calendars = {spec["name"]: _calendar(spec, data["holidays"]) for spec in data["calendars"]}
    departments = {
        slug: Department.objects.get_or_create(
            slug=slug,
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "calendar": calendars[spec["calendar"]] if "calendar" in spec else None,
            },
        )[0]
        for slug, spec in data["departments"].items()
    }

    accounts, users = [], {}
    for spec in data["people"]:
        user, chosen = _account(spec, password=password, domain=data["email_domain"])
        users[spec["username"]] = user
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "department": departments[spec["department"]],
                "manager": users.get(spec.get("manager", "")),
                "job_title": spec["job_title"],
                "location": locations[spec["location"]],
                "start_date": data["start_date"],
                "is_executive": spec.get("is_executive", False),
            },
        )
        for role in spec.get("roles", []):
            DepartmentRole.objects.get_or_create(
                user=user, department=departments[role["department"]], role=role["role"]
            )
        generated = chosen is not None and not password
        accounts.append(SeededAccount(spec["username"], spec["describes"], chosen, generated))

    for slug, spec in data["departments"].items():
        Department.objects.filter(slug=slug, head__isnull=True).update(head=users[spec["head"]])
    return accounts


def seed_employees() -> list[Any]:
    """The colleagues who raise the history's requests; they never sign in."""
    data = load("enterprise")
    departments = {department.slug: department for department in Department.objects.all()}
    locations = {location.slug: location for location in Location.objects.all()}
    people = {user.username: user for user in User.objects.filter(is_active=True)}
    employees = []
    for number, spec in enumerate(data["employees"], start=1):
        user = people.get(spec["username"])
        if user is None:
            email = f"{spec['first_name']}.{spec['last_name']}@{data['email_domain']}"
            user = User.objects.create_user(
                username=spec["username"],
                email=email.lower().replace("'", ""),
                first_name=spec["first_name"],
                last_name=spec["last_name"],
                password=None,  # unusable: the demo employees never sign in
            )
            people[spec["username"]] = user
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "department": departments.get(spec["department"]),
                "manager": people.get(spec["manager"]),
                "job_title": spec["job_title"],
                "location": locations.get(spec["location"]),
                "start_date": dt.date(2023, 3, 1) + dt.timedelta(days=37 * number),
            },
        )
        employees.append(user)
    return employees
