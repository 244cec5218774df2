"""The service portfolio's figures: what each enterprise service is asked for, what it costs
and what it delivers, read from the log. The entry itself (lifecycle, the business's work
around the department's part, fixed costs, value claims, the decision it waits for) is
the service's own, kept in `services`.

Over the window ending now (`WINDOW`, shorter when the log is younger, so a new portal is
not read as a quiet one), for each service:

- **demand**: requests raised, as a rate per average month; its **trend** compares the last
  `TREND_SPAN` with the one before, and calls a change under `STEADY` steady.
- **staff hours**: the time its requests' tasks spent in progress, in each department's
  working hours (`reporting.measures.worked_hours`, the hours the cost-per-request measure
  prices), for the requests resolved in the window. **Staff cost** = those hours times each
  department's `CostRate`; a department without a rate leaves its hours unpriced (shown,
  not costed).
- **yearly cost** = staff cost scaled from the window to a year, plus the owner's fixed
  yearly costs.
- **automation savings**: the plan steps done by automation alone
  (`reporting.measures.AUTOMATED_ALONE`) times `AUTOMATION_MINUTES_SAVED_PER_STEP`, in hours and
  priced at the step's department's rate, scaled to a year.
- **attainment**: the end-to-end target attainment of the requests resolved in the window
  (the one clock function); **experience**: their mean rating and how many rated.
- **value index** (0-100): the mean of what is known of attainment, the mean rating on a
  0-1 scale ((mean - 1) / 4) and the accountable customer's latest review ((needs met - 1)
  / 4). A figure resting on fewer than `SMALL_GROUP` cases is left out: too few to judge a
  service by, for anyone.
- **next review**: the latest service review's date plus the service's review interval;
  a service never reviewed is due now.

Small-group rule: to a viewer who is not staff of the service's department, demand, staff
hours and cost, attainment and rating resting on fewer than `SMALL_GROUP` cases are held
back. The figures of every service come from a fixed number of grouped queries (plus one
per department's calendar), whatever the number of services or the history's size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import (
    Avg,
    CharField,
    Count,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from esm import clock
from esm.aggregates import figures_of
from esm.calendars import schedules_for
from esm.models import Department
from esm.permissions import User, staff_department_ids
from reporting.measures import AUTOMATED_ALONE, MET, MISSED, steps_finished, worked_hours
from reporting.models import CostRate, ServiceReview
from services.models import Service, ServiceRequest, ServiceValueClaim, ValueFactor
from services.models.tasks import end_to_end_target_sql
from valuestreams.metrics import SMALL_GROUP, Period
from valuestreams.models import ValueStream

WINDOW = dt.timedelta(weeks=13)
TREND_SPAN = dt.timedelta(weeks=4)
STEADY = 0.10
"""A change in demand smaller than this share is no trend."""
YEAR = dt.timedelta(days=365)
AVERAGE_MONTH = YEAR / 12
NO_DATA_FACTORS = frozenset({ValueFactor.REVENUE, ValueFactor.DIFFERENTIATION})
"""Value factors the portal holds no figures for: their claims stand on the owner's word."""


def review_due_on(service: Service, last_reviewed_on: dt.date | None, *, today: dt.date) -> dt.date:
    """When the service's accountable owner is next to review it: its review interval after
    the last review; today, when it was never reviewed."""
    if last_reviewed_on is None:
        return today
    return last_reviewed_on + relativedelta(months=service.review_every_months)


def portfolio_window(now: dt.datetime | None = None) -> Period:
    """The last `WINDOW`, starting no earlier than the first request the log holds."""
    now = now or clock.now()
    first = ServiceRequest.objects.aggregate(first=Min("submitted_at"))["first"]
    start = now - WINDOW
    if first is not None and first > start:
        start = min(first, now)
    return Period(start, now)


@dataclass(frozen=True)
class DepartmentHours:
    department: Department
    hours: float
    rate: Decimal | None

    @property
    def cost(self) -> float | None:
        return None if self.rate is None else self.hours * float(self.rate)


@dataclass
class PortfolioEntry:
    """One service's figures over `window`; a figure held back from the viewer is None."""

    service: Service
    window: Period
    holds_back: bool
    """The viewer is not staff of the service's department: small figures are held back."""
    streams: list[ValueStream] = field(default_factory=list)
    claims: list[ServiceValueClaim] = field(default_factory=list)
    raised: int = 0
    raised_recent: int = 0
    raised_before: int = 0
    resolved: int = 0
    met: int = 0
    missed: int = 0
    ratings: int = 0
    rating_mean: float | None = None
    hours: list[DepartmentHours] = field(default_factory=list)
    automated_steps: int = 0
    automation_value: float = 0.0
    """The automated steps' minutes priced at their departments' rates, over the window."""
    last_review: ServiceReview | None = None

    def _hidden(self, cases: int) -> bool:
        return self.holds_back and 0 < cases < SMALL_GROUP

    def _per_year(self, amount: float) -> float | None:
        years = self.window.length / YEAR
        return amount / years if years > 0 else None

    # -- demand --------------------------------------------------------------------------

    @property
    def demand_held_back(self) -> bool:
        return self._hidden(self.raised)

    @property
    def demand_per_month(self) -> float | None:
        months = self.window.length / AVERAGE_MONTH
        if self.demand_held_back or months <= 0:
            return None
        return self.raised / months

    @property
    def trend(self) -> float | None:
        """The change of the last `TREND_SPAN`'s requests on the span before, as a share;
        None when the span before had none or the window does not reach back that far."""
        if self.demand_held_back or not self.raised_before or self.window.length < 2 * TREND_SPAN:
            return None
        return (self.raised_recent - self.raised_before) / self.raised_before

    @property
    def trend_word(self) -> str:
        trend = self.trend
        if trend is None:
            return ""
        if abs(trend) < STEADY:
            return "steady"
        return "rising" if trend > 0 else "falling"

    # -- cost ----------------------------------------------------------------------------

    @property
    def cost_held_back(self) -> bool:
        return self._hidden(self.resolved)

    @property
    def staff_hours(self) -> float | None:
        return None if self.cost_held_back else sum(row.hours for row in self.hours)

    @property
    def shown_hours(self) -> list[DepartmentHours] | None:
        return None if self.cost_held_back else self.hours

    @property
    def unpriced_hours(self) -> float:
        return sum(row.hours for row in self.hours if row.rate is None)

    @property
    def staff_cost(self) -> float | None:
        """Over the window, of the priced hours."""
        if self.cost_held_back:
            return None
        return sum(row.cost for row in self.hours if row.cost is not None)

    @property
    def yearly_staff_cost(self) -> float | None:
        staff = self.staff_cost
        return None if staff is None else self._per_year(staff)

    @property
    def yearly_cost(self) -> float | None:
        staff = self.yearly_staff_cost
        if staff is None and self.resolved:
            return None
        return (staff or 0.0) + float(self.service.fixed_yearly_cost)

    @property
    def cost_per_request(self) -> float | None:
        staff = self.staff_cost
        return staff / self.resolved if staff is not None and self.resolved else None

    # -- automation ----------------------------------------------------------------------

    @property
    def yearly_hours_saved(self) -> float | None:
        minutes = self.automated_steps * settings.AUTOMATION_MINUTES_SAVED_PER_STEP
        return self._per_year(minutes / 60)

    @property
    def yearly_savings(self) -> float | None:
        return self._per_year(self.automation_value)

    # -- outcomes ------------------------------------------------------------------------

    @property
    def attainment_cases(self) -> int:
        return self.met + self.missed

    @property
    def attainment(self) -> float | None:
        cases = self.attainment_cases
        if not cases or self._hidden(cases):
            return None
        return self.met / cases

    @property
    def attainment_held_back(self) -> bool:
        return self._hidden(self.attainment_cases)

    @property
    def rating(self) -> float | None:
        return None if self.rating_held_back else self.rating_mean

    @property
    def rating_held_back(self) -> bool:
        return self._hidden(self.ratings)

    @property
    def value_index(self) -> float | None:
        parts = []
        if self.attainment_cases >= SMALL_GROUP:
            parts.append(self.met / self.attainment_cases)
        if self.ratings >= SMALL_GROUP and self.rating_mean is not None:
            parts.append((self.rating_mean - 1) / 4)
        if self.last_review is not None:
            parts.append((self.last_review.needs_met - 1) / 4)
        return 100 * sum(parts) / len(parts) if parts else None

    # -- review --------------------------------------------------------------------------

    @property
    def next_review_on(self) -> dt.date:
        last = self.last_review.reviewed_on if self.last_review else None
        return review_due_on(self.service, last, today=timezone.localdate(self.window.end))

    @property
    def review_overdue(self) -> bool:
        return self.next_review_on < timezone.localdate(self.window.end)

    def claim_for(self, factor: str) -> ServiceValueClaim | None:
        return next((claim for claim in self.claims if claim.factor == factor), None)


def portfolio_services() -> QuerySet[Service]:
    """Every service with what its portfolio entry shows loaded (its department, owner,
    value claims and latest review, joined): live first, then the pipeline, then the
    retired, each by name."""
    latest_review = ServiceReview.objects.filter(service=OuterRef("pk")).order_by(
        "-reviewed_on", "-pk"
    )
    # One claim per service and factor (a constraint): each factor's claim is a join.
    claims = {
        f"_claim_{factor}": FilteredRelation(
            "value_claims", condition=Q(value_claims__factor=factor)
        )
        for factor in ValueFactor.values
    }
    return (
        Service.objects.annotate(
            _last_review=FilteredRelation(
                "reviews", condition=Q(reviews__pk=Subquery(latest_review.values("pk")[:1]))
            ),
            **claims,
        )
        .select_related("department", "owner__profile", "_last_review__reviewer", *claims)
        # The statuses' values sort as wanted: live, pipeline, retired.
        .order_by("status", "name")
    )


def _figures(window: Period) -> dict[str, Subquery]:
    """Each service's demand, outcomes and automation over `window`, and the requests
    resolved in it, as annotations of its row (`figures_of`: each table read once)."""
    recent = window.end - TREND_SPAN
    before = recent - TREND_SPAN
    service = "run__service_request__catalog_item__service"
    return {
        "_demand": figures_of(
            ServiceRequest.objects.filter(
                catalog_item__service=OuterRef("pk"),
                submitted_at__gte=window.start,
                submitted_at__lt=window.end,
            ),
            raised=Count("pk"),
            recent=Count("pk", filter=Q(submitted_at__gte=recent)),
            before=Count("pk", filter=Q(submitted_at__gte=before, submitted_at__lt=recent)),
        ),
        "_outcomes": figures_of(
            _resolved(window)
            .filter(catalog_item__service=OuterRef("pk"))
            .annotate(target=end_to_end_target_sql(now=window.end)),
            resolved=Count("pk"),
            met=Count("pk", filter=Q(target=MET)),
            missed=Count("pk", filter=Q(target=MISSED)),
            ratings=Count("rating"),
            rating_mean=Avg("rating__score"),
            # Which service each request's worked hours are of.
            ids=StringAgg(Cast("pk", CharField()), Value(",")),
        ),
        "_automation": figures_of(
            steps_finished(since=window.start, until=window.end).filter(
                AUTOMATED_ALONE, **{service: OuterRef("pk")}
            ),
            steps=Count("pk"),
            # Each step at its department's rate (none for a department without one).
            rates=Sum(
                Subquery(
                    CostRate.objects.filter(department=OuterRef("department")).values(
                        "hourly_rate"
                    )[:1]
                )
            ),
        ),
    }


def service_portfolio(
    *,
    services: QuerySet[Service] | Iterable[Service],
    viewer: User,
    window: Period | None = None,
) -> list[PortfolioEntry]:
    """The entries of `services`, in their order: a queryset as `portfolio_services` gives
    it (read here, with every figure), or services already read (read again, the same way).
    A fixed number of queries, whatever the number of services or the history's size."""
    window = window or portfolio_window()
    if isinstance(services, QuerySet):
        read = list(services.annotate(**_figures(window)))
    else:
        ids = [service.pk for service in services]
        found = portfolio_services().filter(pk__in=ids).annotate(**_figures(window)).in_bulk()
        read = [found[pk] for pk in ids if pk in found]
    if not read:
        return []
    staff_of = staff_department_ids(viewer)
    entries = {
        service.pk: PortfolioEntry(
            service=service,
            window=window,
            holds_back=service.department_id not in staff_of,
            claims=[
                claim
                for factor in ValueFactor.values
                if (claim := getattr(service, f"_claim_{factor}", None)) is not None
            ],
            last_review=getattr(service, "_last_review", None),
        )
        for service in read
    }
    ids = list(entries)
    _add_streams(entries, ids)
    # Every department (they are few) with its rate, and their calendars: what the hours
    # and the savings are priced and counted in.
    departments = {
        department.pk: department
        for department in Department.objects.annotate(
            rate=Subquery(
                CostRate.objects.filter(department=OuterRef("pk")).values("hourly_rate")[:1]
            )
        )
    }
    rates = {pk: d.rate for pk, d in departments.items() if d.rate is not None}
    for service in read:
        entry = entries[service.pk]
        demand, outcomes = service._demand, service._outcomes
        entry.raised, entry.raised_recent, entry.raised_before = (
            demand["raised"],
            demand["recent"],
            demand["before"],
        )
        entry.resolved, entry.met, entry.missed = (
            outcomes["resolved"],
            outcomes["met"],
            outcomes["missed"],
        )
        entry.ratings, entry.rating_mean = outcomes["ratings"], outcomes["rating_mean"]
        _add_automation(entry, service._automation)
    _add_hours(entries, read, window, departments, rates)
    return [entries[pk] for pk in ids]


def _add_streams(entries: dict[int, PortfolioEntry], ids: list[int]) -> None:
    """The agreed value streams whose items belong to each service: the streams it serves."""
    streams = (
        ValueStream.objects.exclude(status=ValueStream.Status.DRAFT)
        .filter(items__service__in=ids)
        .annotate(served_service=F("items__service"))
        .order_by("name")
        .distinct()
    )
    for stream in streams:
        served = entries[stream.served_service].streams
        if stream not in served:
            served.append(stream)


def _resolved(window: Period) -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.filter(resolved_at__gte=window.start, resolved_at__lt=window.end)


def _add_hours(
    entries: dict[int, PortfolioEntry],
    services: list[Service],
    window: Period,
    departments: dict[int, Department],
    rates: dict[int, Decimal],
) -> None:
    service_of = {
        int(request_id): service.pk
        for service in services
        for request_id in (service._outcomes["ids"] or "").split(",")
        if request_id
    }
    resolved = _resolved(window).filter(catalog_item__service__in=[s.pk for s in services])
    totals: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    worked = worked_hours(resolved, schedules=schedules_for(departments.values()))
    for request_id, by_department in worked.items():
        # worked_hours reads the window again: a request resolved since `service_of` was
        # read is in it and not in `service_of`. It counts on the next look.
        if (service_id := service_of.get(request_id)) is None:
            continue
        for department_id, hours in by_department.items():
            totals[service_id][department_id] += hours
    for service_id, by_department in totals.items():
        entries[service_id].hours = sorted(
            (
                DepartmentHours(departments[department_id], hours, rates.get(department_id))
                for department_id, hours in by_department.items()
            ),
            key=lambda row: -row.hours,
        )


def _add_automation(entry: PortfolioEntry, steps: dict[str, Any]) -> None:
    """`steps`: how many steps automation alone did, and the sum of their departments'
    hourly rates."""
    entry.automated_steps = steps["steps"]
    hours_per_step = settings.AUTOMATION_MINUTES_SAVED_PER_STEP / 60
    entry.automation_value = hours_per_step * float(steps["rates"] or 0)
