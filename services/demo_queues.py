"""A lively history for the department queues: a few hundred requests worked over 8 weeks.

`seed_queues()` runs after the catalog is seeded (`services.demo.seed_app`). It creates the
department queues and canned replies, a pool of demo employees, and ~300 requests raised
by them over the last eight weeks, each moved along by the real actions (approvals,
claims, replies, questions, handoffs, send-backs, resolutions, ratings, reopenings), so
that every event, SLA clock and rating is exactly what the portal would have recorded.

How the past is recorded: the actions stamp `timezone.now()`, so the stories run under a
simulated clock. `django.utils.timezone.now` is patched, and so is the default of every
model field declared `default=timezone.now` (such a default holds the original function,
which patching the module does not reach: `Event.occurred_at` is one). All stories advance
together in time order, so ids grow with time as they would have in real life. The SLA
breach sweep runs every two simulated hours (beat runs it every minute; two hours keeps
seeding fast and is close enough for a demo), and once more at the real now. A story stops
at the first step that would happen after the real now, so recent requests are still open
in whatever state they had reached. Nobody is e-mailed about the past.

Reruns change nothing: requests carry fixed submission keys, and the whole history is
skipped once any of them exists.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
import re
import zoneinfo
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from esm.calendars import Schedule, business_calendar_for
from esm.models import Department, DepartmentRole, Location, Profile
from services import actions, notifications, sla
from services.forms import RequestForm
from services.models import (
    Approval,
    CannedReply,
    CatalogItem,
    FormField,
    FulfilmentTask,
    Priority,
    Queue,
    ServiceRequest,
    SlaTarget,
)

logger = logging.getLogger(__name__)

User = get_user_model()
Kind = FormField.Kind
TaskState = FulfilmentTask.State
RequestState = ServiceRequest.State
AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER

KEY_PREFIX = "queue-seed-"
REQUEST_COUNT = 300
HISTORY_DAYS = 56
SWEEP_EVERY = dt.timedelta(hours=2)
SEED = 20261123
LONDON = zoneinfo.ZoneInfo("Europe/London")
_TIMEZONE_NOW = timezone.now  # what `default=timezone.now` fields hold


# --- Queues and canned replies ---------------------------------------------------------------


@dataclass(frozen=True)
class QueueSpec:
    department: str
    slug: str
    name: str
    description: str
    is_default: bool = False


QUEUES = [
    QueueSpec(
        "it",
        "it-service-desk",
        "IT Service Desk",
        "Everything IT that arrives from the portal: problems, devices and first triage.",
        is_default=True,
    ),
    QueueSpec(
        "it",
        "it-access",
        "IT Access",
        "Accounts, licences, VPN and admin rights, triaged here by the service desk.",
    ),
    QueueSpec("hr", "hr-cases", "HR Cases", "Joining, leaving, leave, pay and records.", True),
    QueueSpec(
        "facilities",
        "workplace",
        "Workplace",
        "Desks, badges, visitors, events and anything broken in a building.",
        is_default=True,
    ),
    QueueSpec(
        "finance",
        "finance-operations",
        "Finance Operations",
        "Expenses, purchases, suppliers, cards and budgets.",
        is_default=True,
    ),
]

CANNED_REPLIES = {
    "it": [
        (
            "Picked up",
            "Hi {name}, the service desk has picked up {reference} and is on it. "
            "We will update you here as soon as we know more.",
        ),
        (
            "Access granted",
            "Hi {name}, the access you asked for in {reference} is in place. Sign out and in "
            "again and it should appear; reply here if it does not.",
        ),
        (
            "Remote session",
            "Hi {name}, to look at {reference} we would like a quick remote session. Reply "
            "with a time that suits you today or tomorrow.",
        ),
    ],
    "hr": [
        (
            "Received in confidence",
            "Hi {name}, thank you for {reference}. Only HR can see it; a People Partner will "
            "be in touch within a working day.",
        ),
        (
            "Letter on its way",
            "Hi {name}, your letter for {reference} is signed and on its way by email.",
        ),
    ],
    "facilities": [
        (
            "Booked",
            "Hi {name}, {reference} is booked. You will find everything ready on the day.",
        ),
        (
            "Engineer on the way",
            "Hi {name}, an engineer is on the way for {reference}. Please keep the area clear "
            "until they arrive.",
        ),
        (
            "Badge ready",
            "Hi {name}, your badge for {reference} is ready to collect at reception.",
        ),
    ],
    "finance": [
        (
            "Payment scheduled",
            "Hi {name}, {reference} is approved and in Thursday's payment run.",
        ),
        (
            "Receipt needed",
            "Hi {name}, to pay {reference} we need an itemised receipt. Please attach it here.",
        ),
    ],
}


def _queues_seed(departments: dict[str, Department]) -> dict[str, Queue]:
    """The designed queues, by slug. A department's fallback queue (the one the actions
    create when a request arrives before any queue exists) becomes its designed default."""
    queues = {}
    for spec in QUEUES:
        department = departments.get(spec.department)
        if department is None:
            continue
        queue = Queue.objects.filter(slug=spec.slug).first()
        if queue is None and spec.is_default:
            fallback = Queue.objects.filter(
                department=department, slug=f"{department.slug}-requests", is_default=True
            ).first()
            if fallback is not None:
                fallback.slug, fallback.name = spec.slug, spec.name
                fallback.description = spec.description
                fallback.save(update_fields=["slug", "name", "description"])
                queue = fallback
        if queue is None:
            has_default = Queue.objects.filter(department=department, is_default=True).exists()
            queue = Queue.objects.create(
                department=department,
                slug=spec.slug,
                name=spec.name,
                description=spec.description,
                is_default=spec.is_default and not has_default,
            )
        queues[spec.slug] = queue
    for slug, replies in CANNED_REPLIES.items():
        if slug in departments:
            for title, body in replies:
                CannedReply.objects.get_or_create(
                    department=departments[slug], title=title, defaults={"body": body}
                )
    return queues


# --- The demo employees who raise the requests -----------------------------------------------


@dataclass(frozen=True)
class EmployeeSpec:
    first_name: str
    last_name: str
    department: str
    job_title: str
    location: str
    manager: str  # a username; demo employees are demo.employeeNN


def _employee(number: int) -> str:
    return f"demo.employee{number:02d}"


# Team leads (people managers) come before the people who report to them.
EMPLOYEES = [
    EmployeeSpec("Priya", "Shah", "sales", "Sales Team Lead (North)", "manchester", "sam"),
    EmployeeSpec("Tom", "Fletcher", "sales", "Sales Team Lead (South)", "london", "sam"),
    EmployeeSpec("Grace", "Owusu", "finance", "Financial Controller", "london", "fatima"),
    EmployeeSpec("Mateo", "Alvarez", "it", "Engineering Manager", "remote", "iris"),
    EmployeeSpec("Chloe", "Bennett", "sales", "Account Executive", "manchester", _employee(1)),
    EmployeeSpec("Daniel", "Novak", "sales", "Account Executive", "manchester", _employee(1)),
    EmployeeSpec("Aisha", "Khan", "sales", "Sales Development Rep", "manchester", _employee(1)),
    EmployeeSpec("Liam", "O'Connor", "sales", "Account Manager", "remote", _employee(1)),
    EmployeeSpec("Sofia", "Rossi", "sales", "Sales Development Rep", "manchester", _employee(1)),
    EmployeeSpec("Ben", "Carter", "sales", "Account Executive", "manchester", _employee(1)),
    EmployeeSpec("Hannah", "Schmidt", "sales", "Account Executive", "london", _employee(2)),
    EmployeeSpec("Oliver", "Grant", "sales", "Account Manager", "london", _employee(2)),
    EmployeeSpec("Yuki", "Tanaka", "sales", "Sales Operations Analyst", "london", _employee(2)),
    EmployeeSpec("Ethan", "Price", "sales", "Sales Development Rep", "london", _employee(2)),
    EmployeeSpec("Zara", "Ahmed", "sales", "Account Executive", "remote", _employee(2)),
    EmployeeSpec("Lucas", "Dubois", "sales", "Solutions Consultant", "london", _employee(2)),
    EmployeeSpec("Maya", "Patel", "sales", "Customer Success Manager", "london", "sam"),
    EmployeeSpec("Noah", "Williams", "sales", "Customer Success Manager", "manchester", "sam"),
    EmployeeSpec("Isla", "Murray", "sales", "Bid Manager", "london", "sam"),
    EmployeeSpec("Ravi", "Menon", "finance", "Financial Analyst", "london", _employee(3)),
    EmployeeSpec(
        "Emma", "Larsen", "finance", "Accounts Receivable Clerk", "manchester", _employee(3)
    ),
    EmployeeSpec("Kofi", "Mensah", "finance", "Payroll Specialist", "manchester", _employee(3)),
    EmployeeSpec("Julia", "Kowalczyk", "finance", "FP&A Analyst", "london", _employee(3)),
    EmployeeSpec("Samuel", "Reid", "finance", "Procurement Officer", "london", "fatima"),
    EmployeeSpec("Leah", "Cohen", "it", "Software Engineer", "remote", _employee(4)),
    EmployeeSpec("Arjun", "Nair", "it", "Software Engineer", "london", _employee(4)),
    EmployeeSpec("Freya", "Hughes", "it", "Data Engineer", "manchester", _employee(4)),
    EmployeeSpec("Jack", "Thompson", "it", "Network Engineer", "manchester", "iris"),
    EmployeeSpec("Nadia", "Haddad", "it", "Product Designer", "london", _employee(4)),
    EmployeeSpec("Omar", "Farouk", "it", "QA Engineer", "remote", _employee(4)),
    EmployeeSpec("Ella", "Walsh", "hr", "Recruiter", "london", "holly"),
    EmployeeSpec("George", "Evans", "hr", "Learning and Development Lead", "london", "holly"),
    EmployeeSpec("Mia", "Jensen", "hr", "HR Administrator", "manchester", "holly"),
    EmployeeSpec("Ibrahim", "Sow", "facilities", "Receptionist", "london", "fred"),
    EmployeeSpec("Ruby", "Clarke", "facilities", "Maintenance Technician", "manchester", "fred"),
    EmployeeSpec("Felix", "Young", "facilities", "Office Assistant", "london", "fred"),
    EmployeeSpec("Anya", "Petrova", "finance", "Accounts Payable Clerk", "london", "fatima"),
    EmployeeSpec("Sean", "Doyle", "sales", "Partner Manager", "remote", "sam"),
    EmployeeSpec("Leila", "Rahimi", "sales", "Marketing Executive", "london", "sam"),
    EmployeeSpec("Victor", "Lindgren", "sales", "Sales Engineer", "manchester", _employee(1)),
]


def _employees_seed(departments: dict[str, Department]) -> list[Any]:
    locations = {location.slug: location for location in Location.objects.all()}
    people = {user.username: user for user in User.objects.filter(is_active=True)}
    created = []
    for number, spec in enumerate(EMPLOYEES, start=1):
        username = _employee(number)
        user = people.get(username)
        if user is None:
            user = User.objects.create_user(
                username=username,
                email=f"{spec.first_name}.{spec.last_name}@example.com".lower().replace("'", ""),
                first_name=spec.first_name,
                last_name=spec.last_name,
                password=None,  # unusable: the demo employees never sign in
            )
            people[username] = user
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "department": departments.get(spec.department),
                "manager": people.get(spec.manager),
                "job_title": spec.job_title,
                "location": locations.get(spec.location),
                "start_date": dt.date(2023, 3, 1) + dt.timedelta(days=37 * number),
            },
        )
        created.append(user)
    return created


# --- Answering each item's form --------------------------------------------------------------

# Items left out: each `services.demo` request stays the only one of its item that the
# demo's own tests look up by item (parental leave). Items with a fulfilment plan are left
# out too: their automated steps run on workers after the seeding transaction commits,
# long after the simulated clock has stopped, so their history could not be told in order.
SKIPPED_ITEMS = {"parental-leave"}

# How often each item is asked for; items not named here (added later) weigh 2.
ITEM_WEIGHTS = {
    "password-reset": 14,
    "report-an-it-problem": 16,
    "software-access": 10,
    "vpn-access": 5,
    "shared-mailbox": 4,
    "admin-rights": 4,
    "new-laptop": 5,
    "mobile-phone": 3,
    "monitor-and-peripherals": 6,
    "new-hire-onboarding": 8,
    "offboarding": 4,
    "raise-a-workplace-concern": 3,
    "flexible-working": 3,
    "training-course": 4,
    "employment-letter": 5,
    "update-personal-details": 5,
    "payslip-question": 5,
    "desk-move": 6,
    "building-badge": 6,
    "parking-permit-manchester": 3,
    "event-space": 3,
    "visitor-access": 6,
    "report-a-facilities-issue": 10,
    "workstation-assessment": 3,
    "expense-claim": 12,
    "purchase-request": 5,
    "new-supplier": 3,
    "corporate-credit-card": 1,
    "team-budget-approval": 2,
    "invoice-query": 4,
}
# Raised by people managers only, though the catalog lets anyone ask.
MANAGER_ITEMS = {"new-hire-onboarding", "offboarding", "team-budget-approval"}

SUBJECTS = {
    "password-reset": [
        "Locked out after my holiday",
        "Password expired overnight",
        "Can't sign in",
    ],
    "report-an-it-problem": [
        "Laptop will not wake from sleep",
        "Outlook keeps crashing",
        "Wi-Fi drops on the third floor",
        "Teams has no sound",
        "Screen flickering on the dock",
    ],
    "software-access": ["Licence for {application}", "Need {application} for my role"],
    "vpn-access": ["VPN for working abroad", "VPN will not connect from home"],
    "shared-mailbox": ["Team inbox for the region", "Add the new starters to our list"],
    "admin-rights": ["Admin rights to install a driver", "Install a dev tool"],
    "new-laptop": ["Replacement for a broken laptop", "New laptop: {model}"],
    "mobile-phone": ["Company phone for on-call", "SIM for my phone"],
    "monitor-and-peripherals": ["Second screen and a dock", "Headset for calls"],
    "new-hire-onboarding": [
        "{first_name} {last_name} joins as {role}",
        "New starter: {first_name}",
    ],
    "offboarding": ["Leaver on {last_day}", "Offboarding a team member"],
    "raise-a-workplace-concern": ["A concern about my team", "Something I need to raise"],
    "flexible-working": ["Compressed week from {from_date}", "Change to my working days"],
    "training-course": ["{course}", "Course: {course}"],
    "employment-letter": ["Letter for my mortgage", "Employment letter for a visa"],
    "update-personal-details": ["New address", "New bank account for salary"],
    "payslip-question": ["Overtime missing in {period}", "Tax code looks wrong ({period})"],
    "desk-move": ["Move to sit with my team", "Desk move to {to_location}"],
    "building-badge": ["Lost my badge", "Badge stopped working"],
    "parking-permit-manchester": ["Parking in Manchester", "Parking permit for {registration}"],
    "event-space": ["Team day in {office}", "Quarterly kick-off room"],
    "visitor-access": ["Visitor from {company}", "Guest on {date}"],
    "report-a-facilities-issue": [
        "Heating not working",
        "Leak in the kitchen",
        "Broken chair",
        "Lights out in a meeting room",
        "Lift out of order",
    ],
    "workstation-assessment": ["Back pain at my desk", "Home desk set-up check"],
    "expense-claim": ["Train to a customer", "Hotel for the conference", "Client dinner"],
    "purchase-request": ["Purchase order for {supplier}", "Licences from {supplier}"],
    "new-supplier": ["Set up {supplier}", "New supplier: {supplier}"],
    "corporate-credit-card": ["Company card for travel bookings"],
    "team-budget-approval": ["Budget for a new hire in {quarter}", "Budget transfer {quarter}"],
    "invoice-query": ["{supplier} says they are unpaid", "Invoice {invoice_number} looks wrong"],
}

FIRST_NAMES = ["Jordan", "Alina", "Marcus", "Sienna", "Tariq", "Elena", "Callum", "Nina"]
LAST_NAMES = ["Lee", "Brooks", "Ferreira", "Nowak", "Hall", "Osei", "Keane", "Varga"]
COMPANIES = ["Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Tailspin"]

TEXT_SAMPLES = {
    "countries": ["Spain, two weeks in spring", "Germany for a customer visit", "Portugal, 5 days"],
    "first_name": FIRST_NAMES,
    "last_name": LAST_NAMES,
    "role": ["Account Executive", "Financial Analyst", "Software Engineer", "Office Coordinator"],
    "where": ["2nd floor kitchen", "Meeting room 3.2", "Desk 4.17", "Car park entrance"],
    "visitor": ["Jamie Rivers", "Dana Whitfield", "Kenji Mori", "Olga Ivanova"],
    "company": COMPANIES,
    "course": ["Advanced Excel", "Negotiation skills", "AWS Cloud Practitioner", "First aid"],
    "addressed_to": ["Nationwide Mortgages", "My landlord", "UK Visas and Immigration"],
    "supplier": [f"{name} Ltd" for name in COMPANIES],
    "contact": [f"accounts@{name.lower()}.example" for name in COMPANIES],
}
LONG_SAMPLES = {
    "justification": [
        "I take over the regional pipeline reporting from next month.",
        "The new customer portal project needs it for the design reviews.",
        "I need to install the printer driver for the label printer.",
    ],
    "reason": [
        "The CRM and the intranet while visiting customers.",
        "The finance systems while working from home.",
    ],
    "members": ["chloe.bennett@example.com\ndaniel.novak@example.com"],
    "case": [
        "We have won two new accounts in the North and need a second account executive "
        "to cover them from next quarter; the hire pays back within six months.",
    ],
    "use": ["Booking travel and hotels for the team's customer visits."],
    "question": [
        "My overtime for last month is not on the payslip.",
        "The payment has been outstanding for 45 days; can you check the status?",
    ],
    "what": ["Twenty licences for the design tool, for one year."],
    "notes": ["Nothing special, thank you."],
    "symptoms": ["Lower back pain after long days at the desk."],
}
DETAIL_SAMPLES = {
    "report-an-it-problem": [
        "It started after this morning's update and happens every few minutes.",
        "Nothing happens when I open the lid; the charging light is on.",
    ],
    "raise-a-workplace-concern": ["I would rather explain this in person with HR."],
    "flexible-working": ["I would like to start later on two days for the school run."],
    "update-personal-details": ["New address: 12 Mill Lane, Manchester M4 1AA."],
    "report-a-facilities-issue": [
        "It has been like this since Monday; several people have noticed.",
        "Water is pooling on the floor next to the sink.",
    ],
}
PATTERN_SAMPLES: dict[str, Callable[[random.Random, dt.date], str]] = {
    r"CC-\d{4}": lambda rng, day: f"CC-{rng.choice([4100, 4200, 5100, 6100, 7300])}",
    r"[a-z0-9._-]+@example\.com": lambda rng, day: rng.choice(
        ["sales-north@example.com", "finance-team@example.com", "design@example.com"]
    ),
    r"[A-Z]{2}[0-9]{2} ?[A-Z]{3}": lambda rng, day: rng.choice(
        ["MA21 KLP", "BD68 XRT", "LK19 ONE"]
    ),
    r"20\d{2}-(0[1-9]|1[0-2])": lambda rng, day: (
        day.replace(day=1) - dt.timedelta(days=1)
    ).isoformat()[:7],
    r"GB\d{9}": lambda rng, day: f"GB{rng.randrange(10**8, 10**9)}",
}


class Unanswerable(Exception):
    """The item has a required field this module cannot fill in."""


def _text(rng: random.Random, item: CatalogItem, spec: FormField, day: dt.date) -> str:
    if spec.pattern:
        make = PATTERN_SAMPLES.get(spec.pattern)
        value = make(rng, day) if make else ""
        if not value or not re.fullmatch(spec.pattern, value):
            raise Unanswerable(f"{item.slug}.{spec.key}: no sample for pattern {spec.pattern!r}")
        return value
    if spec.key == "invoice_number":
        return f"INV-{rng.randrange(10000, 99999)}"
    pool = (
        DETAIL_SAMPLES.get(item.slug)
        if spec.key == "details"
        else (LONG_SAMPLES if spec.kind == Kind.LONG_TEXT else TEXT_SAMPLES).get(spec.key)
    )
    value = rng.choice(pool) if pool else f"{spec.label.rstrip('?')}: as discussed with my team."
    minimum = int(spec.min_value or 0)
    while len(value) < minimum:
        value += " It matters for the work this quarter."
    return value[: int(spec.max_value)] if spec.max_value else value


def _number(rng: random.Random, spec: FormField) -> str:
    low = spec.min_value if spec.min_value is not None else Decimal(1)
    high = spec.max_value if spec.max_value is not None else low + 100
    # Skewed towards the low end: most claims are small, most courses short.
    value = low + (high - low) * Decimal(rng.random() ** 3)
    if "amount" in spec.key or "cost" in spec.key:
        return str(max(low, value.quantize(Decimal("0.01"))))
    return str(max(int(low), min(int(high), int(value))))


def _answer(
    rng: random.Random, item: CatalogItem, spec: FormField, day: dt.date, colleagues: list[str]
) -> Any:
    """A valid answer to one field (conditional fields too: the form drops unneeded ones)."""
    kind = spec.kind
    if kind in (Kind.TEXT, Kind.LONG_TEXT):
        return _text(rng, item, spec, day)
    if kind == Kind.NUMBER:
        return _number(rng, spec)
    if kind == Kind.DATE:
        past = any(word in spec.key for word in ("spent", "effective"))
        offset = -rng.randint(1, 20) if past else rng.randint(3, 45)
        return (day + dt.timedelta(days=offset)).isoformat()
    if kind == Kind.CHOICE:
        return rng.choice(spec.choice_list)
    if kind == Kind.MULTI_CHOICE:
        options = spec.choice_list
        low = max(1, int(spec.min_value or 1))
        high = min(len(options), int(spec.max_value or 2), max(low, 2))
        return rng.sample(options, rng.randint(low, high))
    if kind == Kind.YES_NO:
        return rng.choice(["yes", "no"])
    if kind == Kind.PERSON:
        return rng.choice(colleagues)
    raise Unanswerable(f"{item.slug}.{spec.key}: {kind} fields are not answered by the demo")


def _form_data(
    rng: random.Random, item: CatalogItem, day: dt.date, colleagues: list[str]
) -> dict[str, Any]:
    data = {}
    for spec in item.fields.all():
        if spec.kind == Kind.ATTACHMENT and not spec.required:
            continue
        # Optional fields are answered about half the time, as people do.
        if spec.required or spec.show_when_field_id or rng.random() < 0.5:
            try:
                data[f"field_{spec.key}"] = _answer(rng, item, spec, day, colleagues)
            except Unanswerable:
                if spec.required or spec.show_when_field_id:
                    raise
    return data


def _subject(rng: random.Random, item: CatalogItem, data: dict[str, Any]) -> str:
    template = rng.choice(SUBJECTS.get(item.slug) or [item.name])
    values = {key.removeprefix("field_"): value for key, value in data.items()}
    try:
        return template.format(**values)[:200]
    except (KeyError, IndexError):
        return item.name


def _answerable(items: list[CatalogItem], colleagues: list[str]) -> list[CatalogItem]:
    """The items whose form this module fills in validly (checked on a few draws)."""
    rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets
    fit = []
    for item in items:
        try:
            for _ in range(3):
                data = _form_data(rng, item, dt.date(2026, 6, 1), colleagues)
                data.update(subject="check", submission_key="check")
                if not RequestForm(data=data, item=item).is_valid():
                    raise Unanswerable(item.slug)
        except Unanswerable:
            logger.info("seed_queues leaves out %s: its form cannot be answered", item.slug)
            continue
        fit.append(item)
    return fit


# --- What people say -------------------------------------------------------------------------

QUESTIONS = {
    "it": [
        "Could you send a screenshot of the error?",
        "What is the asset tag on the bottom of the laptop?",
        "When are you free for a ten-minute remote session?",
    ],
    "hr": [
        "Could you confirm the date this should take effect?",
        "Can you attach a copy of the document, please?",
    ],
    "facilities": ["Which desk number exactly?", "Is the area safe to work in for now?"],
    "finance": ["Could you attach the itemised receipt?", "Which cost centre should this go to?"],
}
ANSWERS = [
    "Attached it now, sorry!",
    "Tomorrow after 2pm works for me.",
    "Yes, from the first of next month.",
    "It is desk 3.14, by the window.",
    "Asset tag LT-20417.",
    "Cost centre CC-4100, my manager confirmed.",
]
NOTES = [
    "Checked the history: the second time this month for this person.",
    "Waiting on the supplier; chased by phone.",
    "Spoke to their manager, all agreed.",
    "Parts ordered, due in two days.",
]
RESOLUTIONS = {
    "it": [
        "Done and tested together with the employee.",
        "Licence assigned; access confirmed working.",
        "Replaced the faulty dock; both screens work.",
        "Laptop set up and handed over at the desk.",
        "Reset the profile; the problem has not come back.",
    ],
    "hr": [
        "Record updated and confirmed by email.",
        "Letter signed and sent.",
        "Agreed with the manager; the contract change is on file.",
        "Talked it through with the employee; next steps agreed.",
    ],
    "facilities": [
        "Fixed on site and checked.",
        "Booked and confirmed with the requester.",
        "Badge printed and collected at reception.",
        "Contractor repaired it; area reopened.",
    ],
    "finance": [
        "Paid in Thursday's payment run.",
        "Purchase order sent to the supplier.",
        "Supplier set up after checking their bank details.",
        "Budget change approved and loaded.",
    ],
}

# item: (queue it is handed to, how often, why)
HANDOFFS = {
    "new-hire-onboarding": (
        "it-access",
        0.8,
        "Employee record created; please set up accounts and a laptop for the start date.",
    ),
    "offboarding": (
        "it-access",
        0.7,
        "Last day confirmed; please disable the accounts and recover the laptop.",
    ),
    "desk-move": (
        "it-service-desk",
        0.6,
        "New desk booked; please move the monitors and dock on the day.",
    ),
    "software-access": ("it-access", 0.6, "Approved by both managers; licence to assign."),
    "vpn-access": ("it-access", 0.5, "Checked the laptop; VPN profile to grant."),
    "shared-mailbox": ("it-access", 0.5, "Mailbox details complete; please create it."),
    "admin-rights": ("it-access", 0.5, "Approved; time-limited admin rights to grant."),
    "training-course": ("finance-operations", 0.5, "Approved; please pay the course invoice."),
    "event-space": ("finance-operations", 0.4, "Room booked; catering needs a purchase order."),
    "report-a-facilities-issue": (
        "it-service-desk",
        0.25,
        "It is the meeting-room screen, not the building: over to IT.",
    ),
    "report-an-it-problem": (
        "workplace",
        0.15,
        "The Wi-Fi access point needs an electrician: over to Facilities.",
    ),
}
MISSING = {
    "it-access": [
        "The start date and the job title are missing; we cannot size the access.",
        "No cost centre for the licence.",
        "Which groups should the account join? Nothing is said.",
    ],
    "it-service-desk": ["Which desk number is the equipment going to?"],
    "finance-operations": ["The supplier invoice is not attached."],
    "workplace": ["Which room is it? The location is missing."],
}
RATING_COMMENTS = {
    5: ["Quick and friendly, thank you!", "Exactly what I needed.", ""],
    4: ["Good, a little slow to start.", ""],
    3: ["Fine in the end.", ""],
    2: ["Took far too long.", "I had to explain it twice to two teams."],
    1: ["Closed without actually fixing it.", "Nobody told me what was happening."],
}
# The watermelon: resolved well within its SLA, rated poorly (for the reports to find).
WATERMELON_ITEMS = {"report-an-it-problem"}


# --- The simulated clock ---------------------------------------------------------------------


@dataclass
class Clock:
    current: dt.datetime

    def now(self) -> dt.datetime:
        return self.current


@contextmanager
def _simulated(clock: Clock) -> Iterator[None]:
    """Run the actions at `clock`'s time, without sending anyone e-mail about the past."""
    real_now = {timezone.now, _TIMEZONE_NOW}
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(timezone, "now", clock.now))
        for model in apps.get_models():
            for model_field in model._meta.concrete_fields:
                if model_field.default in real_now:
                    stack.enter_context(mock.patch.object(model_field, "_get_default", clock.now))
        stack.enter_context(mock.patch.object(notifications, "schedule", _no_notification))
        yield


def _no_notification(kind: str, *args: object) -> None:
    return None


# --- The stories -----------------------------------------------------------------------------

# A story yields the moment of its next step; a part of one returns the moment it ended at.
Story = Generator[dt.datetime, None, None]
Part = Generator[dt.datetime, None, dt.datetime]


@dataclass
class World:
    real_now: dt.datetime
    queues: dict[str, Queue]
    agents: dict[int, list[Any]]
    managers: dict[int, list[Any]]
    schedules: dict[int, Schedule]
    company: Schedule
    canned: dict[int, list[CannedReply]]
    targets: dict[tuple[int, str], int]
    refused: list[str] = field(default_factory=list)

    def staff(self, rng: random.Random, department_id: int) -> Any | None:
        """Who works a task: usually an agent, sometimes the manager lends a hand."""
        agents, managers = self.agents.get(department_id, []), self.managers.get(department_id, [])
        pool = agents if agents and (rng.random() < 0.75 or not managers) else managers
        return rng.choice(pool) if pool else None

    def manager(self, department_id: int) -> Any | None:
        managers = self.managers.get(department_id)
        return managers[0] if managers else None

    def work(self, at: dt.datetime, department_id: int, minutes: float) -> dt.datetime:
        """`minutes` of the department's working time after `at`."""
        schedule = self.schedules.get(department_id, self.company)
        return schedule.add(at, dt.timedelta(minutes=minutes))

    def employee(self, at: dt.datetime, minutes: float) -> dt.datetime:
        """`minutes` of office hours after `at`: when employees answer, approve and rate."""
        return self.company.add(at, dt.timedelta(minutes=minutes))

    def resolution_minutes(self, task: FulfilmentTask) -> int:
        item = task.service_request.catalog_item
        return self.targets.get((item.sla_policy_id or 0, task.priority), item.expected_days * 510)


@dataclass(frozen=True)
class RequestPlan:
    key: str
    item: CatalogItem
    requester: Any
    submitted_at: dt.datetime
    data: dict[str, Any]
    subject: str
    seed: int


# How often work is still open now, by how much of its SLA resolution target has passed
# (in business time): (up to this share of the target, chance it is open, chance that
# nobody has even claimed it). Fresh work is mostly in hand; work near its due time is
# what the queues are busy with; a few old tasks are forgotten in the backlog.
OPEN_NOW = [
    (0.75, 0.85, 0.3),
    (1.0, 0.95, 0.0),
    (3.0, 0.35, 0.2),
    (10.0, 0.12, 0.2),
    (float("inf"), 0.04, 0.5),
]


def _stall(world: World, rng: random.Random, task: FulfilmentTask) -> str:
    """Whether the task's story stops short of the end: "" (no), "claimed" or "unclaimed"."""
    schedule = world.schedules.get(task.department_id, world.company)
    target = dt.timedelta(minutes=world.resolution_minutes(task))
    elapsed = schedule.between(task.created_at, world.real_now) / target
    for share, open_chance, unclaimed_chance in OPEN_NOW:
        if elapsed < share:
            if rng.random() >= open_chance:
                return ""
            return "unclaimed" if rng.random() < unclaimed_chance else "claimed"
    return ""


def _request_story(world: World, plan: RequestPlan) -> Story:
    rng = random.Random(plan.seed)  # noqa: S311 -- demo data, not secrets
    at = plan.submitted_at
    yield at
    form = RequestForm(data=plan.data, item=plan.item)
    if not form.is_valid():
        world.refused.append(f"{plan.key}: {form.errors.as_json()}")
        return
    service_request, created = actions.service_request_submit(
        item=plan.item,
        raised_by=plan.requester,
        subject=plan.subject,
        answers=form.answer_rows(),
        submission_key=plan.key,
    )
    if not created:
        return
    if rng.random() < 0.02:
        at = world.employee(at, rng.uniform(20, 600))
        yield at
        actions.service_request_cancel(
            service_request=service_request,
            user=plan.requester,
            reason="Sorted it out another way, thanks.",
        )
        return

    while service_request.state == RequestState.AWAITING_APPROVAL:
        approval = service_request.approvals.get(state=Approval.State.PENDING)
        approver = _approver(world, approval)
        if approver is None:
            return
        slow = rng.random() < 0.15
        at = world.employee(at, rng.uniform(600, 2400) if slow else rng.uniform(15, 480))
        yield at
        approve = rng.random() >= 0.05
        actions.approval_decide(
            approval=approval,
            user=approver,
            approve=approve,
            comment="" if approve else "Not this quarter, sorry: let's discuss it at our 1:1.",
        )
        if not approve:
            return
        service_request.refresh_from_db()

    task = service_request.tasks.order_by("-pk").first()
    if task is None:
        return
    yield from _task_story(world, rng, task, at, stall=_stall(world, rng, task))


def _approver(world: World, approval: Approval) -> Any | None:
    if approval.approver_id is not None:
        return approval.approver
    people = world.managers if approval.role == MANAGER else world.agents
    pool = people.get(approval.department_id or 0, [])
    return pool[0] if pool else None


def _claim_delay(rng: random.Random) -> float:
    """Working minutes before someone picks a task up: mostly soon, sometimes far too late."""
    roll = rng.random()
    if roll < 0.7:
        return rng.uniform(3, 90)
    if roll < 0.93:
        return rng.uniform(90, 480)
    return rng.uniform(480, 1800)


def _task_story(
    world: World, rng: random.Random, task: FulfilmentTask, at: dt.datetime, *, stall: str
) -> Story:
    """Claim, reply, maybe ask or hand off, resolve, and let the employee rate it.

    A stalled story stops before the resolution (or before anyone claims the task).
    """
    service_request = task.service_request
    item = service_request.catalog_item
    department = task.department_id
    worker = world.staff(rng, department)
    if worker is None or stall == "unclaimed":
        return  # nobody has picked it up yet

    at = world.work(at, department, _claim_delay(rng))
    yield at
    manager = world.manager(department)
    if manager is not None and manager != worker and rng.random() < 0.15:
        actions.task_assign(task=task, assignee=worker, by=manager)
    else:
        actions.task_claim(task=task, agent=worker)
    if manager is not None and rng.random() < 0.06:
        at = world.work(at, department, rng.uniform(5, 60))
        yield at
        task.refresh_from_db()
        priority = Priority.URGENT if task.priority == Priority.HIGH else Priority.HIGH
        actions.task_set_priority(task=task, by=manager, priority=priority)

    if rng.random() < 0.5 and world.canned.get(department):
        at = world.work(at, department, rng.uniform(2, 45))
        yield at
        reply = rng.choice(world.canned[department])
        actions.task_reply(task=task, agent=worker, body=reply.render(service_request))
    troubled = False
    if rng.random() < 0.18:
        troubled = True
        at = yield from _ask(world, rng, task, worker, at)
        task.refresh_from_db()
        if task.state == TaskState.WAITING_ON_EMPLOYEE:
            return  # the employee has not answered yet
    if rng.random() < 0.25:
        at = world.work(at, department, rng.uniform(10, 240))
        yield at
        actions.task_note(task=task, agent=worker, body=rng.choice(NOTES))

    factor = _resolution_factor(rng)
    finisher, finishing = worker, task
    handoff = HANDOFFS.get(item.slug)
    if handoff and _may_hand_off(world, task, handoff[0]) and rng.random() < handoff[1]:
        receiving: list[Any] = []
        at = yield from _hand_off(world, rng, task, worker, at, handoff, receiving)
        if not receiving:
            return
        finishing, finisher, sent_back = receiving
        troubled = troubled or sent_back
        factor *= 0.6  # the sender did part of the work
    if stall:
        return

    target = world.resolution_minutes(finishing)
    at = world.work(at, finishing.department_id, max(5.0, target * factor))
    yield at
    resolution = rng.choice(RESOLUTIONS.get(finishing.department.slug) or ["Done."])
    actions.task_resolve(task=finishing, agent=finisher, resolution=resolution)
    finishing.refresh_from_db()
    due = finishing.resolution_due_at
    late = due is not None and finishing.done_at is not None and finishing.done_at > due

    if rng.random() < 0.04:
        troubled = True
        at = yield from _reopen(world, rng, service_request, at)
    service_request.refresh_from_db()
    if service_request.state != RequestState.RESOLVED or rng.random() >= 0.7:
        return
    at = world.employee(at, rng.uniform(10, 900))
    yield at
    score = _score(rng, troubled=troubled or late, watermelon=item.slug in WATERMELON_ITEMS)
    actions.service_request_rate(
        service_request=service_request,
        user=service_request.requester,
        score=score,
        comment=rng.choice(RATING_COMMENTS[score]),
    )


def _may_hand_off(world: World, task: FulfilmentTask, slug: str) -> bool:
    queue = world.queues.get(slug)
    if queue is None or queue.pk == task.queue_id:
        return False
    # A confidential case stays within its department.
    return not task.service_request.is_confidential or queue.department_id == task.department_id


def _ask(
    world: World, rng: random.Random, task: FulfilmentTask, worker: Any, at: dt.datetime
) -> Part:
    """Ask the employee something; most answer within a working day or two."""
    at = world.work(at, task.department_id, rng.uniform(10, 240))
    yield at
    question = rng.choice(QUESTIONS.get(task.department.slug) or ["Could you tell us more?"])
    actions.task_ask(task=task, agent=worker, question=question)
    if rng.random() < 0.15:
        return at  # never answered: the task waits on the employee
    at = world.employee(at, rng.uniform(20, 1200))
    yield at
    service_request = task.service_request
    actions.comment_add(
        service_request=service_request, author=service_request.requester, body=rng.choice(ANSWERS)
    )
    return at


def _hand_off(
    world: World,
    rng: random.Random,
    task: FulfilmentTask,
    worker: Any,
    at: dt.datetime,
    handoff: tuple[str, float, str],
    receiving: list[Any],
) -> Part:
    """Hand the work to another queue; almost a third comes back as incomplete once.

    Fills `receiving` with (the task that finishes the work, who works it, whether it was
    sent back) once the receiving side has claimed it.
    """
    to_queue = world.queues[handoff[0]]
    at = world.work(at, task.department_id, rng.uniform(30, 600))
    yield at
    received = actions.task_hand_off(task=task, agent=worker, to_queue=to_queue, reason=handoff[2])
    receiver = world.staff(rng, to_queue.department_id)
    if receiver is None:
        return at
    at = world.work(at, to_queue.department_id, _claim_delay(rng))
    yield at
    actions.task_claim(task=received, agent=receiver)
    sent_back = rng.random() < 0.3
    if sent_back:
        at = world.work(at, to_queue.department_id, rng.uniform(10, 240))
        yield at
        missing = rng.choice(MISSING.get(to_queue.slug) or ["Details are missing."])
        actions.task_send_back(task=received, agent=receiver, missing=missing)
        at = world.work(at, task.department_id, rng.uniform(30, 600))
        yield at
        actions.task_note(
            task=task, agent=worker, body="Checked with the requester and added what was missing."
        )
        at = world.work(at, task.department_id, rng.uniform(5, 60))
        yield at
        received = actions.task_hand_off(
            task=task, agent=worker, to_queue=to_queue, reason=f"{handoff[2]} Now complete."
        )
        at = world.work(at, to_queue.department_id, _claim_delay(rng))
        yield at
        actions.task_claim(task=received, agent=receiver)
    receiving.extend([received, receiver, sent_back])
    return at


def _reopen(
    world: World, rng: random.Random, service_request: ServiceRequest, at: dt.datetime
) -> Part:
    """The employee reopens the request; its department picks it up and resolves it again."""
    at = world.employee(at, rng.uniform(60, 1500))
    yield at
    actions.service_request_reopen(
        service_request=service_request,
        user=service_request.requester,
        reason="It is happening again, sorry.",
    )
    task = service_request.tasks.select_related("department").order_by("-pk").first()
    worker = world.staff(rng, task.department_id) if task else None
    if task is None or worker is None:
        return at
    at = world.work(at, task.department_id, _claim_delay(rng))
    yield at
    actions.task_claim(task=task, agent=worker)
    at = world.work(at, task.department_id, rng.uniform(60, 900))
    yield at
    resolution = rng.choice(RESOLUTIONS.get(task.department.slug) or ["Done."])
    actions.task_resolve(task=task, agent=worker, resolution=f"Second look: {resolution}")
    return at


def _resolution_factor(rng: random.Random) -> float:
    """Share of the SLA resolution target the work takes: mostly in time, some late."""
    roll = rng.random()
    if roll < 0.75:
        return rng.uniform(0.05, 0.7)
    if roll < 0.92:
        return rng.uniform(0.7, 1.2)
    return rng.uniform(1.2, 2.5)


def _score(rng: random.Random, *, troubled: bool, watermelon: bool) -> int:
    if watermelon and rng.random() < 0.6:
        return rng.choice([1, 1, 2, 2, 3])
    weights = [12, 22, 30, 24, 12] if troubled else [2, 4, 10, 34, 50]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _sweeps(world: World, start: dt.datetime) -> Story:
    """The SLA breach sweep every SWEEP_EVERY of simulated office time.

    Due times fall in working hours, so sweeping nights and weekends would find nothing.
    """
    at = start
    while at <= world.real_now:
        at += SWEEP_EVERY
        local = at.astimezone(LONDON)
        if local.weekday() < 5 and 8 <= local.hour <= 19:
            yield at
            actions.sla_breach_sweep(now=at)


# --- Running it all --------------------------------------------------------------------------


def _submission_times(rng: random.Random, real_now: dt.datetime) -> list[dt.datetime]:
    """Spread over the last HISTORY_DAYS, mostly on weekdays in office hours, a little
    denser lately as more of the company uses the portal."""
    times = []
    for _ in range(REQUEST_COUNT):
        days_ago = HISTORY_DAYS * rng.random() ** 1.5
        local = (real_now - dt.timedelta(days=max(days_ago, 0.05))).astimezone(LONDON)
        if local.weekday() >= 5 and rng.random() < 0.85:
            local -= dt.timedelta(days=local.weekday() - 4)
        if not 8 <= local.hour < 18 and rng.random() < 0.9:
            local = local.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59))
        moment = local.astimezone(dt.UTC)
        if moment >= real_now:
            moment = real_now - dt.timedelta(minutes=rng.randint(5, 240))
        times.append(moment)
    return sorted(times)


def _plans(
    rng: random.Random, world: World, employees: list[Any], items: list[CatalogItem]
) -> list[RequestPlan]:
    entitled = {
        person.pk: set(CatalogItem.objects.entitled_to(person).values_list("pk", flat=True))
        for person in employees
    }
    leads = set(Profile.objects.filter(user__in=employees).values_list("manager_id", flat=True))
    usernames = [person.username for person in employees]
    weights = [ITEM_WEIGHTS.get(item.slug, 2) for item in items]
    plans = []
    for number, submitted_at in enumerate(_submission_times(rng, world.real_now), start=1):
        item = rng.choices(items, weights=weights)[0]
        pool = [
            person
            for person in employees
            if item.pk in entitled[person.pk]
            and (item.slug not in MANAGER_ITEMS or person.pk in leads)
        ] or [person for person in employees if item.pk in entitled[person.pk]]
        if not pool:
            continue
        requester = rng.choice(pool)
        colleagues = [name for name in usernames if name != requester.username]
        day = submitted_at.astimezone(LONDON).date()
        data = _form_data(rng, item, day, colleagues)
        subject = _subject(rng, item, data)
        data.update(subject=subject, submission_key=f"{KEY_PREFIX}{number:04d}")
        plans.append(
            RequestPlan(
                key=f"{KEY_PREFIX}{number:04d}",
                item=item,
                requester=requester,
                submitted_at=submitted_at,
                data=data,
                subject=subject,
                seed=SEED + number,
            )
        )
    return plans


def _world(real_now: dt.datetime, queues: dict[str, Queue]) -> World:
    agents: dict[int, list[Any]] = {}
    managers: dict[int, list[Any]] = {}
    for role in DepartmentRole.objects.select_related("user").order_by("user__username"):
        if role.user.is_active:
            people = agents if role.role == AGENT else managers
            people.setdefault(role.department_id, []).append(role.user)
    departments = Department.objects.select_related("calendar")
    canned: dict[int, list[CannedReply]] = {}
    for reply in CannedReply.objects.select_related("department"):
        canned.setdefault(reply.department_id, []).append(reply)
    return World(
        real_now=real_now,
        queues=queues,
        agents=agents,
        managers=managers,
        schedules={department.pk: sla.schedule_for(department) for department in departments},
        company=Schedule.of(business_calendar_for(None)),
        canned=canned,
        targets={
            (target.policy_id, target.priority): target.resolution_minutes
            for target in SlaTarget.objects.all()
        },
    )


def _run(world: World, stories: list[Story]) -> None:
    """Advance every story in time order until each ends or reaches the real now."""
    clock = Clock(world.real_now)
    pending: list[tuple[dt.datetime, int, Story]] = []

    def schedule(order: int, story: Story) -> None:
        try:
            at = next(story)
        except StopIteration:
            return
        except actions.ActionRefused as refusal:
            world.refused.append(str(refusal))
            return
        if at <= world.real_now:
            heapq.heappush(pending, (at, order, story))
        else:
            story.close()

    with _simulated(clock):
        for order, story in enumerate(stories):
            schedule(order, story)
        while pending:
            at, order, story = heapq.heappop(pending)
            clock.current = at
            schedule(order, story)
        clock.current = world.real_now
        actions.sla_breach_sweep(now=world.real_now)


@transaction.atomic
def seed_queues(*, history: bool = True) -> None:
    """Create the queues and canned replies, and (once) the demo history of the queues.

    The history takes several seconds; `history=False` leaves it out (for tests that only
    need the enterprise and its catalog).
    """
    departments = {department.slug: department for department in Department.objects.all()}
    queues = _queues_seed(departments)
    if not history or ServiceRequest.objects.filter(submission_key__startswith=KEY_PREFIX).exists():
        return
    if not queues or not all(slug in departments for slug in CANNED_REPLIES):
        logger.warning("seed_queues: the demo departments are missing; no queue history seeded")
        return
    employees = _employees_seed(departments)
    real_now = timezone.now()
    world = _world(real_now, queues)
    planned = CatalogItem.objects.filter(plan_steps__isnull=False).distinct()
    for item in planned:
        logger.info("seed_queues leaves out %s: its fulfilment plan runs on workers", item.slug)
    items = list(
        CatalogItem.objects.requestable()
        .exclude(slug__in=SKIPPED_ITEMS)
        .exclude(pk__in=planned.values("pk"))
        .select_related("department", "sla_policy")
        .prefetch_related("fields")
        .order_by("slug")
    )
    items = _answerable(items, [person.username for person in employees])
    rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets
    plans = _plans(rng, world, employees, items)
    first = min((plan.submitted_at for plan in plans), default=real_now)
    stories = [_request_story(world, plan) for plan in plans]
    stories.append(_sweeps(world, first))
    _run(world, stories)
    for refusal in world.refused:
        logger.warning("seed_queues: a demo story stopped early: %s", refusal)
