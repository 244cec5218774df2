"""The event-log export of a value stream (CSV and XES), for process-mining tools.

One case built through the real actions at chosen moments (all times UTC), for the shape
of the export; further cases as plain event rows, for filtering, confidentiality, query
counts and memory.

REQ 1, onboarding: hr-record (HR, people) in stage "HR record", then it-account (IT,
automated) in stage "Accounts" and desk (Facilities, people) in no stage, in parallel.
  Mon 09:00 submitted; the HR task is queued    10:00 HR claims    11:00 HR resolves
  11:30 it-account runs and succeeds    12:00 Facilities claims the desk
  13:00 Facilities consults IT    14:00 IT answers    15:00 Facilities resolves: resolved
"""

import csv
import datetime as dt
import io
import os
import tracemalloc
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from esm import clock
from esm.models import CASELESS_KINDS, Event, EventKind
from services import actions
from services.models import Consult, FulfilmentTask, ServiceRequest, StepRun, reference_for
from tests.ci import running_in_ci
from tests.esm.factories import BusinessCalendarFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.automation_doubles import submit as _submit
from tests.services.factories import CatalogItemFactory, QueueFactory, ServiceRequestFactory
from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams import exports
from valuestreams.models import StageStep

pytestmark = [pytest.mark.django_db]

MON = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
XES = "{http://www.xes-standard.org/}"
REQUEST = "services.servicerequest"
TASK = "services.fulfilmenttask"


def at(day, hour, minute=0):
    return day + dt.timedelta(hours=hour, minutes=minute)


def _client(user):
    client = APIClient()
    client.force_login(user)
    return client


def _download(user, stream, fmt, **period):
    response = _client(user).get(f"/api/v1/streams/{stream.slug}/export.{fmt}", period)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content).decode()


def _csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def _parse(text):
    return ET.fromstring(text)  # noqa: S314 (the portal's own output, not untrusted input)


def _traces(text):
    log = _parse(text)
    return {
        _attrs(trace)["concept:name"]: [_attrs(event) for event in trace.iter(f"{XES}event")]
        for trace in log.iter(f"{XES}trace")
    }


def _attrs(element):
    return {child.get("key"): child.get("value") for child in element if child.get("key")}


@pytest.fixture
def onboarding(
    test_actions, employee, hr_agent, it_agent, facilities_agent, hr_department, it_department
):
    BusinessCalendarFactory(name="Company", is_default=True)
    facilities = facilities_agent.department_roles.get().department
    it_queue = QueueFactory(department=it_department, slug="it-requests", is_default=True)
    QueueFactory(department=facilities, slug="fac-requests", is_default=True)
    QueueFactory(department=hr_department, slug="hr-requests", is_default=True)
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    hr_record = _step(item, "hr-record", kind="human")
    it_account = _step(item, "it-account", department=it_department, after=[hr_record])
    _step(item, "desk", kind="human", department=facilities, after=[hr_record])
    stream = ValueStreamFactory(name="Onboarding <new hires>", slug="onboarding", owner=hr_agent)
    stream.items.add(item)
    hr_stage = StageFactory(stream=stream, name="HR record", department=hr_department)
    it_stage = StageFactory(
        stream=stream, name="Accounts", department=it_department, parallel_group=2
    )
    StageStep.objects.create(stage=hr_stage, plan_step=hr_record)
    StageStep.objects.create(stage=it_stage, plan_step=it_account)

    def task(**filters):
        return FulfilmentTask.objects.get(**filters)

    with clock.travel(at(MON, 9)) as now:
        service_request = _submit(item, employee)
        now.to(at(MON, 10))
        actions.task_claim(task=task(step_key="hr-record"), agent=hr_agent)
        now.to(at(MON, 11))
        actions.task_resolve(task=task(step_key="hr-record"), agent=hr_agent, resolution="Done")
        now.to(at(MON, 11, 30))
        actions.step_run_execute(StepRun.objects.get(step_key="it-account").pk)
        now.to(at(MON, 12))
        desk = task(step_key="desk")
        actions.task_claim(task=desk, agent=facilities_agent)
        now.to(at(MON, 13))
        actions.task_consult(
            task=task(pk=desk.pk), agent=facilities_agent, to_queue=it_queue, question="Dock?"
        )
        now.to(at(MON, 14))
        actions.consult_answer(consult=Consult.objects.get(), agent=it_agent, answer="USB-C")
        now.to(at(MON, 15))
        actions.task_resolve(task=task(pk=desk.pk), agent=facilities_agent, resolution="Desk 3")
    service_request.refresh_from_db()
    assert service_request.state == "resolved"
    return stream, service_request


# What the hand-built case exports, in order: time, activity, lifecycle, raw kind,
# department, resource, stage. Events of one moment come in the order they were written.
ONBOARDING = [
    ("09:00", "Request submitted", "complete", "submitted", "HR", "employee", ""),
    ("09:00", "Plan run", "start", "run_started", "HR", "", ""),
    ("09:00", "HR record", "schedule", "queued", "HR", "", "HR record"),
    ("09:00", "HR record", "schedule", "step_with_people", "HR", "", "HR record"),
    ("09:00", "Request queued", "complete", "queued", "HR", "", ""),
    ("10:00", "HR record", "start", "claimed", "HR", "hr_agent", "HR record"),
    ("10:00", "Work started", "complete", "work_started", "HR", "hr_agent", ""),
    ("11:00", "HR record", "complete", "resolved", "HR", "hr_agent", "HR record"),
    ("11:00", "HR record", "complete", "step_succeeded", "HR", "", "HR record"),
    ("11:00", "Accounts", "schedule", "step_pending", "IT", "", "Accounts"),
    # desk is in no stage: the plan step's name.
    ("11:00", "Desk", "schedule", "queued", "Facilities", "", ""),
    ("11:00", "Desk", "schedule", "step_with_people", "Facilities", "", ""),
    ("11:30", "Accounts", "start", "step_started", "IT", "", "Accounts"),
    ("11:30", "Accounts", "complete", "step_succeeded", "IT", "", "Accounts"),
    ("12:00", "Desk", "start", "claimed", "Facilities", "facilities_agent", ""),
    # The consult's question is a task outside the plan: named after its department.
    ("13:00", "IT", "schedule", "queued", "IT", "facilities_agent", ""),
    ("13:00", "Consult with IT", "start", "consult_asked", "Facilities", "facilities_agent", ""),
    ("13:00", "Desk", "suspend", "waiting_on_department", "Facilities", "facilities_agent", ""),
    ("14:00", "Consult with IT", "complete", "consult_answered", "IT", "it_agent", ""),
    ("14:00", "IT", "complete", "resolved", "IT", "it_agent", ""),
    ("14:00", "Desk", "resume", "department_wait_ended", "Facilities", "it_agent", ""),
    ("15:00", "Desk", "complete", "resolved", "Facilities", "facilities_agent", ""),
    ("15:00", "Desk", "complete", "step_succeeded", "Facilities", "", ""),
    ("15:00", "Plan run", "complete", "run_finished", "HR", "", ""),
    ("15:00", "Request resolved", "complete", "resolved", "HR", "", ""),
]


def test_a_case_exports_as_csv_rows_by_time(onboarding, hr_agent):
    stream, service_request = onboarding

    response, text = _download(hr_agent, stream, "csv")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="onboarding-events.csv"'
    assert text.splitlines()[0] == (
        "case_id,activity,timestamp,department,resource,lifecycle,event,stage"
    )
    rows = _csv_rows(text)
    assert {row["case_id"] for row in rows} == {service_request.reference}
    assert rows[0]["timestamp"] == "2026-11-02T09:00:00.000+00:00"
    assert [
        (
            row["timestamp"][11:16],
            row["activity"],
            row["lifecycle"],
            row["event"],
            row["department"],
            row["resource"],
            row["stage"],
        )
        for row in rows
    ] == ONBOARDING


def test_a_case_exports_as_one_xes_trace(onboarding, hr_agent):
    stream, service_request = onboarding

    response, text = _download(hr_agent, stream, "xes")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == 'attachment; filename="onboarding-events.xes"'
    log = _parse(text)
    assert log.tag == f"{XES}log"
    assert log.get("xes.version") == "1849-2016"
    assert {e.get("prefix") for e in log.iter(f"{XES}extension")} == {
        "concept",
        "time",
        "org",
        "lifecycle",
    }
    assert _attrs(log)["concept:name"] == "Onboarding <new hires>"
    traces = _traces(text)
    assert list(traces) == [service_request.reference]
    events = traces[service_request.reference]
    assert [
        (
            e["time:timestamp"][11:16],
            e["concept:name"],
            e["lifecycle:transition"],
            e["event"],
            e.get("org:group", ""),
            e.get("org:resource", ""),
            e.get("stage", ""),
        )
        for e in events
    ] == ONBOARDING
    # The system's events carry no resource at all, rather than an empty one.
    assert "org:resource" not in events[1]


# Plain event rows -----------------------------------------------------------------------


def _case(item, *, resolved_at=None, submitted_at=MON, **extra):
    """A request with its events written directly: submitted, its task queued and claimed,
    and resolved at `resolved_at` (left open without it)."""
    service_request = ServiceRequestFactory(catalog_item=item, **extra)
    Event.objects.bulk_create(
        _event_rows(service_request, submitted_at=submitted_at, resolved_at=resolved_at)
    )
    return service_request


def _event_rows(service_request, *, submitted_at, resolved_at, task_id=1):
    common = {
        "reference": service_request.reference,
        "department_id": service_request.department_id,
        "is_confidential": service_request.is_confidential,
    }
    rows = [
        Event(
            occurred_at=submitted_at,
            subject_type=REQUEST,
            subject_id=service_request.pk,
            kind=EventKind.SUBMITTED,
            actor_id=service_request.requester_id,
            **common,
        ),
        Event(
            occurred_at=submitted_at + dt.timedelta(minutes=5),
            subject_type=TASK,
            subject_id=task_id,
            kind=EventKind.QUEUED,
            **common,
        ),
    ]
    if resolved_at:
        rows.append(
            Event(
                occurred_at=resolved_at,
                subject_type=REQUEST,
                subject_id=service_request.pk,
                kind=EventKind.RESOLVED,
                **common,
            )
        )
    return rows


@pytest.fixture
def stream(it_department):
    stream = ValueStreamFactory(slug="laptops")
    stream.items.add(CatalogItemFactory(department=it_department))
    return stream


def _references(user, stream, **period):
    _, text = _download(user, stream, "csv", **period)
    return sorted({row["case_id"] for row in _csv_rows(text)})


def test_only_the_streams_cases_are_exported(stream, it_agent, it_department):
    mine = _case(stream.items.get())
    _case(CatalogItemFactory(department=it_department))

    assert _references(it_agent, stream) == [mine.reference]


def test_a_period_keeps_the_cases_last_resolved_in_it(stream, it_agent):
    item = stream.items.get()
    inside = _case(item, resolved_at=at(MON, 10))
    _case(item, resolved_at=at(MON + dt.timedelta(days=7), 10))  # the next week
    _case(item)  # still open
    # Resolved in the period, reopened and resolved again after it: its last resolution counts.
    reopened = _case(item, resolved_at=at(MON, 11))
    Event.objects.create(
        occurred_at=at(MON + dt.timedelta(days=8), 9),
        subject_type=REQUEST,
        subject_id=reopened.pk,
        reference=reopened.reference,
        kind=EventKind.RESOLVED,
    )
    # Resolved before the period, reopened and resolved in it.
    late = _case(item, submitted_at=MON - dt.timedelta(days=3), resolved_at=at(MON, 12))

    week = {"start": "2026-11-02", "end": "2026-11-08"}
    response, text = _download(it_agent, stream, "csv", **week)

    assert sorted({row["case_id"] for row in _csv_rows(text)}) == sorted(
        [inside.reference, late.reference]
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="laptops-events-20261102-20261108.csv"'
    )
    # Every event of a case in the period comes along, also those before it.
    assert [row["event"] for row in _csv_rows(text) if row["case_id"] == late.reference] == [
        "submitted",
        "queued",
        "resolved",
    ]


def test_confidential_case_hidden_from_it_agents_and_shown_to_hr_staff(
    hr_department, hr_agent, it_agent
):
    stream = ValueStreamFactory(slug="grievances")
    item = CatalogItemFactory(department=hr_department, is_confidential=True)
    stream.items.add(item)
    confidential = _case(item)

    assert _references(it_agent, stream) == []
    assert _references(hr_agent, stream) == [confidential.reference]
    _, xes = _download(it_agent, stream, "xes")
    assert _traces(xes) == {}


def test_the_requester_sees_their_confidential_case_only(hr_department, employee, manager):
    stream = ValueStreamFactory(slug="grievances", owner=employee)
    item = CatalogItemFactory(department=hr_department, is_confidential=True)
    stream.items.add(item)
    own = _case(item, requester=employee)
    _case(item, requester=manager)

    assert _references(employee, stream) == [own.reference]


def test_xes_has_one_trace_per_case_in_time_order(stream, it_agent):
    item = stream.items.get()
    first = _case(item, submitted_at=at(MON, 9), resolved_at=at(MON, 17))
    second = _case(item, submitted_at=at(MON, 8), resolved_at=at(MON, 12))

    _, text = _download(it_agent, stream, "xes")

    traces = _traces(text)
    assert sorted(traces) == sorted([first.reference, second.reference])
    for events in traces.values():
        stamps = [e["time:timestamp"] for e in events]
        assert stamps == sorted(stamps)
        assert [e["concept:name"] for e in events] == [
            "Request submitted",
            "IT",
            "Request resolved",
        ]


def test_text_is_escaped_in_csv_and_xes(it_department, it_agent):
    stream = ValueStreamFactory(name='Laptops & "docks" <fast>', slug="laptops")
    item = CatalogItemFactory(department=it_department)
    stream.items.add(item)
    it_department.name = 'IT, "desk" & <ops>\nLondon'
    it_department.save()
    _case(item)

    _, text = _download(it_agent, stream, "csv")
    assert {row["department"] for row in _csv_rows(text)} == {it_department.name}
    _, xes = _download(it_agent, stream, "xes")
    events = next(iter(_traces(xes).values()))
    assert {e["org:group"] for e in events} == {it_department.name}


def test_reference_in_sql_matches_the_python_spelling(it_department):
    small = ServiceRequestFactory(pk=42)
    large = ServiceRequestFactory(pk=1_234_567)

    spelled = dict(
        ServiceRequest.objects.filter(pk__in=[small.pk, large.pk])
        .annotate(ref=exports.case_reference())
        .values_list("pk", "ref")
    )

    assert spelled == {42: reference_for(42), 1_234_567: reference_for(1_234_567)}


def test_steps_outside_any_stage_and_retired_kinds_have_readable_activities(stream):
    item = stream.items.get()
    service_request = ServiceRequestFactory(catalog_item=item)
    common = {"reference": service_request.reference, "department_id": item.department_id}
    Event.objects.bulk_create(
        [
            Event(
                occurred_at=at(MON, 9),
                subject_type="services.steprun",
                subject_id=1,
                kind=EventKind.STEP_PENDING,
                payload={"run": 999, "step": "gone", "name": "A step since removed"},
                **common,
            ),
            Event(
                occurred_at=at(MON, 10),
                subject_type=REQUEST,
                subject_id=service_request.pk,
                kind="started",
                **common,
            ),
            Event(
                occurred_at=at(MON, 11),
                subject_type=TASK,
                subject_id=1,
                kind=EventKind.PRIORITY_CHANGED,
                **common,
            ),
        ]
    )

    rows = list(exports.value_stream_event_rows(stream=stream, viewer=stream.owner))
    assert rows == []  # the owner is no staff of IT: the case is not theirs to see
    viewer = service_request.requester
    rows = list(exports.value_stream_event_rows(stream=stream, viewer=viewer))

    assert [(r.activity, r.lifecycle, r.event) for r in rows] == [
        ("A step since removed", "schedule", "step_pending"),
        ("Request queued", "complete", "started"),
        ("Priority changed", "complete", "priority_changed"),
    ]


# Cost ----------------------------------------------------------------------------------


def _export_queries(user, stream, fmt):
    with CaptureQueriesContext(connection) as queries:
        _download(user, stream, fmt)
    return len(queries.captured_queries)


@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_the_export_costs_the_same_queries_whatever_its_size(stream, it_agent, fmt):
    item = stream.items.get()
    _case(item, resolved_at=at(MON, 10))
    one = _export_queries(it_agent, stream, fmt)
    for _ in range(30):
        _case(item, resolved_at=at(MON, 10))

    assert _export_queries(it_agent, stream, fmt) == one


def test_cases_are_read_in_batches_with_the_same_rows_in_the_same_order(
    stream, it_agent, monkeypatch
):
    item = stream.items.get()
    for _ in range(5):
        _case(item, resolved_at=at(MON, 10))
    _, whole = _download(it_agent, stream, "csv")
    one_read = _export_queries(it_agent, stream, "csv")

    monkeypatch.setattr(exports, "CASES_PER_READ", 2)
    _, batched = _download(it_agent, stream, "csv")

    assert batched == whole
    assert len({row["case_id"] for row in _csv_rows(batched)}) == 5
    # Three reads of the log (2, 2 and 1 cases) where one did.
    assert _export_queries(it_agent, stream, "csv") == one_read + 2


def _large_stream_size():
    """100,000 cases (300,000 events) in CI; 10,000 elsewhere unless EXPORT_TEST_CASES says
    otherwise. On SQLite, bulk-creating the full size takes about a minute on a laptop,
    longer than this file's other tests together, so the normal suite runs the smaller one.
    The memory bound does not depend on the size, while what the test would catch (rows
    held in memory: some 500 bytes per row as Python objects, 15 MB at 10,000 cases,
    150 MB at 100,000) grows with it, so the smaller size still fails a non-streaming
    export clearly; CI proves the full size."""
    if running_in_ci():
        return 100_000
    return int(os.environ.get("EXPORT_TEST_CASES", "10000"))


def test_a_large_export_streams_in_flat_memory(it_department, it_agent, employee):
    cases = _large_stream_size()
    stream = ValueStreamFactory(slug="big")
    item = CatalogItemFactory(department=it_department)
    stream.items.add(item)
    requests = ServiceRequest.objects.bulk_create(
        [
            ServiceRequest(
                catalog_item=item,
                requester=employee,
                raised_by=employee,
                subject="A laptop",
                state=ServiceRequest.State.RESOLVED,
                priority=item.default_priority,
                department=it_department,
                submission_key=f"big-{n}",
            )
            for n in range(cases)
        ],
        batch_size=5000,
    )
    events = []
    for service_request in requests:
        events += _event_rows(service_request, submitted_at=at(MON, 9), resolved_at=at(MON, 10))
        if len(events) >= 30_000:
            Event.objects.bulk_create(events, batch_size=5000)
            events = []
    Event.objects.bulk_create(events, batch_size=5000)
    del requests, events

    for fmt in ("csv", "xes"):
        response = _client(it_agent).get(f"/api/v1/streams/{stream.slug}/export.{fmt}")
        assert isinstance(response, StreamingHttpResponse)
        size = traces = 0
        tracemalloc.start()
        try:
            for piece in response.streaming_content:
                size += len(piece)
                traces += piece.count(b"<trace>")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert size > cases * 3 * 60, fmt  # every row was written
        if fmt == "xes":
            assert traces == cases
        assert peak < 4 * 1024 * 1024, f"{fmt}: peak {peak / 1e6:.1f} MB"


XES_STANDARD_TRANSITIONS = {
    "schedule",
    "assign",
    "withdraw",
    "reassign",
    "start",
    "suspend",
    "resume",
    "pi_abort",
    "ate_abort",
    "complete",
    "autoskip",
    "manualskip",
    "unknown",
}


def test_every_kind_has_an_activity_and_a_standard_transition():
    lifecycles = {
        **{kind: lifecycle for kind, (_, lifecycle) in exports.REQUEST_ACTIVITIES.items()},
        **exports.WORK_LIFECYCLE,
        **exports.CONSULT_LIFECYCLE,
    }
    # Events about people and about the portal's configuration belong to no case: no
    # case's log in the export ever holds them.
    covered = (
        set(lifecycles)
        | set(exports.TASK_SIDE_FACTS)
        | {EventKind.RUN_STARTED, EventKind.RUN_FINISHED}
        | CASELESS_KINDS
    )

    assert set(EventKind.values) <= covered
    assert set(lifecycles.values()) <= XES_STANDARD_TRANSITIONS
