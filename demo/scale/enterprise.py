"""The enterprise at scale: the demo's enterprise and catalog (through the demo's own
seeding), seven more departments with their calendars, queues, SLA policies, services and
items (`demo/data/scale.toml`), then tens of thousands of people written with COPY.

Every person has a manager (a tree of about eight reports each under the department's
head), a department, a location and a start date; agents and managers hold department
roles in proportion to the department's size.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Max

from demo import catalog, enterprise, journeys, reporting, valuestreams
from demo.data import load
from demo.scale.copy import Table, flag, num, text, ts
from esm.models import (
    BusinessCalendar,
    Department,
    DepartmentRole,
    Holiday,
    Location,
    Profile,
    WorkingPeriod,
)
from services.models import CatalogItem, Queue, Service

User = get_user_model()

# People each manager has, at most, in the generated tree.
REPORTS_PER_MANAGER = 8
# One department manager (role) per this many agents, at least two per department.
AGENTS_PER_MANAGER = 10
MIN_AGENTS = 5


@dataclass
class People:
    """Who is who, by user id: what the request generator draws from."""

    ids: list[int] = field(default_factory=list)
    manager_of: dict[int, int | None] = field(default_factory=dict)
    agents: dict[int, list[int]] = field(default_factory=dict)  # department id -> user ids
    managers: dict[int, list[int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # full names, for approval labels
    created: int = 0


def seed_catalog() -> None:
    """The demo's enterprise, catalog, value streams, journeys and reports, then the
    departments, queues and items the demo leaves out (ORM: a few hundred rows)."""
    enterprise.seed()
    catalog.seed()
    valuestreams.seed()
    journeys.seed()
    reporting.seed()
    _more_departments()


def _more_departments() -> None:
    data = load("scale")
    holidays = load("enterprise")["holidays"]
    calendars = {}
    for spec in data["calendars"]:
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=spec["name"], defaults={"time_zone": "Europe/London"}
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
        calendars[spec["name"]] = calendar
    for slug, spec in data["departments"].items():
        Department.objects.get_or_create(
            slug=slug,
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "calendar": calendars.get(spec.get("calendar", "")),
            },
        )
    departments = {department.slug: department for department in Department.objects.all()}
    for spec in data["queues"]:
        Queue.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "department": departments[spec["department"]],
                "name": spec["name"],
                "description": spec["description"],
                "is_default": not Queue.objects.filter(
                    department=departments[spec["department"]], is_default=True
                ).exists(),
            },
        )
    policy_of = catalog.sla_policies_seed(data["sla_policies"])
    services = {
        spec["slug"]: Service.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "outcome": spec["outcome"],
                "department": departments[spec["department"]],
            },
        )[0]
        for spec in data["services"]
    }
    for spec in data["items"]:
        CatalogItem.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "service": services[spec["service"]],
                "name": spec["name"],
                "summary": spec["summary"],
                "department": departments[spec["department"]],
                "expected_days": spec["expected_days"],
                "default_priority": spec.get("priority", "normal"),
                "sla_policy": policy_of[spec["department"]],
            },
        )
        if spec.get("approval"):
            item = CatalogItem.objects.get(slug=spec["slug"])
            item.approval_steps.get_or_create(
                position=1, defaults={"approver": "requester_manager"}
            )


def seed_people(*, count: int, rng: random.Random, now: dt.datetime) -> People:
    """`count` people in all (the demo's accounts included), written with COPY."""
    data = load("scale")
    departments = {department.slug: department for department in Department.objects.all()}
    locations = list(Location.objects.order_by("slug").values_list("id", flat=True))
    people = People()
    existing = list(
        Profile.objects.select_related("user")
        .order_by("user_id")
        .values_list("user_id", "department_id", "manager_id")
    )
    for user_id, _department_id, manager_id in existing:
        people.ids.append(user_id)
        people.manager_of[user_id] = manager_id
    for user in User.objects.filter(pk__in=people.ids):
        people.names[user.pk] = user.get_full_name() or user.get_username()
    heads = {department.pk: department.head_id for department in departments.values()}
    top = User.objects.filter(username="erin").values_list("pk", flat=True).first()

    users = Table(
        User,
        [
            "id",
            "password",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ],
    )
    profiles = Table(
        Profile,
        [
            "id",
            "user",
            "department",
            "manager",
            "job_title",
            "location",
            "start_date",
            "is_executive",
            "external_id",
        ],
    )
    roles = Table(DepartmentRole, ["id", "user", "department", "role", "source"])
    next_user = (User.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    next_profile = (Profile.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    next_role = (DepartmentRole.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    joined = ts(int(now.timestamp()) - 3 * 365 * 86400)

    weights = data["department_weights"]
    total_weight = sum(weights.values())
    to_make = max(0, count - len(existing))
    slugs = sorted(weights)
    sizes = {slug: int(to_make * weights[slug] / total_weight) for slug in slugs}
    sizes[slugs[0]] += to_make - sum(sizes.values())
    first_names, last_names = data["first_names"], data["last_names"]
    titles = data["job_titles"]
    staff_roles = {(role.user_id, role.department_id) for role in DepartmentRole.objects.all()}
    for slug in slugs:
        department = departments[slug]
        members: list[int] = []
        head = heads.get(department.pk)
        for index in range(sizes[slug]):
            user_id = next_user
            next_user += 1
            first, last = rng.choice(first_names), rng.choice(last_names)
            username = f"{first.lower()}.{last.lower()}.{user_id}"
            if head is None:
                head, manager, title, executive = (
                    user_id,
                    top,
                    data["departments"][slug]["head_title"],
                    True,
                )
                Department.objects.filter(pk=department.pk).update(head_id=user_id)
            else:
                # A tree under the head: the department's n-th person reports to its
                # (n // 8)-th, so every manager has at most eight reports.
                manager = (
                    members[(len(members)) // REPORTS_PER_MANAGER - 1]
                    if len(members) >= REPORTS_PER_MANAGER
                    else head
                )
                title = (
                    "Manager" if index < sizes[slug] // REPORTS_PER_MANAGER else rng.choice(titles)
                )
                executive = False
            members.append(user_id)
            users.add(
                str(user_id),
                "!scale",
                "f",
                username,
                first,
                last,
                f"{username}@{data['email_domain']}",
                "f",
                "t",
                joined,
            )
            start = now.date() - dt.timedelta(days=rng.randrange(30, 3650))
            profiles.add(
                str(next_profile),
                str(user_id),
                str(department.pk),
                num(manager),
                text(title),
                str(rng.choice(locations)),
                start.isoformat(),
                flag(executive),
                "",
            )
            next_profile += 1
            people.ids.append(user_id)
            people.manager_of[user_id] = manager
            people.names[user_id] = f"{first} {last}"
        per_thousand = data["agents_per_thousand"].get(slug, 0)
        wanted = max(MIN_AGENTS, round(count * per_thousand / 1000))
        candidates = members[len(members) // REPORTS_PER_MANAGER :] or members
        agents = rng.sample(candidates, min(wanted, len(candidates)))
        managers = agents[: max(2, len(agents) // AGENTS_PER_MANAGER)]
        for user_id in agents:
            roles.add(str(next_role), str(user_id), str(department.pk), "agent", "by_hand")
            next_role += 1
        for user_id in managers:
            if (user_id, department.pk) not in staff_roles:
                roles.add(str(next_role), str(user_id), str(department.pk), "manager", "by_hand")
                next_role += 1
        people.created += len(members)
    users.flush()
    profiles.flush()
    roles.flush()
    for department_id, user_id, role in DepartmentRole.objects.values_list(
        "department_id", "user_id", "role"
    ).order_by("department_id", "user_id"):
        bucket = people.agents if role == DepartmentRole.Role.AGENT else people.managers
        bucket.setdefault(department_id, []).append(user_id)
    for department in departments.values():
        # A department whose agents were all given by the demo still has someone.
        people.agents.setdefault(department.pk, list(people.managers.get(department.pk, [])))
    return people
