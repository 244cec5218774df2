"""What a dashboard shows after its cards, by the audience it is for: the live reads each
audience decides with (its queues, its flow, its team's requests, the enterprise's worst
streams), and the links from a card to the data behind it.

Every panel runs a fixed number of queries whatever the data holds, and shows only what
its viewer may see: cases through `ServiceRequest.objects.visible_to` and the task
querysets' `visible_to`, figures on fewer than `SMALL_GROUP` cases held back from people
who may not see them all (`small_group_applies`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from esm import clock, kept_queries
from esm.aggregates import figures_of
from esm.models import Department, DepartmentRole, Event, EventKind
from esm.permissions import can, department_ids_with_role, staff_department_ids
from reporting import sharing
from reporting.measures import REGISTRY, Scope
from reporting.models import Audience, Measure, Report, ServiceReview, SharingFigures
from reporting.rollups import WINDOW_DAYS
from reporting.selectors import Card, User, measure_cards, small_group_applies
from reporting.watermelons import (
    ATTAINMENT,
    RATING,
    LatestServiceSnapshots,
    Watermelon,
    latest_service_rows,
    watermelons,
)
from services import knowledge_sharing
from services import selectors as services_selectors
from services.knowledge_sharing import Contributor, KnowledgeSharing
from services.models import (
    ClockState,
    Consult,
    EmployeeRecord,
    FulfilmentTask,
    Service,
    ServiceRequest,
)
from services.models.tasks import DEPARTMENT_URGENCY
from valuestreams.forms import day_period, local_today
from valuestreams.metrics import SMALL_GROUP, Period, StreamSummary
from valuestreams.models import Stage, ValueStream
from valuestreams.selectors import value_stream_summaries, value_streams_visible_to

RECENT_USE = dt.timedelta(days=90)
"""How far back "the services I used" looks."""
LIST_LENGTH = 8
"""Rows of a panel's list; the page it links to has the rest."""
QUERIES_KEPT = 64
"""Queries whose text a process keeps built (`_waiting_sql`, `_crossings_figures_sql`): one
for each department, and each period for the crossings, a few KB each."""
WORST_STREAMS = 3
ONBOARDING_LOOK_BACK = dt.timedelta(days=14)
"""New hires who started this recently still show: was everything ready on day one?"""
ONBOARDING_SOON = dt.timedelta(days=3)
"""A hire starting within this, with the work not done, is at risk of a bad first day."""
SERVICE_REVIEWS = 6
TOP_CONTRIBUTORS = 5
"""People thanked by name on the managers' panel; the department's page has everyone."""


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Panel:
    """A panel's template (under templates/reporting/) and what it reads."""

    template: str
    data: Any


def window() -> Period:
    """The period the panels count over: the snapshots' window, ending today."""
    today = local_today()
    return day_period(today - dt.timedelta(days=WINDOW_DAYS - 1), today)


# -- drill-downs from a card ----------------------------------------------------------------


@dataclass(frozen=True)
class DrillDowns:
    """Where a card's data can be read by this viewer, decided once per page (some rules
    ask the database; a page has many cards)."""

    streams: Link | None
    work: Link | None

    def for_measure(self, measure: Measure) -> Link | None:
        registered = REGISTRY.get(measure.key)
        if registered is not None and "stream" in registered.scopes and self.streams:
            return self.streams
        return self.work


def drill_downs(*, scope: Scope, viewer: User) -> DrillDowns:
    """Value-stream measures lead to the value streams; the others to the work behind
    them: a department's overview for its manager, the queues for its staff."""
    streams = None
    if can(viewer, "valuestreams.view_streams"):
        streams = Link("The value streams behind it", reverse("valuestream_list"))
    department = scope.department
    work = None
    if department is not None:
        if can(viewer, "esm.manage_department", department):
            work = Link(
                f"{department.name}'s overview",
                reverse("department_overview", args=[department.slug]),
            )
        elif can(viewer, "esm.work_in_department", department):
            work = Link(f"{department.name}'s queues", reverse("queue_list"))
    elif can(viewer, "esm.manage_any_department"):
        work = Link("Your departments' overview", reverse("department_overviews"))
    elif can(viewer, "esm.work_queues"):
        work = Link("Your queues", reverse("queue_list"))
    return DrillDowns(streams=streams, work=work)


# -- service standings: attainment and rating per service, from snapshots -------------------


@dataclass(frozen=True)
class ServiceStanding:
    """A service's latest attainment and rating; a figure on too few cases for the viewer
    is held back (`None` with `held_back`)."""

    service: Service
    attainment: float | None
    resolved: int
    rating: float | None
    ratings: int
    attainment_held_back: bool = False
    rating_held_back: bool = False


def service_standings(
    *,
    services: Iterable[Service],
    viewer: User,
    latest: LatestServiceSnapshots | None = None,
) -> list[ServiceStanding]:
    """Two queries, even when there are no services (a queryset of them is read in SQL as
    well, so the count is the same with or without); one for a list when `latest` holds
    their snapshots already (`latest_service_rows`). `services` come with their
    department loaded."""
    ids = services.values("pk") if isinstance(services, QuerySet) else None
    services = list(services)
    if latest is None:
        latest = latest_service_rows(
            keys=(ATTAINMENT, RATING),
            service_ids=ids if ids is not None else [service.pk for service in services],
        )
    figures = latest.figures
    standings = []
    for service in services:
        holds_back = small_group_applies(Scope(service=service), viewer)
        attainment, resolved = figures.get((ATTAINMENT, service.pk), (None, 0))
        rating, ratings = figures.get((RATING, service.pk), (None, 0))
        hide_attainment = holds_back and 0 < resolved < SMALL_GROUP
        hide_rating = holds_back and 0 < ratings < SMALL_GROUP
        standings.append(
            ServiceStanding(
                service=service,
                attainment=None if hide_attainment else attainment,
                resolved=resolved,
                rating=None if hide_rating else rating,
                ratings=ratings,
                attainment_held_back=hide_attainment,
                rating_held_back=hide_rating,
            )
        )
    return standings


# -- employees ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeePanel:
    services: list[ServiceStanding]
    open_requests: list[ServiceRequest]


def employee_panel(*, viewer: User) -> EmployeePanel:
    """How the services the viewer used lately perform, and their own open requests: four
    queries."""
    since = clock.now() - RECENT_USE
    used = ServiceRequest.objects.filter(
        Q(requester=viewer) | Q(raised_by=viewer), submitted_at__gte=since
    ).values("catalog_item__service")
    services = (Service.objects.filter(pk__in=used).select_related("department").order_by("name"))[
        :LIST_LENGTH
    ]
    return EmployeePanel(
        services=service_standings(services=services, viewer=viewer),
        open_requests=list(services_selectors.my_requests(user=viewer, state="open")[:LIST_LENGTH]),
    )


# -- department staff -----------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentStaffPanel:
    department: Department
    backlog: dict[str, Any]
    """`services.selectors.department_backlog`: the open work by age, by the state of its
    department targets, and unclaimed."""
    queues: list[Any]
    at_risk: list[FulfilmentTask]
    """Open tasks whose department target is breached or at risk, most urgent first."""
    waiting: list[FulfilmentTask]
    """Unclaimed work that another department sent us: consults and handoffs."""
    consults_waiting: int
    handoffs_waiting: int


def _listed(viewer: User, ids: list[int]) -> dict[int, FulfilmentTask]:
    """The staff panel's listed tasks by id, with what a line shows."""
    return (
        FulfilmentTask.objects.visible_to(viewer)
        .with_case_hidden(viewer)
        .select_related(
            "service_request", "consult__from_department", "handed_off_from__department"
        )
        .in_bulk(ids)
    )


def department_staff_panel(*, department: Department, viewer: User) -> DepartmentStaffPanel | None:
    """Queue health of `department` for its staff (None for anyone else): a fixed number
    of queries."""
    if department.pk not in staff_department_ids(viewer):
        return None
    counts, waiting_ids = _waiting_from_elsewhere(department.pk)
    # Each list's ids first, then both lists' rows in one read by id. Sorted on the clock
    # with its rows' relations, a list joined ten relations and took longer to plan than
    # to run, and PostgreSQL planned it again at every visit (a filter on the clock at now
    # never has a plan for any now as cheap as one for this now); the ids join none of
    # them, and the read by id is planned once for a web process's connection.
    at_risk_states = dict(
        kept_queries.rows_at(
            FulfilmentTask,
            _at_risk_sql(kept_queries.vendor_of(FulfilmentTask), department.pk),
            now=clock.now(),
        )
    )
    listed = _listed(viewer, [*at_risk_states, *waiting_ids])
    for pk, sla_state in at_risk_states.items():
        if pk in listed:
            listed[pk].sla_state = sla_state
    return DepartmentStaffPanel(
        department=department,
        backlog=services_selectors.department_backlog(department=department),
        queues=services_selectors.queues_for(user=viewer, department=department),
        at_risk=[listed[pk] for pk in at_risk_states if pk in listed],
        waiting=[listed[pk] for pk in waiting_ids if pk in listed],
        consults_waiting=counts["consults"],
        handoffs_waiting=counts["handoffs"],
    )


@functools.lru_cache(maxsize=QUERIES_KEPT)
def _at_risk_sql(vendor: str, department_id: int) -> kept_queries.SqlWithParams:
    """The ids and clock states of the department's open tasks whose target is breached or
    at risk, the `LIST_LENGTH` most urgent, for its staff, who see every task of their
    department: built once a process for a department, with the clock at `NOW`. Django took
    about 3 ms to build and compile its filter and sort on the clock."""
    at_risk = (
        FulfilmentTask.objects.filter(department=department_id)
        .open()
        .with_clock("sla_state", "sla_rank", now=kept_queries.NOW)
        .filter(sla_state__in=[ClockState.BREACHED, ClockState.AT_RISK])
        .order_by(*DEPARTMENT_URGENCY)
    )
    return at_risk.values_list("pk", "sla_state")[:LIST_LENGTH].query.sql_with_params()


def _waiting_from_elsewhere(department_id: int) -> tuple[dict[str, int], list[int]]:
    """The department's open, unclaimed tasks that came from another department (a
    consult, or a handoff from another department): how many of each, and the oldest
    `LIST_LENGTH` ids. For its staff, who see every task of their department
    (`FulfilmentTask.objects.visible_to`): the caller has checked the viewer is one."""
    counts, ids = _waiting_sql(kept_queries.vendor_of(FulfilmentTask), department_id)
    # Grouped by the department: no row when nothing waits.
    [(_, consults, handoffs)] = kept_queries.rows_at(FulfilmentTask, counts) or [
        (department_id, 0, 0)
    ]
    waiting = kept_queries.rows_at(FulfilmentTask, ids)
    return {"consults": consults, "handoffs": handoffs}, [pk for (pk,) in waiting]


@functools.lru_cache(maxsize=QUERIES_KEPT)
def _waiting_sql(
    vendor: str, department_id: int
) -> tuple[tuple[str, tuple[Any, ...]], tuple[str, tuple[Any, ...]]]:
    """The SQL and parameters of `_waiting_from_elsewhere`'s two queries, built once a
    process for a department: Django took about 2 ms to build and compile them at every
    view of the staff dashboard. The rows are read afresh at each run."""
    handed_over = Q(handed_off_from__isnull=False) & ~Q(handed_off_from__department=department_id)
    waiting = FulfilmentTask.objects.filter(
        Q(consult__isnull=False) | handed_over, department=department_id, assignee__isnull=True
    ).open()
    counts = (
        waiting.order_by()
        .values("department")
        .annotate(
            consults=Count("pk", filter=Q(consult__isnull=False)),
            handoffs=Count("pk", filter=Q(consult__isnull=True)),
        )
    )
    ids = waiting.order_by("created_at", "pk").values_list("pk", flat=True)[:LIST_LENGTH]
    return counts.query.sql_with_params(), ids.query.sql_with_params()


# -- department managers --------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentManagerPanel:
    department: Department
    period: Period
    flow: list[StreamSummary]
    """The value streams the department takes part in, slowest first."""
    handoffs: dict[str, int]
    consults: dict[str, int]
    services: list[ServiceStanding]
    watermelons: list[Watermelon]
    knowledge_sharing: DepartmentKnowledgeSharing


@dataclass(frozen=True)
class DepartmentKnowledgeSharing:
    """The department's knowledge sharing totals over the last `days` days up to `as_of`,
    and the people who gave most (only people who shared something), from the rollup
    (`reporting.sharing`); no totals while it has not been computed yet."""

    days: int
    totals: KnowledgeSharing | None
    top: list[Contributor]
    as_of: dt.datetime | None = None


def department_knowledge_sharing(*, department: Department) -> DepartmentKnowledgeSharing:
    """One query: the department's row of the rollup and its top contributors' rows."""
    rows = kept_queries.instances_at(
        _department_sharing_query(kept_queries.vendor_of(SharingFigures)),
        keys={kept_queries.ID: department.pk},
    )
    ours = rows[0] if rows and rows[0].department_id else None
    people = rows[1:] if ours else rows
    return DepartmentKnowledgeSharing(
        days=knowledge_sharing.RECENT_DAYS,
        totals=sharing.figures(ours) if ours else None,
        top=[Contributor(row.person, sharing.figures(row)) for row in people[:TOP_CONTRIBUTORS]],
        as_of=ours.until if ours else None,
    )


@functools.lru_cache(maxsize=4)
def _department_sharing_query(vendor: str) -> kept_queries.KeptInstances:
    """`department_knowledge_sharing`'s rows for a department (`ID`), kept built."""
    rows = sharing.sharing_of_department(kept_queries.ID)[: TOP_CONTRIBUTORS + 1]
    return kept_queries.kept_instances(rows, ("person",))


def _slowest_first(summaries: list[StreamSummary]) -> list[StreamSummary]:
    """By median lead time, longest first; streams without a figure (no cases, or held
    back) last."""
    return sorted(
        summaries,
        key=lambda summary: (summary.lead_time.p50 is None, -(summary.lead_time.p50 or 0)),
    )


def department_manager_panel(
    *, department: Department, viewer: User
) -> DepartmentManagerPanel | None:
    """Flow, handoffs, consults, experience, watermelons and knowledge sharing of
    `department`, for its managers (None for anyone else): a fixed number of queries."""
    if department.pk not in department_ids_with_role(viewer, DepartmentRole.Role.MANAGER):
        return None
    period = window()
    handoffs, consults = _crossings_figures(department.pk, period)
    streams = value_streams_visible_to(viewer).filter(
        Exists(Stage.objects.filter(stream=OuterRef("pk"), department=department)),
        status=ValueStream.Status.LIVE,
    )
    services = kept_queries.instances_at(
        _department_services_query(kept_queries.vendor_of(Service)),
        keys={kept_queries.ID: department.pk},
    )
    # The standings and the watermelons read the same snapshots: once.
    latest = latest_service_rows(
        keys=(ATTAINMENT, RATING), service_ids=None, department_id=department.pk
    )
    return DepartmentManagerPanel(
        department=department,
        period=period,
        flow=_slowest_first(value_stream_summaries(streams=streams, period=period, viewer=viewer)),
        handoffs=handoffs,
        consults=consults,
        services=service_standings(services=services, viewer=viewer, latest=latest),
        watermelons=watermelons(viewer=viewer, services=services, latest=latest),
        knowledge_sharing=department_knowledge_sharing(department=department),
    )


@functools.lru_cache(maxsize=4)
def _department_services_query(vendor: str) -> kept_queries.KeptInstances:
    """A department's (`ID`) services by name, kept built for its managers' dashboard."""
    services = Service.objects.filter(department_id=kept_queries.ID).order_by("name")
    return kept_queries.kept_instances(services, ("department",))


def _crossings_figures(department_id: int, period: Period) -> tuple[dict[str, int], dict[str, int]]:
    """The department's handoffs and consults in `period`, each a dict of counts, in one
    query (its text kept: `_crossings_figures_sql`)."""
    query = _crossings_figures_sql(
        kept_queries.vendor_of(Event), department_id, period.start, period.end
    )
    # Read by a cursor, each JSON object comes as text (the ORM's JSONField decodes it).
    [(handoffs, consults)] = kept_queries.rows_at(Event, query)
    return json.loads(handoffs), json.loads(consults)


@functools.lru_cache(maxsize=QUERIES_KEPT)
def _crossings_figures_sql(
    vendor: str, department_id: int, start: dt.datetime, end: dt.datetime
) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of `_crossings_figures`, built once a process for a
    department and a period: Django took about 3 ms to build and compile its nine
    filtered counts, for 1.3 ms in the database at a million requests, on every view of a
    department manager's dashboard. Every value is a parameter, and the rows are counted
    afresh at each run."""
    in_period = Q(occurred_at__gte=start, occurred_at__lt=end)
    handoffs = figures_of(
        Event.objects.filter(in_period, kind__in=[EventKind.HANDED_OFF, EventKind.SENT_BACK]),
        handed_in=Count("pk", filter=Q(kind=EventKind.HANDED_OFF, to_department=department_id)),
        handed_out=Count("pk", filter=Q(kind=EventKind.HANDED_OFF, from_department=department_id)),
        sent_back_in=Count("pk", filter=Q(kind=EventKind.SENT_BACK, to_department=department_id)),
        sent_back_out=Count(
            "pk", filter=Q(kind=EventKind.SENT_BACK, from_department=department_id)
        ),
    )
    asked = Q(asked_at__gte=start, asked_at__lt=end)
    answered = Q(state=Consult.State.ANSWERED)
    # Those still open of us, whenever asked, in the same read as the period's.
    open_of_us = Q(state=Consult.State.OPEN, to_department=department_id)
    consults = figures_of(
        Consult.objects.filter(asked | open_of_us),
        asked_by_us=Count("pk", filter=asked & Q(from_department=department_id)),
        answered_for_us=Count("pk", filter=asked & Q(from_department=department_id) & answered),
        asked_of_us=Count("pk", filter=asked & Q(to_department=department_id)),
        answered_by_us=Count("pk", filter=asked & Q(to_department=department_id) & answered),
        open_of_us=Count("pk", filter=open_of_us),
    )
    figures = (
        Department.objects.filter(pk=department_id)
        .annotate(handoffs=handoffs, consults=consults)
        .values("handoffs", "consults")
    )
    return figures.query.sql_with_params()


# -- line managers --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewHire:
    record: EmployeeRecord
    service_request: ServiceRequest | None
    """The onboarding request, when the viewer may see it."""
    days_to_start: int
    request_done: bool
    """Whether the onboarding request is done, told even when the viewer may not open it:
    a hiring manager learns whether their hire is ready, never what the case says."""

    @property
    def at_risk(self) -> bool:
        """Starting soon (or started) while the onboarding request is not done."""
        return not self.request_done and self.days_to_start <= ONBOARDING_SOON.days


@dataclass(frozen=True)
class LineManagerPanel:
    team_requests: list[ServiceRequest]
    team_open: int
    """All the team's open requests the viewer may see."""
    team_hidden: int | None
    """The team's open requests the viewer may not open; None under `SMALL_GROUP`."""
    new_hires: list[NewHire] = field(default_factory=list)


def line_manager_panel(*, viewer: User) -> LineManagerPanel:
    """What the viewer's direct reports asked for and is still open, and the onboarding of
    the people they hire: four queries."""
    team = ServiceRequest.objects.open().filter(requester__profile__manager=viewer)
    visible = team.visible_to(viewer)
    counts = team.aggregate(
        total=Count("pk"), seen=Count("pk", filter=Q(pk__in=visible.values("pk")))
    )
    hidden = counts["total"] - counts["seen"]
    today = local_today()
    records = (
        EmployeeRecord.objects.filter(
            hiring_manager=viewer, start_date__gte=today - ONBOARDING_LOOK_BACK
        )
        .select_related("service_request__catalog_item")
        .annotate(
            request_visible=Exists(
                ServiceRequest.objects.visible_to(viewer).filter(pk=OuterRef("service_request_id"))
            )
        )
        .order_by("start_date", "pk")[:LIST_LENGTH]
    )
    return LineManagerPanel(
        team_requests=list(
            visible.select_related("catalog_item", "requester").order_by("submitted_at", "pk")[
                :LIST_LENGTH
            ]
        ),
        team_open=counts["seen"],
        team_hidden=hidden if hidden >= SMALL_GROUP else None,
        new_hires=[
            NewHire(
                record=record,
                service_request=record.service_request if record.request_visible else None,
                days_to_start=(record.start_date - today).days,
                request_done=(
                    record.service_request is not None and not record.service_request.is_open
                ),
            )
            for record in records
        ],
    )


# -- executives -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueFactor:
    value: str
    label: str
    cards: list[Card]


@dataclass(frozen=True)
class ExecutivePanel:
    period: Period
    worst_streams: list[StreamSummary]
    watermelons: list[Watermelon]
    value_factors: list[ValueFactor]
    reviews: list[ServiceReview]


def executive_panel(*, viewer: User) -> ExecutivePanel:
    """The worst value streams, the watermelons across the enterprise, the five
    business-value factors with their measures' latest values, and the accountable
    customers' service reviews: a fixed number of queries."""
    period = window()
    streams = value_streams_visible_to(viewer).filter(status=ValueStream.Status.LIVE)
    summaries = value_stream_summaries(streams=streams, period=period, viewer=viewer)
    worst = [s for s in _slowest_first(summaries) if s.lead_time.p50 is not None]
    # A measure computed only per service (the watermelon index) has no enterprise figure.
    vendor = kept_queries.vendor_of(Measure)
    measures = [
        measure
        for measure in kept_queries.instances_at(_value_factor_measures_query(vendor))
        if measure.key not in REGISTRY or "all" in REGISTRY[measure.key].scopes
    ]
    cards = measure_cards(measures=measures, scope=Scope(), viewer=viewer)
    factors = [
        ValueFactor(value, label, [card for card in cards if card.measure.value_factor == value])
        for value, label in Measure.ValueFactor.choices
    ]
    return ExecutivePanel(
        period=period,
        worst_streams=worst[:WORST_STREAMS],
        watermelons=watermelons(viewer=viewer),
        value_factors=factors,
        reviews=kept_queries.instances_at(_latest_reviews_query(vendor)),
    )


# The executives' panel's definitions, kept built (`esm.kept_queries`): they are read at
# every view of the dashboard, and Django took longer to build them than to run them.


@functools.lru_cache(maxsize=4)
def _value_factor_measures_query(vendor: str) -> kept_queries.KeptInstances:
    """The measures of a business-value factor, by name, with their objectives."""
    measures = Measure.objects.exclude(value_factor="").order_by("name")
    return kept_queries.kept_instances(measures, ("objective",))


@functools.lru_cache(maxsize=4)
def _latest_reviews_query(vendor: str) -> kept_queries.KeptInstances:
    """The latest `SERVICE_REVIEWS` service reviews, with their services and reviewers."""
    reviews = ServiceReview.objects.order_by("-reviewed_on", "-pk")[:SERVICE_REVIEWS]
    return kept_queries.kept_instances(reviews, ("service", "reviewer"))


# -- which panel a report shows -------------------------------------------------------------


def panel_for(*, report: Report, scope: Scope, viewer: User) -> Panel | None:
    """The panel of the report's audience, read for `viewer` in `scope`; None when the
    audience has none (chosen people), or the viewer is not among the staff it is for."""
    members = report.audience.members
    department = scope.department
    match members:
        case Audience.Members.EMPLOYEES:
            return Panel("reporting/_panel_employees.html", employee_panel(viewer=viewer))
        case Audience.Members.DEPARTMENT_STAFF if department is not None:
            data = department_staff_panel(department=department, viewer=viewer)
            return Panel("reporting/_panel_department_staff.html", data) if data else None
        case Audience.Members.DEPARTMENT_MANAGERS if department is not None:
            data = department_manager_panel(department=department, viewer=viewer)
            return Panel("reporting/_panel_department_managers.html", data) if data else None
        case Audience.Members.LINE_MANAGERS:
            return Panel("reporting/_panel_line_managers.html", line_manager_panel(viewer=viewer))
        case Audience.Members.EXECUTIVES:
            return Panel("reporting/_panel_executives.html", executive_panel(viewer=viewer))
    return None
