"""Watermelons: services whose promises are kept while the people served rate them poorly,
read from the latest service snapshots, with the comments behind them (only what the
viewer may see)."""

import datetime as dt

import pytest

from reporting.models import Measure
from reporting.watermelons import (
    ATTAINMENT,
    RATING,
    Thresholds,
    is_watermelon,
    watermelon_thresholds,
    watermelons,
)
from services.models import ExperienceRating, ServiceRequest
from tests.esm.factories import UserFactory
from tests.reporting.factories import MeasureFactory, SnapshotFactory
from tests.services.factories import CatalogItemFactory, ServiceFactory, ServiceRequestFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 2)
RESOLVED = dt.datetime(2026, 10, 30, 10, tzinfo=dt.UTC)
THRESHOLDS = Thresholds(attainment_target=0.9, rating_below=3.5)


@pytest.fixture
def measures():
    return {
        ATTAINMENT: MeasureFactory(key=ATTAINMENT, target=0.9, unit="%"),
        RATING: MeasureFactory(
            key=RATING, target=4.0, act_at=3.5, unit="of 5", kind=Measure.Kind.EXPERIENCE
        ),
    }


def figures(measures, service, *, attainment, resolved=20, rating, ratings, day=DAY):
    scope = f"service:{service.pk}"
    SnapshotFactory(
        measure=measures[ATTAINMENT],
        day=day,
        scope=scope,
        service=service,
        value=attainment,
        cases=resolved,
    )
    SnapshotFactory(
        measure=measures[RATING], day=day, scope=scope, service=service, value=rating, cases=ratings
    )


def rated(service, score, comment, *, confidential=False, at=RESOLVED, requester=None):
    item = CatalogItemFactory(
        service=service, department=service.department, is_confidential=confidential
    )
    service_request = ServiceRequestFactory(
        catalog_item=item,
        requester=requester or UserFactory(),
        state=ServiceRequest.State.RESOLVED,
        submitted_at=at - dt.timedelta(days=1),
        resolved_at=at,
    )
    return ExperienceRating.objects.create(
        service_request=service_request,
        score=score,
        comment=comment,
        rated_by=service_request.requester,
        created_at=at + dt.timedelta(hours=1),
    )


@pytest.fixture
def it_service(it_department):
    return ServiceFactory(name="Laptops", department=it_department)


# -- the rule at its thresholds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("attainment", "rating", "ratings", "expected"),
    [
        (0.9, 3.0, 5, True),  # exactly at the attainment target counts as met
        (0.89, 3.0, 5, False),  # targets missed: red outside too, not a watermelon
        (0.95, 3.5, 5, False),  # a rating exactly at the threshold is not below it
        (0.95, 3.49, 5, True),
        (0.95, 2.0, 4, False),  # four ratings are too few to call it
        (None, 2.0, 9, False),
        (0.95, None, 0, False),
    ],
)
def test_the_rule_at_its_thresholds(attainment, rating, ratings, expected):
    assert (
        is_watermelon(attainment=attainment, rating=rating, ratings=ratings, thresholds=THRESHOLDS)
        is expected
    )


def test_thresholds_are_the_measures_own(measures):
    Measure.objects.filter(key=ATTAINMENT).update(target=0.8)
    Measure.objects.filter(key=RATING).update(act_at=3.0)

    assert watermelon_thresholds() == Thresholds(attainment_target=0.8, rating_below=3.0)


def test_thresholds_fall_back_to_the_settings_without_the_measures(settings):
    settings.WATERMELON_ATTAINMENT_TARGET = 0.85
    settings.WATERMELON_RATING_BELOW = 3.2

    assert watermelon_thresholds() == Thresholds(attainment_target=0.85, rating_below=3.2)


# -- detection from snapshots ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("attainment", "rating", "ratings", "flagged"),
    [
        (0.9, 3.0, 5, True),
        (0.9, 3.5, 5, False),
        (0.9, 3.0, 4, False),
        (0.5, 2.0, 30, False),
    ],
)
def test_services_are_flagged_from_their_latest_snapshots_at_the_thresholds(
    measures, it_service, executive, attainment, rating, ratings, flagged
):
    figures(measures, it_service, attainment=attainment, rating=rating, ratings=ratings)

    found = watermelons(viewer=executive)

    assert [melon.service for melon in found] == ([it_service] if flagged else [])
    if flagged:
        (melon,) = found
        assert (melon.attainment, melon.rating, melon.ratings, melon.day) == (
            attainment,
            rating,
            ratings,
            DAY,
        )


def test_only_the_latest_day_counts(measures, it_service, executive):
    figures(measures, it_service, attainment=0.95, rating=2.0, ratings=9, day=DAY)
    figures(
        measures,
        it_service,
        attainment=0.95,
        rating=4.5,
        ratings=9,
        day=DAY + dt.timedelta(days=7),
    )

    assert watermelons(viewer=executive) == []


def test_services_narrow_the_search(measures, it_service, hr_department, executive):
    hr_service = ServiceFactory(name="Leave", department=hr_department)
    for service in (it_service, hr_service):
        figures(measures, service, attainment=0.95, rating=2.0, ratings=9)

    assert [m.service for m in watermelons(viewer=executive, services=[hr_service])] == [hr_service]
    assert [m.service for m in watermelons(viewer=executive)] == [it_service, hr_service]


# -- the comments behind them ---------------------------------------------------------------


def test_low_ratings_comments_show_newest_first_and_high_ones_never(
    measures, it_service, executive
):
    figures(measures, it_service, attainment=0.95, rating=2.5, ratings=6)
    rated(it_service, 1, "Nobody told me anything.", at=RESOLVED - dt.timedelta(days=3))
    rated(it_service, 3, "It took a week.", at=RESOLVED - dt.timedelta(days=2))
    rated(it_service, 2, "Wrong laptop.", at=RESOLVED - dt.timedelta(days=1))
    rated(it_service, 2, "Still waiting for the charger.", at=RESOLVED)
    rated(it_service, 5, "Lovely, thank you.", at=RESOLVED)
    rated(it_service, 2, "", at=RESOLVED)

    (melon,) = watermelons(viewer=executive)

    assert [c.comment for c in melon.comments] == [
        "Still waiting for the charger.",
        "Wrong laptop.",
        "It took a week.",
    ]
    assert [c.score for c in melon.comments] == [2, 2, 3]


def test_comments_come_from_the_snapshot_window_only(measures, it_service, executive):
    figures(measures, it_service, attainment=0.95, rating=2.5, ratings=6)
    rated(it_service, 1, "Long ago.", at=RESOLVED - dt.timedelta(days=60))
    rated(it_service, 1, "After the snapshot.", at=RESOLVED + dt.timedelta(days=10))
    rated(it_service, 1, "In the window.")

    (melon,) = watermelons(viewer=executive)

    assert [c.comment for c in melon.comments] == ["In the window."]


def test_a_confidential_case_comment_never_reaches_who_may_not_see_the_case(
    measures, hr_department, hr_agent, executive, department_manager
):
    hr_service = ServiceFactory(name="Grievances", department=hr_department)
    figures(measures, hr_service, attainment=0.95, rating=2.0, ratings=7)
    employee = UserFactory()
    secret = rated(
        hr_service, 1, "My manager shouted at me again.", confidential=True, requester=employee
    )
    rated(hr_service, 2, "Slow to answer.")

    for outsider in (executive, department_manager):
        (melon,) = watermelons(viewer=outsider)
        assert [c.comment for c in melon.comments] == ["Slow to answer."]
        assert [c.reference for c in melon.comments] == [""]

    (melon,) = watermelons(viewer=hr_agent)
    # Rated at the same moment: the later rating first.
    assert [c.comment for c in melon.comments] == [
        "Slow to answer.",
        "My manager shouted at me again.",
    ]
    assert secret.service_request.reference in [c.reference for c in melon.comments]

    (melon,) = watermelons(viewer=employee)
    assert "My manager shouted at me again." in [c.comment for c in melon.comments]


def test_no_comment_shows_behind_too_few_ratings(measures, it_service, executive):
    figures(measures, it_service, attainment=0.95, rating=1.5, ratings=4)
    rated(it_service, 1, "Awful.")

    assert watermelons(viewer=executive) == []


def test_detection_runs_a_fixed_number_of_queries(
    measures, it_department, executive, django_assert_max_num_queries
):
    def grow(count):
        for _ in range(count):
            service = ServiceFactory(department=it_department)
            figures(measures, service, attainment=0.95, rating=2.0, ratings=8)
            rated(service, 1, "Bad.")
            rated(service, 2, "Worse.")

    grow(2)
    with django_assert_max_num_queries(10) as small:
        assert len(watermelons(viewer=executive)) == 2
    grow(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        found = watermelons(viewer=executive)
    assert len(found) == 12
    assert all(len(melon.comments) == 2 for melon in found)


def test_attainment_on_too_few_cases_is_held_back_from_outsiders(
    measures, it_service, executive, it_agent
):
    figures(measures, it_service, attainment=1.0, resolved=3, rating=2.0, ratings=5)

    assert watermelons(viewer=executive) == []
    assert [melon.service for melon in watermelons(viewer=it_agent)] == [it_service]
