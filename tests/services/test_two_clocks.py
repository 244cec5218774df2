"""Two clocks: the employee's end-to-end target on the request, the department target on
each task; one state function, its SQL twin, both breaches as events, and pages that never
say "left" beside "breached".

The company calendar and every department work Monday to Friday, 09:00-17:00 in London
(GMT in November, so these times are also UTC). Monday 2 November 2026 opens the week. The
item promises 24 business hours end to end (at risk after 18); its department target at
normal priority is 16 business hours.
"""

import datetime as dt
import itertools
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from esm import clock
from esm.models import Event, EventKind
from services import actions, sla
from services.actions.tasks import END_TO_END
from services.models import ClockState, FulfilmentTask, ServiceRequest
from services.models.clocks import clock_state
from tests.esm.factories import TEST_PASSWORD, BusinessCalendarFactory
from tests.services.factories import (
    CatalogItemFactory,
    QueueFactory,
    SlaPolicyFactory,
    SlaTargetFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
HOUR = dt.timedelta(hours=1)
MON, TUE, WED, THU, FRI = (dt.date(2026, 11, day) for day in range(2, 7))
NEXT_MON, NEXT_TUE = dt.date(2026, 11, 9), dt.date(2026, 11, 10)


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def company_calendar(db):
    return BusinessCalendarFactory(name="Company", time_zone="Europe/London", is_default=True)


@pytest.fixture
def it_queue(it_department):
    return QueueFactory(department=it_department, name="IT desk", slug="it-desk", is_default=True)


@pytest.fixture
def facilities_queue(facilities_department):
    return QueueFactory(
        department=facilities_department, name="Facilities", slug="facilities", is_default=True
    )


@pytest.fixture
def item(it_department, it_queue):
    policy = SlaPolicyFactory(name="Standard")
    SlaTargetFactory(policy=policy, priority="normal", response_minutes=60, resolution_minutes=960)
    return CatalogItemFactory(
        service__department=it_department, sla_policy=policy, end_to_end_hours=24
    )


def _submit(item, employee, when):
    with clock.travel(when):
        service_request, _ = actions.service_request_submit(
            item=item,
            raised_by=employee,
            subject="New desk chair",
            answers=[],
            submission_key=uuid.uuid4().hex,
        )
    return service_request


def _read(service_request, now):
    service_request.refresh_from_db()
    return sla.end_to_end_read(service_request, sla.company_schedule(), now=now)


# -- the end-to-end target: start, pause, handoff, stop, reopen ---------------------------


def test_end_to_end_target_starts_at_submission_in_business_hours(item, employee):
    service_request = _submit(item, employee, at(MON, 10))

    # 24 business hours: Monday 7, Tuesday 8, Wednesday 8, Thursday 1.
    assert service_request.end_to_end_due_at == at(THU, 10)
    # At risk after 18 of them (SLA_AT_RISK_SHARE of 0.25 left): Wednesday 12:00.
    assert service_request.end_to_end_at_risk_at == at(WED, 12)
    assert _read(service_request, at(TUE, 9)) == sla.ClockReading(ClockState.ON_TRACK, 17 * HOUR)
    assert _read(service_request, at(WED, 14)).status == ClockState.AT_RISK


def test_approval_time_counts_towards_the_end_to_end_target(item, employee, manager):
    item.approval_steps.create(approver="requester_manager")
    service_request = _submit(item, employee, at(MON, 10))
    assert service_request.state == ServiceRequest.State.AWAITING_APPROVAL

    with clock.travel(at(WED, 10)):
        actions.approval_decide(
            approval=service_request.approvals.get(), user=manager, approve=True
        )

    service_request.refresh_from_db()
    assert service_request.end_to_end_due_at == at(THU, 10)
    # The task's department target starts when the work reaches the queue: 16 h from Wed 10.
    assert service_request.tasks.get().resolution_due_at == at(FRI, 10)


def test_an_item_without_explicit_hours_derives_its_promise_from_expected_days(
    it_department, it_queue, employee
):
    item = CatalogItemFactory(service__department=it_department, expected_days=2)

    service_request = _submit(item, employee, at(MON, 9))

    assert service_request.end_to_end_due_at == at(TUE, 17)


def test_waiting_on_the_employee_pauses_the_end_to_end_target(item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    task = service_request.tasks.get()
    with clock.travel(at(MON, 13)):  # 3 of 24 hours used
        actions.task_ask(task=task, agent=it_agent, question="Which floor?")
    assert _read(service_request, at(WED, 12)) == sla.ClockReading(ClockState.PAUSED, 21 * HOUR)

    with clock.travel(at(THU, 11)):
        actions.comment_add(service_request=service_request, author=employee, body="Third")

    service_request.refresh_from_db()
    assert service_request.state == ServiceRequest.State.IN_PROGRESS
    assert service_request.end_to_end_paused_at is None
    # 21 hours from Thursday 11:00: Thursday 6, Friday 8, Monday 7.
    assert service_request.end_to_end_due_at == at(NEXT_MON, 16)
    assert service_request.end_to_end_paused_total == 22 * HOUR


def test_a_handoff_starts_a_department_target_but_never_resets_the_end_to_end_one(
    item, employee, it_agent, facilities_queue
):
    service_request = _submit(item, employee, at(MON, 10))
    task = service_request.tasks.get()
    with clock.travel(at(WED, 16)):
        received = actions.task_hand_off(
            task=task, agent=it_agent, to_queue=facilities_queue, reason="Chair, not laptop"
        )

    # Facilities' own target: 16 business hours from the moment the work reached it.
    assert received.resolution_due_at == at(FRI, 16)
    service_request.refresh_from_db()
    assert service_request.end_to_end_due_at == at(THU, 10)
    now = at(FRI, 12)
    FulfilmentTask.objects.filter(pk=received.pk).update(responded_at=at(THU, 9))
    received.refresh_from_db()
    assert sla.clock_read(received, sla.schedule_for(received.department), now=now) == (
        sla.ClockReading(ClockState.AT_RISK, 4 * HOUR)
    )
    # The employee's wait is not forgotten: 10 business hours past the promise.
    assert _read(service_request, now) == sla.ClockReading(ClockState.BREACHED, -10 * HOUR)
    annotated = FulfilmentTask.objects.with_sla_status(now=now).get(pk=received.pk)
    assert (annotated.sla_state, annotated.end_to_end_state) == ("at_risk", "breached")
    task.refresh_from_db()
    # IT's part stopped at the handoff, six hours past its own target (due Wed 10:00).
    assert sla.clock_read(task, sla.schedule_for(task.department), now=now) == (
        sla.ClockReading(ClockState.MISSED, -6 * HOUR)
    )


@pytest.mark.parametrize(
    ("resolved", "status", "left"),
    [
        pytest.param(at(TUE, 12), ClockState.MET, 14 * HOUR, id="met"),
        pytest.param(at(THU, 10), ClockState.MISSED, dt.timedelta(), id="at-the-due-time"),
        pytest.param(at(FRI, 10), ClockState.MISSED, -8 * HOUR, id="missed-by-a-day"),
    ],
)
def test_resolution_stops_the_clock_as_met_or_missed(
    item, employee, it_agent, resolved, status, left
):
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(resolved):
        actions.task_resolve(
            task=service_request.tasks.get(), agent=it_agent, resolution="Delivered"
        )

    reading = _read(service_request, at(NEXT_MON, 12))
    assert service_request.state == ServiceRequest.State.RESOLVED
    assert reading == sla.ClockReading(status, left)


def test_resolving_while_waiting_on_the_employee_gives_the_wait_back(item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(at(MON, 13)):
        actions.task_ask(task=service_request.tasks.get(), agent=it_agent, question="Colour?")
    with clock.travel(at(FRI, 12)):
        actions.service_request_resolve(
            service_request=service_request, user=it_agent, resolution="Sent a black one"
        )

    # 21 hours were left at the question, and they carry over to the resolution.
    assert _read(service_request, at(NEXT_MON, 9)) == sla.ClockReading(ClockState.MET, 21 * HOUR)


def test_a_reopen_continues_the_same_clock(item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(at(TUE, 12)):  # 14 hours left
        actions.task_resolve(task=service_request.tasks.get(), agent=it_agent, resolution="Done")

    with clock.travel(at(THU, 9)):
        actions.service_request_reopen(
            service_request=service_request, user=employee, reason="It wobbles"
        )

    service_request.refresh_from_db()
    # The time it stood resolved does not count; the 14 hours left continue from Thursday.
    assert service_request.end_to_end_due_at == at(FRI, 15)
    assert _read(service_request, at(THU, 9)).status == ClockState.ON_TRACK
    assert service_request.end_to_end_paused_total == 13 * HOUR


def test_a_reopen_after_a_missed_target_stays_missed(item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(at(FRI, 10)):
        actions.task_resolve(task=service_request.tasks.get(), agent=it_agent, resolution="Done")
    with clock.travel(at(NEXT_MON, 9)):
        actions.service_request_reopen(
            service_request=service_request, user=employee, reason="Wrong chair"
        )

    service_request.refresh_from_db()
    assert service_request.end_to_end_due_at == at(THU, 10)
    assert _read(service_request, at(NEXT_MON, 10)).status == ClockState.BREACHED


def test_a_cancelled_request_has_no_promise_to_keep(item, employee):
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(at(FRI, 10)):
        actions.service_request_cancel(service_request=service_request, user=employee)

    assert _read(service_request, at(FRI, 11)) == sla.NO_TARGET


def test_my_requests_says_a_cancelled_request_has_no_promise(client, item, employee):
    """On a phone each cell is shown under its column's name: "Our promise" with nothing
    after it read as a missing answer."""
    service_request = _submit(item, employee, at(MON, 10))
    with clock.travel(at(FRI, 10)):
        actions.service_request_cancel(service_request=service_request, user=employee)
    client.login(username=employee.username, password=TEST_PASSWORD)

    html = " ".join(client.get(reverse("my_requests")).content.decode().split())

    assert (
        '<td class="nowrap" data-label="Our promise"><span class="muted">None</span></td>' in html
    )


def test_end_to_end_hours_are_validated(item):
    item.end_to_end_hours = 8  # shorter than the department's own 16 hours
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert "end_to_end_hours" in refused.value.message_dict

    item.end_to_end_hours = 0
    with pytest.raises(ValidationError):
        item.full_clean()

    item.end_to_end_hours = 40
    item.full_clean()


# -- breaches of both clocks are events, written once -------------------------------------


def test_the_sweep_flags_both_clocks_once_each_with_an_event(item, employee, facilities_department):
    service_request = _submit(item, employee, at(MON, 10))
    task = service_request.tasks.get()
    FulfilmentTask.objects.filter(pk=task.pk).update(responded_at=at(MON, 10, 5))
    since = Event.objects.order_by("-id").values_list("id", flat=True).first()

    assert actions.sla_breach_sweep(now=at(WED, 9)) == []  # neither due yet
    assert actions.sla_breach_sweep(now=at(WED, 10)) == [task.pk]  # department target
    assert actions.sla_breach_sweep(now=at(THU, 10)) == []  # the task is flagged already
    assert actions.sla_breach_sweep(now=at(THU, 11)) == []

    breaches = Event.objects.filter(id__gt=since, kind=EventKind.SLA_BREACHED).order_by("id")
    assert [
        (e.subject_type, e.subject_id, e.to_value, e.department_id, e.actor, e.reference)
        for e in breaches
    ] == [
        ("services.fulfilmenttask", task.pk, "resolution", task.department_id, None,
         service_request.reference),
        ("services.servicerequest", service_request.pk, END_TO_END,
         service_request.department_id, None, service_request.reference),
    ]  # fmt: skip
    assert breaches[0].payload["due_at"] == at(WED, 10).isoformat()
    assert breaches[1].payload["due_at"] == at(THU, 10).isoformat()
    service_request.refresh_from_db()
    assert (service_request.end_to_end_breached, service_request.end_to_end_breached_at) == (
        True,
        at(THU, 10),
    )


def test_the_sweep_leaves_paused_and_finished_requests_alone(item, employee, it_agent):
    paused = _submit(item, employee, at(MON, 10))
    with clock.travel(at(MON, 11)):
        actions.task_ask(task=paused.tasks.get(), agent=it_agent, question="Which desk?")
    resolved = _submit(item, employee, at(MON, 10))
    with clock.travel(at(MON, 12)):
        actions.task_resolve(task=resolved.tasks.get(), agent=it_agent, resolution="Done")

    actions.sla_breach_sweep(now=at(NEXT_MON, 12))

    assert not ServiceRequest.objects.filter(end_to_end_breached=True).exists()
    assert not Event.objects.filter(kind=EventKind.SLA_BREACHED, to_value=END_TO_END).exists()


# -- one state function: the SQL twin agrees with Python in every case -------------------

MOMENTS = [None, at(TUE, 12), at(WED, 12), at(THU, 12)]
NOW = at(WED, 12)


def test_sql_and_python_agree_on_the_end_to_end_state(item, employee):
    service_request = _submit(item, employee, at(MON, 10))
    task = service_request.tasks.get()
    disagreements = []
    cases = itertools.product(
        MOMENTS,  # due
        [None, at(TUE, 12), at(THU, 12)],  # at risk
        MOMENTS,  # paused since
        [False, True],  # flagged
        ["in_progress", "waiting_on_employee", "resolved", "closed", "cancelled"],
        [at(TUE, 12), at(THU, 12)],  # resolved at (read only when resolved or closed)
    )
    for due, at_risk, paused, breached, state, resolved_at in cases:
        ServiceRequest.objects.filter(pk=service_request.pk).update(
            end_to_end_due_at=due,
            end_to_end_at_risk_at=at_risk,
            end_to_end_paused_at=paused,
            end_to_end_breached=breached,
            state=state,
            resolved_at=resolved_at,
        )
        service_request.refresh_from_db()
        in_sql = FulfilmentTask.objects.with_sla_status(now=NOW).get(pk=task.pk).end_to_end_state
        in_python = sla.end_to_end_read(service_request, None, now=NOW).status
        if in_sql != in_python:
            disagreements.append((due, at_risk, paused, breached, state, in_sql, in_python))

    assert disagreements == []


def test_sql_and_python_agree_on_the_department_target_state(item, employee):
    task = _submit(item, employee, at(MON, 10)).tasks.get()
    disagreements = []
    cases = itertools.product(
        MOMENTS,  # resolution due
        [None, at(TUE, 12), at(THU, 12)],  # response due
        [None, at(MON, 11)],  # responded
        [None, at(TUE, 12)],  # paused since
        [False, True],  # flagged
        ["queued", "waiting_on_employee", "done", "handed_off", "cancelled"],
        [at(TUE, 12), at(THU, 12)],  # done at
    )
    for due, response_due, responded, paused, breached, state, done_at in cases:
        FulfilmentTask.objects.filter(pk=task.pk).update(
            resolution_due_at=due,
            at_risk_at=due and due - 4 * HOUR,
            response_due_at=response_due,
            responded_at=responded,
            sla_paused_at=paused,
            sla_breached=breached,
            state=state,
            done_at=done_at,
        )
        task.refresh_from_db()
        in_sql = FulfilmentTask.objects.with_sla_status(now=NOW).get(pk=task.pk).sla_state
        in_python = sla.clock_read(task, None, now=NOW).status
        if in_sql != in_python:
            disagreements.append((due, response_due, responded, paused, breached, state))

    assert disagreements == []


@pytest.mark.parametrize(
    ("moments", "state"),
    [
        pytest.param({}, ClockState.NONE, id="no-due-time"),
        pytest.param({"due_at": at(THU, 9)}, ClockState.ON_TRACK, id="on-track"),
        pytest.param({"due_at": at(THU, 9), "at_risk_at": NOW}, ClockState.AT_RISK, id="at-risk"),
        pytest.param({"due_at": NOW}, ClockState.BREACHED, id="due-now"),
        pytest.param({"due_at": at(THU, 9), "breached": True}, ClockState.BREACHED, id="flag"),
        pytest.param({"due_at": at(THU, 9), "paused_at": at(TUE, 9)}, ClockState.PAUSED,
                     id="paused"),
        pytest.param({"due_at": at(TUE, 9), "paused_at": at(TUE, 10)}, ClockState.BREACHED,
                     id="paused-after-the-due-time"),
        pytest.param({"due_at": at(THU, 9), "stopped_at": at(TUE, 9)}, ClockState.MET, id="met"),
        pytest.param({"due_at": at(TUE, 9), "stopped_at": at(TUE, 10)}, ClockState.MISSED,
                     id="missed"),
        pytest.param({"due_at": at(THU, 9), "stopped_at": at(TUE, 9), "breached": True},
                     ClockState.MISSED, id="flagged-then-finished"),
    ],
)  # fmt: skip
def test_clock_state(moments, state):
    arguments = {"due_at": None, "at_risk_at": None, "paused_at": None, "breached": False}
    arguments |= {"stopped_at": None, **moments}

    assert clock_state(now=NOW, **arguments) == state


# -- the queue sorts and filters by either clock ------------------------------------------


def test_the_queue_sorts_and_filters_by_either_clock(
    client, item, employee, it_agent, it_queue, facilities_queue, facilities_agent
):
    # Waiting long end to end (handed over from Facilities), but new in IT.
    long_wait = _submit(item, employee, at(MON, 9))
    with clock.travel(at(TUE, 9)):
        actions.task_hand_off(
            task=long_wait.tasks.get(), agent=it_agent, to_queue=facilities_queue, reason="x"
        )
    with clock.travel(at(WED, 15)):
        actions.task_hand_off(
            task=long_wait.tasks.get(queue=facilities_queue),
            agent=facilities_agent,
            to_queue=it_queue,
            reason="Back to IT",
        )
    fresh = _submit(item, employee, at(WED, 10))
    FulfilmentTask.objects.filter(queue=it_queue).update(responded_at=at(WED, 16))
    client.login(username=it_agent.username, password=TEST_PASSWORD)
    url = reverse("queue_detail", args=[it_queue.slug])

    def references(**query):
        with clock.travel(at(THU, 12)):
            response = client.get(url, query)
        assert response.status_code == 200
        return [row["task"].service_request.reference for row in response.context["rows"]]

    # By the department target, IT's older task is the more urgent; end to end, the
    # employee who has waited since Monday is.
    assert references() == [fresh.reference, long_wait.reference]
    assert references(order="end_to_end") == [long_wait.reference, fresh.reference]
    assert references(end_to_end="breached") == [long_wait.reference]
    assert references(end_to_end="on_track") == [fresh.reference]
    assert references(sla="on_track", end_to_end="breached") == [long_wait.reference]

    with clock.travel(at(THU, 12)):
        api = client.get(reverse("api:queue-tasks", args=[it_queue.slug]), {"order": "end_to_end"})
    rows = api.json()["results"]
    assert [row["reference"] for row in rows] == [long_wait.reference, fresh.reference]
    assert rows[0]["end_to_end"]["status"] == "breached"
    assert rows[0]["end_to_end"]["time_left_seconds"] == -3 * 3600


# -- pages never say "left" beside "breached" ---------------------------------------------

BADGE = re.compile(r'<span class="(?:promise )?sla sla-(\w+)"[^>]*>(.*?)</span>', re.S)


def _badges(html):
    return [(state, " ".join(re.sub(r"<[^>]+>", " ", text).split())) for state, text in
            BADGE.findall(html)]  # fmt: skip


def _assert_words_follow_states(html):
    badges = _badges(html)
    assert badges
    for state, text in badges:
        if state in ("breached", "missed", "met"):
            assert "left" not in text, (state, text)
        if state in ("on_track", "at_risk"):
            assert "overdue" not in text, (state, text)
            assert "Breached" not in text, (state, text)
    return badges


def test_the_task_page_shows_both_clocks_without_contradiction(client, item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    task = service_request.tasks.get()
    # Nobody answered within the hour: the department target is breached (response), while
    # its resolution is not due before Wednesday.
    actions.sla_breach_sweep(now=at(MON, 11, 30))
    client.login(username=it_agent.username, password=TEST_PASSWORD)

    with clock.travel(at(TUE, 9)):
        html = client.get(reverse("task_detail", args=[task.pk])).content.decode()

    badges = _assert_words_follow_states(html)
    assert ("breached", "Department target Breached") in badges
    assert ("on_track", "End to end 2 d 1 h left") in badges
    assert "Target breached" in html  # the timeline, beside a badge that says so too


def test_the_employees_page_states_the_promise_in_plain_words(client, item, employee, it_agent):
    service_request = _submit(item, employee, at(MON, 10))
    client.login(username=employee.username, password=TEST_PASSWORD)
    url = reverse("request_detail", args=[service_request.reference])

    with clock.travel(at(TUE, 9)):
        html = client.get(url).content.decode()
    assert "We aim to finish by Thu 5 Nov, 10:00 · on track" in " ".join(html.split())

    with clock.travel(at(TUE, 10)):
        actions.task_ask(task=service_request.tasks.get(), agent=it_agent, question="Colour?")
        html = client.get(url).content.decode()
    assert "Paused while we wait for your answer" in html
    _assert_words_follow_states(html)

    with clock.travel(at(FRI, 10)):
        actions.comment_add(service_request=service_request, author=employee, body="Black")
    # 16 hours were left at the question (Tue 10:00); from Friday 10:00, due Tuesday 10:00.
    with clock.travel(at(NEXT_TUE, 10)):
        actions.sla_breach_sweep()
    assert ServiceRequest.objects.get(pk=service_request.pk).end_to_end_breached
    with clock.travel(at(NEXT_TUE, 12)):
        html = client.get(url).content.decode()
        assert "· late by 2 h" in " ".join(html.split())
        _assert_words_follow_states(html)
        actions.task_resolve(task=service_request.tasks.get(), agent=it_agent, resolution="Done")
        html = client.get(url).content.decode()
        listing = client.get(reverse("my_requests")).content.decode()
    assert "· missed by 2 h" in " ".join(html.split())
    _assert_words_follow_states(html)
    assert "missed" in " ".join(listing.split())
    _assert_words_follow_states(listing)
