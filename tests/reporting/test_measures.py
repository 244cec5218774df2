"""Built-in measures on hand-built data, with the answers worked out by hand.

The period is the week of Mon 2 Nov 2026; "before" is the week before it. All times are
UTC, which is London time in November (the portal's time zone); the company calendar is
Mon-Fri 09:00-17:00.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import Department, EventKind
from reporting.measures import REGISTRY, Scope, Value, facts_shared_across_scopes
from reporting.models import CostRate, Measure, Snapshot
from reporting.rollups import scopes, snapshots_refresh
from services import actions
from services.models import (
    ArticleView,
    AutomationRun,
    Comment,
    EmployeeRecord,
    ExperienceRating,
    FulfilmentTask,
    Service,
    ServiceRequest,
    StepRun,
)
from tests.esm.factories import BusinessCalendarFactory, DepartmentFactory
from tests.services.automation_doubles import plan_step
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    FulfilmentTaskFactory,
    QueueFactory,
    ServiceRequestFactory,
)
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.forms import day_period
from valuestreams.metrics import Period
from valuestreams.models import CaseFlow, StageStep, ValueStream
from valuestreams.rollups import value_stream_refresh
from valuestreams.selectors import value_stream_metrics

pytestmark = pytest.mark.django_db

MON = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
WEEK = Period(MON - dt.timedelta(hours=9), MON + dt.timedelta(days=7))
BEFORE = MON - dt.timedelta(days=7)


def value(key, scope=None, period=WEEK):
    return REGISTRY[key](period, scope or Scope())


def resolved(item, at, *, late=False, **fields):
    """A request resolved at `at`, an hour inside its end-to-end target (or, `late`, an
    hour past it, flagged breached as the sweep would)."""
    fields = {
        "end_to_end_due_at": at + dt.timedelta(hours=-1 if late else 1),
        "end_to_end_breached": late,
    } | fields
    return ServiceRequestFactory(
        catalog_item=item,
        submitted_at=at - dt.timedelta(hours=5),
        resolved_at=at,
        state=ServiceRequest.State.RESOLVED,
        **fields,
    )


@pytest.fixture
def hr_item(hr_department):
    return CatalogItemFactory(department=hr_department, service__department=hr_department)


@pytest.fixture
def it_item(it_department):
    return CatalogItemFactory(department=it_department, service__department=it_department)


def test_request_volume_counts_what_was_raised_in_the_period_by_scope(
    hr_item, it_item, hr_department
):
    for item, at in ((hr_item, MON), (hr_item, MON + dt.timedelta(days=1)), (it_item, MON)):
        ServiceRequestFactory(catalog_item=item, submitted_at=at)
    ServiceRequestFactory(catalog_item=hr_item, submitted_at=BEFORE)

    assert value("request_volume").value == 3
    assert value("request_volume", Scope(department=hr_department)).value == 2
    assert value("request_volume", Scope(service=it_item.service)).value == 1


def test_end_to_end_attainment_is_the_share_resolved_within_the_promise(hr_item):
    for n in range(4):
        resolved(hr_item, MON + dt.timedelta(hours=n), late=n == 0)
    resolved(hr_item, BEFORE, late=True)  # another period's
    # Resolved past its due time before any sweep flagged it: still a promise missed.
    resolved(hr_item, MON, end_to_end_due_at=MON - dt.timedelta(minutes=5))
    # No target at all (an item without one): counts neither way.
    resolved(hr_item, MON, end_to_end_due_at=None)

    attainment = value("end_to_end_attainment")
    assert (attainment.value, attainment.cases) == (0.6, 5)
    assert value("end_to_end_attainment", period=Period(BEFORE, BEFORE)).value is None


def test_department_target_attainment_reads_the_tasks_done_in_the_period(hr_item):
    for due in (MON + dt.timedelta(hours=1), MON + dt.timedelta(hours=2), MON):
        FulfilmentTaskFactory(
            service_request__catalog_item=hr_item, done_at=MON, resolution_due_at=due, state="done"
        )  # the last done exactly at its due time: missed, as the clock says
    FulfilmentTaskFactory(service_request__catalog_item=hr_item, done_at=None)
    FulfilmentTaskFactory(  # cancelled: its target means nothing
        service_request__catalog_item=hr_item,
        done_at=MON,
        resolution_due_at=MON + dt.timedelta(hours=1),
        state="cancelled",
    )

    assert value("department_target_attainment") == Value(pytest.approx(2 / 3), 3)


def test_reopen_rate_and_experience_with_its_response_rate(hr_item, employee):
    # Four resolved: one reopened and rated 2, one rated 5, two never rated.
    reopened, happy, *_unrated = (resolved(hr_item, MON) for _ in range(4))
    with transaction.atomic():
        event_record(
            subject=reopened, kind=EventKind.REOPENED, reference=reopened.reference, actor=employee
        )
    ExperienceRating.objects.create(service_request=reopened, score=2, rated_by=employee)
    ExperienceRating.objects.create(service_request=happy, score=5, rated_by=employee)

    assert value("reopen_rate").value == 0.25
    rating = value("experience_rating")
    assert (rating.value, rating.cases) == (3.5, 2)
    assert value("rating_response_rate").value == 0.5


def test_knowledge_deflection_counts_reads_not_followed_by_a_request(hr_item, employee, manager):
    article = ArticleFactory(department=hr_item.department)
    with clock.travel(MON):
        ArticleView.objects.create(article=article, user=employee, catalog_item=hr_item)
        ArticleView.objects.create(article=article, user=manager, catalog_item=hr_item)
    ServiceRequestFactory(
        catalog_item=hr_item, raised_by=manager, submitted_at=MON + dt.timedelta(hours=2)
    )

    with clock.travel(MON + dt.timedelta(days=3)):
        deflection = value("knowledge_deflection_rate")
    assert (deflection.value, deflection.cases) == (0.5, 2)


def test_snapshots_are_replaced_not_repeated(hr_item):
    Measure.objects.create(
        key="request_volume",
        name="Requests raised",
        definition="Requests raised in the last four weeks.",
        kind=Measure.Kind.OUTPUT,
        unit="requests",
        direction=Measure.Direction.HIGHER,
        data_source="Service requests",
    )
    Measure.objects.create(
        key="ticket_sentiment_from_outside",
        name="Survey score",
        definition="From a survey tool the portal does not hold.",
        kind=Measure.Kind.EXPERIENCE,
        unit="points",
        direction=Measure.Direction.HIGHER,
        data_source="The yearly survey",
        source_controlled=False,
    )
    ServiceRequestFactory(catalog_item=hr_item, submitted_at=MON)
    day = MON.date()

    with clock.travel(MON + dt.timedelta(hours=1)):
        first = snapshots_refresh(day=day)
        assert snapshots_refresh(day=day) == first
    assert first == len(scopes())  # one measure the portal can compute, every scope
    assert Snapshot.objects.count() == first
    overall = Snapshot.objects.get(scope="all")
    assert (overall.value, overall.cases) == (1, 1)


def test_first_touch_resolution_leaves_out_work_touched_again(hr_item, employee):
    # Three resolved: one at the first touch, one handed off, one that asked the employee.
    _first_touch, handed, asked = (resolved(hr_item, MON) for _ in range(3))
    with transaction.atomic():
        for service_request, kind in (
            (handed, EventKind.HANDED_OFF),
            (asked, "waiting_on_employee"),
        ):
            event_record(
                subject=service_request,
                kind=kind,
                reference=service_request.reference,
                actor=employee,
            )

    assert value("first_touch_resolution").value == pytest.approx(1 / 3)


def test_automation_rate_and_the_staff_hours_it_saved(hr_item, settings):
    settings.AUTOMATION_MINUTES_SAVED_PER_STEP = 30
    service_request = resolved(hr_item, MON)
    run = AutomationRun.objects.create(service_request=service_request, plan={})
    for n, (kind, with_people) in enumerate(
        (("automated", False), ("automated", False), ("automated", True), ("human", True))
    ):
        step = StepRun.objects.create(
            run=run,
            step_key=f"step-{n}",
            idempotency_key=f"run-{run.pk}-step-{n}",
            name=f"Step {n}",
            kind=kind,
            department=hr_item.department,
            state=StepRun.State.SUCCEEDED,
            finished_at=MON,
        )
        if with_people:
            with transaction.atomic():
                event_record(subject=step, kind=EventKind.STEP_WITH_PEOPLE)

    assert value("automation_rate").value == 0.5  # two of four steps done by automation alone
    saved = value("staff_hours_saved")
    assert (saved.value, saved.cases) == (1.0, 2)  # two steps of 30 minutes


def at(day, hour, minute=0):
    return day.replace(hour=hour, minute=minute)


TUE, WED = MON + dt.timedelta(days=1), MON + dt.timedelta(days=2)


# --- Value streams ---------------------------------------------------------------------------


@pytest.fixture
def flow(employee, hr_agent, facilities_agent, hr_department, facilities_department, test_actions):
    """A live stream: Record (HR, step hr-record) then Desk (Facilities, step desk), and three
    cases worked through the real actions:

      A  Mon 09:00 submitted, HR 10:00-12:00, Desk 13:00-14:00: lead 5 h, critical path 3 h
      B  Tue 09:00 submitted, HR 09:30-10:00, Desk 11:00-12:00: lead 3 h, critical 1.5 h
      C  Wed 09:00 submitted, HR 10:00-11:00, Desk 15:00-17:00: lead 8 h, critical 3 h

    Lead times 3, 5, 8: nearest-rank p50 5 h. Flow efficiency (3 + 1.5 + 3) / 16 = 0.46875.
    """
    BusinessCalendarFactory(name="Company", is_default=True)
    for department in (hr_department, facilities_department):
        QueueFactory(department=department, slug=f"{department.slug}-queue", is_default=True)
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    record_step = plan_step(item, "hr-record", kind="human")
    desk_step = plan_step(
        item, "desk", kind="human", department=facilities_department, after=[record_step]
    )
    stream = ValueStreamFactory(owner=hr_agent)
    stream.items.add(item)
    record = StageFactory(stream=stream, name="Record", department=hr_department)
    desk = StageFactory(
        stream=stream, name="Desk", department=facilities_department, parallel_group=2
    )
    StageStep.objects.create(stage=record, plan_step=record_step)
    StageStep.objects.create(stage=desk, plan_step=desk_step)

    def task(service_request, step):
        return FulfilmentTask.objects.filter(service_request=service_request, step_key=step).get()

    hours = {MON: ((10, 12), (13, 14)), TUE: ((9.5, 10), (11, 12)), WED: ((10, 11), (15, 17))}
    with clock.travel(at(MON, 9)) as now:
        for day, stints in hours.items():
            now.to(at(day, 9))
            case, _ = actions.service_request_submit(
                item=item,
                raised_by=employee,
                subject="Onboard",
                answers=[],
                submission_key=day.isoformat(),
            )
            for (start, end), step, agent in zip(
                stints, ("hr-record", "desk"), (hr_agent, facilities_agent), strict=True
            ):
                now.to(day + dt.timedelta(hours=start - 9))
                actions.task_claim(task=task(case, step), agent=agent)
                now.to(day + dt.timedelta(hours=end - 9))
                actions.task_resolve(task=task(case, step), agent=agent, resolution="Done")
    value_stream_refresh(stream=stream, full=True)
    return stream


def test_lead_time_of_a_stream_is_its_maps_median(flow):
    lead = value("lead_time", Scope(value_stream=flow))
    metrics = value_stream_metrics(stream=flow, period=WEEK, viewer=flow.owner)

    assert (lead.value, lead.cases) == (pytest.approx(5), 3)
    assert lead.value == metrics.lead_time.p50


def test_flow_efficiency_of_a_stream_is_its_maps(flow):
    efficiency = value("flow_efficiency", Scope(value_stream=flow))
    metrics = value_stream_metrics(stream=flow, period=WEEK, viewer=flow.owner)

    assert efficiency.value == pytest.approx(7.5 / 16)
    assert efficiency.value == pytest.approx(metrics.flow_efficiency)


def test_stream_measures_of_a_department_cover_the_streams_it_owns_a_stage_in(
    flow, facilities_department, it_department
):
    # Facilities owns the Desk stage; IT owns none; a draft stream counts for nobody.
    draft = ValueStreamFactory(status=ValueStream.Status.DRAFT)
    StageFactory(stream=draft, department=it_department)
    CaseFlow.objects.create(
        stream=draft,
        service_request=ServiceRequestFactory(),
        reference="REQ-999999",
        submitted_at=MON,
        resolved_at=MON + dt.timedelta(hours=100),
        lead_minutes=6000,
        critical_process_minutes=6000,
        refreshed_at=MON,
    )

    assert value("lead_time", Scope(department=facilities_department)).value == pytest.approx(5)
    assert value("lead_time", Scope(department=it_department)) == Value(None, 0)
    assert value("flow_efficiency", Scope(department=it_department)) == Value(None, 0)
    assert value("lead_time").value == pytest.approx(5)
    assert value("flow_efficiency").value == pytest.approx(7.5 / 16)


# --- Experience ------------------------------------------------------------------------------


def test_experience_score_is_the_journeys_emotion_score_over_the_scopes_requests(
    hr_item, employee, hr_agent, it_department
):
    """Four resolved: R1 reopened, rated 2, "too long" (-2/3); R2 rated 5, "Great, thank
    you" (+2/3); R3 past its end-to-end target, its work sent back once; R4 handed from HR
    to IT and back (a bounce: HR had handed work away already).

    Parts (0-1, 1 best) and weights: rating (3.5 - 1) / 4 = 0.625, weight 3 (response rate
    50% is past 30%); sentiment (0 + 1) / 2 = 0.5, weight 2; reopens 1 - min(0.25 / 0.2, 1)
    = 0; bounces 1 - 2/4 = 0.5; breaches 1 - 1/4 = 0.75, weight 1 each.
    Mean 4.125 / 8 = 0.515625, so the score is 2 * 0.515625 - 1 = 0.03125, on 4 cases.
    """
    r1, r2, r3, r4 = (resolved(hr_item, MON, requester=employee, late=n == 2) for n in range(4))
    for service_request, body, author in (
        (r1, "Took too long.", employee),
        (r1, "Thanks for waiting, all sorted.", hr_agent),  # not the employee's own words
        (r2, "Great, thank you", employee),
    ):
        Comment.objects.create(service_request=service_request, author=author, body=body)
    ExperienceRating.objects.create(service_request=r1, score=2, rated_by=employee)
    ExperienceRating.objects.create(service_request=r2, score=5, rated_by=employee)
    r3_task = FulfilmentTaskFactory(service_request=r3)
    r4_task = FulfilmentTaskFactory(service_request=r4)
    with transaction.atomic():
        event_record(subject=r1, kind=EventKind.REOPENED, reference=r1.reference)
        event_record(subject=r3_task, kind=EventKind.SENT_BACK, reference=r3.reference)
        for from_department, to_department in (
            (hr_item.department, it_department),
            (it_department, hr_item.department),
        ):
            event_record(
                subject=r4_task,
                kind=EventKind.HANDED_OFF,
                reference=r4.reference,
                from_department=from_department,
                to_department=to_department,
            )

    score = value("experience_score")
    assert (score.value, score.cases) == (pytest.approx(0.03125), 4)
    assert value("experience_score", Scope(department=it_department)) == Value(None, 0)
    # Shared by the scopes of a refresh, the facts per request give each scope the same.
    with facts_shared_across_scopes():
        assert value("experience_score", Scope(department=it_department)) == Value(None, 0)
        assert value("experience_score") == score
        assert value("experience_score", Scope(department=hr_item.department)) == score


# --- Backlog and onboarding ------------------------------------------------------------------


def test_backlog_age_is_the_median_age_of_what_is_open_when_the_period_ends(hr_item, it_item):
    end = WEEK.end
    days = dt.timedelta(days=1)
    for submitted, fields in (
        (1, {}),  # open: 1 day old
        (3, {}),  # open: 3 days
        (5, {"resolved_at": end + days}),  # resolved only after the period: open then, 5 days
        (20, {}),  # open: 20 days
        (10, {"resolved_at": end - 2 * days}),  # resolved in time: not in the backlog
        (7, {"closed_at": end - 6 * days, "state": "cancelled"}),  # cancelled: not either
        (-1, {}),  # raised after the period
    ):
        ServiceRequestFactory(catalog_item=hr_item, submitted_at=end - submitted * days, **fields)
    ServiceRequestFactory(catalog_item=it_item, submitted_at=end - 2 * days)

    # Ages 1, 3, 5 and 20 days: the nearest-rank median is the second, 3 days.
    backlog = value("backlog_age", Scope(department=hr_item.department))
    assert (backlog.value, backlog.cases) == (pytest.approx(3), 4)
    # With IT's request of 2 days: 1, 2, 3, 5, 20, median 3 again, on 5.
    assert value("backlog_age") == Value(pytest.approx(3), 5)
    assert value("backlog_age", Scope(service=it_item.service)) == Value(pytest.approx(2), 1)


def new_hire(item, starts, *, resolved_at=None, state="in_progress"):
    service_request = ServiceRequestFactory(
        catalog_item=item, submitted_at=starts - dt.timedelta(days=20), resolved_at=resolved_at
    )
    service_request.state = state
    service_request.save(update_fields=["state"])
    return EmployeeRecord.objects.create(
        first_name="Kim", last_name="Lee", start_date=starts.date(), service_request=service_request
    )


def test_onboarding_ready_on_day_one_counts_hires_resolved_before_their_start_date(hr_item):
    """Start dates in the week of Mon 2 Nov: Tue's hire was resolved the evening before
    (ready); Wed's at 08:00 on the day (not ready); Thu's is still open (not ready); Fri's
    hire was cancelled (no one started). Last week's and next week's hires are not this
    week's."""
    thu, fri = MON + dt.timedelta(days=3), MON + dt.timedelta(days=4)
    new_hire(hr_item, TUE, resolved_at=at(MON, 23, 30), state="resolved")
    new_hire(hr_item, WED, resolved_at=at(WED, 8), state="resolved")
    new_hire(hr_item, thu)
    new_hire(hr_item, fri, state="cancelled")
    new_hire(hr_item, BEFORE, resolved_at=BEFORE - dt.timedelta(days=3), state="resolved")
    new_hire(hr_item, MON + dt.timedelta(days=8), resolved_at=MON, state="resolved")
    week = day_period(MON.date(), MON.date() + dt.timedelta(days=6))

    with clock.travel(MON + dt.timedelta(days=10)):
        ready = value("onboarding_ready_on_day_one", period=week)
        assert (ready.value, ready.cases) == (pytest.approx(1 / 3), 3)
    with clock.travel(at(WED, 12)):
        # Up to today: Thursday's hire has not started yet.
        assert value("onboarding_ready_on_day_one", period=week) == Value(0.5, 2)
    with clock.travel(MON + dt.timedelta(days=10)):
        other = Scope(department=DepartmentFactory())
        assert value("onboarding_ready_on_day_one", other, period=week) == Value(None, 0)


def test_onboarding_of_a_stream_counts_the_hires_of_its_items(hr_item, it_item):
    stream = ValueStreamFactory()
    stream.items.add(hr_item)
    new_hire(hr_item, TUE, resolved_at=MON, state="resolved")
    new_hire(it_item, TUE)
    week = day_period(MON.date(), MON.date() + dt.timedelta(days=6))

    with clock.travel(MON + dt.timedelta(days=10)):
        assert value("onboarding_ready_on_day_one", period=week) == Value(0.5, 2)
        in_stream = value("onboarding_ready_on_day_one", Scope(value_stream=stream), period=week)
    assert in_stream == Value(1.0, 1)


# --- Cost ------------------------------------------------------------------------------------


def test_cost_per_request_prices_the_working_hours_tasks_spent_in_progress(
    hr_item, employee, hr_agent, it_agent, facilities_agent, it_department, facilities_department
):
    """R1: HR works it Mon 10:00-12:00 (2 h), IT Mon 16:00 to Tue 10:00 (2 working hours,
    not the 18 elapsed). R2: HR from Tue 09:00, asks the employee at 09:30, who answers at
    13:00, resolved 13:30: 1 h in progress, the wait is not work. R3: done by automation
    alone, no staff time. R4: Facilities worked it, and Facilities has no rate: its cost is
    unknown. At HR 40 and IT 60 an hour: R1 200, R2 40, R3 0, a mean of 80 on 3 requests.
    """
    BusinessCalendarFactory(name="Company", is_default=True)
    CostRate.objects.create(department=hr_item.department, hourly_rate=Decimal("40.00"))
    CostRate.objects.create(department=it_department, hourly_rate=Decimal("60.00"))
    r1, r2, r4 = (
        ServiceRequestFactory(
            catalog_item=hr_item, requester=employee, state="in_progress", submitted_at=at(MON, 8)
        )
        for _ in range(3)
    )
    resolved(hr_item, at(TUE, 15))  # R3
    stints = [
        (FulfilmentTaskFactory(service_request=r1), hr_agent, at(MON, 10), at(MON, 12)),
        (
            FulfilmentTaskFactory(service_request=r1, queue__department=it_department),
            it_agent,
            at(MON, 16),
            at(TUE, 10),
        ),
        (
            FulfilmentTaskFactory(service_request=r4, queue__department=facilities_department),
            facilities_agent,
            at(MON, 9),
            at(MON, 10),
        ),
    ]
    with clock.travel(MON) as now:
        for task, agent, start, end in stints:
            now.to(start)
            actions.task_claim(task=task, agent=agent)
            now.to(end)
            actions.task_resolve(task=task, agent=agent, resolution="Done")
        r2_task = FulfilmentTaskFactory(service_request=r2)
        now.to(at(TUE, 9))
        actions.task_claim(task=r2_task, agent=hr_agent)
        now.to(at(TUE, 9, 30))
        actions.task_ask(task=r2_task, agent=hr_agent, question="Which account?")
        now.to(at(TUE, 13))
        actions.comment_add(service_request=r2, author=employee, body="The payroll one.")
        now.to(at(TUE, 13, 30))
        actions.task_resolve(
            task=FulfilmentTask.objects.get(pk=r2_task.pk), agent=hr_agent, resolution="Done"
        )

    cost = value("cost_per_request")
    assert (cost.value, cost.cases) == (pytest.approx(80), 3)
    with facts_shared_across_scopes():
        # IT's own requests: none resolved (R1 is HR's item, whoever worked it).
        assert value("cost_per_request", Scope(department=it_department)) == Value(None, 0)
        assert value("cost_per_request") == cost
        assert value("cost_per_request", Scope(department=hr_item.department)) == cost
    CostRate.objects.all().delete()
    assert value("cost_per_request") == Value(None, 0)


# --- Watermelons -----------------------------------------------------------------------------


def test_watermelon_index_is_attainment_minus_the_rating_on_the_same_scale(hr_item, employee):
    # Ten resolved, nine within their target: attainment 0.9. Rated 2, 2, 3, 3, 4: a mean
    # of 2.8, which is (2.8 - 1) / 4 = 0.45 on the attainment's scale. Index 0.9 - 0.45.
    requests = [resolved(hr_item, MON, late=n == 0) for n in range(10)]
    for service_request, score in zip(requests, (2, 2, 3, 3, 4), strict=False):
        ExperienceRating.objects.create(
            service_request=service_request, score=score, rated_by=employee
        )
    service = Scope(service=hr_item.service)

    assert value("watermelon_index", service) == Value(pytest.approx(0.45), 5)
    ExperienceRating.objects.filter(score=4).delete()
    # Four ratings are too few to call a watermelon, as the rule says.
    assert value("watermelon_index", service) == Value(None, 4)


def test_every_scope_at_once_counts_each_scope_as_alone(hr_item, it_item, employee):
    """A refresh reads every scope's counts from one grouped query: a request counts for
    its own department and its item's service, whichever department owns that service,
    and a scope with nothing in it gets the value of nothing."""
    # HR's department raises it, through an item of IT's service.
    crossed = CatalogItemFactory(department=hr_item.department, service=it_item.service)
    quiet = DepartmentFactory()
    for item, n in ((hr_item, 2), (it_item, 1), (crossed, 1)):
        for _ in range(n):
            ServiceRequestFactory(catalog_item=item, submitted_at=MON)
    rated = resolved(hr_item, MON)
    ExperienceRating.objects.create(service_request=rated, score=4, rated_by=employee)
    resolved(crossed, MON)
    hr, it = hr_item.department, it_item.department
    every_scope = [
        Scope(),
        Scope(department=hr),
        Scope(department=it),
        Scope(department=quiet),
        Scope(service=hr_item.service),
        Scope(service=it_item.service),
    ]

    volume = REGISTRY["request_volume"].every(WEEK, every_scope)
    assert {key: value.cases for key, value in volume.items()} == {
        "all": 6,
        f"department:{hr.pk}": 5,  # two, the crossed one, and the two resolved
        f"department:{it.pk}": 1,
        f"department:{quiet.pk}": 0,
        f"service:{hr_item.service.pk}": 3,
        f"service:{it_item.service.pk}": 3,
    }
    ratings = REGISTRY["experience_rating"].every(WEEK, every_scope)
    assert ratings[f"department:{hr.pk}"] == Value(4.0, 1)
    assert ratings[f"service:{it_item.service.pk}"] == Value(None, 0)
    for key, registered in REGISTRY.items():
        its_scopes = [scope for scope in every_scope if scope.kind in registered.scopes]
        alone = {scope.key: registered(WEEK, scope) for scope in its_scopes}
        with facts_shared_across_scopes():
            assert registered.every(WEEK, its_scopes) == alone, key


def measure_row(key):
    return Measure.objects.create(
        key=key,
        name=key,
        definition=REGISTRY[key].description,
        kind=Measure.Kind.OUTCOME,
        unit="",
        direction=Measure.Direction.HIGHER,
        data_source="The event log",
    )


def test_refresh_computes_every_scope_a_measure_is_registered_for_once(flow):
    for key in ("request_volume", "lead_time", "watermelon_index", "onboarding_ready_on_day_one"):
        measure_row(key)
    day = WED.date()
    departments, services, streams = (
        model.objects.count() for model in (Department, Service, ValueStream)
    )

    with clock.travel(at(WED, 18)):
        written = snapshots_refresh(day=day)
        assert snapshots_refresh(day=day) == written
    rows = Snapshot.objects.filter(day=day)
    by_key = {
        key: set(rows.filter(measure__key=key).values_list("scope", flat=True))
        for key in (
            "request_volume",
            "lead_time",
            "watermelon_index",
            "onboarding_ready_on_day_one",
        )
    }
    assert written == rows.count() == sum(len(scopes) for scopes in by_key.values())
    assert len(by_key["request_volume"]) == 1 + departments + services
    assert len(by_key["lead_time"]) == 1 + departments + streams
    assert len(by_key["watermelon_index"]) == 1 + departments + services
    assert len(by_key["onboarding_ready_on_day_one"]) == 1 + departments + services + streams
    stream_rows = rows.filter(scope__startswith="stream:")
    assert set(stream_rows.values_list("measure__key", flat=True)) == {
        "lead_time",
        "onboarding_ready_on_day_one",
    }
    assert stream_rows.get(measure__key="lead_time", value_stream=flow).value == pytest.approx(5)


def test_refresh_overwrites_a_days_row_in_place_whoever_wrote_it_first(hr_item):
    # What an overlapping run leaves behind: the day's row already there, with old figures.
    volume = measure_row("request_volume")
    day = MON.date()
    Snapshot.objects.create(measure=volume, day=day, scope="all", value=99, cases=99)
    resolved(hr_item, MON)

    with clock.travel(MON + dt.timedelta(hours=1)):
        snapshots_refresh(day=day)

    row = Snapshot.objects.get(measure=volume, day=day, scope="all")
    assert (row.value, row.cases) == (1, 1)
