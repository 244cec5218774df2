"""Fulfilment plans of the demo catalog (work that crosses HR, IT and Facilities), and the
desks and directory accounts their automations work with.

Keyed by natural keys (item and step key, desk code, username): seeding again changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.text import slugify

from esm.models import Department, Location
from services.models import CatalogItem, Desk, DirectoryAccount, PlanStep

AUTOMATED, HUMAN = PlanStep.Kind.AUTOMATED, PlanStep.Kind.HUMAN


@dataclass(frozen=True)
class StepSpec:
    key: str
    name: str
    department: str
    kind: str = AUTOMATED
    action: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    when: tuple[str, str] | None = None


PLANS: dict[str, tuple[StepSpec, ...]] = {
    "new-hire-onboarding": (
        StepSpec(
            "hr-record", "Create the employee record", "hr", action="hr.create_employee_record"
        ),
        StepSpec(
            "it-account",
            "Create the IT account",
            "it",
            action="it.create_account",
            after=("hr-record",),
        ),
        StepSpec(
            "app-access",
            "Grant access to everyday applications",
            "it",
            action="it.grant_access",
            params={"applications": ["Microsoft 365", "Slack", "Expenses"]},
            after=("it-account",),
        ),
        StepSpec(
            "laptop",
            "Prepare the laptop",
            "it",
            kind=HUMAN,
            after=("hr-record",),
            when=("laptop_needed", "yes"),
        ),
        StepSpec(
            "desk",
            "Book a desk",
            "facilities",
            action="facilities.book_desk",
            params={"location": "answer:location"},
            after=("hr-record",),
        ),
        StepSpec(
            "badge",
            "Issue a building badge",
            "facilities",
            action="facilities.issue_badge",
            after=("hr-record",),
        ),
        StepSpec(
            "orientation",
            "Schedule the orientation",
            "hr",
            action="hr.schedule_orientation",
            after=("hr-record",),
        ),
        StepSpec(
            "welcome-pack",
            "Send the welcome pack",
            "hr",
            action="hr.send_welcome_pack",
            # The pack tells the new hire their account, desk, badge and first morning.
            after=("it-account", "desk", "badge", "orientation"),
        ),
        StepSpec(
            "tell-manager",
            "Tell the hiring manager everything is ready",
            "hr",
            action="generic.send_email",
            params={"template": "onboarding_ready", "recipient": "raised_by"},
            after=("app-access", "laptop", "desk", "badge", "orientation", "welcome-pack"),
        ),
    ),
    "password-reset": (
        StepSpec("reset", "Send a one-time sign-in link", "it", action="it.reset_password"),
    ),
    "offboarding": (
        StepSpec(
            "last-day",
            "Wait for the last working day",
            "hr",
            action="generic.wait_until",
            params={"date": "answer:last_day"},
        ),
        StepSpec(
            "disable-account",
            "Disable the IT account",
            "it",
            action="it.disable_account",
            params={"person": "answer:leaver"},
            after=("last-day",),
        ),
        StepSpec("recover-laptop", "Recover the laptop", "it", kind=HUMAN),
        StepSpec(
            "release-desk",
            "Release the desk",
            "facilities",
            action="facilities.release_desk",
            params={"person": "answer:leaver"},
            after=("last-day",),
        ),
        StepSpec(
            "deactivate-badge",
            "Deactivate the badge",
            "facilities",
            action="facilities.deactivate_badge",
            params={"person": "answer:leaver"},
            after=("last-day",),
        ),
    ),
    "desk-move": (
        StepSpec(
            "new-desk",
            "Book the new desk",
            "facilities",
            action="facilities.book_desk",
            params={
                "location": "answer:to_location",
                "starts_on": "answer:move_date",
                "replace_current": "yes",
            },
        ),
        StepSpec("move-equipment", "Move the equipment", "it", kind=HUMAN, after=("new-desk",)),
    ),
}


# Desks per office: (floors, desks per floor).
DESKS = {"london": (3, 12), "manchester": (2, 8)}


def seed_desks() -> None:
    for slug, (floors, per_floor) in DESKS.items():
        location = Location.objects.filter(slug=slug).first()
        if location is None or location.desks.exists():
            continue
        Desk.objects.bulk_create(
            Desk(location=location, floor=str(floor), code=f"{floor}-{number:02d}")
            for floor in range(1, floors + 1)
            for number in range(1, per_floor + 1)
        )


def seed_directory_accounts() -> None:
    """Everyone in the demo enterprise already has a work account (new hires get theirs
    from the onboarding plan)."""
    people = (
        get_user_model()
        .objects.filter(is_active=True, directory_accounts__isnull=True)
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


def seed_plans() -> None:
    departments = {department.slug: department for department in Department.objects.all()}
    items = {item.slug: item for item in CatalogItem.objects.filter(slug__in=PLANS)}
    for slug, specs in PLANS.items():
        item = items.get(slug)
        if item is None or item.plan_steps.exists():
            continue
        steps = {}
        for position, spec in enumerate(specs):
            condition_field, condition_value = spec.when or ("", "")
            steps[spec.key] = PlanStep.objects.create(
                item=item,
                key=spec.key,
                name=spec.name,
                kind=spec.kind,
                department=departments[spec.department],
                action=spec.action,
                params=spec.params,
                condition_field=condition_field,
                condition_value=condition_value,
                position=position,
            )
        for spec in specs:
            steps[spec.key].after.set([steps[key] for key in spec.after])
