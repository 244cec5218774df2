"""The catalog and what works it: services, SLA policies, items, articles, fulfilment
plans, queues, canned replies, desks and directory accounts, from `demo/data/`.

Keyed by natural keys (slugs, (item, key), (item, position), names, desk codes), so
seeding again changes nothing and never duplicates a row. Plans are seeded before any
request is raised, so the history's requests run them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.text import slugify

from demo.data import load
from esm.models import Department, Location
from services.actions import service_portfolio_update
from services.actions.portfolio import PORTFOLIO_FIELDS
from services.models import (
    ApprovalStep,
    Article,
    CannedReply,
    CatalogItem,
    Category,
    Desk,
    DirectoryAccount,
    Entitlement,
    FormField,
    PlanStep,
    Queue,
    Service,
    SlaPolicy,
    SlaTarget,
)

User = get_user_model()


def seed() -> None:
    departments = {department.slug: department for department in Department.objects.all()}
    users = {user.username: user for user in User.objects.all()}
    _catalog(departments, users)
    _articles(departments, users)
    _plans(departments)
    _queues(departments)
    _desks()


def _catalog(departments: dict[str, Department], users: dict[str, Any]) -> None:
    data = load("catalog")
    categories = {
        slug: Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in data["categories"].items()
    }
    services = {
        spec["slug"]: _service(spec, departments, users, categories) for spec in data["services"]
    }
    policy_of = sla_policies_seed(data["sla_policies"])
    locations = {location.slug: location for location in Location.objects.all()}

    for spec in data["items"]:
        item = CatalogItem.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "service": services[spec["service"]],
                "name": spec["name"],
                "summary": spec["summary"],
                "description": spec["description"],
                "department": departments[spec["department"]],
                "expected_days": spec.get("expected_days", 3),
                "end_to_end_hours": spec.get("end_to_end_hours"),
                "default_priority": spec.get("priority", "normal"),
                "sla_policy": policy_of[spec["department"]],
                "is_confidential": spec.get("is_confidential", False),
                "allow_on_behalf": spec.get("allow_on_behalf", False),
            },
        )[0]
        _fields(item, spec["fields"])
        for position, step in enumerate(spec.get("approvals", []), start=1):
            ApprovalStep.objects.get_or_create(
                item=item,
                position=position,
                defaults={
                    "approver": step["approver"],
                    "department": departments[step["department"]] if "department" in step else None,
                    "role": step.get("role", ""),
                    "person": users[step["person"]] if "person" in step else None,
                },
            )
        for entitlement in spec.get("entitlements", []):
            kind, value = entitlement["kind"], entitlement["value"]
            Entitlement.objects.get_or_create(
                item=item,
                department=departments[value] if kind == "department" else None,
                location=locations[value] if kind == "location" else None,
                role=value if kind == "role" else "",
            )


def sla_policies_seed(specs: list[dict[str, Any]]) -> dict[str, SlaPolicy]:
    """The SLA policies and their targets by priority; answers each department's policy,
    by department slug."""
    policy_of = {}
    for spec in specs:
        policy = SlaPolicy.objects.get_or_create(
            name=spec["name"], defaults={"description": spec["description"]}
        )[0]
        for priority, target in spec["targets"].items():
            SlaTarget.objects.get_or_create(
                policy=policy,
                priority=priority,
                defaults={
                    "response_minutes": target["response"],
                    "resolution_minutes": target["resolution"],
                },
            )
        policy_of.update(dict.fromkeys(spec["departments"], policy))
    return policy_of


def _service(
    spec: dict[str, Any],
    departments: dict[str, Department],
    users: dict[str, Any],
    categories: dict[str, Category],
) -> Service:
    """A service and, the first time, its portfolio entry through the portal's action."""
    service, created = Service.objects.get_or_create(
        slug=spec["slug"],
        defaults={
            "name": spec["name"],
            "outcome": spec["outcome"],
            "department": departments[spec["department"]],
            "owner": users[spec["owner"]],
            "category": categories[spec["category"]],
        },
    )
    if created:
        # Name, outcome and owner went in above; the rest of the entry is the portfolio's.
        entry = {
            name: spec[name] for name in PORTFOLIO_FIELDS - {"outcome", "owner"} if name in spec
        }
        if "fixed_yearly_cost" in entry:
            entry["fixed_yearly_cost"] = Decimal(entry["fixed_yearly_cost"])
        service = service_portfolio_update(
            service=service, by=service.owner, changes=entry, claims=spec.get("claims", {})
        )
    return service


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _fields(item: CatalogItem, fields: list[dict[str, Any]]) -> None:
    """`show_when` is [key of an earlier field of the same item, value]."""
    by_key: dict[str, FormField] = {}
    for position, spec in enumerate(fields, start=1):
        controller, value = spec.get("show_when", ("", ""))
        by_key[spec["key"]] = FormField.objects.get_or_create(
            item=item,
            key=spec["key"],
            defaults={
                "label": spec["label"],
                "kind": spec.get("kind", FormField.Kind.TEXT),
                "required": spec.get("required", False),
                "help_text": spec.get("help", ""),
                "position": position * 10,
                "choices": "\n".join(spec.get("choices", [])),
                "min_value": _decimal(spec.get("min")),
                "max_value": _decimal(spec.get("max")),
                "pattern": spec.get("pattern", ""),
                "pattern_message": spec.get("pattern_message", ""),
                "show_when_field": by_key[controller] if controller else None,
                "show_when_value": value,
            },
        )[0]


def _articles(departments: dict[str, Department], users: dict[str, Any]) -> None:
    items = {item.slug: item for item in CatalogItem.objects.all()}
    for spec in load("articles")["articles"]:
        article, created = Article.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "title": spec["title"],
                "body": spec["body"],
                "department": departments[spec["department"]],
                "author": users[spec["author"]],
                "status": (
                    Article.Status.PUBLISHED
                    if spec.get("published", True)
                    else Article.Status.DRAFT
                ),
            },
        )
        if created:
            article.related_items.set([items[slug] for slug in spec["items"]])


def _plans(departments: dict[str, Department]) -> None:
    plans = load("plans")["plans"]
    items = {item.slug: item for item in CatalogItem.objects.filter(slug__in=plans)}
    for slug, plan in plans.items():
        item = items.get(slug)
        if item is None or item.plan_steps.exists():
            continue
        steps = {}
        for position, spec in enumerate(plan["steps"]):
            condition_field, condition_value = spec.get("when", ("", ""))
            steps[spec["key"]] = PlanStep.objects.create(
                item=item,
                key=spec["key"],
                name=spec["name"],
                kind=spec.get("kind", PlanStep.Kind.AUTOMATED),
                department=departments[spec["department"]],
                action=spec.get("action", ""),
                params=spec.get("params", {}),
                condition_field=condition_field,
                condition_value=condition_value,
                position=position,
            )
        for spec in plan["steps"]:
            steps[spec["key"]].after.set([steps[key] for key in spec.get("after", [])])


def _queues(departments: dict[str, Department]) -> None:
    """The designed queues. A department's fallback queue (the one the actions create
    when a request arrives before any queue exists) becomes its designed default."""
    data = load("workplace")
    for spec in data["queues"]:
        department = departments.get(spec["department"])
        if department is None or Queue.objects.filter(slug=spec["slug"]).exists():
            continue
        is_default = spec.get("is_default", False)
        fallback = Queue.objects.filter(
            department=department, slug=f"{department.slug}-requests", is_default=True
        ).first()
        if is_default and fallback is not None:
            fallback.slug, fallback.name = spec["slug"], spec["name"]
            fallback.description = spec["description"]
            fallback.save(update_fields=["slug", "name", "description"])
            continue
        has_default = Queue.objects.filter(department=department, is_default=True).exists()
        Queue.objects.create(
            department=department,
            slug=spec["slug"],
            name=spec["name"],
            description=spec["description"],
            is_default=is_default and not has_default,
        )
    for slug, replies in data["canned_replies"].items():
        if slug in departments:
            for reply in replies:
                CannedReply.objects.get_or_create(
                    department=departments[slug],
                    title=reply["title"],
                    defaults={"body": reply["body"]},
                )


def _desks() -> None:
    for slug, spec in load("workplace")["desks"].items():
        location = Location.objects.filter(slug=slug).first()
        if location is None or location.desks.exists():
            continue
        Desk.objects.bulk_create(
            Desk(location=location, floor=str(floor), code=f"{floor}-{number:02d}")
            for floor in range(1, spec["floors"] + 1)
            for number in range(1, spec["per_floor"] + 1)
        )


def seed_directory_accounts() -> None:
    """Everyone in the demo enterprise already has a work account (new hires get theirs
    from the onboarding plan)."""
    people = (
        User.objects.filter(is_active=True, directory_accounts__isnull=True)
        .exclude(first_name="")
        .order_by("pk")
    )
    taken = set(DirectoryAccount.objects.values_list("username", flat=True))
    accounts = []
    for person in people:
        base = f"{slugify(person.first_name)}.{slugify(person.last_name)}".strip(".")
        username, suffix = base, 2
        while username in taken:
            username, suffix = f"{base}{suffix}", suffix + 1
        taken.add(username)
        accounts.append(
            DirectoryAccount(
                person=person,
                first_name=person.first_name,
                last_name=person.last_name,
                username=username,
                email=person.email,
            )
        )
    DirectoryAccount.objects.bulk_create(accounts)
