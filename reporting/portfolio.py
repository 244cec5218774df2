"""The service portfolio's figures: what each enterprise service is asked for, what it costs
and what it delivers, read from the log through its daily rollup. The entry itself
(lifecycle, the business's work around the department's part, fixed costs, value claims,
the decision it waits for) is the service's own, kept in `services`.

Over the window of the last `WINDOW_DAYS` local days, today included (shorter when the
rollup holds fewer days, so a new portal is not read as a quiet one), for each service:

- **demand**: requests raised, as a rate per average month; its **trend** compares the last
  `TREND_SPAN` days with the ones before, and calls a change under `STEADY` steady.
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
back.

The figures are sums of the daily rollup (`ServiceDay`, `ServiceDayDepartment`, written by
`reporting.service_days`), by the days of the window: a request counts on its local
submission day (demand) or resolution day (outcomes, ratings, staff hours), an automated
step on the day it finished. The page costs a fixed number of grouped queries whatever the
number of services or the history's size. The rollup is refreshed hourly for the recent
days (reopenings, early ratings) and nightly for the whole window, so the figures are as of
the last refresh, which the pages show (`PortfolioEntry.as_of`); hourly rates are applied
as the page reads, so a changed rate prices the whole window at once.
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
from django.db.models import F, FilteredRelation, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from esm import clock
from esm.cache import kept_until_rewritten
from esm.models import Department
from esm.permissions import User, staff_department_ids
from reporting.models import CostRate, ServiceDay, ServiceDayDepartment, ServiceReview
from reporting.service_days import service_days_version
from services.models import Service, ServiceValueClaim, ValueFactor
from valuestreams.forms import day_period
from valuestreams.metrics import SMALL_GROUP, Period
from valuestreams.models import ValueStream

WINDOW_DAYS = 91
"""Thirteen weeks: a quarter, long enough for a service asked for monthly to show."""
TREND_SPAN = dt.timedelta(days=28)
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
    """The last `WINDOW_DAYS` local days, today's up to now, starting no earlier than the
    first day the rollup holds (the first request's, once backfilled)."""
    now = now or clock.now()
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=WINDOW_DAYS - 1)
    held = ServiceDay.objects.aggregate(first=Min("day"))["first"]
    if held is not None and held > first:
        first = min(held, today)
    return Period(day_period(first, today).start, now)


def window_days(window: Period) -> tuple[dt.date, dt.date]:
    """The first and last local days `window` touches: the rollup's days it sums."""
    last = window.end - dt.timedelta(microseconds=1)
    return timezone.localdate(window.start), timezone.localdate(max(last, window.start))


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
    as_of: dt.datetime | None = None
    """When the rollup the figures come from was last refreshed; None: never, for the window."""

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


def service_portfolio(
    *,
    services: QuerySet[Service] | Iterable[Service],
    viewer: User,
    window: Period | None = None,
) -> list[PortfolioEntry]:
    """The entries of `services`, in their order: a queryset as `portfolio_services` gives
    it (read here), or services already read (read again, the same way), with their figures
    summed from the daily rollup over the days of `window`. A fixed number of queries,
    whatever the number of services or the history's size."""
    window = window or portfolio_window()
    if isinstance(services, QuerySet):
        read = list(services)
    else:
        ids = [service.pk for service in services]
        found = portfolio_services().filter(pk__in=ids).in_bulk()
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
    first, last = window_days(window)
    # The days' sums are the same for every reader until the days are rewritten.
    days, parts = kept_until_rewritten(
        service_days_version(),
        "portfolio-days",
        (ids, first, last),
        lambda: (_day_sums(ids, first, last), _department_sums(ids, first, last)),
    )
    _add_days(entries, days)
    # Every department (they are few) with its rate: what the hours and savings are priced at.
    departments = {
        department.pk: department
        for department in Department.objects.annotate(
            rate=Subquery(
                CostRate.objects.filter(department=OuterRef("pk")).values("hourly_rate")[:1]
            )
        )
    }
    _add_departments(entries, parts, departments)
    return [entries[pk] for pk in ids]


def _day_sums(ids: list[int], first: dt.date, last: dt.date) -> list[tuple[Any, ...]]:
    """Each service's demand and outcomes: its days from `first` to `last` summed, the
    trend's two spans ending on `last`, in one grouped query."""
    recent = last - dt.timedelta(days=TREND_SPAN.days - 1)
    before = recent - TREND_SPAN
    return list(
        ServiceDay.objects.filter(service__in=ids, day__gte=first, day__lte=last)
        .values_list("service")
        .annotate(
            # Named apart from the columns they sum: an alias may not shadow a field.
            raised_sum=Sum("raised"),
            recent_sum=Sum("raised", filter=Q(day__gte=recent)),
            before_sum=Sum("raised", filter=Q(day__gte=before, day__lt=recent)),
            resolved_sum=Sum("resolved"),
            met_sum=Sum("met"),
            missed_sum=Sum("missed"),
            ratings_sum=Sum("ratings"),
            rating_total_sum=Sum("rating_total"),
            as_of=Max("refreshed_at"),
        )
        .order_by()
    )


def _add_days(entries: dict[int, PortfolioEntry], sums: list[tuple[Any, ...]]) -> None:
    for service_id, raised, recent_raised, before_raised, *outcomes, as_of in sums:
        entry = entries[service_id]
        entry.raised, entry.raised_recent, entry.raised_before = (
            raised,
            recent_raised or 0,
            before_raised or 0,
        )
        entry.resolved, entry.met, entry.missed, entry.ratings, rating_total = outcomes
        entry.rating_mean = rating_total / entry.ratings if entry.ratings else None
        entry.as_of = as_of


def portfolio_as_of(entries: Iterable[PortfolioEntry]) -> dt.datetime | None:
    """The latest refresh of the rollup the entries' figures come from; None: never."""
    return max((entry.as_of for entry in entries if entry.as_of is not None), default=None)


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


def _department_sums(ids: list[int], first: dt.date, last: dt.date) -> list[tuple[Any, ...]]:
    """Each service's staff hours by department and its automated steps from `first` to
    `last`, in one grouped query."""
    return list(
        ServiceDayDepartment.objects.filter(service__in=ids, day__gte=first, day__lte=last)
        .values_list("service", "department")
        .annotate(hours_sum=Sum("hours"), steps_sum=Sum("automated_steps"))
        .order_by()
    )


def _add_departments(
    entries: dict[int, PortfolioEntry],
    sums: list[tuple[Any, ...]],
    departments: dict[int, Department],
) -> None:
    """Each service's staff hours by department (`_department_sums`) and its automated
    steps, priced at each department's rate (`departments`, annotated `rate`). A step of a
    department without a rate saves hours, not money."""
    hours: dict[int, list[DepartmentHours]] = defaultdict(list)
    hours_per_step = settings.AUTOMATION_MINUTES_SAVED_PER_STEP / 60
    for service_id, department_id, worked, steps in sums:
        entry, department = entries[service_id], departments[department_id]
        if worked:
            hours[service_id].append(DepartmentHours(department, worked, department.rate))
        entry.automated_steps += steps
        entry.automation_value += hours_per_step * steps * float(department.rate or 0)
    for service_id, rows in hours.items():
        entries[service_id].hours = sorted(rows, key=lambda row: -row.hours)
