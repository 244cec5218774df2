"""Reads of reporting: who belongs to an audience, which reports a person may open, and a
report's cards read from snapshots (a fixed number of rows whatever the history holds)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    DateField,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import dateformat

from esm import kept_queries
from esm.models import Department, DepartmentRole, Profile
from esm.permissions import (
    can,
    department_ids_with_role,
    is_executive,
    staff_department_ids,
    staff_departments,
)
from reporting.formatting import measure_value_text
from reporting.measures import REGISTRY, Scope
from reporting.models import (
    Audience,
    CostRate,
    Measure,
    Objective,
    Report,
    ReportMeasure,
    ServiceReview,
    Snapshot,
)
from services.models import Service
from valuestreams.metrics import SMALL_GROUP

User = AbstractBaseUser | AnonymousUser

SERIES_WEEKS = 12
"""How many weekly points a card's sparkline draws."""


def _department_filter(audience: Audience, department_ids: frozenset[int]) -> bool:
    """Whether the person's departments meet the audience's (any, when it names none)."""
    chosen = {d.pk for d in audience.departments.all()}
    return bool(department_ids) and (not chosen or bool(chosen & department_ids))


_LINE_MANAGER_CACHE = "_reporting_is_line_manager"


def is_line_manager(user: User) -> bool:
    """Whether someone active reports to `user`; asked once per user object (a page asks it
    of every line-manager audience)."""
    cached = getattr(user, _LINE_MANAGER_CACHE, None)
    if cached is None:
        cached = Profile.objects.filter(manager=user, user__is_active=True).exists()
        setattr(user, _LINE_MANAGER_CACHE, cached)
    return cached


def audience_includes(audience: Audience, user: User) -> bool:
    """Whether `user` belongs to `audience`, by its `members` rule. Call with the audience's
    `departments` and `people` prefetched to ask for many people or audiences cheaply."""
    if not (user.is_authenticated and user.is_active):
        return False
    match audience.members:
        case Audience.Members.EMPLOYEES:
            return True
        case Audience.Members.DEPARTMENT_STAFF:
            return _department_filter(audience, staff_department_ids(user))
        case Audience.Members.DEPARTMENT_MANAGERS:
            managed = department_ids_with_role(user, DepartmentRole.Role.MANAGER)
            return _department_filter(audience, managed)
        case Audience.Members.LINE_MANAGERS:
            return is_line_manager(user)
        case Audience.Members.EXECUTIVES:
            return is_executive(user)
        case Audience.Members.CUSTOM:
            return any(person.pk == user.pk for person in audience.people.all())
    return False


def reports_for(user: User) -> list[Report]:
    """The reports whose audience `user` belongs to, or which they own, by name."""
    if not user.is_authenticated:
        return []
    reports = (
        Report.objects.select_related("audience", "owner")
        .prefetch_related("audience__departments", "audience__people")
        .order_by("name")
    )
    return [r for r in reports if r.owner_id == user.pk or audience_includes(r.audience, user)]


def report_for_reader(*, user: User, slug: str, reports: QuerySet[Report] | None = None) -> Report:
    """The report (from `reports`, to load more with it), for someone in its audience (or
    its owner, or an admin), with what `audience_includes` asks of its audience loaded (its
    departments, or its chosen people: only what the audience's rule reads). 404 for an
    unknown slug and for anyone else alike: a report's name and audience may themselves
    say what it is about, so what may not be read does not exist for the reader."""
    reports = Report.objects.all() if reports is None else reports
    report = get_object_or_404(reports.select_related("audience", "owner"), slug=slug)
    prefetch_related_objects([report.audience], *_AUDIENCE_READS.get(report.audience.members, ()))
    if not can(user, "reporting.view_report", report):
        raise Http404("No such report.")
    return report


_AUDIENCE_READS = {
    Audience.Members.DEPARTMENT_STAFF: ("departments",),
    Audience.Members.DEPARTMENT_MANAGERS: ("departments",),
    Audience.Members.CUSTOM: ("people",),
}
"""What of an audience `audience_includes` and `report_scopes` read, by its rule."""


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float | None
    label: str = ""
    """The day in words ("3 Nov"), as the trend's axis reads it."""
    text: str = ""
    """The value in its unit's words; empty when there is none (held back)."""


@dataclass
class Card:
    """One measure of a report as a dashboard shows it, for one scope."""

    measure: Measure
    value: float | None = None
    cases: int | None = 0
    """None when held back."""
    day: dt.date | None = None
    series: list[Point] = field(default_factory=list)
    held_back: bool = False
    """Fewer than `SMALL_GROUP` cases the viewer may not all see: the number is not shown."""

    @property
    def status(self) -> str:
        """`not-held` (the portal holds no data for it), `no-function` (its key computes
        nothing), `no-data`, `too-few`, `no-target`, `met`, `watch` (missed, short of the
        point of acting) or `act` (past the decision maker's threshold)."""
        measure = self.measure
        if not measure.source_controlled:
            return "not-held"
        if measure.key not in REGISTRY:
            return "no-function"
        if self.held_back:
            return "too-few"
        if self.value is None:
            return "no-data"
        if measure.target is None:
            return "no-target"
        return measure_status(measure, self.value)


def measure_status(measure: Measure, value: float) -> str:
    """`met`, `watch` or `act`: the value against the target, and against `act_at`."""
    better = (
        (lambda a, b: a >= b)
        if measure.direction == Measure.Direction.HIGHER
        else (lambda a, b: a <= b)
    )
    if better(value, measure.target):
        return "met"
    if measure.act_at is not None and not better(value, measure.act_at):
        return "act"
    return "watch"


def small_group_applies(scope: Scope, viewer: User, measure: Measure | None = None) -> bool:
    """Whether a figure of fewer than `SMALL_GROUP` cases must be held back from `viewer`:
    always, unless the scope is a department (or one of its services) whose cases the
    viewer may all see as its staff. A measure over value streams reads other departments'
    cases too (a stream crosses them), so it is held back from everyone."""
    if measure is not None and _crosses_departments(measure):
        return True
    owner = scope.department or (scope.service.department if scope.service else None)
    return owner is None or owner.pk not in staff_department_ids(viewer)


def _crosses_departments(measure: Measure) -> bool:
    registered = REGISTRY.get(measure.key)
    return registered is not None and "stream" in registered.scopes


def report_lines(report: Report) -> list[ReportMeasure]:
    """The report's lines in order, with their measures and the measures' objectives."""
    return kept_queries.instances_at(
        _report_lines_query(kept_queries.vendor_of(ReportMeasure)),
        keys={kept_queries.ID: report.pk},
    )


@functools.lru_cache(maxsize=4)
def _report_lines_query(vendor: str) -> kept_queries.KeptInstances:
    """`report_lines`' query for a report (`ID`), kept built: every dashboard reads it."""
    lines = ReportMeasure.objects.filter(report_id=kept_queries.ID).order_by("position", "id")
    return kept_queries.kept_instances(lines, ("measure__objective",))


def report_cards(*, report: Report, scope: Scope, viewer: User) -> list[Card]:
    """The report's measures in order, each with its latest snapshot in `scope` and its
    weekly series ending there: three queries whatever the history's size."""
    measures = [line.measure for line in report_lines(report)]
    return measure_cards(measures=measures, scope=scope, viewer=viewer)


def measure_cards(*, measures: list[Measure], scope: Scope, viewer: User) -> list[Card]:
    """Cards for `measures` in `scope`: one query for the snapshots of them all, those of
    the `SERIES_WEEKS` weeks ending on the latest day any of them was taken (the latest
    day found in SQL, so an empty history costs the same query). A value held back under
    the small-group rule loses its count of cases too: for a count (requests raised) the
    cases are the value."""
    in_scope = Snapshot.objects.filter(measure__in=measures, scope=scope.key)
    latest_day = Subquery(in_scope.order_by("-day").values("day")[:1])
    first_day = ExpressionWrapper(
        latest_day - dt.timedelta(weeks=SERIES_WEEKS - 1), output_field=DateField()
    )
    rows = list(
        in_scope.filter(day__gte=first_day).values_list("measure_id", "day", "value", "cases")
    )
    cards = {m.pk: Card(measure=m) for m in measures}
    if not rows:
        return list(cards.values())
    latest = max(day for _, day, _, _ in rows)
    days = [latest - dt.timedelta(weeks=back) for back in range(SERIES_WEEKS - 1, -1, -1)]
    weekly = set(days)
    by_measure: dict[int, dict[dt.date, tuple[float | None, int]]] = defaultdict(dict)
    for measure_id, day, value, cases in rows:
        if day in weekly:
            by_measure[measure_id][day] = (value, cases)
    # Every card's trend has the same days: each is put in words once, not once a card.
    labels = {day: dateformat.format(day, "j M") for day in days}
    for measure_id, card in cards.items():
        holds_back = small_group_applies(scope, viewer, card.measure)
        points = by_measure.get(measure_id, {})
        hidden = {day for day, (_, cases) in points.items() if holds_back and cases < SMALL_GROUP}
        unit = card.measure.unit
        card.series = []
        for day in days:
            if day in points:
                value = None if day in hidden else points[day][0]
                card.series.append(Point(day, value, labels[day], measure_value_text(value, unit)))
        if latest in points:
            card.value, card.cases = points[latest]
            card.day = latest
            card.held_back = latest in hidden
            if card.held_back:
                card.value, card.cases = None, None
    return list(cards.values())


def departments_for(user: User, audience: Audience) -> list[Department]:
    """The departments whose figures `user` may choose on a report for `audience`: those
    they work in, within the audience's departments if it names any."""
    ids = staff_department_ids(user)
    chosen = list(audience.departments.all())
    if chosen:
        # Loaded with the audience already: no query to pick the user's among them.
        return sorted((d for d in chosen if d.pk in ids), key=lambda d: (d.name, d.pk))
    # Read with the user's roles already.
    return staff_departments(user)


def report_scopes(*, report: Report, viewer: User) -> list[Scope]:
    """The scopes `viewer` may read `report` in, the first being the default: a department
    audience reads its own departments (owners and admins who work in none read the
    audience's, or all); every other audience reads the enterprise as a whole."""
    audience = report.audience
    if audience.members not in (
        Audience.Members.DEPARTMENT_STAFF,
        Audience.Members.DEPARTMENT_MANAGERS,
    ):
        return [Scope()]
    departments = departments_for(viewer, audience)
    if not departments:
        chosen = list(audience.departments.all())
        departments = chosen or list(Department.objects.order_by("name"))
    return [Scope(department=d) for d in departments]


def scope_label(scope: Scope) -> str:
    thing = scope.department or scope.service or scope.value_stream
    return str(thing) if thing is not None else "Whole enterprise"


# --- Reads of the editing pages and the API (definitions, not figures) -----------------------

OBJECTIVE_RANK = {
    Objective.Level.MISSION: 0,
    Objective.Level.VISION: 1,
    Objective.Level.GOAL: 2,
    Objective.Level.OBJECTIVE: 3,
}
"""Mission above vision above goals above objectives: a node's parent ranks lower."""


def measures_listed() -> QuerySet[Measure]:
    """Every measure by name, with its objective, owner and the reports that use it (by
    name), loaded in a fixed number of queries however the list is sliced."""
    lines = ReportMeasure.objects.select_related("report").order_by("report__name")
    return (
        Measure.objects.select_related("objective", "owner")
        .prefetch_related(Prefetch("report_lines", queryset=lines))
        .order_by("name", "pk")
    )


def audiences_listed() -> QuerySet[Audience]:
    """Every audience by name, with its departments, chosen people and reports loaded."""
    return (
        Audience.objects.select_related("owner")
        .prefetch_related(
            Prefetch("departments", queryset=Department.objects.order_by("name")),
            "people",
            Prefetch("reports", queryset=Report.objects.order_by("name")),
        )
        .order_by("name", "pk")
    )


@dataclass
class ObjectiveNode:
    objective: Objective
    children: list[ObjectiveNode] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)


def objective_tree() -> tuple[list[ObjectiveNode], list[Measure]]:
    """The MVGO tree (roots first: missions, then whatever hangs from nothing) with the
    measures serving each node, and the measures serving none: two queries."""
    objectives = list(Objective.objects.select_related("owner"))
    nodes = {o.pk: ObjectiveNode(o) for o in objectives}
    unserved: list[Measure] = []
    for measure in Measure.objects.only("pk", "key", "name", "kind", "objective_id", "owner_id"):
        node = nodes.get(measure.objective_id) if measure.objective_id else None
        (node.measures if node else unserved).append(measure)
    roots: list[ObjectiveNode] = []
    for node in nodes.values():
        parent = nodes.get(node.objective.parent_id) if node.objective.parent_id else None
        (parent.children if parent else roots).append(node)

    def order(siblings: list[ObjectiveNode]) -> None:
        siblings.sort(key=lambda n: (OBJECTIVE_RANK[n.objective.level], n.objective.title))
        for sibling in siblings:
            sibling.measures.sort(key=lambda m: m.name)
            order(sibling.children)

    order(roots)
    unserved.sort(key=lambda m: m.name)
    return roots, unserved


def objective_descendant_ids(objective: Objective) -> set[int]:
    """The ids of everything below `objective` in the tree (one query for the whole tree)."""
    children: dict[int, list[int]] = defaultdict(list)
    for pk, parent_id in Objective.objects.filter(parent__isnull=False).values_list(
        "pk", "parent_id"
    ):
        children[parent_id].append(pk)
    found: set[int] = set()
    waiting = list(children[objective.pk])
    while waiting:
        pk = waiting.pop()
        if pk not in found:
            found.add(pk)
            waiting.extend(children[pk])
    return found


def cost_rates_by_department() -> list[tuple[Department, CostRate | None]]:
    """Every department by name, with its hourly rate if one is set: two queries."""
    rates = {rate.department_id: rate for rate in CostRate.objects.all()}
    return [(d, rates.get(d.pk)) for d in Department.objects.order_by("name")]


def measure_keys_used() -> set[str]:
    return set(Measure.objects.values_list("key", flat=True))


def measures_by_name() -> QuerySet[Measure]:
    return Measure.objects.select_related("objective").order_by("name", "pk")


def reports_with_lines() -> QuerySet[Report]:
    """Reports with their audience, owner and lines in order (`ordered_lines`), each line
    with its measure and the measure's objective."""
    lines = ReportMeasure.objects.select_related("measure__objective").order_by("position", "id")
    return Report.objects.select_related("audience", "owner").prefetch_related(
        Prefetch("lines", queryset=lines, to_attr="ordered_lines")
    )


# --- Service reviews ------------------------------------------------------------------------


def services_reviewable_by(viewer: User) -> QuerySet[Service]:
    """The live services `viewer` is the accountable customer of (every one, for admins),
    each with the id of its latest review as `last_review_id`."""
    services = Service.objects.filter(status=Service.Status.LIVE)
    if not can(viewer, "esm.use_admin"):
        services = services.filter(owner=viewer)
    latest = ServiceReview.objects.filter(service=OuterRef("pk")).order_by("-reviewed_on", "-pk")
    return (
        services.select_related("department", "owner")
        .annotate(last_review_id=Subquery(latest.values("pk")[:1]))
        .order_by("name")
    )
