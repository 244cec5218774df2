"""The functions that compute measures, registered by key: a `Measure` row names one, and
its number comes only from here (never a typed value).

Each function takes a period and a scope (the whole enterprise, one department, one
service or one value stream) and returns the value and how many cases it rests on,
aggregated in SQL. A function is registered for the kinds of scope it means something for
(`KINDS` by default: a request count per value stream would repeat the service's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, CharField, Count, Exists, OuterRef, Q, QuerySet
from django.db.models import Value as SqlValue
from django.db.models.functions import Cast, Concat, Greatest, Length, LPad

from esm import clock
from esm.models import Department, Event, EventKind
from services.models import (
    ArticleView,
    ExperienceRating,
    FulfilmentTask,
    PlanStep,
    Service,
    ServiceRequest,
    StepRun,
)
from services.models.requests import REFERENCE_PREFIX
from services.selectors import DEFLECTION_WINDOW, deflections
from valuestreams.metrics import Period
from valuestreams.models import ValueStream


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


@dataclass(frozen=True)
class Registered:
    compute: Compute
    scopes: frozenset[str]
    """The kinds of scope ("all", "department", "service", "stream") it is computed for."""

    def __call__(self, period: Period, scope: Scope) -> Value:
        return self.compute(period, scope)

    @property
    def description(self) -> str:
        """The function's docstring, in one line: how it computes (the editing form shows it)."""
        return " ".join((self.compute.__doc__ or "").split())


KINDS = frozenset({"all", "department", "service"})
REGISTRY: dict[str, Registered] = {}


def measure(key: str, *, scopes: frozenset[str] = KINDS) -> Callable[[Compute], Compute]:
    def register(compute: Compute) -> Compute:
        REGISTRY[key] = Registered(compute, scopes)
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


@measure("request_volume")
def request_volume(period: Period, scope: Scope) -> Value:
    """Requests raised in the period."""
    count = (
        _requests(scope).filter(submitted_at__gte=period.start, submitted_at__lt=period.end).count()
    )
    return Value(float(count), count)


@measure("end_to_end_attainment")
def end_to_end_attainment(period: Period, scope: Scope) -> Value:
    """Of the requests resolved in the period, the share resolved within the employee's
    end-to-end target."""
    counts = _resolved_in(period, scope).aggregate(
        whole=Count("pk"), met=Count("pk", filter=Q(end_to_end_breached=False))
    )
    return _share(counts["met"], counts["whole"])


@measure("department_target_attainment")
def department_target_attainment(period: Period, scope: Scope) -> Value:
    """Of the tasks done in the period, the share done within their department's target."""
    tasks = FulfilmentTask.objects.filter(done_at__gte=period.start, done_at__lt=period.end)
    if scope.department is not None:
        tasks = tasks.filter(department=scope.department)
    if scope.service is not None:
        tasks = tasks.filter(service_request__catalog_item__service=scope.service)
    counts = tasks.aggregate(whole=Count("pk"), met=Count("pk", filter=Q(sla_breached=False)))
    return _share(counts["met"], counts["whole"])


@measure("reopen_rate")
def reopen_rate(period: Period, scope: Scope) -> Value:
    """Of the requests resolved in the period, the share the employee had reopened."""
    reopened = Event.objects.filter(
        subject_type="services.servicerequest",
        subject_id=OuterRef("pk"),
        kind=EventKind.REOPENED,
    )
    counts = (
        _resolved_in(period, scope)
        .annotate(was_reopened=Exists(reopened))
        .aggregate(whole=Count("pk"), reopened=Count("pk", filter=Q(was_reopened=True)))
    )
    return _share(counts["reopened"], counts["whole"])


@measure("experience_rating")
def experience_rating(period: Period, scope: Scope) -> Value:
    """The mean rating (1-5) of the requests resolved in the period that were rated."""
    ratings = ExperienceRating.objects.filter(
        service_request__in=_resolved_in(period, scope).values("pk")
    ).aggregate(mean=Avg("score"), count=Count("pk"))
    return Value(ratings["mean"], ratings["count"])


@measure("rating_response_rate")
def rating_response_rate(period: Period, scope: Scope) -> Value:
    """Of the requests resolved in the period, the share the employee rated: ratings are
    sparse and lean to the unhappy, so every experience figure is read beside it."""
    counts = _resolved_in(period, scope).aggregate(
        whole=Count("pk"), rated=Count("pk", filter=Q(rating__isnull=False))
    )
    return _share(counts["rated"], counts["whole"])


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


@measure("first_touch_resolution")
def first_touch_resolution(period: Period, scope: Scope) -> Value:
    """Of the requests resolved in the period, the share resolved at the first touch: never
    handed off, sent back, consulted on, asked the employee something, or reopened."""
    touched_again = Event.objects.filter(reference=OuterRef("ref"), kind__in=SECOND_TOUCHES)
    counts = (
        _resolved_in(period, scope)
        .annotate(ref=_reference(), again=Exists(touched_again))
        .aggregate(whole=Count("pk"), first=Count("pk", filter=Q(again=False)))
    )
    return _share(counts["first"], counts["whole"])


def _automated_steps(period: Period, scope: Scope) -> QuerySet[StepRun]:
    """Steps finished in the period by automation alone (never given to people)."""
    given_to_people = Event.objects.filter(
        subject_type="services.steprun", subject_id=OuterRef("pk"), kind=EventKind.STEP_WITH_PEOPLE
    )
    steps = StepRun.objects.filter(
        state=StepRun.State.SUCCEEDED, finished_at__gte=period.start, finished_at__lt=period.end
    )
    if scope.department is not None:
        steps = steps.filter(department=scope.department)
    if scope.service is not None:
        steps = steps.filter(run__service_request__catalog_item__service=scope.service)
    return steps.annotate(with_people=Exists(given_to_people))


@measure("automation_rate")
def automation_rate(period: Period, scope: Scope) -> Value:
    """Of the plan steps finished in the period, the share done by automation alone."""
    counts = _automated_steps(period, scope).aggregate(
        whole=Count("pk"),
        automated=Count("pk", filter=Q(kind=PlanStep.Kind.AUTOMATED, with_people=False)),
    )
    return _share(counts["automated"], counts["whole"])


@measure("staff_hours_saved")
def staff_hours_saved(period: Period, scope: Scope) -> Value:
    """Hours of staff work the automated steps of the period saved, at
    `AUTOMATION_MINUTES_SAVED_PER_STEP` minutes each (a setting: what a person would take)."""
    automated = (
        _automated_steps(period, scope)
        .filter(kind=PlanStep.Kind.AUTOMATED, with_people=False)
        .count()
    )
    return Value(automated * settings.AUTOMATION_MINUTES_SAVED_PER_STEP / 60, automated)
