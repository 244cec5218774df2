"""The touchpoint rows written from the week of `conftest.py`, checked against the hand-worked
answers there."""

import datetime as dt

import pytest

from esm import clock
from esm.models import Event, EventKind
from journeys import rollups
from journeys.models import JourneyRollupWatermark, TouchpointCase, TouchpointDay
from journeys.rollups import answers_key, journey_refresh, journeys_refresh
from services import actions
from services.models import FulfilmentTask
from tests.journeys.conftest import (
    MON,
    TUE,
    WED,
    approx,
    at,
    case_a,
    case_b,
    case_c,
    case_d,
    task,
)

pytestmark = pytest.mark.django_db


def rows(touchpoint):
    return {
        row.service_request.reference: row
        for row in TouchpointCase.objects.filter(touchpoint=touchpoint).select_related(
            "service_request"
        )
    }


def test_each_case_of_an_item_is_one_row_with_its_times_and_counts(week):
    a, b, c, _ = (case.reference for case in week.cases)
    cases = rows(week.touchpoints["record"])

    assert set(cases) == {a, b, c}
    assert [cases[ref].resolution_minutes for ref in (a, b, c)] == [300, 360, 240]
    assert [cases[ref].team_wait_minutes for ref in (a, b, c)] == [
        approx(60),
        approx(120),
        approx(120),
    ]
    assert cases[a].resolved_at == at(MON, 14)
    assert cases[b].resolved_at == at(TUE, 15)  # the last resolution, after the reopen
    assert (cases[b].handoffs, cases[b].bounces, cases[b].reopened) == (1, 1, True)
    assert (cases[a].handoffs, cases[a].bounces, cases[a].reopened) == (0, 0, False)
    assert cases[c].consults == 1
    assert [cases[ref].missing_information for ref in (a, b, c)] == [1, 0, 0]
    assert [cases[ref].rating for ref in (a, b, c)] == [5, 2, None]
    assert [cases[ref].human_steps for ref in (a, b, c)] == [1, 1, 1]
    assert [cases[ref].approval_minutes for ref in (a, b, c)] == [None, None, None]


def test_the_employees_own_words_give_the_sentiment_an_agents_do_not(week):
    a, b, c, _ = (case.reference for case in week.cases)
    cases = rows(week.touchpoints["record"])

    # A: "Here it is, thanks, great" (the agent's "terrible" question is not counted).
    assert (cases[a].sentiment, cases[a].employee_comments) == (approx(2 / 3), 1)
    # B: the reopen's reason, "Still not working, this is terrible".
    assert (cases[b].sentiment, cases[b].employee_comments) == (approx(-5 / 6), 1)
    assert (cases[c].sentiment, cases[c].employee_comments) == (None, 0)


def test_identical_answers_give_identical_keys(week):
    a, b, c, _ = (case.reference for case in week.cases)
    cases = rows(week.touchpoints["record"])

    assert cases[a].answers_key == cases[b].answers_key != cases[c].answers_key
    assert len(cases[a].answers_key) == 16
    assert answers_key([]) == ""
    reordered = [{"key": "b", "value": 2, "label": "B"}, {"key": "a", "value": 1}]
    assert answers_key(reordered) == answers_key(list(reversed(reordered)))


def test_a_stream_stage_brings_its_cases_with_their_approval(week):
    d = week.cases[3].reference
    cases = rows(week.touchpoints["laptop"])

    assert set(cases) == {d}
    assert cases[d].approval_minutes == approx(120)
    assert cases[d].resolution_minutes == approx(240)
    assert cases[d].team_wait_minutes == approx(60)
    assert (cases[d].human_steps, cases[d].automated_steps) == (1, 0)


def test_form_starts_abandonment_reads_and_deflections_by_day(week):
    days = {
        row.day: (row.form_starts, row.abandoned_forms, row.article_reads, row.deflections)
        for row in TouchpointDay.objects.filter(touchpoint=week.touchpoints["record"])
    }

    assert days == {MON.date(): (2, 1, 0, 0), WED.date(): (0, 0, 2, 1)}
    assert not TouchpointDay.objects.filter(touchpoint=week.touchpoints["laptop"]).exists()


def test_refresh_is_idempotent_and_incremental_with_a_lag_window(journey):
    values = TouchpointCase.objects.order_by("service_request_id").values_list(
        "service_request_id", "resolution_minutes", "employee_comments", "sentiment"
    )
    with clock.travel(at(MON, 8)) as now:
        a = case_a(journey, now)
        now.to(at(TUE, 8))
        assert journey.refresh(full=False) == 1  # the first refresh reads everything
        first = list(values)
        assert journey_refresh(journey=journey.journey) == 0  # nothing happened since
        assert journey.refresh() == 1  # full: the same rows again
        assert list(values) == first

        # A comment committed after the refresh, stamped a moment before it, is still read.
        now.to(at(TUE, 7, 49))
        actions.comment_add(service_request=a, author=journey.people["employee"], body="Awful")
        now.to(at(TUE, 8, 5))
        assert journey_refresh(journey=journey.journey) == 1
        assert TouchpointCase.objects.get(service_request=a).employee_comments == 2

        # Only the case with new events is read again.
        case_b(journey, now)
        assert journey_refresh(journey=journey.journey) == 1
        assert journeys_refresh() == 1  # B's rating lies inside the lag window
    assert TouchpointCase.objects.count() == 2
    assert JourneyRollupWatermark.objects.get().refreshed_through == at(TUE, 16)
    assert TouchpointDay.objects.get().form_starts == 2


def test_a_reopened_case_not_resolved_again_has_no_resolution(journey):
    with clock.travel(at(MON, 8)) as now:
        a = case_a(journey, now)
        now.to(at(MON, 16))
        actions.service_request_reopen(
            service_request=a, user=journey.people["employee"], reason=""
        )
        journey.refresh()
    row = TouchpointCase.objects.get(service_request=a)
    assert (row.resolved_at, row.resolution_minutes, row.reopened) == (None, None, True)


def test_department_targets_are_the_tasks_with_one_and_met_unless_breached(journey):
    """Three cases of Record on Monday: A's task has a resolution target of 11:00, which the
    sweep at 11:30 finds missed; B's task a target of 17:00, resolved by noon; C's task none.
    So A has 1 target and 0 met, B 1 and 1, C none."""
    hr_agent = journey.people["hr_agent"]
    with clock.travel(at(MON, 9)) as now:
        a, b, c = (journey.submit("record", key) for key in "abc")
        FulfilmentTask.objects.filter(service_request=a).update(resolution_due_at=at(MON, 11))
        FulfilmentTask.objects.filter(service_request=b).update(resolution_due_at=at(MON, 17))
        now.to(at(MON, 11, 30))
        assert actions.sla_breach_sweep() == [task(a).pk]
        now.to(at(MON, 12))
        for case in (a, b, c):
            actions.task_claim(task=task(case), agent=hr_agent)
            actions.task_resolve(task=task(case), agent=hr_agent, resolution="Done")
        journey.refresh()
    cases = rows(journey.touchpoints["record"])
    assert [
        (cases[case.reference].department_targets, cases[case.reference].department_targets_met)
        for case in (a, b, c)
    ] == [(1, 0), (1, 1), (0, 0)]
    assert [cases[case.reference].end_to_end_breached for case in (a, b, c)] == [False] * 3


def test_a_case_no_longer_linked_leaves_the_touchpoint_on_a_full_refresh(week):
    week.touchpoints["laptop"].stream_stages.clear()
    week.refresh()
    assert not TouchpointCase.objects.filter(touchpoint=week.touchpoints["laptop"]).exists()
    assert TouchpointCase.objects.filter(touchpoint=week.touchpoints["record"]).count() == 3


def test_the_next_day_is_not_yet_judged_for_deflection(journey):
    with clock.travel(at(WED, 8)):
        actions.article_view_record(
            article=journey.article,
            user=journey.people["outsider"],
            from_item=journey.items["record"],
        )
    with clock.travel(at(WED, 20)):
        journey.refresh()
        assert TouchpointDay.objects.get().deflections == 0
    with clock.travel(at(WED + dt.timedelta(days=1), 9)):
        journey.refresh(full=False)
    assert (TouchpointDay.objects.get().article_reads, TouchpointDay.objects.get().deflections) == (
        1,
        1,
    )


def test_a_cases_log_is_read_from_its_submission_on(week):
    """The rollup bounds its reads of the log by the batch's earliest submission, so the
    planner leaves out older months; an event dated before every case of the batch (which
    the log never holds: `tests/demo` checks both histories for it) is outside the read."""
    a = week.cases[0]
    task = a.tasks.first()
    Event.objects.create(
        subject_type="services.fulfilmenttask",
        subject_id=task.pk,
        reference=a.reference,
        kind=EventKind.HANDED_OFF,
        occurred_at=min(case.submitted_at for case in week.cases) - dt.timedelta(days=40),
        from_department=task.department,
        to_department=task.department,
    )
    week.refresh()
    assert rows(week.touchpoints["record"])[a.reference].handoffs == 0


def test_a_refresh_reads_its_cases_in_parts_and_writes_the_same_rows(journey, monkeypatch):
    """Ids go to the database a part at a time (PostgreSQL takes at most 65,535 parameters
    a statement, fewer than a full refresh's cases at a million requests): read two at a
    time, full and incremental refreshes write what reading them at once writes."""
    values = TouchpointCase.objects.order_by("service_request_id", "touchpoint_id").values_list(
        "service_request_id", "touchpoint_id", "resolution_minutes", "employee_comments"
    )
    with clock.travel(at(MON, 8)) as now:
        week = [f(journey, now) for f in (case_a, case_b, case_c, case_d)]
        now.to(at(TUE, 8))
        assert journey.refresh() == 4
        at_once = list(values)

        monkeypatch.setattr(rollups, "BATCH_SIZE", 2)
        monkeypatch.setattr(rollups, "IDS_PER_READ", 2)
        assert journey.refresh() == 4
        assert list(values) == at_once

        for case in week[:3]:
            actions.comment_add(service_request=case, author=journey.people["employee"], body="?")
        now.to(at(TUE, 9))
        assert journey_refresh(journey=journey.journey) >= 3
        in_parts = list(values)

        monkeypatch.undo()
        assert journey.refresh() == 4
    assert list(values) == in_parts
