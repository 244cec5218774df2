"""Service reviews: the accountable customer (the service's owner) records them, apart from
requesters' ratings; others may not; the page reads a fixed number of queries."""

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse

from esm import clock
from reporting.models import ServiceReview
from tests.esm.factories import UserFactory
from tests.reporting.factories import MeasureFactory, SnapshotFactory
from tests.services.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def review_form(**fields):
    return {
        "reviewed_on": "2026-11-19",
        "needs_met": "4",
        "value": "New joiners had laptops on day one.",
        "changes": "Tell managers earlier what is missing.",
    } | fields


def test_the_accountable_owner_records_a_review(client, manager, it_department):
    service = ServiceFactory(owner=manager, department=it_department)
    client.force_login(manager)

    response = client.post(reverse("service_review_new", args=[service.slug]), review_form())

    assert response.status_code == 302
    review = ServiceReview.objects.get()
    assert (review.service, review.reviewer, review.needs_met) == (service, manager, 4)
    assert review.reviewed_on == dt.date(2026, 11, 19)


@pytest.mark.parametrize("persona", ["employee", "it_agent", "executive", "department_manager"])
def test_nobody_but_the_owner_and_admins_reviews_a_service(request, client, persona, manager):
    service = ServiceFactory(owner=manager)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(reverse("service_review_new", args=[service.slug]), review_form())

    assert response.status_code == 403
    assert not ServiceReview.objects.exists()


def test_an_admin_may_record_a_review_for_the_owner_too(client, superuser, manager):
    service = ServiceFactory(owner=manager)
    client.force_login(superuser)

    response = client.post(reverse("service_review_new", args=[service.slug]), review_form())

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"needs_met": "6"}, "needs_met"),
        ({"needs_met": ""}, "needs_met"),
        ({"value": ""}, "value"),
        ({"reviewed_on": "2026-11-21"}, "reviewed_on"),  # tomorrow
        ({"reviewed_on": "not a day"}, "reviewed_on"),
    ],
)
def test_a_bad_review_is_refused_beside_its_field_and_records_nothing(
    client, manager, fields, field
):
    service = ServiceFactory(owner=manager)
    client.force_login(manager)

    response = client.post(
        reverse("service_review_new", args=[service.slug]), review_form(**fields)
    )

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ServiceReview.objects.exists()


def test_the_list_shows_the_owners_services_with_requester_figures_apart(
    client, manager, it_department
):
    mine = ServiceFactory(name="Laptops", owner=manager, department=it_department)
    ServiceFactory(name="Someone else's", owner=UserFactory())
    ServiceReview.objects.create(
        service=mine, reviewer=manager, reviewed_on=TODAY, needs_met=2, value="Late laptops."
    )
    attainment = MeasureFactory(key="end_to_end_attainment")
    rating = MeasureFactory(key="experience_rating", unit="of 5")
    SnapshotFactory(measure=attainment, scope=f"service:{mine.pk}", service=mine, value=0.94)
    # Three ratings are too few to show to someone who is not staff of the department.
    SnapshotFactory(measure=rating, scope=f"service:{mine.pk}", service=mine, value=2.0, cases=3)
    client.force_login(manager)

    response = client.get(reverse("service_reviews"))

    assert response.status_code == 200
    ((standing, review, due_on),) = response.context["rows"]
    assert standing.service == mine
    assert review.needs_met == 2
    assert due_on == TODAY + relativedelta(months=12)  # the service's review interval
    assert standing.attainment == 0.94
    assert (standing.rating, standing.rating_held_back) == (None, True)
    content = response.content.decode()
    assert "needs met 2 of 5" in content
    assert "94%" in content
    assert "too few to show" in content
    assert "Someone else&#x27;s" not in content
    assert "customer satisfaction" not in content.lower()


def test_the_reviews_are_not_for_people_who_own_no_service_and_decide_nothing(client, employee):
    client.force_login(employee)

    assert client.get(reverse("service_reviews")).status_code == 403


def test_the_list_runs_a_fixed_number_of_queries_as_services_grow(
    client, superuser, django_assert_max_num_queries
):
    attainment = MeasureFactory(key="end_to_end_attainment")

    def grow(count):
        for _ in range(count):
            service = ServiceFactory(owner=superuser)
            ServiceReview.objects.create(
                service=service, reviewer=superuser, reviewed_on=TODAY, needs_met=3, value="Ok."
            )
            SnapshotFactory(measure=attainment, scope=f"service:{service.pk}", service=service)

    client.force_login(superuser)
    grow(2)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("service_reviews"))
    grow(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("service_reviews"))
    assert len(response.context["rows"]) == 10
