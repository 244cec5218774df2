"""Flow measures of a stream, on a history built through the real actions and worked out by
hand (all times UTC; the company calendar is Mon-Fri 09:00-17:00 London, which is UTC in
November).

The stream: Record (HR, group 1, step hr-record) then, side by side, Account (IT, group 2,
step it-account) and Desk (Facilities, group 2, step desk). Pick-up targets: Record to
Account 60 business minutes, Record to Desk 60.

Case A, Mon 2 Nov: parallel branches, a consult and a pause on the employee.
  09:00 submitted; Record's task queued        10:00 HR claims (queue 1 h)
  11:00 HR asks for missing information         13:00 the employee answers (2 h paused)
  14:00 HR resolves (process 1 + 1 h): Account and Desk queued
  14:30 IT claims Account (pick-up 30 min)      15:30 IT resolves Account (process 1 h)
  16:00 Facilities claims Desk (pick-up 120 min: over its 60)
  16:30 Facilities consults IT                  17:30 IT answers (1 h department wait)
  18:00 Facilities resolves Desk: resolved. Lead time 9 h.
  Critical path: Record then Desk (Desk was done last and released by Record's end), so
  its process time is 2 + 1 = 3 h, not the 4 h of every stage.

Case B, Tue 3 Nov: rework.
  09:00 submitted   09:30 HR claims (queue 0.5 h)   10:00 HR resolves (process 0.5 h)
  10:30 IT claims Account (pick-up 30 min)   11:00 IT resolves Account (process 0.5 h)
  11:00 Facilities claims Desk (pick-up 60 min: on target)
  11:30 Facilities hands Desk to IT (process 0.5 h): IT's task for the desk is queued
  12:00 IT claims it (queue 0.5 h)   12:30 IT sends it back (process 0.5 h): the Desk
  task is back in progress   13:00 Facilities resolves Desk (process 0.5 h): resolved.
  Lead time 4 h; critical path Record then Desk: 0.5 + 1.5 = 2 h.

So over the week: lead times 4 h and 9 h (nearest-rank p50 4, p85 and p95 9, mean 6.5);
flow efficiency (3 + 2) / (9 + 4) = 5/13; per case, Record process 1.25 h, queue 0.75 h,
employee 1 h, %C&A 1/2 (A lacked information); Account process 0.75 h, queue 0.5 h,
%C&A 1; Desk process 1.25 h, queue 1.75 h, department wait 0.5 h, %C&A 2/3 (of three
tasks received, IT sent one back); rolled %C&A 1/3. Team wait: Record 1.5 h, Account 1 h,
Desk 4.5 h of 7 h, so Desk is the bottleneck (9/14 of the wait).
"""

import csv
import datetime as dt
import io

import pytest

from esm import clock
from services import actions
from services.models import Consult, FulfilmentTask, ServiceRequest
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step
from tests.services.factories import CatalogItemFactory, QueueFactory
from tests.valuestreams.factories import HandoffTargetFactory, StageFactory, ValueStreamFactory
from valuestreams.metrics import Period, Trend
from valuestreams.models import CaseFlow, StageStep, ValueStream
from valuestreams.rollups import value_stream_refresh
from valuestreams.selectors import (
    value_stream_metrics,
    value_stream_summaries,
    value_stream_variants,
)
from valuestreams.selectors.flow import OPEN_STATES

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_actions")]

MON = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
TUE = MON + dt.timedelta(days=1)
WEEK = Period(MON, MON + dt.timedelta(days=7))


def at(day, hour, minute=0):
    return day + dt.timedelta(hours=hour, minutes=minute)


def approx(value):
    return pytest.approx(value, abs=1e-6)


class History:
    def __init__(self, stream, item, stages, people):
        self.stream, self.item, self.stages, self.people = stream, item, stages, people

    def submit(self, key):
        service_request, _ = actions.service_request_submit(
            item=self.item,
            raised_by=self.people["employee"],
            subject="Onboard Kim",
            answers=[],
            submission_key=key,
        )
        return service_request

    def refresh(self):
        value_stream_refresh(stream=self.stream, full=True)

    def metrics(self, period=WEEK, viewer=None):
        return value_stream_metrics(
            stream=self.stream, period=period, viewer=viewer or self.people["hr_agent"]
        )


def task(service_request, step, **filters):
    return FulfilmentTask.objects.filter(
        service_request=service_request, step_key=step, **filters
    ).latest("pk")


@pytest.fixture
def stream(employee, hr_agent, it_agent, facilities_agent, hr_department, it_department):
    BusinessCalendarFactory(name="Company", is_default=True)
    facilities = facilities_agent.department_roles.get().department
    for department in (hr_department, it_department, facilities):
        QueueFactory(department=department, slug=f"{department.slug}-queue", is_default=True)
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    hr_record = plan_step(item, "hr-record", kind="human")
    it_account = plan_step(
        item, "it-account", kind="human", department=it_department, after=[hr_record]
    )
    desk = plan_step(item, "desk", kind="human", department=facilities, after=[hr_record])
    stream = ValueStreamFactory(owner=hr_agent)
    stream.items.add(item)
    record = StageFactory(stream=stream, name="Record", department=hr_department)
    account = StageFactory(
        stream=stream, name="Account", department=it_department, parallel_group=2
    )
    desk_stage = StageFactory(
        stream=stream, name="Desk", department=facilities, parallel_group=2, position=1
    )
    for stage, step in ((record, hr_record), (account, it_account), (desk_stage, desk)):
        StageStep.objects.create(stage=stage, plan_step=step)
    HandoffTargetFactory(from_stage=record, to_stage=account, pickup_minutes=60)
    HandoffTargetFactory(from_stage=record, to_stage=desk_stage, pickup_minutes=60)
    people = {
        "employee": employee,
        "hr_agent": hr_agent,
        "it_agent": it_agent,
        "facilities_agent": facilities_agent,
        "it_queue": it_department.queues.get(),
    }
    stages = {"record": record, "account": account, "desk": desk_stage}
    return History(stream, item, stages, people)


def case_a(history, now):
    p = history.people
    now.to(at(MON, 9))
    a = history.submit("a")
    now.to(at(MON, 10))
    actions.task_claim(task=task(a, "hr-record"), agent=p["hr_agent"])
    now.to(at(MON, 11))
    actions.task_ask(
        task=task(a, "hr-record"), agent=p["hr_agent"], question="NI?", missing_information=True
    )
    now.to(at(MON, 13))
    actions.comment_add(service_request=a, author=p["employee"], body="AB123456C")
    now.to(at(MON, 14))
    actions.task_resolve(task=task(a, "hr-record"), agent=p["hr_agent"], resolution="Done")
    now.to(at(MON, 14, 30))
    actions.task_claim(task=task(a, "it-account"), agent=p["it_agent"])
    now.to(at(MON, 15, 30))
    actions.task_resolve(task=task(a, "it-account"), agent=p["it_agent"], resolution="Done")
    now.to(at(MON, 16))
    actions.task_claim(task=task(a, "desk"), agent=p["facilities_agent"])
    now.to(at(MON, 16, 30))
    actions.task_consult(
        task=task(a, "desk"), agent=p["facilities_agent"], to_queue=p["it_queue"], question="?"
    )
    now.to(at(MON, 17, 30))
    actions.consult_answer(consult=Consult.objects.get(), agent=p["it_agent"], answer="USB-C")
    now.to(at(MON, 18))
    actions.task_resolve(task=task(a, "desk"), agent=p["facilities_agent"], resolution="Desk 3")
    return a


def case_b(history, now):
    p = history.people
    now.to(at(TUE, 9))
    b = history.submit("b")
    now.to(at(TUE, 9, 30))
    actions.task_claim(task=task(b, "hr-record"), agent=p["hr_agent"])
    now.to(at(TUE, 10))
    actions.task_resolve(task=task(b, "hr-record"), agent=p["hr_agent"], resolution="Done")
    now.to(at(TUE, 10, 30))
    actions.task_claim(task=task(b, "it-account"), agent=p["it_agent"])
    now.to(at(TUE, 11))
    actions.task_resolve(task=task(b, "it-account"), agent=p["it_agent"], resolution="Done")
    actions.task_claim(task=task(b, "desk"), agent=p["facilities_agent"])
    now.to(at(TUE, 11, 30))
    received = actions.task_hand_off(
        task=task(b, "desk"), agent=p["facilities_agent"], to_queue=p["it_queue"], reason="Dock"
    )
    now.to(at(TUE, 12))
    actions.task_claim(task=received, agent=p["it_agent"])
    now.to(at(TUE, 12, 30))
    actions.task_send_back(
        task=FulfilmentTask.objects.get(pk=received.pk), agent=p["it_agent"], missing="Which?"
    )
    now.to(at(TUE, 13))
    desk = task(b, "desk", department=history.stages["desk"].department)
    actions.task_resolve(task=desk, agent=p["facilities_agent"], resolution="Desk 4")
    return b


@pytest.fixture
def week(stream):
    with clock.travel(at(MON, 9)) as now:
        case_a(stream, now)
        case_b(stream, now)
    stream.refresh()
    return stream


def test_lead_time_percentiles_and_flow_efficiency_follow_the_critical_path(week):
    metrics = week.metrics()

    assert metrics.cases == 2
    assert metrics.lead_time.p50 == approx(4)
    assert metrics.lead_time.p85 == approx(9)
    assert metrics.lead_time.p95 == approx(9)
    assert metrics.lead_time.mean == approx(6.5)
    # 3 h + 2 h of process on the critical paths, over 13 h of lead time: the parallel
    # Account stage's hour in case A is off the path and does not count.
    assert metrics.flow_efficiency == approx(5 / 13)
    assert metrics.throughput_per_week == approx(2)
    assert metrics.employee_wait == approx(1)
    assert not metrics.hidden


def test_stage_process_wait_and_employee_wait_apart(week):
    stages = {s.stage.name: s for s in week.metrics().stages}

    record, account, desk = stages["Record"], stages["Account"], stages["Desk"]
    assert (record.process, record.queue_wait, record.employee_wait) == (
        approx(1.25),
        approx(0.75),
        approx(1),
    )
    assert record.wait == approx(0.75)  # waiting on the employee is not the team's wait
    assert (account.process, account.queue_wait) == (approx(0.75), approx(0.5))
    assert (desk.process, desk.queue_wait, desk.department_wait) == (
        approx(1.25),
        approx(1.75),
        approx(0.5),
    )
    assert desk.wait_share == approx(4.5 / 7)
    assert [s.stage.name for s in stages.values() if s.is_bottleneck] == ["Desk"]
    assert (record.critical_cases, account.critical_cases, desk.critical_cases) == (2, 0, 2)


def test_percent_complete_and_accurate_per_stage_and_rolled(week):
    metrics = week.metrics()
    stages = {s.stage.name: s for s in metrics.stages}

    assert (stages["Record"].received, stages["Record"].flawed) == (2, 1)
    assert stages["Account"].percent_complete_accurate == approx(1)
    assert (stages["Desk"].received, stages["Desk"].flawed) == (3, 1)
    assert metrics.rolled_percent_complete_accurate == approx(0.5 * 1 * 2 / 3)


def test_handoff_delay_against_its_target_counts_breaches(week):
    handoffs = {(h.from_stage.name, h.to_stage.name): h for h in week.metrics().handoffs}

    to_account = handoffs[("Record", "Account")]
    assert to_account.delay.count == 2
    assert to_account.delay.mean == approx(0.5)
    assert to_account.breaches == 0
    to_desk = handoffs[("Record", "Desk")]
    assert to_desk.target_minutes == 60
    assert (to_desk.delay.p50, to_desk.delay.p95) == (approx(1), approx(2))
    assert to_desk.breaches == 1  # 120 minutes in case A; case B's 60 is on target


def test_variants_and_conformance(week):
    variants = value_stream_variants(
        stream=week.stream, period=WEEK, viewer=week.people["hr_agent"]
    )

    stages = week.stages
    path = ((stages["record"],), (stages["account"], stages["desk"]))
    assert [(v.path, v.cases, v.conformance, v.lead_time.p50) for v in variants] == [
        (path, 1, "conforming", approx(9)),
        (path, 1, "repeated", approx(4)),
    ]


@pytest.mark.usefixtures("own_cache")
def test_figures_of_the_case_rows_are_kept_until_the_rollup_writes_them_again(week):
    def figures():
        metrics = week.metrics()
        variants = value_stream_variants(
            stream=week.stream, period=WEEK, viewer=week.people["hr_agent"], metrics=metrics
        )
        return (
            metrics.lead_time.count,
            sum(stage.cases for stage in metrics.stages),
            sum(handoff.delay.count for handoff in metrics.handoffs),
            sum(variant.cases for variant in variants),
            metrics.flow_efficiency,
            metrics.employee_wait,
        )

    read = figures()
    assert read[0] == read[3] == 2
    assert read[4] is not None

    # Rows gone behind the rollup's back (no new version): the kept figures stand.
    CaseFlow.objects.filter(stream=week.stream).delete()
    assert figures() == read

    # A third case, then a refresh: its rows are written under a new version, and read.
    p = week.people
    with clock.travel(at(TUE + dt.timedelta(days=1), 9)) as now:
        c = week.submit("c")
        for step, agent in (("hr-record", "hr_agent"), ("it-account", "it_agent")):
            actions.task_claim(task=task(c, step), agent=p[agent])
            now.to(now.now + dt.timedelta(minutes=30))
            actions.task_resolve(task=task(c, step), agent=p[agent], resolution="Done")
        actions.task_claim(task=task(c, "desk"), agent=p["facilities_agent"])
        now.to(now.now + dt.timedelta(minutes=30))
        actions.task_resolve(task=task(c, "desk"), agent=p["facilities_agent"], resolution="D5")
    week.refresh()
    again = figures()
    assert (again[0], again[3]) == (3, 3)
    assert again[1] > read[1]
    assert again[2] > read[2]
    assert again[4] is not None


def test_a_case_counts_in_the_period_it_was_resolved_in_and_trends_against_the_one_before(week):
    tuesday = Period(TUE, TUE + dt.timedelta(days=1))
    metrics = week.metrics(tuesday)

    assert metrics.cases == 1
    assert metrics.lead_time.p50 == approx(4)
    assert metrics.flow_efficiency == approx(0.5)
    assert metrics.previous.lead_time_p50 == approx(9)  # Monday: case A
    assert metrics.previous.flow_efficiency == approx(3 / 9)
    assert metrics.previous.throughput_per_week == approx(7)


def test_a_case_submitted_before_the_period_counts_whole_where_it_was_resolved(stream):
    with clock.travel(at(MON, 9)) as now:
        case_a(stream, now)
    stream.refresh()
    from_monday_noon = Period(at(MON, 12), at(MON, 12) + dt.timedelta(days=1))

    assert stream.metrics(from_monday_noon).lead_time.p50 == approx(9)
    assert stream.metrics(Period(at(MON, 0), at(MON, 12))).cases == 0


def test_an_empty_period_says_nothing_rather_than_zero(week):
    later = Period(MON + dt.timedelta(days=70), MON + dt.timedelta(days=77))
    metrics = week.metrics(later)

    assert metrics.cases == 0
    assert (metrics.lead_time.p50, metrics.flow_efficiency) == (None, None)
    assert metrics.throughput_per_week == 0
    assert all(stage.cases == 0 and stage.process is None for stage in metrics.stages)
    assert metrics.rolled_percent_complete_accurate is None
    assert {h.to_stage.name: h.delay.count for h in metrics.handoffs} == {"Account": 0, "Desk": 0}
    assert metrics.bottleneck is None


def test_work_in_progress_counts_every_unfinished_state_and_no_finished_one(week):
    requests = []
    with clock.travel(at(TUE, 14)):
        for state in ServiceRequest.State.values:
            service_request = week.submit(f"wip-{state}")
            ServiceRequest.objects.filter(pk=service_request.pk).update(state=state)
            requests.append(service_request)
    unfinished = [s for s in ServiceRequest.State.values if s not in ServiceRequest.FINISHED_STATES]
    viewer = week.people["hr_agent"]
    stream = ValueStream.objects.filter(pk=week.stream.pk)

    # The week's two cases are finished: only the new requests left unfinished count.
    assert week.metrics().wip == len(unfinished)
    for streams in (stream, list(stream)):
        (summary,) = value_stream_summaries(streams=streams, period=WEEK, viewer=viewer)
        assert summary.wip == len(unfinished)


def test_open_cases_are_work_in_progress_not_lead_time(week):
    with clock.travel(at(TUE, 14)):
        week.submit("c")
    week.refresh()
    metrics = week.metrics()

    assert metrics.wip == 1
    assert metrics.cases == 2


def test_work_in_progress_counts_every_state_a_request_is_open_in():
    # The WIP names the open states, so that an index finds them: exactly those
    # `ServiceRequest.objects.open()` keeps, every state but the finished ones.
    assert set(OPEN_STATES) == set(ServiceRequest.State) - set(ServiceRequest.FINISHED_STATES)


def test_the_index_of_an_items_open_requests_names_the_states_the_wip_asks_for():
    # PostgreSQL uses a partial index for a query whose states it can match to the index's.
    (index,) = [i for i in ServiceRequest._meta.indexes if i.name == "open_request_by_item"]
    assert dict(index.condition.children) == {"state__in": list(OPEN_STATES)}


def test_too_few_cases_are_not_shown_to_who_may_not_see_them(week, executive):
    metrics = week.metrics(viewer=executive)

    assert metrics.hidden
    assert metrics.cases == 2
    assert (metrics.lead_time.p50, metrics.flow_efficiency) == (None, None)
    assert all(stage.process is None for stage in metrics.stages)
    assert all(handoff.delay.mean is None for handoff in metrics.handoffs)
    # A rate is held back too: its count of work received stays, its share does not.
    assert any(stage.received for stage in metrics.stages)
    assert all(stage.percent_complete_accurate is None for stage in metrics.stages)
    assert metrics.rolled_percent_complete_accurate is None


def test_a_list_of_streams_holds_back_too_few_cases_from_who_may_not_see_them(week, executive):
    (shown,) = value_stream_summaries(
        streams=[week.stream], period=WEEK, viewer=week.people["hr_agent"]
    )
    (held,) = value_stream_summaries(streams=[week.stream], period=WEEK, viewer=executive)

    assert (shown.hidden, shown.lead_time.p50) == (False, approx(4))
    assert (held.hidden, held.lead_time.count, held.lead_time.p50) == (True, 2, None)
    assert held.flow_efficiency is None
    # Counts stay: only durations go.
    assert held.throughput_per_week == approx(2)


def test_a_list_of_streams_asks_who_sees_the_cases_only_where_few_would_be_shown(
    week, executive, django_assert_num_queries
):
    value_stream_summaries(streams=[week.stream], period=WEEK, viewer=executive)  # kept
    later = Period(WEEK.end + dt.timedelta(days=14), WEEK.end + dt.timedelta(days=21))
    value_stream_summaries(streams=[week.stream], period=later, viewer=executive)  # kept

    # Two cases in the week: too few to show whoever asks, so the viewer's sight is read.
    with django_assert_num_queries(2):
        value_stream_summaries(streams=[week.stream], period=WEEK, viewer=executive)
    # None in a later week nor the one before it: nothing to hold back, nothing more read.
    with django_assert_num_queries(1):
        (empty,) = value_stream_summaries(streams=[week.stream], period=later, viewer=executive)
    assert (empty.hidden, empty.lead_time.count) == (False, 0)


def quick_case(history, now, key, day):
    """A case each department works straight through on `day`, from 9:00."""
    p = history.people
    now.to(at(day, 9))
    service_request = history.submit(key)
    for hour, (step, agent) in enumerate(
        (
            ("hr-record", p["hr_agent"]),
            ("it-account", p["it_agent"]),
            ("desk", p["facilities_agent"]),
        ),
        start=10,
    ):
        now.to(at(day, hour))
        actions.task_claim(task=task(service_request, step), agent=agent)
        actions.task_resolve(task=task(service_request, step), agent=agent, resolution="Done")
    return service_request


@pytest.fixture
def five_after_two(stream):
    """Two cases resolved in the week before WEEK, five in WEEK."""
    week_before = MON - dt.timedelta(days=7)
    with clock.travel(at(week_before, 9)) as now:
        for number in range(2):
            quick_case(stream, now, f"before-{number}", week_before + dt.timedelta(days=number))
        for number in range(5):
            quick_case(stream, now, f"now-{number}", MON + dt.timedelta(days=number))
    stream.refresh()
    return stream


def test_a_trend_over_too_few_cases_is_held_back_from_who_may_not_see_them(
    five_after_two, executive
):
    (shown,) = value_stream_summaries(
        streams=[five_after_two.stream], period=WEEK, viewer=five_after_two.people["hr_agent"]
    )
    (held,) = value_stream_summaries(streams=[five_after_two.stream], period=WEEK, viewer=executive)

    # Five cases this week are shown to anyone who may read the stream; the two the week
    # before are not, so the executive's trend has no durations to compare with.
    assert (held.hidden, held.lead_time.count) == (False, 5)
    assert held.lead_time.p50 == shown.lead_time.p50
    assert shown.previous.lead_time_p50 is not None
    assert held.previous == Trend(None, None, None)


def test_a_list_of_streams_reads_no_sight_where_every_period_holds_enough_cases(
    five_after_two, executive, django_assert_num_queries
):
    stream = five_after_two.stream
    next_week = Period(WEEK.end, WEEK.end + dt.timedelta(days=7))
    for period in (WEEK, next_week):
        value_stream_summaries(streams=[stream], period=period, viewer=executive)  # kept

    # Two cases the week before: the viewer's sight is read for the trend.
    with django_assert_num_queries(2):
        value_stream_summaries(streams=[stream], period=WEEK, viewer=executive)
    # None this week and five the week before: nothing too few to show, nothing more read.
    with django_assert_num_queries(1):
        (summary,) = value_stream_summaries(streams=[stream], period=next_week, viewer=executive)
    assert summary.previous.lead_time_p50 is not None


def test_refresh_is_idempotent_and_incremental_with_a_lag_window(stream):
    rows = CaseFlow.objects.order_by("reference").values_list(
        "reference", "lead_minutes", "variant"
    )
    with clock.travel(at(MON, 9)) as now:
        a = case_a(stream, now)
        now.to(at(TUE, 8))
        stream.refresh()
        first = list(rows)
        assert value_stream_refresh(stream=stream.stream) == 0  # nothing happened since
        assert list(rows) == first

        # An event committed after the refresh, stamped a moment before it, is still read.
        now.to(at(TUE, 7, 49))
        actions.comment_add(service_request=a, author=stream.people["employee"], body="Thanks")
        now.to(at(TUE, 8, 5))
        assert value_stream_refresh(stream=stream.stream) == 1
        assert list(rows) == first

        # Only the case with new events is read again.
        case_b(stream, now)
        assert value_stream_refresh(stream=stream.stream) == 1
    assert CaseFlow.objects.get(service_request=a).lead_minutes == approx(9 * 60)
    assert stream.metrics().cases == 2


def test_lead_times_from_the_exported_log_agree_with_the_page(week, client):
    client.force_login(week.people["hr_agent"])
    period = {"start": "2026-11-02", "end": "2026-11-08"}
    url = f"/api/v1/streams/{week.stream.slug}/export.csv"
    response = client.get(url, period)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    submitted, resolved = {}, {}
    for row in rows:
        moment = dt.datetime.fromisoformat(row["timestamp"])
        if row["activity"] == "Request submitted":
            submitted.setdefault(row["case_id"], moment)
        elif row["activity"] == "Request resolved":
            resolved[row["case_id"]] = moment
    hours = sorted((resolved[case] - submitted[case]) / dt.timedelta(hours=1) for case in resolved)

    api = client.get(f"/api/v1/streams/{week.stream.slug}/metrics/", period).json()
    assert hours == [approx(4), approx(9)]
    assert api["lead_time"]["p50"] == approx(hours[0])
    assert api["lead_time"]["mean"] == approx(sum(hours) / len(hours))
    page = client.get(f"/streams/{week.stream.slug}/", period).content.decode()
    assert "4 h" in page  # the median on the page
    assert "mean 6.5 h" in page


def test_the_api_gives_the_measures_and_paths_of_the_page(week, client):
    client.force_login(week.people["hr_agent"])
    period = {"start": "2026-11-02", "end": "2026-11-08"}

    metrics = client.get(f"/api/v1/streams/{week.stream.slug}/metrics/", period).json()
    assert metrics["cases"] == 2
    assert metrics["flow_efficiency"] == approx(5 / 13)
    assert metrics["bottleneck"]["name"] == "Desk"
    desk = next(s for s in metrics["stages"] if s["stage"]["name"] == "Desk")
    assert desk["wait"] == approx(2.25)
    assert desk["percent_complete_accurate"] == approx(2 / 3)
    to_desk = next(h for h in metrics["handoffs"] if h["to_stage"]["name"] == "Desk")
    assert (to_desk["target_minutes"], to_desk["breaches"]) == (60, 1)

    variants = client.get(f"/api/v1/streams/{week.stream.slug}/variants/", period).json()
    assert [(len(v["path"]), v["cases"], v["conformance"]) for v in variants] == [
        (2, 1, "conforming"),
        (2, 1, "repeated"),
    ]


def test_the_measures_api_refuses_a_bad_period_and_hides_streams(week, client, employee):
    client.force_login(week.people["hr_agent"])
    url = f"/api/v1/streams/{week.stream.slug}/metrics/"
    response = client.get(url, {"start": "2026-11-09", "end": "2026-11-02"})
    assert response.status_code == 400
    assert "end" in response.json()
    client.force_login(employee)
    assert client.get(url).status_code == 404
