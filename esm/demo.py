"""The demo enterprise's core: locations, calendars, departments and people in every role.

`manage.py seed_demo` runs `seed()` here, then `seed_app()` of every other app's `demo`
module in INSTALLED_APPS order, so each app seeds what it owns. Everything here is keyed by
natural keys (slugs, usernames), so running it again changes nothing.
"""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

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

EMAIL_DOMAIN = "example.com"

LOCATIONS = {"london": "London HQ", "manchester": "Manchester", "remote": "Remote"}

# Bank holidays in England for the demo's two years.
HOLIDAYS = [
    (dt.date(2026, 1, 1), "New Year's Day"),
    (dt.date(2026, 4, 3), "Good Friday"),
    (dt.date(2026, 4, 6), "Easter Monday"),
    (dt.date(2026, 5, 4), "Early May bank holiday"),
    (dt.date(2026, 5, 25), "Spring bank holiday"),
    (dt.date(2026, 8, 31), "Summer bank holiday"),
    (dt.date(2026, 12, 25), "Christmas Day"),
    (dt.date(2026, 12, 28), "Boxing Day (substitute day)"),
    (dt.date(2027, 1, 1), "New Year's Day"),
    (dt.date(2027, 3, 26), "Good Friday"),
    (dt.date(2027, 3, 29), "Easter Monday"),
    (dt.date(2027, 5, 3), "Early May bank holiday"),
    (dt.date(2027, 5, 31), "Spring bank holiday"),
    (dt.date(2027, 8, 30), "Summer bank holiday"),
    (dt.date(2027, 12, 27), "Christmas Day (substitute day)"),
    (dt.date(2027, 12, 28), "Boxing Day (substitute day)"),
]

DEPARTMENTS = {
    "it": ("IT", "Laptops, accounts, software and access: the tools you work with."),
    "hr": ("HR", "Joining, leave, pay questions, wellbeing and moving on."),
    "facilities": ("Facilities", "Desks, badges, parking, buildings and anything that is broken."),
    "finance": ("Finance", "Expenses, purchases, invoices and budgets."),
    "sales": ("Sales", "Winning and keeping customers."),
}


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    job_title: str
    department: str
    location: str
    manager: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    is_executive: bool = False
    is_admin: bool = False
    describes: str = ""


AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER

# Managers come before the people who report to them.
PEOPLE = [
    DemoPerson(
        "erin",
        "Erin",
        "Okafor",
        "Chief Operating Officer",
        "finance",
        "london",
        is_executive=True,
        describes="executive",
    ),
    DemoPerson(
        "iris",
        "Iris",
        "Lindqvist",
        "Head of IT Service",
        "it",
        "london",
        manager="erin",
        roles=((("it", MANAGER)),),
        describes="IT department manager",
    ),
    DemoPerson(
        "holly",
        "Holly",
        "Adeyemi",
        "Head of People",
        "hr",
        "london",
        manager="erin",
        roles=(("hr", MANAGER),),
        describes="HR department manager",
    ),
    DemoPerson(
        "fred",
        "Fred",
        "Marsh",
        "Facilities Manager",
        "facilities",
        "manchester",
        manager="erin",
        roles=(("facilities", MANAGER),),
        describes="Facilities manager",
    ),
    DemoPerson(
        "fatima",
        "Fatima",
        "Rahman",
        "Finance Operations Lead",
        "finance",
        "london",
        manager="erin",
        roles=(("finance", MANAGER),),
        describes="Finance manager",
    ),
    DemoPerson(
        "sam",
        "Sam",
        "Patel",
        "Sales Director",
        "sales",
        "london",
        manager="erin",
        describes="line manager of Alex",
    ),
    DemoPerson(
        "ivan",
        "Ivan",
        "Ito",
        "Service Desk Analyst",
        "it",
        "manchester",
        manager="iris",
        roles=(("it", AGENT),),
        describes="IT agent",
    ),
    DemoPerson(
        "hana",
        "Hana",
        "Kowalski",
        "People Partner",
        "hr",
        "london",
        manager="holly",
        roles=(("hr", AGENT),),
        describes="HR agent",
    ),
    DemoPerson(
        "fiona",
        "Fiona",
        "Byrne",
        "Workplace Coordinator",
        "facilities",
        "london",
        manager="fred",
        roles=(("facilities", AGENT),),
        describes="Facilities agent",
    ),
    DemoPerson(
        "felix",
        "Felix",
        "Moreau",
        "Accounts Payable Specialist",
        "finance",
        "manchester",
        manager="fatima",
        roles=(("finance", AGENT),),
        describes="Finance agent",
    ),
    DemoPerson(
        "alex",
        "Alex",
        "Morgan",
        "Account Executive",
        "sales",
        "london",
        manager="sam",
        describes="employee",
    ),
    DemoPerson(
        "admin",
        "Ada",
        "Admin",
        "Platform Administrator",
        "it",
        "remote",
        manager="iris",
        is_admin=True,
        describes="administrator (Django admin)",
    ),
]


@dataclass(frozen=True)
class SeededAccount:
    username: str
    describes: str
    password: str | None  # None when the account already existed and kept its password


def _calendar(name: str, *, default: bool, opens: dt.time, closes: dt.time) -> BusinessCalendar:
    if default:
        # Whatever the company default is called now, it stays the default.
        existing = BusinessCalendar.objects.filter(is_default=True).first()
        if existing is not None:
            return existing
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=name, defaults={"time_zone": "Europe/London", "is_default": default}
    )
    if created:
        WorkingPeriod.objects.bulk_create(
            WorkingPeriod(calendar=calendar, weekday=day, starts_at=opens, ends_at=closes)
            for day in range(5)
        )
        Holiday.objects.bulk_create(
            Holiday(calendar=calendar, date=date, name=name) for date, name in HOLIDAYS
        )
    return calendar


def _person(spec: DemoPerson, *, password: str | None) -> tuple[AbstractUser, str | None]:
    user = User.objects.filter(username=spec.username).first()
    chosen = None
    if user is None:
        chosen = password or secrets.token_urlsafe(9)
        user = User.objects.create_user(
            username=spec.username,
            email=f"{spec.username}@{EMAIL_DOMAIN}",
            first_name=spec.first_name,
            last_name=spec.last_name,
            password=chosen,
            is_staff=spec.is_admin,
            is_superuser=spec.is_admin,
        )
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
        chosen = password
    return user, chosen


def seed(*, password: str | None = None) -> list[SeededAccount]:
    """Load the demo enterprise; returns the demo accounts and any password just set."""
    locations = {
        slug: Location.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in LOCATIONS.items()
    }
    _calendar("Company (UK)", default=True, opens=dt.time(9), closes=dt.time(17, 30))
    it_hours = _calendar("IT extended hours", default=False, opens=dt.time(8), closes=dt.time(18))
    departments = {}
    for slug, (name, description) in DEPARTMENTS.items():
        departments[slug] = Department.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "calendar": it_hours if slug == "it" else None,
            },
        )[0]

    accounts, users = [], {}
    for spec in PEOPLE:
        user, chosen = _person(spec, password=password)
        users[spec.username] = user
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "department": departments[spec.department],
                "manager": users.get(spec.manager) if spec.manager else None,
                "job_title": spec.job_title,
                "location": locations[spec.location],
                "start_date": dt.date(2024, 1, 8),
                "is_executive": spec.is_executive,
            },
        )
        for department, role in spec.roles:
            DepartmentRole.objects.get_or_create(
                user=user, department=departments[department], role=role
            )
        accounts.append(SeededAccount(spec.username, spec.describes, chosen))

    heads = {"it": "iris", "hr": "holly", "facilities": "fred", "finance": "fatima", "sales": "sam"}
    for slug, username in heads.items():
        Department.objects.filter(slug=slug, head__isnull=True).update(head=users[username])
    return accounts
