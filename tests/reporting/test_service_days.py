"""The portfolio's daily rollup (`reporting.service_days`) on hand-built data, with the rows
worked out by hand.

London time: GMT in November, summer time (UTC+1) until 25 Oct. The company calendar is
Mon-Fri 09:00-17:00. Time is Mon 30 Nov 2026 09:00.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.models import CostRate, ServiceDay, ServiceDayDepartment
from reporting.portfolio import WINDOW_DAYS, portfolio_services, service_portfolio
from reporting.service_days import (
    RECENT_DAYS,
    service_days_backfill,
    service_days_refresh,
    service_days_refresh_recent,
)
from reporting.tasks import service_days_refresh_task
from services import actions
from services.models import (
    AutomationRun,
    ExperienceRating,
    FulfilmentTask,
    ServiceRequest,
    StepRun,
)
from tests.esm.factories import BusinessCalendarFactory
from tests.services.factories import (
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
MON = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
TUE, WED = MON + dt.timedelta(days=1), MON + dt.timedelta(days=2)
FIGURES = ("raised", "resolved", "met", "missed", "ratings", "rating_total")


@pytest.fixture
def item(it_department):
    return CatalogItemFactory(service__department=it_department)


def _request(item, *, submitted, resolved=None, late=False):
    fields = {"submitted_at": submitted}
    if resolved is not None:
        fields |= {
            "resolved_at": resolved,
            "state": ServiceRequest.State.RESOLVED,
            "end_to_end_due_at": resolved + dt.timedelta(hours=-1 if late else 1),
            "end_to_end_breached": late,
        }
    return ServiceRequestFactory(catalog_item=item, **fields)


def _worked(service_request, agent, start, end):
    task = FulfilmentTaskFactory(service_request=service_request)
    with clock.travel(start) as now:
        actions.task_claim(task=task, agent=agent)
        now.to(end)
        actions.task_resolve(
            task=FulfilmentTask.objects.get(pk=task.pk), agent=agent, resolution="Done"
        )


def _automated(service_request, department, finished, *, with_people=False):
    run, _ = AutomationRun.objects.get_or_create(service_request=service_request, plan={})
    n = run.steps.count()
    step = StepRun.objects.create(
        run=run,
        step_key=f"step-{n}",
        idempotency_key=f"run-{run.pk}-step-{n}",
        name=f"Step {n}",
        kind="automated",
        department=department,
        state=StepRun.State.SUCCEEDED,
        finished_at=finished,
    )
    if with_people:
        with transaction.atomic():
            event_record(subject=step, kind=EventKind.STEP_WITH_PEOPLE)


def _days(service):
    return {
        row["day"]: tuple(row[name] for name in FIGURES)
        for row in ServiceDay.objects.filter(service=service).values("day", *FIGURES)
    }


def _parts(service):
    return {
        (row.day, row.department.slug): (pytest.approx(row.hours), row.automated_steps)
        for row in ServiceDayDepartment.objects.filter(service=service).select_related("department")
    }


@pytest.fixture
def week(item, employee, it_agent, it_department):
    """Raised one a day Mon to Wed 10:00; the first two resolved Wed, the Monday one an hour
    within its target and rated 4, the Tuesday one an hour past it. IT worked the Monday one
    Tue 16:00 to Wed 10:00 (2 working hours, not the 18 elapsed); automation alone did two
    steps of it on Tue, a third it handed to people."""
    BusinessCalendarFactory(name="Company", is_default=True)
    first = _request(item, submitted=MON.replace(hour=10), resolved=WED.replace(hour=15))
    second = _request(
        item, submitted=TUE.replace(hour=10), resolved=WED.replace(hour=16), late=True
    )
    _request(item, submitted=WED.replace(hour=10))
    ExperienceRating.objects.create(service_request=first, score=4, rated_by=employee)
    _worked(first, it_agent, TUE.replace(hour=16), WED.replace(hour=10))
    for with_people in (False, False, True):
        _automated(first, it_department, TUE.replace(hour=14), with_people=with_people)
    return first, second


def test_each_figure_lands_on_its_day(item, week):
    with clock.travel(NOW):
        written = service_days_refresh(first=MON.date(), last=WED.date() + dt.timedelta(days=1))

    assert _days(item.service) == {
        dt.date(2026, 11, 16): (1, 0, 0, 0, 0, 0),
        dt.date(2026, 11, 17): (1, 0, 0, 0, 0, 0),
        dt.date(2026, 11, 18): (1, 2, 1, 1, 1, 4),
        dt.date(2026, 11, 19): (0, 0, 0, 0, 0, 0),  # a quiet day is a row of zeros
    }
    assert _parts(item.service) == {
        (dt.date(2026, 11, 17), "it"): (pytest.approx(0.0), 2),
        (dt.date(2026, 11, 18), "it"): (pytest.approx(2.0), 0),
    }
    assert written == 4 + 2


def test_the_day_is_the_portals_local_date(item):
    """23:30 UTC on 20 Oct is 00:30 on 21 Oct in London (summer time)."""
    _request(item, submitted=dt.datetime(2026, 10, 20, 23, 30, tzinfo=dt.UTC))
    with clock.travel(NOW):
        service_days_refresh(first=dt.date(2026, 10, 20), last=dt.date(2026, 10, 21))
    assert _days(item.service) == {
        dt.date(2026, 10, 20): (0, 0, 0, 0, 0, 0),
        dt.date(2026, 10, 21): (1, 0, 0, 0, 0, 0),
    }


def test_refreshing_twice_writes_the_same_rows(item, week):
    with clock.travel(NOW):
        service_days_backfill()
        days, parts = _days(item.service), _parts(item.service)
        service_days_backfill()
    assert (_days(item.service), _parts(item.service)) == (days, parts)
    # The first request's day to today.
    assert ServiceDay.objects.count() == (NOW.date() - MON.date()).days + 1


def test_the_hourly_refresh_picks_up_a_late_rating_and_a_reopening(item, week, employee):
    """Rated 2 five days after it was resolved, the Tuesday request's rating joins its
    resolution day; reopened, the Monday request leaves it, its staff hours with it."""
    first, second = week
    with clock.travel(NOW):
        service_days_backfill()
    ExperienceRating.objects.create(service_request=second, score=2, rated_by=employee)
    ServiceRequest.objects.filter(pk=first.pk).update(
        resolved_at=None, state=ServiceRequest.State.IN_PROGRESS
    )
    assert (NOW.date() - WED.date()).days < RECENT_DAYS

    with clock.travel(NOW):
        service_days_refresh_recent()

    assert _days(item.service)[WED.date()] == (1, 1, 0, 1, 1, 2)
    assert _parts(item.service) == {(TUE.date(), "it"): (pytest.approx(0.0), 2)}


def test_beat_refreshes_the_recent_days_hourly_and_the_whole_window_nightly(item):
    with clock.travel(NOW):
        service_days_refresh_task()
        recent = ServiceDay.objects.filter(service=item.service).count()
        service_days_refresh_task(whole_window=True)
        whole = ServiceDay.objects.filter(service=item.service).count()

    assert (recent, whole) == (RECENT_DAYS, WINDOW_DAYS)


def test_a_refresh_costs_the_same_queries_whatever_the_days_hold(item, employee):
    def queries_for(requests: int) -> int:
        for n in range(requests):
            found = _request(item, submitted=MON, resolved=TUE + dt.timedelta(minutes=n))
            ExperienceRating.objects.create(service_request=found, score=5, rated_by=employee)
        with clock.travel(NOW), CaptureQueriesContext(connection) as queries:
            service_days_refresh(first=MON.date(), last=MON.date() + dt.timedelta(days=6))
        return len(queries)

    assert queries_for(10) <= queries_for(1)


def test_the_page_says_how_fresh_its_figures_are(client, item, executive):
    _request(item, submitted=MON)
    client.force_login(executive)
    with clock.travel(NOW):
        assert (
            "Figures not yet computed: refreshed hourly."
            in client.get(reverse("portfolio")).content.decode()
        )
        service_days_refresh_recent()
        page = client.get(reverse("portfolio")).content.decode()
        service_page = client.get(
            reverse("portfolio_service", args=[item.service.slug])
        ).content.decode()
    assert "Figures as of 30 Nov 2026, 09:00" in page
    assert "Figures as of 30 Nov 2026, 09:00" in service_page


def test_an_hourly_rate_prices_the_rolled_up_steps_when_read(
    item, it_department, executive, settings
):
    """Steps are stored as steps: a rate set after the refresh prices them all, 30 minutes
    at 60 an hour."""
    settings.AUTOMATION_MINUTES_SAVED_PER_STEP = 30
    _automated(_request(item, submitted=MON), it_department, TUE)
    with clock.travel(NOW):
        service_days_backfill()
        CostRate.objects.create(department=it_department, hourly_rate=Decimal("60.00"))
        [entry] = service_portfolio(
            services=portfolio_services().filter(pk=item.service.pk), viewer=executive
        )
    assert entry.automated_steps == 1
    assert entry.automation_value == pytest.approx(30.0)


def test_the_portfolio_sums_its_days_once_until_a_refresh_rewrites_them(item, executive):
    """Every reader shares the days' sums, kept under the days' version: a second view
    does not read the days again, and a refresh's new figures are read at once."""
    _request(item, submitted=MON, resolved=TUE)

    def resolved_and_days_read() -> tuple[int, int]:
        with clock.travel(NOW), CaptureQueriesContext(connection) as queries:
            [entry] = service_portfolio(services=portfolio_services(), viewer=executive)
        tables = ('FROM "reporting_serviceday" ', 'FROM "reporting_servicedaydepartment" ')
        days = [q for q in queries if any(table in q["sql"] for table in tables)]
        return entry.resolved, len(days)

    with clock.travel(NOW):
        service_days_refresh_recent()
    first, again = resolved_and_days_read(), resolved_and_days_read()
    _request(item, submitted=MON, resolved=WED)
    before_refresh = resolved_and_days_read()
    with clock.travel(NOW):
        service_days_refresh_recent()

    assert first == (1, 2)  # the days' sums and their departments' parts
    assert again == before_refresh == (1, 0)
    assert resolved_and_days_read() == (2, 2)
