"""The service portfolio's figures (`reporting.portfolio`) on hand-built data, with the
answers worked out by hand.

The window is the 73 days to Mon 30 Nov 2026 09:00 UTC (London time in November): a fifth
of a year, so a yearly figure is five times the window's. The company calendar is Mon-Fri
09:00-17:00.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.models import CostRate, ServiceReview
from reporting.portfolio import (
    portfolio_services,
    portfolio_window,
    service_portfolio,
    window_days,
)
from reporting.service_days import service_days_backfill, service_days_refresh
from services import actions
from services.models import (
    AutomationRun,
    ExperienceRating,
    FulfilmentTask,
    Service,
    ServiceRequest,
    StepRun,
)
from tests.esm.factories import BusinessCalendarFactory
from tests.services.factories import (
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceFactory,
    ServiceRequestFactory,
)
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.metrics import Period
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
WINDOW = Period(NOW - dt.timedelta(days=73), NOW)
MON = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
LONDON = ZoneInfo("Europe/London")


def _request(item, *, submitted, resolved=None, late=False, score=None, rater=None):
    """A request raised at `submitted`; resolved at `resolved` an hour inside its end-to-end
    target (or, `late`, an hour past it, flagged breached as the sweep would); rated
    `score` when given."""
    fields = {"submitted_at": submitted}
    if resolved is not None:
        fields |= {
            "resolved_at": resolved,
            "state": ServiceRequest.State.RESOLVED,
            "end_to_end_due_at": resolved + dt.timedelta(hours=-1 if late else 1),
            "end_to_end_breached": late,
        }
    service_request = ServiceRequestFactory(catalog_item=item, **fields)
    if score is not None:
        ExperienceRating.objects.create(
            service_request=service_request, score=score, rated_by=rater
        )
    return service_request


def _entry(service, viewer, window=WINDOW):
    with clock.travel(NOW):
        first, last = window_days(window)
        service_days_refresh(first=first, last=last)
        [entry] = service_portfolio(
            services=portfolio_services().filter(pk=service.pk), viewer=viewer, window=window
        )
    return entry


@pytest.fixture
def it_service(it_department, department_manager):
    return ServiceFactory(
        department=it_department, owner=department_manager, fixed_yearly_cost=Decimal("1000")
    )


@pytest.fixture
def it_item(it_service):
    return CatalogItemFactory(service=it_service)


def test_demand_is_a_rate_per_month_and_its_trend_the_last_four_weeks_on_the_four_before(
    it_item, executive
):
    """Six raised in the window, four in its last four weeks and two in the four before: 6
    over 73 days is 2.5 an average month (73 days = 2.4 months of 365/12 days); the trend is
    (4 - 2) / 2 = +100%, rising. One raised before the window does not count."""
    for days_ago in (1, 5, 10, 20, 30, 40):
        _request(it_item, submitted=NOW - dt.timedelta(days=days_ago))
    _request(it_item, submitted=NOW - dt.timedelta(days=80))

    entry = _entry(it_item.service, executive)

    assert (entry.raised, entry.raised_recent, entry.raised_before) == (6, 4, 2)
    assert entry.demand_per_month == pytest.approx(2.5)
    assert entry.trend == pytest.approx(1.0)
    assert entry.trend_word == "rising"


def test_a_change_under_ten_percent_is_steady_and_no_requests_before_is_no_trend(
    it_item, executive
):
    for days_ago in [*range(1, 12), *range(29, 39)]:  # eleven recent, ten before: +10%
        _request(it_item, submitted=NOW - dt.timedelta(days=days_ago, hours=1))
    assert _entry(it_item.service, executive).trend_word == "rising"
    ServiceRequest.objects.filter(submitted_at__gte=NOW - dt.timedelta(days=2)).delete()
    entry = _entry(it_item.service, executive)
    assert (entry.raised_recent, entry.raised_before, entry.trend_word) == (10, 10, "steady")

    ServiceRequest.objects.filter(submitted_at__lt=NOW - dt.timedelta(days=28)).delete()
    assert _entry(it_item.service, executive).trend is None


def test_attainment_rating_and_review_make_the_value_index(it_item, executive, employee):
    """Five resolved, four within their target: attainment 0.8. Rated 5, 4, 4, 3, 4: mean
    4.0, on 0-1 (4 - 1) / 4 = 0.75. The owner's review: needs met 3 of 5, (3 - 1) / 4 = 0.5.
    The value index is 100 * (0.8 + 0.75 + 0.5) / 3 = 68.3."""
    for n, score in enumerate((5, 4, 4, 3, 4)):
        _request(
            it_item,
            submitted=MON - dt.timedelta(days=n + 1),
            resolved=MON + dt.timedelta(hours=n),
            late=n == 4,
            score=score,
            rater=employee,
        )
    ServiceReview.objects.create(
        service=it_item.service,
        reviewer=it_item.service.owner,
        reviewed_on=dt.date(2026, 6, 1),
        needs_met=3,
        value="Mostly what we need.",
    )

    entry = _entry(it_item.service, executive)

    assert (entry.resolved, entry.met, entry.missed) == (5, 4, 1)
    assert entry.attainment == pytest.approx(0.8)
    assert (entry.rating, entry.ratings) == (pytest.approx(4.0), 5)
    assert entry.value_index == pytest.approx(100 * (0.8 + 0.75 + 0.5) / 3)


def test_figures_on_fewer_than_five_cases_stay_out_of_the_value_index_and_are_held_back_from_outsiders(  # noqa: E501
    it_item, executive, it_agent, employee
):
    """Two resolved, both in time and rated 5: too few to judge the service by, for
    anyone; an executive outside IT is not shown them, IT's own staff are."""
    for n in range(2):
        _request(
            it_item,
            submitted=MON - dt.timedelta(days=1),
            resolved=MON + dt.timedelta(hours=n),
            score=5,
            rater=employee,
        )

    outside = _entry(it_item.service, executive)
    assert outside.value_index is None
    assert (outside.attainment, outside.attainment_held_back) == (None, True)
    assert (outside.rating, outside.rating_held_back) == (None, True)
    assert (outside.demand_per_month, outside.demand_held_back) == (None, True)
    assert (outside.yearly_cost, outside.cost_held_back) == (None, True)

    inside = _entry(it_item.service, it_agent)
    assert inside.value_index is None
    assert (inside.attainment, inside.rating) == (1.0, 5.0)
    assert inside.yearly_cost == pytest.approx(1000)  # fixed costs only: nobody worked them


def test_cost_is_staff_hours_at_each_departments_rate_scaled_to_a_year_plus_fixed_costs(
    it_item, employee, it_agent, facilities_agent, facilities_department, executive
):
    """One request, worked by IT Mon 10:00-12:00 (2 h) and by Facilities Mon 16:00 to Tue
    10:00 (2 working hours, not the 18 elapsed). IT costs 50 an hour, Facilities has no
    rate: 100 priced in the window, 2 hours unpriced. A fifth of a year: 500 a year, plus
    1,000 fixed, 1,500 a year. Five of them would be needed to show an outsider, so the
    reader here is IT's own staff."""
    BusinessCalendarFactory(name="Company", is_default=True)
    CostRate.objects.create(department=it_item.department, hourly_rate=Decimal("50.00"))
    service_request = ServiceRequestFactory(
        catalog_item=it_item, requester=employee, state="in_progress", submitted_at=MON
    )
    it_task = FulfilmentTaskFactory(service_request=service_request)
    facilities_task = FulfilmentTaskFactory(
        service_request=service_request, queue__department=facilities_department
    )
    with clock.travel(MON) as now:
        for task, agent, start, end in (
            (it_task, it_agent, MON.replace(hour=10), MON.replace(hour=12)),
            (
                facilities_task,
                facilities_agent,
                MON.replace(hour=16),
                MON.replace(hour=10) + dt.timedelta(days=1),
            ),
        ):
            now.to(start)
            actions.task_claim(task=task, agent=agent)
            now.to(end)
            actions.task_resolve(
                task=FulfilmentTask.objects.get(pk=task.pk), agent=agent, resolution="Done"
            )

    entry = _entry(it_item.service, it_agent)

    hours = {row.department.slug: (row.hours, row.cost) for row in entry.hours}
    assert hours == {
        "it": (pytest.approx(2.0), pytest.approx(100.0)),
        "facilities": (pytest.approx(2.0), None),
    }
    assert entry.unpriced_hours == pytest.approx(2.0)
    assert entry.staff_cost == pytest.approx(100.0)
    assert entry.yearly_staff_cost == pytest.approx(500.0)
    assert entry.yearly_cost == pytest.approx(1500.0)
    assert entry.cost_per_request == pytest.approx(100.0)
    assert _entry(it_item.service, executive).shown_hours is None


def test_automation_saves_the_minutes_of_steps_done_by_automation_alone(
    it_item, executive, settings
):
    """Two steps done by automation alone and one handed to people, at 30 minutes a step
    and IT's 50 an hour: 1 hour and 50 saved in the window, 5 hours and 250 a year."""
    settings.AUTOMATION_MINUTES_SAVED_PER_STEP = 30
    CostRate.objects.create(department=it_item.department, hourly_rate=Decimal("50.00"))
    run = AutomationRun.objects.create(
        service_request=_request(it_item, submitted=MON, resolved=MON), plan={}
    )
    for n, with_people in enumerate((False, False, True)):
        step = StepRun.objects.create(
            run=run,
            step_key=f"step-{n}",
            idempotency_key=f"run-{run.pk}-step-{n}",
            name=f"Step {n}",
            kind="automated",
            department=it_item.department,
            state=StepRun.State.SUCCEEDED,
            finished_at=MON,
        )
        if with_people:
            with transaction.atomic():
                event_record(subject=step, kind=EventKind.STEP_WITH_PEOPLE)

    entry = _entry(it_item.service, executive)

    assert entry.automated_steps == 2
    assert entry.yearly_hours_saved == pytest.approx(5.0)
    assert entry.yearly_savings == pytest.approx(250.0)


def test_the_next_review_follows_the_last_by_the_services_interval(it_service, executive):
    it_service.review_every_months = 6
    it_service.save()
    entry = _entry(it_service, executive)
    assert (entry.next_review_on, entry.review_overdue) == (dt.date(2026, 11, 30), False)

    for reviewed_on in (dt.date(2026, 1, 10), dt.date(2026, 4, 20)):
        ServiceReview.objects.create(
            service=it_service,
            reviewer=it_service.owner,
            reviewed_on=reviewed_on,
            needs_met=4,
            value="Good.",
        )
    entry = _entry(it_service, executive)
    assert entry.last_review.reviewed_on == dt.date(2026, 4, 20)
    assert (entry.next_review_on, entry.review_overdue) == (dt.date(2026, 10, 20), True)

    it_service.review_every_months = 12
    it_service.save()
    entry = _entry(it_service, executive)
    assert (entry.next_review_on, entry.review_overdue) == (dt.date(2027, 4, 20), False)


def test_the_streams_served_are_the_agreed_streams_holding_its_items(it_item, executive):
    served = ValueStreamFactory(name="Onboarding")
    served.items.add(it_item, CatalogItemFactory(service=it_item.service))
    ValueStreamFactory(status=ValueStream.Status.DRAFT).items.add(it_item)
    ValueStreamFactory()  # holds none of its items

    assert _entry(it_item.service, executive).streams == [served]


def test_the_window_starts_no_earlier_than_the_first_day_the_rollup_holds(it_item):
    """The window is whole local days to now: from the first request's day once the
    rollup is backfilled, at most the 91 days ending today."""
    _request(it_item, submitted=NOW - dt.timedelta(days=10))
    with clock.travel(NOW):
        service_days_backfill()
        assert portfolio_window() == Period(dt.datetime(2026, 11, 20, tzinfo=LONDON), NOW)
        _request(it_item, submitted=NOW - dt.timedelta(days=200))
        service_days_backfill()
        assert portfolio_window() == Period(dt.datetime(2026, 9, 1, tzinfo=LONDON), NOW)


def test_live_services_come_first_then_the_pipeline_then_the_retired(it_department):
    for name, status in (("B", "retired"), ("C", "live"), ("D", "pipeline"), ("A", "live")):
        ServiceFactory(name=name, department=it_department, status=status)
    assert [s.name for s in portfolio_services()] == ["A", "C", "D", "B"]


def test_the_figures_of_any_number_of_services_cost_the_same_queries(
    it_department, executive, employee
):
    def queries_for(services: int) -> int:
        for _ in range(services):
            item = CatalogItemFactory(service__department=it_department)
            _request(item, submitted=MON, resolved=MON, score=4, rater=employee)
        with CaptureQueriesContext(connection) as queries:
            service_portfolio(services=portfolio_services(), viewer=executive, window=WINDOW)
        return len(queries)

    one = queries_for(1)
    assert queries_for(5) <= one
    assert Service.objects.count() == 6
