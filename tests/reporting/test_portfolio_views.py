"""The service portfolio's pages: who reads them, what each section shows on hand-built
services, the small-group rule, the links to edit and review, and a fixed query count.

Time is Fri 20 Nov 2026 09:00; the first request was raised an average month (365/12 days)
before, at midnight on 21 Oct in London (summer time), so the window, whole local days from
the first request's, is that month and a service's requests a month are simply how many
were raised."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from esm import clock
from esm.models import DepartmentRole
from reporting.models import CostRate, ServiceReview
from reporting.portfolio import AVERAGE_MONTH
from reporting.service_days import service_days_backfill
from services import actions
from services.models import ExperienceRating, Service, ServiceRequest, ServiceValueClaim
from tests.conftest import _person
from tests.services.factories import (
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceFactory,
    ServiceRequestFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
START = NOW - AVERAGE_MONTH
PAGE = reverse("portfolio")


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


@pytest.fixture
def owner(sales_department):
    return _person("owner", department=sales_department)


@pytest.fixture
def hr_manager(hr_department):
    """A manager of another department than the services': a decider all the same."""
    return _person(
        "hr_manager", department=hr_department, roles=[(hr_department, DepartmentRole.Role.MANAGER)]
    )


def requests(service, count, *, rating=None, first=False):
    """`count` requests of `service`, resolved a day after they were raised (within their
    end-to-end target), rated `rating` when given; `first` raises one at the window's start."""
    item = service.items.first() or CatalogItemFactory(service=service, is_published=True)
    made = []
    for n in range(count):
        submitted = START if first and n == 0 else NOW - dt.timedelta(days=5 + n % 20)
        found = ServiceRequestFactory(
            catalog_item=item,
            submitted_at=submitted,
            resolved_at=submitted + dt.timedelta(days=1),
            end_to_end_due_at=submitted + dt.timedelta(days=2),
            state=ServiceRequest.State.RESOLVED,
        )
        if rating is not None:
            ExperienceRating.objects.create(
                service_request=found, score=rating, rated_by=found.requester
            )
        made.append(found)
    return made


def worked(service_request, agent, *, hours):
    """A task of `service_request` in `agent`'s department, in progress for `hours` on
    Thursday morning (office hours)."""
    task = FulfilmentTaskFactory(
        service_request=service_request, queue__department=service_request.department
    )
    with clock.travel(dt.datetime(2026, 11, 19, 10, tzinfo=dt.UTC)) as now:
        actions.task_claim(task=task, agent=agent)
        now.to(now.now + dt.timedelta(hours=hours))
        actions.task_resolve(task=task, agent=agent, resolution="Done")
    ServiceRequest.objects.filter(pk=service_request.pk).update(
        state=ServiceRequest.State.RESOLVED, resolved_at=NOW - dt.timedelta(hours=1)
    )


def rollup():
    """The portfolio's daily rollup refreshed from the data built so far: the pages read it."""
    service_days_backfill()


def review(service, *, needs_met=4, on=dt.date(2026, 10, 1)):
    return ServiceReview.objects.create(
        service=service,
        reviewer=service.owner,
        reviewed_on=on,
        needs_met=needs_met,
        value="New hires work from day one.",
    )


@pytest.fixture
def laptops(it_department, owner):
    return build_laptops(it_department, owner)


def build_laptops(department, owner):
    """A service of `department` owned by `owner`: 3 requests (under the small group), all
    within target and rated 4, fixed costs of 1,200 a year, reviewed on 1 Oct 2026 (needs
    met 4 of 5), claiming a cost."""
    service = ServiceFactory(
        name="Laptops",
        slug="laptops",
        department=department,
        owner=owner,
        fixed_yearly_cost=Decimal("1200"),
    )
    requests(service, 3, rating=4, first=True)
    review(service)
    ServiceValueClaim.objects.create(service=service, factor="cost", claim="Cheaper to lease.")
    return service


def text(response) -> str:
    return " ".join(response.content.decode().split())


def cell(page: str, service: str, label: str) -> str:
    """The text of the `label` cell of `service`'s row in the live services' table."""
    row = page[page.index(f'>{service}</a> <span class="meta">') :]
    found = re.search(rf'data-label="{label}"[^>]*>(.*?)</td>', row)
    assert found, label
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


# Who reads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["department_manager", "executive", "superuser", "owner", "hr_manager"]
)
def test_deciders_and_owners_read_the_portfolio(client, laptops, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(PAGE).status_code == 200
    assert client.get(reverse("portfolio_service", args=["laptops"])).status_code == 200


@pytest.mark.parametrize("persona", ["it_agent", "employee", "outsider", "manager"])
def test_agents_and_employees_may_not_read_it(client, laptops, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(PAGE).status_code == 403
    assert client.get(reverse("portfolio_service", args=["laptops"])).status_code == 403


def test_an_owner_no_longer_owning_a_service_may_not_read_it(client, laptops, owner):
    Service.objects.filter(pk=laptops.pk).update(owner=None)
    client.force_login(owner)

    assert client.get(PAGE).status_code == 403


def test_unknown_service_page_is_404(client, executive):
    client.force_login(executive)

    assert client.get(reverse("portfolio_service", args=["nowhere"])).status_code == 404


# Sections ------------------------------------------------------------------------------


def test_empty_portfolio_explains_each_section(client, executive):
    client.force_login(executive)

    page = text(client.get(PAGE))

    assert "No live service has both a cost and a value yet" in page
    assert "No service waits for a decision to invest, change or retire." in page
    assert "No service is live yet: services in the pipeline are listed below." in page
    assert "Nothing is in the pipeline: no service is being proposed or built." in page
    assert "<svg" not in page
    assert 'id="retired"' not in page


def test_pipeline_retired_and_decisions_waiting(client, it_department, owner, executive):
    ServiceFactory(
        name="Hybrid desks",
        department=it_department,
        status=Service.Status.PIPELINE,
        outcome="Anyone finds a desk near their team.",
        owner=owner,
        decision_pending=Service.Decision.INVEST,
        decision_note="Whether half the floors suffice.",
    )
    ServiceFactory(name="Fax", department=it_department, status=Service.Status.RETIRED)
    ServiceFactory(
        name="Printing",
        department=it_department,
        decision_pending=Service.Decision.RETIRE,
    )
    rollup()
    client.force_login(executive)

    page = text(client.get(PAGE))

    pipeline = page[page.index('id="pipeline"') : page.index('id="retired"')]
    assert "Hybrid desks" in pipeline
    assert "Anyone finds a desk near their team." in pipeline
    assert "owner Owner Owner-Persona" in pipeline
    retired = page[page.index('id="retired"') :]
    assert "Fax" in retired
    assert "Hybrid desks" not in retired
    waiting = page[page.index('id="waiting"') : page.index('id="live"')]
    assert '<span class="badge">Invest</span>' in waiting
    assert "Whether half the floors suffice." in waiting
    assert '<span class="badge">Retire</span>' in waiting
    assert "No owner" in waiting
    assert "Fax" not in waiting
    live = page[page.index('id="live"') : page.index('id="pipeline"')]
    assert "Printing" in live
    assert "Hybrid desks" not in live
    # No figures yet and no review: off the chart, named under it.
    assert "Not on the chart" in page
    assert "<svg" not in page


def test_a_reviewed_live_service_is_on_the_chart(client, laptops, department_manager):
    rollup()
    client.force_login(department_manager)

    page = text(client.get(PAGE))

    assert "<svg" in page
    assert f'href="{reverse("portfolio_service", args=["laptops"])}"' in page
    assert "Not on the chart" not in page
    # Reviewed needs met 4 of 5: (4 - 1) / 4 = 75; its 3 requests are too few to count.
    assert cell(page, "Laptops", "Value") == "75"


# Small-group rule ----------------------------------------------------------------------


def test_few_requests_held_back_from_an_outsider_to_the_department(client, laptops, executive):
    rollup()
    client.force_login(executive)

    page = text(client.get(PAGE))

    assert cell(page, "Laptops", "Requests a month") == "held back"
    assert cell(page, "Laptops", "Cost a year") == "held back"
    assert cell(page, "Laptops", "Within promise") == "held back"
    assert cell(page, "Laptops", "Rating") == "held back"
    detail = text(client.get(reverse("portfolio_service", args=["laptops"])))
    assert "Its staff time rests on fewer than five requests you may not all see" in detail
    # Its cost held back, it cannot be placed on the chart for them.
    assert "<svg" not in page
    assert "Not on the chart" in page
    assert "rated 4.0" not in detail.lower()


def test_few_requests_shown_to_the_departments_staff(client, laptops, department_manager):
    rollup()
    client.force_login(department_manager)

    page = text(client.get(PAGE))

    assert cell(page, "Laptops", "Requests a month") == "3"
    # No staff time: the fixed costs alone.
    assert cell(page, "Laptops", "Cost a year") == "€1,200"
    assert cell(page, "Laptops", "Within promise") == "100%"
    assert cell(page, "Laptops", "Rating") == "4.0 (3)"
    assert "held back" not in page[page.index('id="live"') :]


def test_service_page_prices_staff_hours_by_department(
    client, laptops, it_department, it_agent, department_manager
):
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("50.00"))
    [extra] = requests(laptops, 1)
    worked(extra, it_agent, hours=2)
    rollup()
    client.force_login(department_manager)

    page = text(client.get(reverse("portfolio_service", args=["laptops"])))

    assert "Staff time in IT" in page
    assert "€50.00 an hour" in page
    assert "€100.00" in page  # 2 hours at 50 over the window
    assert "Cheaper to lease." in page


# Links ---------------------------------------------------------------------------------


def test_edit_link_only_for_who_may_edit(client, laptops, owner, department_manager, executive):
    edit = reverse("service_portfolio_edit", args=["laptops"])
    detail = reverse("portfolio_service", args=["laptops"])
    for user, shown in ((owner, True), (department_manager, True), (executive, False)):
        client.force_login(user)
        assert (edit in client.get(detail).content.decode()) is shown, user


def test_review_link_only_for_the_owner(client, laptops, owner, department_manager, executive):
    new_review = reverse("service_review_new", args=["laptops"])
    detail = reverse("portfolio_service", args=["laptops"])
    for user, shown in ((owner, True), (department_manager, False), (executive, False)):
        client.force_login(user)
        assert (new_review in client.get(detail).content.decode()) is shown, user


# Queries -------------------------------------------------------------------------------


def _services(department, owner, count):
    for _ in range(count):
        service = ServiceFactory(department=department, owner=owner)
        requests(service, 6, rating=5)
        review(service)
        ServiceValueClaim.objects.create(service=service, factor="cost", claim="Cheap.")


def test_pages_run_a_fixed_number_of_queries(
    client, laptops, it_department, owner, executive, django_assert_max_num_queries
):
    client.force_login(executive)
    detail = reverse("portfolio_service", args=["laptops"])
    _services(it_department, owner, 2)
    rollup()
    with django_assert_max_num_queries(25) as small:
        assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(25) as one:
        assert client.get(detail).status_code == 200

    _services(it_department, owner, 9)
    requests(laptops, 12)
    rollup()

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(detail).status_code == 200
