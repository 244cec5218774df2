"""The signals of the week of `conftest.py` as the pages read them, against the hand-worked
answers there."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from esm import clock
from journeys.metrics import Period
from journeys.models import JourneyRollupWatermark, TouchpointCase
from journeys.selectors import journey_metrics, touchpoint_comments, touchpoint_weeks
from services import actions
from tests.journeys.conftest import MON, TUE, WED, approx, at, case_a, case_b, case_c
from tests.journeys.factories import JourneyStageFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

WEEK = Period(MON, MON + dt.timedelta(days=7))


def signals(journey, viewer=None, period=WEEK):
    metrics = journey_metrics(
        journey=journey.journey, period=period, viewer=viewer or journey.people["employee"]
    )
    return {s.touchpoint.name: s for s in metrics.touchpoints}, metrics


def test_volume_resolution_percentiles_and_wait_share(week):
    record = signals(week)[0]["Record"]

    assert record.cases == 3
    assert (record.resolution.p50, record.resolution.p85, record.resolution.mean) == (
        approx(5),
        approx(6),
        approx(5),
    )
    assert record.wait_share == approx(5 / 15)
    assert not record.hidden


def test_handoffs_bounces_consults_reopens_and_missing_information_per_request(week):
    record = signals(week)[0]["Record"]

    assert record.handoffs_per_request == approx(1 / 3)
    assert record.bounces_per_request == approx(1 / 3)  # B was sent back
    assert record.consults_per_request == approx(1 / 3)
    assert record.reopen_rate == approx(1 / 3)
    assert record.missing_information_rate == approx(1 / 3)
    assert record.approval_delay is None  # no approvals on this item
    assert record.human_step_share == approx(1)
    assert record.answer_variation == approx(1 / 2)  # M, M, L
    assert record.breach_rate == approx(0)


def test_ratings_their_distribution_and_response_rate(week):
    record = signals(week)[0]["Record"]

    assert record.ratings == 2
    assert record.response_rate == approx(2 / 3)
    assert record.rating_mean == approx(3.5)
    assert record.rating_distribution == (0, 1, 0, 0, 1)
    assert record.low_rating_share == approx(1 / 2)


def test_sentiment_of_the_employees_comments(week):
    record = signals(week)[0]["Record"]

    assert record.sentiment == approx((2 / 3 - 5 / 6) / 2)
    assert record.employee_comments == 2


def test_abandonment_and_deflection_from_the_days(week):
    record = signals(week)[0]["Record"]

    assert (record.form_starts, record.abandonment_rate) == (2, approx(1 / 2))
    assert (record.article_reads, record.deflection_rate) == (2, approx(1 / 2))
    tuesday_on = Period(TUE, MON + dt.timedelta(days=7))
    later = signals(week, period=tuesday_on)[0]["Record"]
    assert (later.form_starts, later.abandonment_rate, later.article_reads) == (0, None, 2)


def test_approval_delay_of_a_stream_stage_touchpoint_and_an_unmeasured_one(week):
    found, metrics = signals(week, viewer=week.people["it_agent"])
    laptop = found["Laptop"]

    assert (laptop.cases, laptop.approval_delay, laptop.resolution.p50) == (1, approx(2), approx(4))
    assert laptop.wait_share == approx(1 / 4)
    lunch = found["Welcome lunch"]
    assert (lunch.cases, lunch.resolution.count, lunch.measured) == (0, 0, False)
    assert lunch.reopen_rate is None
    # A stage's point of the emotion curve is its touchpoints' emotion weighted by cases:
    # the first day has only the laptop touchpoint.
    assert [(point.stage.name, point.cases) for point in metrics.curve] == [
        ("Before day one", 3),
        ("First day", 1),
    ]
    assert metrics.curve[1].emotion == approx(laptop.emotion.value)


def test_too_few_cases_are_not_shown_to_who_may_not_see_them(week, executive):
    record = signals(week, viewer=executive)[0]["Record"]

    assert record.hidden
    assert (record.cases, record.ratings) == (3, 2)
    assert (record.resolution.count, record.resolution.p50) == (3, None)
    assert (record.wait_share, record.reopen_rate, record.rating_mean) == (None, None, None)
    assert record.rating_distribution == (0, 0, 0, 0, 0)
    # Form starts are no one's case: their rate shows.
    assert record.abandonment_rate == approx(1 / 2)
    # HR staff see every Record case, not the Laptop one.
    found = signals(week, viewer=week.people["hr_agent"])[0]
    assert not found["Record"].hidden
    assert found["Laptop"].hidden


def test_an_empty_period_says_nothing_rather_than_zero(week):
    later = Period(MON + dt.timedelta(days=70), MON + dt.timedelta(days=77))
    record = signals(week, period=later)[0]["Record"]

    assert (record.cases, record.resolution.p50, record.reopen_rate) == (0, None, None)
    assert (record.response_rate, record.sentiment, record.measured) == (None, None, False)


@pytest.mark.usefixtures("own_cache")
def test_journey_metrics_take_the_same_queries_whatever_the_size(journey):
    def count():
        with CaptureQueriesContext(connection) as queries:
            signals(journey)
        return len(queries)

    with clock.travel(at(MON, 8)) as now:
        case_a(journey, now)
        journey.refresh()
        count()  # the viewer's departments are read once and kept
        journey.refresh()  # the case rows written again: their figures are read again
        small, small_again = count(), count()
        case_b(journey, now)
        case_c(journey, now)
        for n in range(3):
            stage = JourneyStageFactory(journey=journey.journey, name=f"Later {n}")
            point = TouchpointFactory(stage=stage)
            point.items.add(journey.items["record"])
        journey.refresh()
        large, large_again = count(), count()
    # touchpoints, cases (with their percentiles on PostgreSQL), the small touchpoints'
    # hidden cases (each size has small ones), percentiles elsewhere, days, score weights,
    # stages; read again before the rollup changes, the cases' figures come from the cache
    assert small == large == (6 if connection.vendor == "postgresql" else 7)
    assert small_again == large_again == small - 1


@pytest.mark.usefixtures("own_cache")
def test_case_figures_are_kept_until_the_rollup_writes_the_journeys_rows_again(week):
    record = TouchpointCase.objects.filter(touchpoint__name="Record")
    assert signals(week)[0]["Record"].cases == record.count() == 3

    # Rows changed behind the rollup's back (no new version): the kept figures stand.
    record.delete()
    assert signals(week)[0]["Record"].cases == 3

    # A refresh (here with no case to rewrite) moves the version: the rows are read again.
    with clock.travel(at(MON + dt.timedelta(days=7), 10)):
        week.refresh(full=False)
    assert signals(week)[0]["Record"].cases == 0


def test_a_journey_never_refreshed_keeps_no_figures(journey):
    assert not JourneyRollupWatermark.objects.filter(journey=journey.journey).exists()
    signals(journey)  # the viewer's departments are read once and kept

    with CaptureQueriesContext(connection) as first:
        signals(journey)
    with CaptureQueriesContext(connection) as again:
        signals(journey)
    assert len(again) == len(first)


def test_weeks_of_a_touchpoint_for_its_chart(week, executive):
    period = Period(MON - dt.timedelta(days=7), MON + dt.timedelta(days=7))
    weeks = touchpoint_weeks(
        touchpoint=week.touchpoints["record"], period=period, viewer=week.people["employee"]
    )

    assert [day for day, _ in weeks] == [(MON - dt.timedelta(days=7)).date(), MON.date()]
    assert weeks[0][1].cases == 0
    this = weeks[1][1]
    assert (this.cases, this.resolution_p50, this.rating_mean) == (3, approx(5), approx(3.5))
    assert this.reopen_rate == approx(1 / 3)
    hidden = touchpoint_weeks(
        touchpoint=week.touchpoints["record"], period=period, viewer=executive
    )
    assert (hidden[1][1].cases, hidden[1][1].hidden, hidden[1][1].resolution_p50) == (3, True, None)


def test_comments_of_the_requesters_only_and_only_of_cases_the_viewer_may_see(week, executive):
    record = week.touchpoints["record"]
    hr_agent = week.people["hr_agent"]
    bodies = [
        c.body
        for c in touchpoint_comments(touchpoint=record, period=WEEK, viewer=hr_agent, limit=5)
    ]
    # Newest first; the agent's question is not an employee's comment.
    assert bodies == ["Still not working, this is terrible", "Here it is, thanks, great"]
    assert len(touchpoint_comments(touchpoint=record, period=WEEK, viewer=hr_agent, limit=1)) == 1
    # An executive reads the touchpoint's numbers, never the text of cases they may not open.
    assert not touchpoint_comments(touchpoint=record, period=WEEK, viewer=executive)

    week.cases[0].__class__.objects.filter(pk=week.cases[0].pk).update(is_confidential=True)
    assert len(touchpoint_comments(touchpoint=record, period=WEEK, viewer=hr_agent)) == 2
    seen_by_it = touchpoint_comments(touchpoint=record, period=WEEK, viewer=week.people["it_agent"])
    assert week.cases[0].pk not in {c.service_request_id for c in seen_by_it}


def test_a_comment_written_after_the_period_is_left_out(week):
    with clock.travel(at(WED + dt.timedelta(days=7), 9)):
        actions.comment_add(
            service_request=week.cases[1], author=week.people["employee"], body="Thanks"
        )
    found = touchpoint_comments(
        touchpoint=week.touchpoints["record"], period=WEEK, viewer=None or week.people["employee"]
    )
    assert "Thanks" not in [c.body for c in found]
