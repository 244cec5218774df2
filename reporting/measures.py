"""The functions that compute measures, registered by key: a `Measure` row names one, and
its number comes only from here (never a typed value).

Each function takes a period and a scope (the whole enterprise, one department, one
service or one value stream) and returns the value and how many cases it rests on,
aggregated in SQL. A function is registered for the kinds of scope it means something for
(`KINDS` by default: a request count per value stream would repeat the service's). Its
docstring says in plain words how it computes: the editing form shows it.

A refresh computes every scope at once (`Registered.every`). A measure that counts rows
each in one department and one service is registered with `tallied`: its function builds
a `Tally` of the period, which a page filters to one scope and a refresh groups by
department and service, one query for every scope instead of one per scope.

Measures another app already defines are computed by that app's code, never a second
formula: lead time and flow efficiency by the value-stream map's aggregation of its
rollups, the experience score by the journeys' emotion score.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import update_wrapper
from typing import Any

from django.conf import settings
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models import Value as SqlValue
from django.db.models.functions import Cast, Concat, Greatest, Lead, Length, LPad, TruncDate
from django.utils import timezone

from esm import clock
from esm.calendars import Schedules, schedules_for
from esm.models import Department, Event, EventKind
from journeys.metrics import TouchpointSignals
from journeys.models import FrictionWeight
from journeys.scores import emotion_score, score_weights
from journeys.sentiment import sentiment
from reporting.models import CostRate
from services.models import (
    ArticleView,
    Comment,
    EmployeeRecord,
    ExperienceRating,
    FulfilmentTask,
    PlanStep,
    Service,
    ServiceRequest,
    StepRun,
)
from services.models.clocks import ClockState
from services.models.requests import REFERENCE_PREFIX, pk_from_reference
from services.models.tasks import department_target_sql, end_to_end_target_sql
from services.selectors import DEFLECTION_WINDOW, deflections
from valuestreams.metrics import SMALL_GROUP, Distribution, Period
from valuestreams.models import CaseFlow, ValueStream
from valuestreams.selectors.flow import distributions

REQUEST = "services.servicerequest"
TASK = "services.fulfilmenttask"


@dataclass(frozen=True)
class Scope:
    """What a value is about: everything, one department, one service or one value stream
    (at most one of them is set)."""

    department: Department | None = None
    service: Service | None = None
    value_stream: ValueStream | None = None

    @property
    def kind(self) -> str:
        if self.department is not None:
            return "department"
        if self.service is not None:
            return "service"
        if self.value_stream is not None:
            return "stream"
        return "all"

    @property
    def key(self) -> str:
        """The snapshot's `scope`: "all", or the kind and the id ("department:3")."""
        thing = self.department or self.service or self.value_stream
        return f"{self.kind}:{thing.pk}" if thing is not None else "all"


@dataclass(frozen=True)
class Value:
    value: float | None
    cases: int


Compute = Callable[[Period, Scope], Value]
Each = Callable[[Period, Sequence[Scope]], dict[str, Value]]


@dataclass(frozen=True)
class Registered:
    compute: Compute
    scopes: frozenset[str]
    """The kinds of scope ("all", "department", "service", "stream") it is computed for."""
    each: Each | None = None
    """The value of each of several scopes at once, by scope key, when the measure has a
    quicker way than one scope at a time."""

    def __call__(self, period: Period, scope: Scope) -> Value:
        return self.compute(period, scope)

    def every(self, period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
        """The value of each of `scopes` (of the kinds it is registered for), by scope key:
        the same values as one call per scope."""
        if self.each is not None:
            return self.each(period, scopes)
        return {scope.key: self.compute(period, scope) for scope in scopes}

    @property
    def description(self) -> str:
        """The function's docstring, in one line: how it computes (the editing form shows it)."""
        return " ".join((self.compute.__doc__ or "").split())


KINDS = frozenset({"all", "department", "service"})
REGISTRY: dict[str, Registered] = {}


def measure(
    key: str, *, scopes: frozenset[str] = KINDS, each: Each | None = None
) -> Callable[[Compute], Compute]:
    def register(compute: Compute) -> Compute:
        REGISTRY[key] = Registered(compute, scopes, each)
        return compute

    return register


# The path from a tally's rows to the department and to the service a scope names.
REQUEST_SCOPES = {"department": "department", "service": "catalog_item__service"}
TASK_SCOPES = {"department": "department", "service": "service_request__catalog_item__service"}
STEP_SCOPES = {"department": "department", "service": "run__service_request__catalog_item__service"}
RATING_SCOPES = {
    "department": "service_request__department",
    "service": "service_request__catalog_item__service",
}


@dataclass(frozen=True)
class Tally:
    """Counts and sums over rows that each belong to at most one department and one
    service: for one scope the rows are filtered to it; for every scope at once they are
    grouped by department and service in one query, and each scope adds up its groups
    (which is why only counts and sums: they add up)."""

    rows: QuerySet
    paths: Mapping[str, str]
    """Scope kind -> the rows' path to it (`REQUEST_SCOPES`...)."""
    aggregates: Mapping[str, Count | Sum]

    def counts(self, scope: Scope) -> dict[str, Any]:
        thing = scope.department or scope.service
        rows = self.rows if thing is None else self.rows.filter(**{self.paths[scope.kind]: thing})
        return rows.aggregate(**self.aggregates)

    def counts_of_each(self, scopes: Sequence[Scope]) -> dict[str, dict[str, Any]]:
        """`counts` of each of `scopes` (the enterprise, departments, services), by key."""
        department, service = self.paths["department"], self.paths["service"]
        # A scope with no rows: what the aggregates give over none (counts 0, sums None).
        nothing = self.rows.none().aggregate(**self.aggregates)
        found: dict[str, dict[str, Any]] = defaultdict(lambda: dict(nothing))
        groups = self.rows.order_by().values(department, service).annotate(**self.aggregates)
        for group in groups:
            keys = ("all", f"department:{group[department]}", f"service:{group[service]}")
            for key in keys:
                totals = found[key]
                for name in self.aggregates:
                    totals[name] = _added(totals[name], group[name])
        return {scope.key: found.get(scope.key, nothing) for scope in scopes}


def _added(total: Any, more: Any) -> Any:
    """A sum so far plus a group's, where None (a sum over no values) adds nothing."""
    if more is None:
        return total
    return more if total is None else total + more


def tallied(
    key: str, *, value: Callable[[Mapping[str, Any]], Value]
) -> Callable[[Callable[[Period], Tally]], Compute]:
    """Register a measure that is `value` of a `Tally`'s counts, for the enterprise, each
    department and each service; the decorated function builds the tally of a period."""

    def register(tally_of: Callable[[Period], Tally]) -> Compute:
        def compute(period: Period, scope: Scope) -> Value:
            return value(tally_of(period).counts(scope))

        def each(period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
            counts = tally_of(period).counts_of_each(scopes)
            return {key: value(scope_counts) for key, scope_counts in counts.items()}

        update_wrapper(compute, tally_of)
        REGISTRY[key] = Registered(compute, KINDS, each)
        return compute

    return register


def _requests(scope: Scope) -> QuerySet[ServiceRequest]:
    requests = ServiceRequest.objects.all()
    if scope.department is not None:
        requests = requests.filter(department=scope.department)
    if scope.service is not None:
        requests = requests.filter(catalog_item__service=scope.service)
    return requests


def _resolved_in(period: Period, scope: Scope) -> QuerySet[ServiceRequest]:
    return _requests(scope).filter(resolved_at__gte=period.start, resolved_at__lt=period.end)


def _share(part: int, whole: int) -> Value:
    return Value(part / whole if whole else None, whole)


# --- Facts per request, shared by the scopes of one refresh ---------------------------------

_shared: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("measures_shared", default=None)


@contextmanager
def facts_shared_across_scopes() -> Iterator[None]:
    """Inside, a fact of each request (its bounces, its comments' sentiment, its staff
    hours) is computed once per period, over every request resolved in it, and each scope
    reads the share of its own requests: what a refresh of every scope wraps itself in,
    since those facts do not depend on the scope and reading them costs the same for one
    department as for the enterprise. Outside, each call reads its own requests only."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _per_request[Fact](
    name: str,
    period: Period,
    scope: Scope,
    facts_of: Callable[[QuerySet[ServiceRequest]], Mapping[int, Fact]],
) -> Mapping[int, Fact]:
    """`facts_of` the requests resolved in the period in the scope, by request id."""
    shared = _shared.get()
    if shared is None:
        return facts_of(_resolved_in(period, scope))
    if (name, period) not in shared:
        shared[name, period] = facts_of(_resolved_in(period, Scope()))
    facts = shared[name, period]
    if scope.kind == "all":
        return facts
    if ("ids", period) not in shared:
        shared["ids", period] = _ids_by_scope(_resolved_in(period, Scope()))
    ids = shared["ids", period].get(scope.key, set())
    return {request_id: fact for request_id, fact in facts.items() if request_id in ids}


def _ids_by_scope(requests: QuerySet[ServiceRequest]) -> dict[str, set[int]]:
    """The ids of `requests` by the key of each department and service scope they are in."""
    ids: dict[str, set[int]] = defaultdict(set)
    for pk, department_id, service_id in requests.values_list(
        "pk", "department", "catalog_item__service"
    ):
        ids[f"department:{department_id}"].add(pk)
        ids[f"service:{service_id}"].add(pk)
    return ids


def _events_of(requests: QuerySet[ServiceRequest]) -> QuerySet[Event]:
    """The events of `requests`, found by reference and read only from when the first of
    them was submitted: nothing happens to a case before that, and the bound lets
    PostgreSQL skip the log's older monthly partitions."""
    first = requests.aggregate(first=Min("submitted_at"))["first"]
    events = Event.objects.filter(reference__in=requests.annotate(ref=_reference()).values("ref"))
    return events.filter(occurred_at__gte=first) if first else events.none()


def _whole(counts: Mapping[str, Any]) -> Value:
    return Value(float(counts["whole"]), counts["whole"])


@tallied("request_volume", value=_whole)
def request_volume(period: Period) -> Tally:
    """Requests raised in the period."""
    raised = ServiceRequest.objects.filter(
        submitted_at__gte=period.start, submitted_at__lt=period.end
    )
    return Tally(raised, REQUEST_SCOPES, {"whole": Count("pk")})


MET, MISSED = ClockState.MET.value, ClockState.MISSED.value
# Of rows annotated `target`: a case with no target, or no longer done (reopened), counts
# neither way.
TARGETS_KEPT = {
    "met": Count("pk", filter=Q(target=MET)),
    "missed": Count("pk", filter=Q(target=MISSED)),
}


def _kept(counts: Mapping[str, Any]) -> Value:
    """The share of met among met and missed targets."""
    return _share(counts["met"], counts["met"] + counts["missed"])


@tallied("end_to_end_attainment", value=_kept)
def end_to_end_attainment(period: Period) -> Tally:
    """Of the requests resolved in the period, the share resolved within the employee's
    end-to-end target, by the one clock function every badge uses (a request resolved
    after its due time is missed even if no sweep flagged it)."""
    resolved = _resolved_in(period, Scope()).annotate(target=end_to_end_target_sql(now=clock.now()))
    return Tally(resolved, REQUEST_SCOPES, TARGETS_KEPT)


@tallied("department_target_attainment", value=_kept)
def department_target_attainment(period: Period) -> Tally:
    """Of the tasks done in the period, the share done within their department's target,
    by the one clock function (a cancelled task has no target and counts neither way)."""
    tasks = FulfilmentTask.objects.filter(done_at__gte=period.start, done_at__lt=period.end)
    return Tally(
        tasks.annotate(target=department_target_sql(now=clock.now())), TASK_SCOPES, TARGETS_KEPT
    )


def _reopened() -> QuerySet[Event]:
    """The reopening of the request of the outer query, no earlier than its submission
    (as any of a case's events)."""
    return Event.objects.filter(
        subject_type=REQUEST,
        subject_id=OuterRef("pk"),
        kind=EventKind.REOPENED,
        occurred_at__gte=OuterRef("submitted_at"),
    )


@tallied("reopen_rate", value=lambda counts: _share(counts["reopened"], counts["whole"]))
def reopen_rate(period: Period) -> Tally:
    """Of the requests resolved in the period, the share the employee had reopened."""
    return Tally(
        _resolved_in(period, Scope()).annotate(was_reopened=Exists(_reopened())),
        REQUEST_SCOPES,
        {"whole": Count("pk"), "reopened": Count("pk", filter=Q(was_reopened=True))},
    )


def _mean_rating(counts: Mapping[str, Any]) -> Value:
    rated = counts["count"]
    return Value(counts["scores"] / rated if rated else None, rated)


@tallied("experience_rating", value=_mean_rating)
def experience_rating(period: Period) -> Tally:
    """The mean rating (1-5) of the requests resolved in the period that were rated."""
    ratings = ExperienceRating.objects.filter(
        service_request__resolved_at__gte=period.start,
        service_request__resolved_at__lt=period.end,
    )
    return Tally(ratings, RATING_SCOPES, {"scores": Sum("score"), "count": Count("pk")})


@tallied("rating_response_rate", value=lambda counts: _share(counts["rated"], counts["whole"]))
def rating_response_rate(period: Period) -> Tally:
    """Of the requests resolved in the period, the share the employee rated: ratings are
    sparse and lean to the unhappy, so every experience figure is read beside it."""
    return Tally(
        _resolved_in(period, Scope()),
        REQUEST_SCOPES,
        {"whole": Count("pk"), "rated": Count("pk", filter=Q(rating__isnull=False))},
    )


@measure("knowledge_deflection_rate")
def knowledge_deflection_rate(period: Period, scope: Scope) -> Value:
    """Of the suggested articles read in the period (and judged: a day has passed), the
    share after which the reader raised no request for the item within a day."""
    judged = ArticleView.objects.filter(
        viewed_at__gte=period.start,
        viewed_at__lt=period.end,
        viewed_at__lte=clock.now() - DEFLECTION_WINDOW,
    )
    deflected = deflections(since=period.start).filter(viewed_at__lt=period.end)
    if scope.department is not None:
        judged = judged.filter(catalog_item__department=scope.department)
        deflected = deflected.filter(catalog_item__department=scope.department)
    if scope.service is not None:
        judged = judged.filter(catalog_item__service=scope.service)
        deflected = deflected.filter(catalog_item__service=scope.service)
    counts = judged.aggregate(
        whole=Count("pk"), deflected=Count("pk", filter=Q(pk__in=deflected.values("pk")))
    )
    return _share(counts["deflected"], counts["whole"])


REFERENCE_DIGITS = 6


def _reference() -> Concat:
    """A request's reference (REQ-000123, as `reference_for` writes it) in SQL, to meet the
    event log's `reference`: zero-padded to six digits, never cut shorter."""
    digits = Cast("pk", CharField())
    padded = LPad(digits, Greatest(SqlValue(REFERENCE_DIGITS), Length(digits)), SqlValue("0"))
    return Concat(SqlValue(REFERENCE_PREFIX), padded, output_field=CharField())


SECOND_TOUCHES = (
    EventKind.HANDED_OFF,
    EventKind.WAITING_ON_EMPLOYEE,
    EventKind.CONSULT_ASKED,
    EventKind.SENT_BACK,
    EventKind.REOPENED,
)


@tallied("first_touch_resolution", value=lambda counts: _share(counts["first"], counts["whole"]))
def first_touch_resolution(period: Period) -> Tally:
    """Of the requests resolved in the period, the share resolved at the first touch: never
    handed off, sent back, consulted on, asked the employee something, or reopened."""
    touched_again = Event.objects.filter(
        reference=OuterRef("ref"),
        kind__in=SECOND_TOUCHES,
        occurred_at__gte=OuterRef("submitted_at"),
    )
    return Tally(
        _resolved_in(period, Scope()).annotate(ref=_reference(), again=Exists(touched_again)),
        REQUEST_SCOPES,
        {"whole": Count("pk"), "first": Count("pk", filter=Q(again=False))},
    )


AUTOMATED_ALONE = Q(kind=PlanStep.Kind.AUTOMATED, with_people=False)
"""Of the steps `steps_finished` gives: done by automation, never handed to people."""


def steps_finished(*, since: dt.datetime, until: dt.datetime | None = None) -> QuerySet[StepRun]:
    """Plan steps that succeeded from `since` (until `until`), each annotated `with_people`:
    whether the automation gave it to people. What the automation rate counts, here and in
    each department's adoption."""
    given_to_people = Event.objects.filter(
        subject_type="services.steprun", subject_id=OuterRef("pk"), kind=EventKind.STEP_WITH_PEOPLE
    )
    steps = StepRun.objects.filter(state=StepRun.State.SUCCEEDED, finished_at__gte=since)
    if until is not None:
        steps = steps.filter(finished_at__lt=until)
    return steps.annotate(with_people=Exists(given_to_people))


@tallied("automation_rate", value=lambda counts: _share(counts["automated"], counts["whole"]))
def automation_rate(period: Period) -> Tally:
    """Of the plan steps finished in the period, the share done by automation alone."""
    return Tally(
        steps_finished(since=period.start, until=period.end),
        STEP_SCOPES,
        {"whole": Count("pk"), "automated": Count("pk", filter=AUTOMATED_ALONE)},
    )


def _hours_saved(counts: Mapping[str, Any]) -> Value:
    automated = counts["automated"]
    return Value(automated * settings.AUTOMATION_MINUTES_SAVED_PER_STEP / 60, automated)


@tallied("staff_hours_saved", value=_hours_saved)
def staff_hours_saved(period: Period) -> Tally:
    """Hours of staff work the automated steps of the period saved, at
    `AUTOMATION_MINUTES_SAVED_PER_STEP` minutes each (a setting: what a person would take)."""
    automated = steps_finished(since=period.start, until=period.end).filter(AUTOMATED_ALONE)
    return Tally(automated, STEP_SCOPES, {"automated": Count("pk")})


# --- Value streams -------------------------------------------------------------------------
# Read from the value-stream rollups (`CaseFlow`, one row per case and stream), aggregated as
# the value-stream map aggregates them, so a stream's figure here is the map's figure.


def _stream_cases(period: Period, scope: Scope) -> QuerySet[CaseFlow]:
    """The cases resolved in the period of the streams in scope: one stream; for a
    department, the streams in which it owns a stage (the flows its work is part of, which
    is what its manager can change); for the enterprise, every stream. Draft streams are
    left out of the wider scopes: their model is not agreed yet."""
    cases = CaseFlow.objects.filter(resolved_at__gte=period.start, resolved_at__lt=period.end)
    if scope.value_stream is not None:
        return cases.filter(stream=scope.value_stream)
    streams = ValueStream.objects.exclude(status=ValueStream.Status.DRAFT)
    if scope.department is not None:
        streams = streams.filter(stages__department=scope.department)
    return cases.filter(stream__in=streams.values("pk"))


@measure("lead_time", scopes=frozenset({"all", "department", "stream"}))
def lead_time(period: Period, scope: Scope) -> Value:
    """The median (nearest-rank p50) lead time in hours, submitted to resolved, of the
    value-stream cases resolved in the period: a stream's own, a department's (the streams
    in which it owns a stage) or every live stream's. The value-stream map's p50."""
    lead = distributions(_stream_cases(period, scope), "lead_minutes").get((), Distribution(0))
    return Value(lead.p50, lead.count)


@measure("flow_efficiency", scopes=frozenset({"all", "department", "stream"}))
def flow_efficiency(period: Period, scope: Scope) -> Value:
    """Of the lead time of the value-stream cases resolved in the period, the share spent
    working on the critical path: process time on the critical path summed over the
    cases, over their lead time summed (the value-stream map's flow efficiency)."""
    totals = _stream_cases(period, scope).aggregate(
        critical=Sum("critical_process_minutes"), lead=Sum("lead_minutes"), cases=Count("pk")
    )
    lead = totals["lead"]
    value = float(totals["critical"] or 0) / float(lead) if lead else None
    return Value(value, totals["cases"])


# --- Experience ----------------------------------------------------------------------------


def _bounces(requests: QuerySet[ServiceRequest]) -> dict[int, int]:
    """Work that bounced on each of `requests` (those with any): sent back as incomplete,
    or handed off to a department the case had already handed work away from, the
    journeys' definition (`journeys.rollups`)."""
    left_before = Event.objects.filter(
        reference=OuterRef("reference"),
        subject_type=TASK,
        kind=EventKind.HANDED_OFF,
        from_department=OuterRef("to_department"),
    ).filter(
        Q(occurred_at__lt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), pk__lt=OuterRef("pk"))
    )
    bounced = (
        _events_of(requests)
        .filter(subject_type=TASK)
        .filter(Q(kind=EventKind.SENT_BACK) | (Q(kind=EventKind.HANDED_OFF) & Exists(left_before)))
        .values("reference")
        .annotate(bounces=Count("pk"))
        .values_list("reference", "bounces")
    )
    return {
        request_id: bounces
        for reference, bounces in bounced
        if (request_id := pk_from_reference(reference)) is not None
    }


def _comment_sentiment(requests: QuerySet[ServiceRequest]) -> dict[int, float]:
    """The mean sentiment of each requester's own public comments (those with a scorable
    word), by request, as journeys reads it. The lexicon runs in Python, so the bodies are
    read: one column of one query."""
    by_request: dict[int, list[float]] = defaultdict(list)
    comments = Comment.objects.filter(
        service_request__in=requests.values("pk"),
        is_internal=False,
        author=F("service_request__requester"),
    ).values_list("service_request_id", "body")
    for request_id, body in comments:
        score = sentiment(body)
        if score is not None:
            by_request[request_id].append(score)
    return {request_id: sum(s) / len(s) for request_id, s in by_request.items()}


def _experience_tally(period: Period) -> Tally:
    resolved = _resolved_in(period, Scope()).annotate(
        was_reopened=Exists(_reopened()), target=end_to_end_target_sql(now=clock.now())
    )
    return Tally(
        resolved,
        REQUEST_SCOPES,
        {
            "cases": Count("pk"),
            "reopened": Count("pk", filter=Q(was_reopened=True)),
            "breached": Count("pk", filter=Q(target=MISSED)),
            "ratings": Count("rating"),
            "scores": Sum("rating__score"),
        },
    )


def _experience(period: Period, scope: Scope, counts: Mapping[str, Any]) -> Value:
    cases = counts["cases"]
    if not cases:
        return Value(None, 0)
    feelings = _per_request("sentiment", period, scope, _comment_sentiment).values()
    signals = TouchpointSignals(
        # The score reads signals, not the touchpoint: here they are a scope's, not one.
        touchpoint=None,  # type: ignore[arg-type]
        cases=cases,
        resolution=Distribution(cases),
        ratings=counts["ratings"],
        response_rate=counts["ratings"] / cases,
        rating_mean=counts["scores"] / counts["ratings"] if counts["ratings"] else None,
        reopen_rate=counts["reopened"] / cases,
        bounces_per_request=sum(_per_request("bounces", period, scope, _bounces).values()) / cases,
        breach_rate=counts["breached"] / cases,
        sentiment=statistics.fmean(feelings) if feelings else None,
    )
    weights = score_weights().get(FrictionWeight.Score.EMOTION.value, {})
    score = emotion_score(signals, weights)
    return Value(score.value, score.confidence)


def _experience_of_each(period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
    counts = _experience_tally(period).counts_of_each(scopes)
    return {scope.key: _experience(period, scope, counts[scope.key]) for scope in scopes}


@measure("experience_score", each=_experience_of_each)
def experience_score(period: Period, scope: Scope) -> Value:
    """How the requests resolved in the period felt, -1 (bad) to 1 (good): the journeys'
    emotion score (`journeys.scores.emotion_score`, its weights included) over them,
    combining what employees say (mean rating, sentiment of their own comments) with what
    they met (reopens, bounces, waits past the end-to-end target); the ratings' weight
    shrinks when few rate. Cases: the resolved requests (its confidence); read it beside
    `rating_response_rate`."""
    return _experience(period, scope, _experience_tally(period).counts(scope))


# --- Backlog and onboarding ----------------------------------------------------------------


def _median_rank(count: int) -> int:
    """The nearest-rank position of the median among `count` ordered values (1-based),
    as `valuestreams.selectors.flow.distributions` ranks its p50."""
    return (50 * count + 99) // 100


def _backlog(period: Period, scope: Scope) -> tuple[dt.datetime, QuerySet[ServiceRequest]]:
    """When the period's backlog is measured, and the requests in it."""
    # Today's period ends at midnight tonight: ages are measured to now, not to then.
    end = min(period.end, clock.now())
    backlog = (
        _requests(scope)
        .filter(submitted_at__lt=end)
        .exclude(resolved_at__lt=end)
        .exclude(closed_at__lt=end)
    )
    return end, backlog


def _median_age(end: dt.datetime, youngest_first: Sequence[dt.datetime]) -> Value:
    count = len(youngest_first)
    if not count:
        return Value(None, 0)
    return Value((end - youngest_first[_median_rank(count) - 1]) / dt.timedelta(days=1), count)


def _backlog_age_of_each(period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
    """Every scope's backlog in one read, youngest first, each scope's median found here:
    the rows are the open requests, not the history."""
    end, backlog = _backlog(period, Scope())
    submitted: dict[str, list[dt.datetime]] = defaultdict(list)
    youngest_first = backlog.order_by("-submitted_at", "-pk").values_list(
        "submitted_at", "department", "catalog_item__service"
    )
    for submitted_at, department_id, service_id in youngest_first:
        for key in ("all", f"department:{department_id}", f"service:{service_id}"):
            submitted[key].append(submitted_at)
    return {scope.key: _median_age(end, submitted.get(scope.key, [])) for scope in scopes}


@measure("backlog_age", each=_backlog_age_of_each)
def backlog_age(period: Period, scope: Scope) -> Value:
    """The median age in days (nearest rank) of the requests still open at the end of the
    period: submitted before it ended, and neither resolved nor closed (cancelled,
    rejected) by then, as their timestamps say now. The oldest half of the backlog is at
    least this old."""
    end, backlog = _backlog(period, scope)
    count = backlog.count()
    if not count:
        return Value(None, 0)
    # The median age is the age of the request at the median rank, youngest first: the
    # database orders and picks that one row, portably.
    submitted = backlog.order_by("-submitted_at", "-pk").values_list("submitted_at", flat=True)
    median_submitted = submitted[_median_rank(count) - 1]
    return Value((end - median_submitted) / dt.timedelta(days=1), count)


@measure("onboarding_ready_on_day_one", scopes=frozenset({*KINDS, "stream"}))
def onboarding_ready_on_day_one(period: Period, scope: Scope) -> Value:
    """Of the new hires whose start date fell in the period (up to today), the share whose
    onboarding request was resolved before that day began, in the portal's time zone:
    everything ready on day one. A new hire is an employee record (HR's, made by the
    onboarding plan, with the start date HR holds) and its request; requests cancelled
    or rejected are left out (nobody started), one still open counts as not ready."""
    zone = timezone.get_current_timezone()
    first_day = timezone.localtime(period.start, zone).date()
    last_day = min(
        timezone.localtime(period.end - dt.timedelta(microseconds=1), zone).date(),
        timezone.localtime(clock.now(), zone).date(),
    )
    records = EmployeeRecord.objects.filter(
        start_date__gte=first_day,
        start_date__lte=last_day,
        service_request__in=_requests(scope).exclude(state__in=ServiceRequest.VOID_STATES),
    )
    if scope.value_stream is not None:
        records = records.filter(service_request__catalog_item__value_streams=scope.value_stream)
    counts = records.annotate(
        resolved_on=TruncDate("service_request__resolved_at", tzinfo=zone)
    ).aggregate(whole=Count("pk"), ready=Count("pk", filter=Q(resolved_on__lt=F("start_date"))))
    return _share(counts["ready"], counts["whole"])


# --- Cost ----------------------------------------------------------------------------------

STATE_NOISE = (EventKind.PRIORITY_CHANGED, EventKind.SLA_BREACHED)
"""Task events that carry a state but do not change it (`docs/events.md`, stage_times)."""


def worked_hours(
    requests: QuerySet[ServiceRequest], *, schedules: Schedules | None = None
) -> dict[int, dict[int, float]]:
    """Staff hours worked on each of `requests`, by department: the time their tasks
    (consults' too) spent in progress, each stint opened by a task's state change and
    closed by its next one, counted in the working hours of the task's department (an
    evening with a task left in progress is nobody's work). The stints come from one query;
    calendars are not SQL, so their working time is summed here. `schedules`, when given,
    are every department's (a page that reads the departments anyway loads them)."""
    changes = (
        _events_of(requests)
        .filter(subject_type=TASK)
        .exclude(to_value="")
        .exclude(kind__in=STATE_NOISE)
        .annotate(
            left_at=Window(
                Lead("occurred_at"),
                partition_by=[F("subject_id")],
                order_by=[F("occurred_at").asc(), F("pk").asc()],
            )
        )
        .values_list("reference", "department_id", "to_value", "occurred_at", "left_at")
    )
    # Every department's calendar in one load (departments are few): a query count that
    # does not grow with the departments the stints fall in.
    if schedules is None:
        schedules = schedules_for(Department.objects.all())
    hours: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for reference, department_id, state, entered_at, left_at in changes:
        if state != FulfilmentTask.State.IN_PROGRESS or left_at is None:
            continue
        schedule = schedules.of(department_id)
        spent = schedule.between(entered_at, left_at) if schedule else left_at - entered_at
        request_id = pk_from_reference(reference)
        if request_id is not None:
            hours[request_id][department_id] += spent / dt.timedelta(hours=1)
    return hours


def _resolved_count(period: Period) -> Tally:
    return Tally(_resolved_in(period, Scope()), REQUEST_SCOPES, {"whole": Count("pk")})


def _cost(period: Period, scope: Scope, resolved: int, rates: Mapping[int, float]) -> Value:
    """The mean cost of the `resolved` requests of `scope` (see `cost_per_request`), at
    `rates` (not empty)."""
    worked = _per_request("worked_hours", period, scope, worked_hours)
    priced = {
        request_id: by_department
        for request_id, by_department in worked.items()
        if all(department_id in rates for department_id in by_department)
    }
    known = resolved - (len(worked) - len(priced))
    total = sum(
        hours * rates[department_id]
        for by_department in priced.values()
        for department_id, hours in by_department.items()
    )
    return Value(total / known if known else None, known)


def _rates() -> dict[int, float]:
    return {rate.department_id: float(rate.hourly_rate) for rate in CostRate.objects.all()}


def _cost_of_each(period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
    rates = _rates()
    if not rates:
        return {scope.key: Value(None, 0) for scope in scopes}
    resolved = _resolved_count(period).counts_of_each(scopes)
    return {
        scope.key: _cost(period, scope, resolved[scope.key]["whole"], rates) for scope in scopes
    }


@measure("cost_per_request", each=_cost_of_each)
def cost_per_request(period: Period, scope: Scope) -> Value:
    """The mean staff cost, in `REPORTING_CURRENCY`, of the requests resolved in the
    period: the hours their tasks spent in progress, in each department's working hours,
    times that department's `CostRate`, summed per request (a request done by automation
    alone costs nothing). A request worked by a department without a rate has an unknown
    cost and is left out: the value rests on the requests whose cost is known (its cases);
    with no rates at all there is no value."""
    rates = _rates()
    if not rates:
        return Value(None, 0)
    return _cost(period, scope, _resolved_count(period).counts(scope)["whole"], rates)


# --- Watermelons ---------------------------------------------------------------------------


def _watermelon(attainment: Value, rating: Value) -> Value:
    if attainment.value is None or rating.value is None or rating.cases < SMALL_GROUP:
        return Value(None, rating.cases)
    return Value(attainment.value - (rating.value - 1) / 4, rating.cases)


def _watermelon_of_each(period: Period, scopes: Sequence[Scope]) -> dict[str, Value]:
    attainment = REGISTRY["end_to_end_attainment"].every(period, scopes)
    rating = REGISTRY["experience_rating"].every(period, scopes)
    return {key: _watermelon(attainment[key], rating[key]) for key in attainment}


@measure("watermelon_index", each=_watermelon_of_each)
def watermelon_index(period: Period, scope: Scope) -> Value:
    """How much greener a service (a department, the enterprise) looks outside than
    inside: its end-to-end target attainment (0-1) minus its mean rating put on the same
    scale, (mean - 1) / 4, over the requests resolved in the period. Positive when the
    targets look better than people feel; at the watermelon thresholds (attainment 0.9,
    rating 3.5) it is 0.275. Cases: the ratings; under `SMALL_GROUP` of them there is no
    value, as the watermelon rule (`reporting.watermelons`) does not call one on fewer."""
    return _watermelon(end_to_end_attainment(period, scope), experience_rating(period, scope))
