"""The demo's past: its own requests (`requests.toml`) and, unless left out, ten weeks of
a few hundred requests raised by the demo employees, all told as stories (`demo.stories`)
in one simulation (`demo.simulation`), so that every event, SLA clock, plan step and
rating is what the portal would have recorded, and ids grow with time.

A story stops at the first step that would happen after the real now, so recent requests
are still open in whatever state they had reached. Reruns change nothing: requests carry
fixed submission keys, those that exist are not raised again, and the generated history
is skipped once any of it exists.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import zoneinfo
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from demo import answers
from demo.data import dates_from, load
from demo.enterprise import seed_employees
from demo.simulation import Story, replaying_the_past
from demo.stories import (
    Browse,
    Raised,
    World,
    browse_story,
    plan_work,
    request_story,
    sweeps,
)
from esm import clock
from esm.calendars import Schedule, business_calendar_for
from esm.models import Department, DepartmentRole, Profile
from services import actions, sla
from services.forms import RequestForm
from services.models import (
    Article,
    CannedReply,
    CatalogItem,
    Queue,
    ServiceRequest,
    SlaTarget,
)

logger = logging.getLogger(__name__)

User = get_user_model()

KEY_PREFIX = "queue-seed-"
REQUEST_COUNT = 380
HISTORY_DAYS = 70
SEED = 20261123
LONDON = zoneinfo.ZoneInfo("Europe/London")


class DemoDataError(RuntimeError):
    """The demo data itself is wrong (e.g. an answer the item's form refuses)."""


def seed(*, history: bool = True) -> list[str]:
    """Replay the demo's past up to now; returns what the stories were refused (if any).

    Precondition: the enterprise and catalog are seeded, and no transaction is open (each
    action commits on its own, so its automated work runs at its simulated moment).
    """
    real_now = clock.now()
    scripted = [spec for spec in load("requests")["requests"] if not _exists(spec)]
    generated: list[Raised] = []
    employees: list[Any] = []
    if (
        history
        and not ServiceRequest.objects.filter(submission_key__startswith=KEY_PREFIX).exists()
    ):
        employees = seed_employees()
        generated = _raised(employees, real_now)
    starts = [_scripted_at(spec, real_now) for spec in scripted]
    starts += [raised.submitted_at for raised in generated]
    if not starts:
        return []
    start = min(starts)
    with replaying_the_past(start, real_now=real_now, seed=SEED) as simulation:
        world = _world(simulation)
        for raised in generated:
            simulation.start(request_story(world, raised))
        for browse in _browsing(generated, employees, start, real_now):
            simulation.start(browse_story(browse))
        for spec in scripted:
            simulation.start(_scripted_story(world, spec))
        simulation.start(sweeps(world, start))
        simulation.start(plan_work(world, start, SEED - 1))
        simulation.run()
        actions.sla_breach_sweep(now=real_now)
    for refusal in simulation.refused:
        logger.warning("a demo story stopped early: %s", refusal)
    return simulation.refused


# --- The demo's own requests ----------------------------------------------------------------


def _exists(spec: dict[str, Any]) -> bool:
    return ServiceRequest.objects.filter(
        raised_by__username=spec["raised_by"], submission_key=spec["key"]
    ).exists()


def _scripted_at(spec: dict[str, Any], real_now: dt.datetime) -> dt.datetime:
    """`days_ago` at the London time `at` (the Friday before, for a weekend), or "-3h"."""
    if spec["at"].startswith("-"):
        return real_now - dt.timedelta(hours=int(spec["at"][1:].rstrip("h")))
    day = real_now.astimezone(LONDON).date() - dt.timedelta(days=spec["days_ago"])
    day -= dt.timedelta(days=max(0, day.weekday() - 4))
    moment = dt.datetime.combine(day, dt.time.fromisoformat(spec["at"]), LONDON)
    return min(moment.astimezone(dt.UTC), real_now - dt.timedelta(minutes=30))


def _scripted_story(world: World, spec: dict[str, Any]) -> Story:
    users = {user.username: user for user in User.objects.all()}
    item = CatalogItem.objects.prefetch_related("fields").get(slug=spec["item"])
    at = _scripted_at(spec, world.real_now)
    yield at
    today = world.real_now.astimezone(LONDON).date()
    data = {"subject": spec["subject"], "submission_key": spec["key"]}
    for key, value in spec["answers"].items():
        answer = [dates_from(v, today) for v in value] if isinstance(value, list) else value
        data[f"field_{key}"] = dates_from(answer, today) if isinstance(answer, str) else answer
    form = RequestForm(data=data, item=item)
    if not form.is_valid():
        raise DemoDataError(f"demo request {spec['key']} ({item}): {form.errors.as_json()}")
    service_request, _ = actions.service_request_submit(
        item=item,
        raised_by=users[spec["raised_by"]],
        requester=users[spec["on_behalf_of"]] if "on_behalf_of" in spec else None,
        subject=spec["subject"],
        answers=form.answer_rows(),
        submission_key=spec["key"],
    )
    for step in spec.get("then", []):
        at = world.employee(at, step["after_minutes"])
        yield at
        _follow_up(service_request, step, users[step["by"]])
        service_request.refresh_from_db()


def _follow_up(service_request: ServiceRequest, step: dict[str, Any], user: Any) -> None:
    what, text = step["do"], step.get("text", "")
    if what in ("approve", "reject"):
        approval = service_request.approvals.get(state="pending")
        actions.approval_decide(
            approval=approval, user=user, approve=what == "approve", comment=text
        )
    elif what == "comment":
        actions.comment_add(service_request=service_request, author=user, body=text)
    elif what == "resolve":
        actions.service_request_resolve(service_request=service_request, user=user, resolution=text)
    elif what == "rate":
        actions.service_request_rate(
            service_request=service_request, user=user, score=step["score"], comment=text
        )
    else:
        raise DemoDataError(f"unknown follow-up {what!r}")


# --- The generated history ---------------------------------------------------------------------


def _submission_times(rng: random.Random, real_now: dt.datetime) -> Iterator[dt.datetime]:
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
    return iter(sorted(times))


def _raised(employees: list[Any], real_now: dt.datetime) -> list[Raised]:
    """Who asks for what, when, and how they fill in the form."""
    samples = load("history")
    usernames = [person.username for person in employees]
    items = list(
        CatalogItem.objects.requestable()
        .select_related("department", "sla_policy")
        .prefetch_related("fields", "plan_steps")
        .order_by("slug")
    )
    items = answers.answerable(items, usernames, SEED)
    entitled = {
        person.pk: set(CatalogItem.objects.entitled_to(person).values_list("pk", flat=True))
        for person in employees
    }
    leads = set(Profile.objects.filter(user__in=employees).values_list("manager_id", flat=True))
    weights = [samples["item_weights"].get(item.slug, 2) for item in items]
    rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets
    raised = []
    for number, submitted_at in enumerate(_submission_times(rng, real_now), start=1):
        item = rng.choices(items, weights=weights)[0]
        pool = [
            person
            for person in employees
            if item.pk in entitled[person.pk]
            and (item.slug not in samples["manager_items"] or person.pk in leads)
        ] or [person for person in employees if item.pk in entitled[person.pk]]
        if not pool:
            continue
        requester = rng.choice(pool)
        colleagues = [name for name in usernames if name != requester.username]
        day = submitted_at.astimezone(LONDON).date()
        data = answers.form_data(rng, item, day, colleagues)
        routine = samples["routine"].get(item.slug)
        if routine and rng.random() < routine["share"]:
            data.update({f"field_{key}": value for key, value in routine["answers"].items()})
        subject = answers.subject(rng, item, data)
        key = f"{KEY_PREFIX}{number:04d}"
        data.update(subject=subject, submission_key=key)
        raised.append(Raised(key, item, requester, submitted_at, data, subject, SEED + number))
    return raised


def _browsing(
    raised: list[Raised], employees: list[Any], start: dt.datetime, real_now: dt.datetime
) -> Iterator[Browse]:
    """For each request raised, the people who opened the same form around then and left
    it, or read a suggested article instead (`[browsing]` in history.toml)."""
    rates = load("history")["browsing"]
    rng = random.Random(SEED + 7)  # noqa: S311 -- demo data, not secrets
    for request in raised:
        slug = request.item.slug
        articles = list(request.item.articles.filter(status=Article.Status.PUBLISHED))
        plans = [
            (rates["abandon"].get(slug, rates["abandon_default"]), None),
            (rates["deflected"].get(slug, 0.0) if articles else 0.0, articles),
        ]
        for rate, read in plans:
            for _ in range(int(rate) + (rng.random() < rate % 1)):
                at = request.submitted_at + dt.timedelta(hours=rng.uniform(-72, 72))
                if not start <= at < real_now:
                    continue
                yield Browse(rng.choice(employees), request.item, at, read and rng.choice(read))


def _world(simulation: Any) -> World:
    agents: dict[int, list[Any]] = {}
    managers: dict[int, list[Any]] = {}
    for role in DepartmentRole.objects.select_related("user").order_by("user__username"):
        if role.user.is_active:
            people = agents if role.role == DepartmentRole.Role.AGENT else managers
            people.setdefault(role.department_id, []).append(role.user)
    # A task's first look acknowledges it, with a reply the data marks `first_look`; the
    # others say the work is done or ask for something, and are not sent before any work.
    first_look = {
        (slug, reply["title"])
        for slug, replies in load("workplace")["canned_replies"].items()
        for reply in replies
        if reply.get("first_look")
    }
    canned: dict[int, list[CannedReply]] = {}
    for reply in CannedReply.objects.select_related("department"):
        if (reply.department.slug, reply.title) in first_look:
            canned.setdefault(reply.department_id, []).append(reply)
    return World(
        simulation=simulation,
        queues={queue.slug: queue for queue in Queue.objects.filter(~Q(slug=""))},
        agents=agents,
        managers=managers,
        schedules={
            department.pk: sla.schedule_for(department)
            for department in Department.objects.select_related("calendar")
        },
        company=Schedule.of(business_calendar_for(None)),
        canned=canned,
        targets={
            (target.policy_id, target.priority): target.resolution_minutes
            for target in SlaTarget.objects.all()
        },
    )
