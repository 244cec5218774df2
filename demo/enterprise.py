"""The demo enterprise's core: locations, calendars, departments and people in every role.

Everything is keyed by natural keys (slugs, usernames, names), so seeding again changes
nothing; an existing account keeps its password unless one is given.
"""

from __future__ import annotations

import datetime as dt
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

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


def _passwords(people: list[dict[str, Any]], *, password: str | None) -> dict[str, tuple[str, str]]:
    """The password each account gets now, with its hash: new accounts get one (the one
    given, or a generated one); existing ones only when a password is given.

    Hashing is deliberately slow (PBKDF2), and it releases the GIL: the accounts are
    hashed side by side on every core.
    """
    existing = set(User.objects.values_list("username", flat=True))
    chosen = {
        spec["username"]: password or secrets.token_urlsafe(9)
        for spec in people
        if password or spec["username"] not in existing
    }
    with ThreadPoolExecutor() as pool:
        hashes = pool.map(make_password, chosen.values())
    return {
        username: (raw, hashed)
        for (username, raw), hashed in zip(chosen.items(), hashes, strict=True)
    }


def _account(spec: dict[str, Any], *, password: tuple[str, str] | None, domain: str) -> Any:
    user = User.objects.filter(username=spec["username"]).first()
    if user is None:
        return User.objects.create(
            username=spec["username"],
            email=f"{spec['username']}@{domain}",
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            password=password[1] if password else "",
            is_staff=spec.get("is_admin", False),
            is_superuser=spec.get("is_admin", False),
        )
    if password:
        user.password = password[1]
        user.save(update_fields=["password"])
    return user


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
    passwords = _passwords(data["people"], password=password)
    for spec in data["people"]:
        new_password = passwords.get(spec["username"])
        chosen = new_password[0] if new_password else None
        user = _account(spec, password=new_password, domain=data["email_domain"])
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
