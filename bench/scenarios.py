"""What `make bench` asks of the portal: who signs in, and which pages and posts they time.

Every object is picked from the database the bench runs on (the largest queue, a request
the busiest employee raised, an item whose form the bench can fill in...), so the same
scenarios run on a demo enterprise and on a million seeded requests. Runs inside Django.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse

from esm import clock, kept_queries
from esm.models import DepartmentRole, Event, Profile
from esm.permissions import can, staff_department_ids
from journeys.models import JourneyMap
from reporting.models import Report
from services import actions, selectors
from services.forms import YES, RequestForm
from services.models import Approval, CatalogItem, FormField, FulfilmentTask, Queue, ServiceRequest
from valuestreams.models import ValueStream

# Queue pages show this many tasks (services.views.workspace.TASKS_PER_PAGE).
TASKS_PER_PAGE = 25
# What the requests the bench submits are known by (their form's submission key begins so).
SUBMISSION_KEY_PREFIX = "bench-"
# Who is asked first when a page is read by whoever may: the audience the page is for.
READERS = ("executive", "manager", "agent", "employee", "admin")


@dataclass(frozen=True)
class Scenario:
    """One timed request: GET `url`, or POST the form `data()` builds (fresh each time)."""

    name: str
    role: str
    url: str
    data: Callable[[], dict[str, Any]] | None = None
    ok: frozenset[int] = frozenset({200})

    @property
    def method(self) -> str:
        return "POST" if self.data else "GET"


@dataclass
class Plan:
    accounts: dict[str, str]
    """role -> username; every account signs in with the bench's password."""
    scenarios: list[Scenario]
    floor_sql: tuple[str, tuple[Any, ...]]
    """The queue page's main query (its first page's ids, sorted), as SQL and parameters."""
    notes: list[str] = field(default_factory=list)


class NothingToBench(Exception):
    """The database lacks what a scenario needs (no requests, no queue with work...)."""


def plan(*, password: str) -> Plan:
    """Pick the people and objects, give the accounts `password`, build the scenarios."""
    people = _people()
    employee, agent = people["employee"], people["agent"]
    queue = _largest_queue()
    notes: list[str] = []

    # The last page of the largest queue, as its agent sees it (deep pages sort everything
    # before the offset: the trap this scenario is for).
    tasks = selectors.queue_tasks(queue=queue, viewer=agent, filters={}).qs
    last_page = max(1, -(-tasks.count() // TASKS_PER_PAGE))
    task = tasks.first()
    if task is None:
        raise NothingToBench(f"The largest queue, {queue}, has no open task.")
    own_request = newest_request_of(employee)
    if own_request is None:
        raise NothingToBench(f"{employee} raised no request but those of the bench.")
    form_item, answers = _fillable_item(employee)
    stream, journey = _first_readable("valuestreams.view_stream", people), _first_journey(people)
    search_word = form_item.name.split()[0]

    def submit() -> dict[str, Any]:
        return answers | {"submission_key": f"{SUBMISSION_KEY_PREFIX}{uuid.uuid4().hex}"}

    def reader(permission: str, obj: Any = None) -> str:
        for role in READERS:
            if (
                can(people[role], permission, obj)
                if obj is not None
                else can(people[role], permission)
            ):
                return role
        raise NothingToBench(f"Nobody the bench signs in as may {permission} {obj or ''}.")

    # The floor page is served only under BENCH (esm/urls.py); load tests run without it.
    floor = [Scenario("no-op (floor)", "employee", reverse("bench_noop"))] if settings.BENCH else []
    scenarios = [
        *floor,
        Scenario("portal home", "employee", reverse("home")),
        Scenario("catalog search", "employee", f"{reverse('home')}?q={search_word}"),
        Scenario("item form", "employee", reverse("catalog_item", args=[form_item.slug])),
        Scenario(
            "submit",
            "employee",
            reverse("catalog_item", args=[form_item.slug]),
            data=submit,
            ok=frozenset({302}),
        ),
        Scenario("my requests", "employee", reverse("my_requests")),
        Scenario(
            "request detail",
            "employee",
            reverse("request_detail", args=[own_request.reference]),
        ),
        Scenario("approvals", "approver", reverse("approvals")),
        Scenario("queue list", "agent", reverse("queue_list")),
        Scenario("queue, first page", "agent", reverse("queue_detail", args=[queue.slug])),
        Scenario(
            "queue, last page",
            "agent",
            f"{reverse('queue_detail', args=[queue.slug])}?page={last_page}",
        ),
        Scenario(
            "take next",
            "agent",
            reverse("queue_take_next", args=[queue.slug]),
            data=dict,
            ok=frozenset({302}),
        ),
        Scenario("task page", "agent", reverse("task_detail", args=[task.pk])),
        Scenario(
            "department overview",
            "manager",
            reverse("department_overview", args=[queue.department.slug]),
        ),
        Scenario(
            "value-stream list", reader("valuestreams.view_streams"), reverse("valuestream_list")
        ),
        Scenario(
            "value-stream map",
            reader("valuestreams.view_stream", stream),
            reverse("valuestream_map", args=[stream.slug]),
        ),
        Scenario(
            "journey map",
            reader("journeys.view_journey", journey),
            reverse("journey_map", args=[journey.slug]),
        ),
    ]
    for report in Report.objects.select_related("audience").order_by("audience__name", "name"):
        try:
            role = reader("reporting.view_report", report)
        except NothingToBench as missing:
            notes.append(str(missing))
            continue
        scenarios.append(
            Scenario(
                f"dashboard: {report.audience.name}"[:48],
                role,
                reverse("report_dashboard", args=[report.slug]),
            )
        )
    scenarios += [
        Scenario("portfolio", reader("reporting.view_portfolio"), reverse("portfolio")),
        Scenario(
            "collaboration map",
            reader("reporting.view_collaboration"),
            reverse("collaboration_map"),
        ),
        Scenario(
            "stream export (CSV)",
            reader("valuestreams.view_stream", stream),
            reverse("valuestreams-api:stream-export-csv", args=[stream.slug]),
        ),
        Scenario("API: my requests", "employee", reverse("api:requests")),
        Scenario("API: queue tasks", "agent", reverse("api:queue-tasks", args=[queue.slug])),
    ]

    _set_passwords(people, password)
    # The unfiltered page's sort and slice, as it runs them: its ids
    # (`selectors.urgent_task_ids`, its text kept), then 25 rows by id.
    page_query = kept_queries.at(
        selectors.urgent_task_ids_query(
            slice(0, TASKS_PER_PAGE),
            staff_of=tuple(sorted(staff_department_ids(agent))),
            queue_id=queue.pk,
        ),
        now=clock.now(),
        connection=connection,
    )
    return Plan(
        accounts={role: user.get_username() for role, user in people.items()},
        scenarios=scenarios,
        floor_sql=page_query,
        notes=notes,
    )


def newest_request_of(employee: Any) -> ServiceRequest | None:
    """The employee's newest request but those the bench's "submit" raised in earlier runs:
    one of those is a request just submitted, awaiting its approval with nothing else on
    its page, and the bench timed it as the request page."""
    return (
        ServiceRequest.objects.filter(requester=employee)
        .exclude(submission_key__startswith=SUBMISSION_KEY_PREFIX)
        .order_by("-submitted_at")
        .first()
    )


def take_next_put_back() -> Callable[[], None]:
    """What puts back in the largest queue what its agent's "take next" claimed since this
    was called, through the action an agent uses (`task_unassign`); the bench calls it
    between its phases and after the run. The bench's database is kept between runs, and
    the queue holds fewer unclaimed tasks than a run sends "take next" (86 at a million
    requests): claimed and never released, they ran out within the first run, and "take
    next" then timed its empty answer while the queue pages timed a queue nobody had left
    to claim."""
    queue = _largest_queue()
    agent = _staff(queue, DepartmentRole.Role.AGENT)
    unclaimed = list(
        FulfilmentTask.objects.filter(queue=queue, assignee__isnull=True)
        .open()
        .values_list("pk", flat=True)
    )

    def put_back() -> None:
        taken = FulfilmentTask.objects.filter(pk__in=unclaimed, assignee=agent).open()
        for task in taken.order_by("pk"):
            actions.task_unassign(task=task, by=agent)

    return put_back


def database_size() -> dict[str, int]:
    return {
        "requests_in_db": ServiceRequest.objects.count(),
        "events_in_db": Event.objects.count(),
    }


def _people() -> dict[str, Any]:
    """One account per role, picked from the data: the employee who raised the most
    requests, the approver with the most waiting, staff of the largest queue, an executive
    and an administrator."""
    User = get_user_model()
    active = User.objects.filter(is_active=True)
    busiest = (
        ServiceRequest.objects.values("requester")
        .annotate(raised=Count("pk"))
        .order_by("-raised", "requester")
        .first()
    )
    if busiest is None:
        raise NothingToBench("The database holds no request.")
    queue = _largest_queue()
    agent = _staff(queue, DepartmentRole.Role.AGENT)
    manager = _staff(queue, DepartmentRole.Role.MANAGER)
    waiting = (
        Approval.objects.filter(state=Approval.State.PENDING, approver__isnull=False)
        .values("approver")
        .annotate(waiting=Count("pk"))
        .order_by("-waiting", "approver")
        .first()
    )
    executive = Profile.objects.filter(is_executive=True, user__is_active=True).order_by("pk")
    admin = active.filter(is_staff=True).order_by("pk").first()
    return {
        "employee": active.get(pk=busiest["requester"]),
        "approver": active.get(pk=waiting["approver"]) if waiting else manager,
        "agent": agent,
        "manager": manager,
        "executive": executive.first().user if executive.exists() else manager,
        "admin": admin or manager,
    }


def _largest_queue() -> Queue:
    queue = (
        Queue.objects.select_related("department")
        .annotate(open_tasks=Count("tasks", filter=Q(tasks__state__in=FulfilmentTask.OPEN_STATES)))
        .order_by("-open_tasks", "pk")
        .first()
    )
    if queue is None:
        raise NothingToBench("The database holds no queue.")
    return queue


def _staff(queue: Queue, role: str) -> Any:
    holder = (
        DepartmentRole.objects.filter(department=queue.department, role=role, user__is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    ) or (
        DepartmentRole.objects.filter(role=role, user__is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if holder is None:
        raise NothingToBench(f"Nobody holds the {role} role.")
    return holder.user


def _fillable_item(employee: Any) -> tuple[CatalogItem, dict[str, Any]]:
    """The item with the most questions that `employee` may request and the bench can
    answer (no person or attachment asked for), with a valid answer to each question."""
    items = (
        CatalogItem.objects.prefetch_related("fields")
        .annotate(questions=Count("fields"))
        .filter(questions__gt=0)
        .order_by("-questions", "pk")
    )
    for item in items:
        if not can(employee, "services.request_item", item):
            continue
        if (data := form_data(item)) is not None:
            return item, data
    raise NothingToBench("No catalog item has a form the bench can fill in.")


def form_data(item: CatalogItem) -> dict[str, Any] | None:
    """A valid answer to each of `item`'s questions and a subject (no submission key), or
    None when a question asks for what the bench cannot give (a person, a file)."""
    data = {"subject": "Bench request"} | {
        RequestForm.name_of(question): _answer(question) for question in item.fields.all()
    }
    data = {name: value for name, value in data.items() if value is not None}
    if RequestForm(data | {"submission_key": "check"}, item=item).is_valid():
        return data
    return None


def _answer(question: FormField) -> Any:
    kind = FormField.Kind
    if question.kind in (kind.TEXT, kind.LONG_TEXT):
        return None if question.pattern else "b" * max(8, int(question.min_value or 0))
    if question.kind == kind.NUMBER:
        return str(question.min_value if question.min_value is not None else 1)
    if question.kind == kind.DATE:
        return (clock.now().date() + dt.timedelta(days=30)).isoformat()
    if question.kind == kind.CHOICE:
        return question.choice_list[0] if question.choice_list else None
    if question.kind == kind.MULTI_CHOICE:
        return question.choice_list[: max(1, int(question.min_value or 1))] or None
    if question.kind == kind.YES_NO:
        return YES
    return None


def _first_readable(permission: str, people: dict[str, Any]) -> Any:
    for stream in ValueStream.objects.order_by("pk"):
        if any(can(people[role], permission, stream) for role in READERS):
            return stream
    raise NothingToBench("No value stream anyone the bench signs in as may read.")


def _first_journey(people: dict[str, Any]) -> Any:
    for journey in JourneyMap.objects.order_by("pk"):
        if any(can(people[role], "journeys.view_journey", journey) for role in READERS):
            return journey
    raise NothingToBench("No journey map anyone the bench signs in as may read.")


def _set_passwords(people: dict[str, Any], password: str) -> None:
    for user in {user.pk: user for user in people.values()}.values():
        user.set_password(password)
        user.save(update_fields=["password"])
