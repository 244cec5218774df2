"""Queries per page, at two sizes of the same enterprise: every page the bench times runs
the count pinned here, on a small seeded enterprise and on one three times its size (three
times the requests, tasks, events and people, each department on a calendar of its own, and
more departments; the small one has 2,000 requests, so that its queues hold open work). A
page whose count grows with the data fails here long before a million requests, and no page
runs more than the budget of 15."""

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from bench.scenarios import Scenario, plan
from esm.models import Department
from services.models import Service
from tests.esm.factories import BusinessCalendarFactory, DepartmentFactory, HolidayFactory

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SMALL = {"requests": 2000, "people": 600}
LARGE = {"requests": 6000, "people": 1800}
MORE_DEPARTMENTS = 6
BUDGET = 15
# The bench's scenarios (reports by audience) and the portfolio's page of one service, with
# the queries each costs on the small enterprise. A write (submit, take next) is not a page:
# its count is pinned, not held to the budget.
PINNED = {
    "no-op (floor)": 2,
    "portal home": 7,
    "catalog search": 8,
    "item form": 7,
    "submit": 19,
    "my requests": 5,
    # Its run's steps or, read with no run, its tasks: one read either way.
    "request detail": 11,
    "approvals": 5,
    # The tasks assigned to the viewer are a page of tasks too, read as the queue's are.
    "queue list": 8,
    # A page of tasks is two reads, its ids sorted then its rows (`esm.pagination`), and is
    # counted with the queue (no count of its own, unfiltered).
    "queue, first page": 10,
    "queue, last page": 10,
    "take next": 4,
    "task page": 14,
    # Its people a page at a time: their count is a read of its own.
    "department overview": 9,
    # Read once after a refresh of the streams' rollups (as here), then kept: their totals
    # and lead times, in one query. One more for the viewer's sight of a stream's cases where
    # a period holds fewer than five, as the small enterprise's do (the dashboards with a
    # flow panel too; the map reads it always).
    "value-stream list": 6,
    "value-stream map": 13,
    "journey map": 12,
    "dashboard: Department managers": 15,
    # Its two lists read their ids, then both lists' rows in one read by id.
    "dashboard: Department staff": 14,
    "dashboard: Employees": 10,
    "dashboard: Executives": 14,
    "dashboard: Line managers": 11,
    # The days' version, then their sums (kept under it; not here, where nothing is cached).
    "portfolio": 10,
    # One for the viewer's sight of the small edges' cases, which both sizes have.
    "collaboration map": 7,
    "stream export (CSV)": 5,
    "API: my requests": 4,
    "API: queue tasks": 7,
    "portfolio: a service": 11,
}
# Where the larger enterprise's count differs, and why: the bench picks its people and
# objects from the data, so at the larger size some are others, in another state.
AT_LARGE = PINNED | {
    # The agent picked holds no open task: no clocks to read, so no calendars (2 queries).
    "queue list": 5,
    # The reader picked sees some of the stream's cases here, none at the smaller size: one
    # read of their events (one per `exports.CASES_PER_READ` cases).
    "stream export (CSV)": 6,
}
WRITES = {"submit", "take next"}
# A streamed export reads its cases' events once per `exports.CASES_PER_READ` cases: its
# count follows what it exports (here none of the stream's cases, then some), not the
# history's size.
STREAMS = {"stream export (CSV)"}

pytestmark = [
    # The tests read the counts only; the mark makes pytest-django point the connections at
    # the test database before the module's fixture seeds it, whatever ran first.
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="seed_scale writes with PostgreSQL's COPY; the test database is "
        f"{connection.vendor}",
    ),
]


def _seed(*, requests: int, people: int) -> None:
    call_command("flush", interactive=False, verbosity=0)
    call_command(
        "seed_scale",
        requests=requests,
        people=people,
        seed=3,
        now=NOW,
        snapshot_weeks=1,
        stdout=StringIO(),
    )


def _spread_calendars() -> None:
    """Every department on a calendar of its own, and more departments: what a page reads
    of calendars must not grow with them."""
    for department in Department.objects.all():
        calendar = BusinessCalendarFactory(name=f"{department.name} hours")
        HolidayFactory(calendar=calendar, date=dt.date(2026, 12, 25))
        department.calendar = calendar
        department.save(update_fields=["calendar"])
    for _ in range(MORE_DEPARTMENTS):
        DepartmentFactory(calendar=BusinessCalendarFactory())


def _queries(client: Client, scenario: Scenario) -> int:
    """The queries `scenario` runs, as the bench counts them: the request's own, in a
    transaction rolled back afterwards (a write changes nothing and enqueues nothing), its
    savepoints left out."""
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        if scenario.data:
            response = client.post(scenario.url, scenario.data())
        else:
            response = client.get(scenario.url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
        transaction.set_rollback(True)
    assert response.status_code in scenario.ok, (scenario.name, response.status_code)
    return sum(
        1
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO"))
    )


# The bench's floor, the signed-in no-op page, is served and planned only under BENCH. Every
# page is counted as on its first visit: with no cache, no page reads what one before it
# kept (a rollup's figures, `esm.cache.kept_until_rewritten`), whatever their order.
@override_settings(
    ROOT_URLCONF="tests.bench.urls",
    BENCH=True,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
)
def _count_every_page() -> dict[str, int]:
    bench = plan(password="not-used")
    service = Service.objects.order_by("pk").first()
    scenarios = [
        *bench.scenarios,
        Scenario(
            "portfolio: a service", "executive", reverse("portfolio_service", args=[service.slug])
        ),
    ]
    User = get_user_model()
    counts: dict[str, int] = {}
    for scenario in scenarios:
        client = Client()
        client.force_login(User.objects.get(username=bench.accounts[scenario.role]))
        # Two reports of one audience share a name: the dearer one counts.
        counts[scenario.name] = max(counts.get(scenario.name, 0), _queries(client, scenario))
    return counts


@pytest.fixture(scope="module")
def counts(django_db_setup, django_db_blocker) -> dict[str, Any]:
    """Each page's queries on the small enterprise and on the large one."""
    with django_db_blocker.unblock():
        try:
            _seed(**SMALL)
            small = _count_every_page()
            _seed(**LARGE)
            _spread_calendars()
            large = _count_every_page()
        finally:
            call_command("flush", interactive=False, verbosity=0)
    return {"small": small, "large": large}


def test_no_page_runs_more_queries_for_more_of_the_same_data(counts):
    grown = {
        page: (small, counts["large"][page])
        for page, small in counts["small"].items()
        if counts["large"][page] > small and page not in STREAMS
    }
    assert grown == {}


def test_every_page_runs_the_queries_pinned_for_it_at_both_sizes(counts):
    assert counts["small"] == PINNED
    assert counts["large"] == AT_LARGE


def test_every_page_keeps_within_the_budget(counts):
    for size in ("small", "large"):
        over = {
            page: count
            for page, count in counts[size].items()
            if count > BUDGET and page not in WRITES
        }
        assert over == {}, size
