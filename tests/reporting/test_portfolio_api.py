"""/api/v1/portfolio/ and /api/v1/portfolio/<slug>/: the same rule and the same small-group
rule as the pages, figures worked out by hand on the services of the pages' tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esm import clock
from reporting.models import CostRate
from services.models import Service
from tests.conftest import _person
from tests.reporting.test_portfolio_views import NOW, build_laptops, requests, rollup, worked
from tests.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/portfolio/"
DETAIL = "/api/v1/portfolio/laptops/"


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


@pytest.fixture
def laptops(it_department, sales_department):
    return build_laptops(it_department, _person("owner", department=sales_department))


@pytest.mark.parametrize("persona", ["it_agent", "employee", "outsider"])
def test_refused_to_who_may_not_read_the_portfolio(client, laptops, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(LIST).status_code == 403
    assert client.get(DETAIL).status_code == 403


def test_refused_to_who_is_not_signed_in(client, laptops):
    assert client.get(LIST).status_code in (401, 403)


def test_list_gives_each_entry_with_its_figures(client, laptops, department_manager):
    rollup()
    client.force_login(department_manager)

    body = client.get(LIST).json()

    assert body["count"] == 1
    [entry] = body["results"]
    assert entry["service"] == "laptops"
    assert entry["name"] == "Laptops"
    assert entry["department"] == "it"
    assert entry["owner"] == "owner"
    assert entry["lifecycle"] == "live"
    assert entry["decision_pending"] == ""
    assert entry["value_claims"] == [{"factor": "cost", "claim": "Cheaper to lease."}]
    # Three requests over an average month; all within target, rated 4; no staff time.
    assert entry["demand_per_month"] == pytest.approx(3)
    assert entry["demand_held_back"] is False
    assert entry["fixed_yearly_cost"] == "1200.00"
    assert entry["staff_hours"] == 0
    assert entry["yearly_cost"] == pytest.approx(1200)
    assert entry["attainment"] == pytest.approx(1.0)
    assert (entry["rating"], entry["ratings"]) == (pytest.approx(4.0), 3)
    # The review alone values it: needs met 4 of 5 is (4 - 1) / 4 = 75.
    assert entry["value_index"] == pytest.approx(75)
    assert entry["last_reviewed_on"] == "2026-10-01"
    assert entry["next_review_on"] == "2027-10-01"
    assert entry["review_overdue"] is False
    assert "hours" not in entry


def test_held_back_figures_are_null_with_their_flags(client, laptops, executive):
    rollup()
    client.force_login(executive)

    [entry] = client.get(LIST).json()["results"]

    assert (entry["demand_per_month"], entry["demand_held_back"]) == (None, True)
    assert entry["demand_trend"] is None
    assert (entry["staff_hours"], entry["yearly_cost"], entry["cost_held_back"]) == (
        None,
        None,
        True,
    )
    assert (entry["attainment"], entry["attainment_held_back"]) == (None, True)
    assert (entry["rating"], entry["ratings"], entry["rating_held_back"]) == (None, None, True)
    # What rests on no case stands for everyone.
    assert entry["fixed_yearly_cost"] == "1200.00"
    assert entry["value_index"] == pytest.approx(75)
    detail = client.get(DETAIL).json()
    assert detail["hours"] is None
    assert detail["cost_held_back"] is True


def test_a_service_without_owner_or_review(client, it_department, executive):
    ServiceFactory(
        name="Hybrid desks",
        slug="hybrid-desks",
        department=it_department,
        status=Service.Status.PIPELINE,
        decision_pending=Service.Decision.INVEST,
    )
    rollup()
    client.force_login(executive)

    [entry] = client.get(LIST).json()["results"]

    assert (entry["owner"], entry["lifecycle"], entry["decision_pending"]) == (
        None,
        "pipeline",
        "invest",
    )
    assert entry["last_reviewed_on"] is None
    assert entry["next_review_on"] == "2026-11-20"  # never reviewed: due now
    assert entry["value_index"] is None


def test_list_pages_through_the_services(client, it_department, executive):
    for n in range(27):
        ServiceFactory(name=f"Service {n:02}", department=it_department)
    rollup()
    client.force_login(executive)

    first = client.get(LIST).json()
    second = client.get(LIST, {"page": 2}).json()

    assert first["count"] == 27
    assert len(first["results"]) == 25
    assert first["results"][0]["name"] == "Service 00"
    assert [entry["name"] for entry in second["results"]] == ["Service 25", "Service 26"]
    assert second["next"] is None


def test_unknown_service_is_404(client, executive):
    client.force_login(executive)

    assert client.get("/api/v1/portfolio/nowhere/").status_code == 404


def test_detail_gives_hours_by_department(
    client, laptops, it_department, hr_department, it_agent, hr_agent, department_manager
):
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("50.00"))
    [one, two] = requests(laptops, 2)
    worked(one, it_agent, hours=2)
    worked(two, it_agent, hours=1)
    two.department = hr_department
    worked(two, hr_agent, hours=3)
    rollup()
    client.force_login(department_manager)

    body = client.get(DETAIL).json()

    assert body["service"] == "laptops"
    # IT 3 hours at 50; HR 3 hours, no rate: shown, not priced. Biggest first, then as
    # they came.
    hours = {row["department"]: row for row in body["hours"]}
    assert hours["it"] == {"department": "it", "hours": 3.0, "hourly_rate": "50.00", "cost": 150.0}
    assert hours["hr"] == {"department": "hr", "hours": 3.0, "hourly_rate": None, "cost": None}
    assert body["staff_hours"] == pytest.approx(6)
    assert body["cost_held_back"] is False
