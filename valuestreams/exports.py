"""A value stream's event log, exported for process-mining tools (Disco, ProM, Celonis, PM4Py).

One row per event of the stream's cases (the service requests of its catalog items), as CSV
or as XES (IEEE 1849): the case (`REQ-000123`), the activity, the moment (ISO 8601, UTC), the
department, the person (empty for the system) and the XES lifecycle transition, plus the raw
`event` kind and the `stage` the event belongs to (empty outside the stream's stages).

Which cases: those the viewer may see (`ServiceRequest.objects.visible_to`: a confidential
case only for its requester and its department's staff) and, when a period is given, that
were resolved in it: the request's last `resolved` event falls in [start, end), the rule the
lead time uses. Without a period, every case of the stream, open ones included.

Activity, by subject (`docs/events.md` names every kind):

- Task and step-run events of a plan step that belongs to one of the stream's stages: the
  stage's name. Steps outside every stage: the plan step's name (the current plan's, else
  the run's snapshot, else its key). A task outside any plan (a plain request's task, a
  consult's question in the consulted queue) is named after its department, as the stage
  measures name it. A human step shows both its step-run events and its task's under the
  same activity; the `event` column tells them apart.
- Side facts of a task get their own activity: `priority_changed` "Priority changed",
  `sla_breached` "Department target missed".
- Request events are milestones in plain words ("Request submitted", "Request resolved",
  "Request reopened", ...); the approval is one activity, "Approval", from
  `approval_requested` (start) to `approved` (complete), `approval_skipped` (autoskip).
- Consult events: "Consult with <consulted department>", asked (start) to answered (complete)
  or withdrawn (ate_abort).
- Plan-run events: "Plan run", started (start) to finished (complete; ate_abort when the run
  was cancelled with its request).

Lifecycle (the XES standard model) of the work on a stage: queued, step_pending and
step_with_people schedule; claimed, assigned and step_started start; waiting_on_employee,
waiting_on_department, step_sleeping and step_retried suspend; resumed and
department_wait_ended resume; unassigned, handed_off and returned reassign (the work changes
hands); resolved and step_succeeded complete; cancelled, sent_back, step_failed and
step_cancelled ate_abort (a failed automation's `step_with_people` schedules the step again,
for people); step_skipped autoskip. A request cancelled is pi_abort (the whole case is
abandoned); the other request milestones and side facts are atomic: complete. A kind this
module does not know (a retired one) is exported with lifecycle `unknown`.

Rows are streamed: one ordered query read through a server-side cursor in chunks, written
row by row, so memory stays flat whatever the stream's size and the number of queries is
fixed (the step-to-stage map is read once; names come from joins, never per row).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat, LPad

from esm.models import Event, EventKind
from esm.spreadsheets import csv_cell
from services.models import (
    AutomationRun,
    Consult,
    FulfilmentTask,
    PlanStep,
    ServiceRequest,
    StepRun,
)
from services.models.requests import REFERENCE_PREFIX
from valuestreams.metrics import Period
from valuestreams.models import ValueStream

CHUNK_SIZE = 2000
"""Event rows fetched from the database at a time."""
CASES_PER_READ = 5000
"""Cases whose events one read of the log fetches."""
ROWS_PER_WRITE = 500
"""Rows joined into one piece of the HTTP response: fewer, larger writes to the socket."""

CSV_COLUMNS = ("case_id", "activity", "timestamp", "department", "resource", "lifecycle")
CSV_EXTRA_COLUMNS = ("event", "stage")

REQUEST = ServiceRequest._meta.label_lower
TASK = FulfilmentTask._meta.label_lower
CONSULT = Consult._meta.label_lower
STEP_RUN = StepRun._meta.label_lower
RUN = AutomationRun._meta.label_lower

K = EventKind

# Request events: (activity, lifecycle).
REQUEST_ACTIVITIES: dict[str, tuple[str, str]] = {
    K.SUBMITTED: ("Request submitted", "complete"),
    K.APPROVAL_REQUESTED: ("Approval", "start"),
    K.APPROVED: ("Approval", "complete"),
    K.APPROVAL_SKIPPED: ("Approval", "autoskip"),
    K.REJECTED: ("Request rejected", "complete"),
    K.QUEUED: ("Request queued", "complete"),
    K.WORK_STARTED: ("Work started", "complete"),
    K.WAITING_ON_EMPLOYEE: ("Request waiting on the employee", "suspend"),
    K.RESUMED: ("Request resumed", "resume"),
    K.COMMENTED: ("Comment added", "complete"),
    K.RESOLVED: ("Request resolved", "complete"),
    K.REOPENED: ("Request reopened", "complete"),
    K.CLOSED: ("Request closed", "complete"),
    K.CANCELLED: ("Request cancelled", "pi_abort"),
    K.RATED: ("Request rated", "complete"),
    K.SLA_BREACHED: ("End-to-end target missed", "complete"),
}

# Task and step-run events that move the work of a stage: their lifecycle transition.
WORK_LIFECYCLE: dict[str, str] = {
    K.QUEUED: "schedule",
    K.STEP_PENDING: "schedule",
    K.STEP_WITH_PEOPLE: "schedule",
    K.CLAIMED: "start",
    K.ASSIGNED: "start",
    K.STEP_STARTED: "start",
    K.WAITING_ON_EMPLOYEE: "suspend",
    K.WAITING_ON_DEPARTMENT: "suspend",
    K.STEP_SLEEPING: "suspend",
    K.STEP_RETRIED: "suspend",
    K.RESUMED: "resume",
    K.DEPARTMENT_WAIT_ENDED: "resume",
    K.UNASSIGNED: "reassign",
    K.HANDED_OFF: "reassign",
    K.RETURNED: "reassign",
    K.RESOLVED: "complete",
    K.STEP_SUCCEEDED: "complete",
    K.CANCELLED: "ate_abort",
    K.SENT_BACK: "ate_abort",
    K.STEP_FAILED: "ate_abort",
    K.STEP_CANCELLED: "ate_abort",
    K.STEP_SKIPPED: "autoskip",
}

# Task events that are facts beside the work rather than a step of it.
TASK_SIDE_FACTS: dict[str, str] = {
    K.PRIORITY_CHANGED: "Priority changed",
    K.SLA_BREACHED: "Department target missed",
}

CONSULT_LIFECYCLE: dict[str, str] = {
    K.CONSULT_ASKED: "start",
    K.CONSULT_ANSWERED: "complete",
    K.CONSULT_WITHDRAWN: "ate_abort",
}

# Kinds no longer written, read as `docs/events.md` ("Retired kinds") says.
RETIRED_KINDS: dict[tuple[str, str], str] = {
    (REQUEST, "started"): K.QUEUED,
    (REQUEST, "waiting"): K.WAITING_ON_EMPLOYEE,
    (TASK, "waiting"): K.WAITING_ON_EMPLOYEE,
    (STEP_RUN, "waiting"): K.STEP_SLEEPING,
}

_KIND_LABELS = dict(EventKind.choices)
# Characters XML 1.0 cannot carry at all, not even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class ExportRow:
    case_id: str
    activity: str
    timestamp: str
    department: str
    resource: str
    lifecycle: str
    event: str
    stage: str


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    stage: str


# Reading -------------------------------------------------------------------------------


def case_reference() -> Case:
    """A request's reference (`REQ-000123`) computed in SQL, exactly as `reference_for`
    spells it: the event log keys cases by it and requests do not store it."""
    digits = Cast("pk", CharField())
    return Concat(
        Value(REFERENCE_PREFIX),
        Case(When(pk__lt=1_000_000, then=LPad(digits, 6, Value("0"))), default=digits),
        output_field=CharField(),
    )


def value_stream_cases(
    *, stream: ValueStream, viewer: Any, period: Period | None = None
) -> QuerySet[ServiceRequest]:
    """The cases of `stream` that `viewer` may see, those resolved in `period` when given."""
    cases = ServiceRequest.objects.visible_to(viewer).filter(
        catalog_item__in=stream.items.values("pk")
    )
    if period is None:
        return cases
    last_resolved = (
        Event.objects.filter(subject_type=REQUEST, subject_id=OuterRef("pk"), kind=K.RESOLVED)
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    return cases.annotate(last_resolved_at=Subquery(last_resolved)).filter(
        last_resolved_at__gte=period.start, last_resolved_at__lt=period.end
    )


def value_stream_event_rows(
    *, stream: ValueStream, viewer: Any, period: Period | None = None
) -> Iterator[ExportRow]:
    """The export's rows, by case then time: the stream's steps, the cases' references in
    order, then their events a batch of `CASES_PER_READ` cases at a time (all read lazily,
    when the iterator is first advanced, in chunks of `CHUNK_SIZE`), so memory stays bounded
    and each read finds its cases' events through the reference index.

    One read of the events of every visible case (`reference IN (cases)`) let PostgreSQL
    walk the whole log in reference order to meet a few cases (a manager who sees three of
    a stream's cases waited 1.4 s at a million requests)."""
    steps = _steps_of(stream)
    cases = value_stream_cases(stream=stream, viewer=viewer, period=period)
    references = cases.annotate(ref=case_reference()).order_by("ref").values_list("ref", flat=True)
    for batch in itertools.batched(references.iterator(chunk_size=CASES_PER_READ), CASES_PER_READ):
        for row in _events_of_cases(batch).iterator(chunk_size=CHUNK_SIZE):
            yield _export_row(row, steps)


def _events_of_cases(references: Iterable[str]) -> QuerySet[Event]:
    case_item = AutomationRun.objects.filter(pk=OuterRef("run_id")).values(
        "service_request__catalog_item_id"
    )[:1]
    return (
        Event.objects.filter(reference__in=references)
        .annotate(
            step_key=KT("payload__step"),
            step_name=KT("payload__name"),
            run_id=Cast(KT("payload__run"), BigIntegerField()),
        )
        .annotate(case_item=Subquery(case_item))
        .order_by("reference", "occurred_at", "id")
        .values_list(
            "reference",
            "occurred_at",
            "subject_type",
            "kind",
            "actor__username",
            "department__name",
            "from_department__name",
            "to_department__name",
            "to_value",
            "step_key",
            "step_name",
            "case_item",
        )
    )


def _steps_of(stream: ValueStream) -> dict[tuple[int, str], _Step]:
    """(item id, step key) -> the step's name and the stage of this stream it belongs to."""
    rows = PlanStep.objects.filter(item__value_streams=stream).values_list(
        "item_id", "key", "name", "stage_link__stage__name", "stage_link__stage__stream_id"
    )
    return {
        (item_id, key): _Step(name=name, stage=stage if stage_stream == stream.pk else "")
        for item_id, key, name, stage, stage_stream in rows
    }


def _export_row(row: tuple[Any, ...], steps: dict[tuple[int, str], _Step]) -> ExportRow:
    (
        reference,
        occurred_at,
        subject_type,
        kind,
        username,
        department,
        from_department,
        to_department,
        to_value,
        step_key,
        step_name,
        case_item,
    ) = row
    read_as = RETIRED_KINDS.get((subject_type, kind), kind)
    if subject_type == STEP_RUN and kind == "updated" and to_value == "skipped":
        read_as = K.STEP_SKIPPED
    stage = ""
    if subject_type == REQUEST:
        activity, lifecycle = REQUEST_ACTIVITIES.get(read_as, (_label(kind), "unknown"))
    elif subject_type in (TASK, STEP_RUN) and read_as in TASK_SIDE_FACTS:
        activity, lifecycle = TASK_SIDE_FACTS[read_as], "complete"
    elif subject_type in (TASK, STEP_RUN):
        step = steps.get((case_item, step_key)) if step_key else None
        stage = step.stage if step else ""
        if stage:
            activity = stage
        elif step_key:
            activity = step.name if step else (step_name or step_key)
        else:
            activity = department or "Task"
        lifecycle = WORK_LIFECYCLE.get(read_as, "unknown")
    elif subject_type == CONSULT:
        consulted = from_department if kind == K.CONSULT_ANSWERED else to_department
        activity = f"Consult with {consulted}" if consulted else "Consult"
        lifecycle = CONSULT_LIFECYCLE.get(kind, "unknown")
    elif subject_type == RUN:
        activity = "Plan run"
        lifecycle = {K.RUN_STARTED: "start", K.RUN_FINISHED: "complete"}.get(kind, "unknown")
        if kind == K.RUN_FINISHED and to_value == AutomationRun.State.CANCELLED:
            lifecycle = "ate_abort"
    else:
        activity, lifecycle = _label(kind), "unknown"
    return ExportRow(
        case_id=reference,
        activity=activity,
        timestamp=_timestamp(occurred_at),
        department=department or "",
        resource=username or "",
        lifecycle=lifecycle,
        event=kind,
        stage=stage,
    )


def _label(kind: str) -> str:
    return str(_KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()))


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


# Writing -------------------------------------------------------------------------------


class _Echo:
    """A file-like object that hands back what is written: `csv.writer` formats one row,
    the generator yields it, and nothing accumulates."""

    def write(self, value: str) -> str:
        return value


def event_log_csv(rows: Iterable[ExportRow]) -> Iterator[str]:
    """The rows as CSV text, header first, in pieces of `ROWS_PER_WRITE` rows. Names typed
    by people (stages, steps, departments, usernames) are neutralised where a spreadsheet
    would read them as formulas."""
    writer = csv.writer(_Echo())
    yield writer.writerow((*CSV_COLUMNS, *CSV_EXTRA_COLUMNS))
    yield from _joined(
        writer.writerow(
            (
                row.case_id,
                csv_cell(row.activity),
                row.timestamp,
                csv_cell(row.department),
                csv_cell(row.resource),
                row.lifecycle,
                row.event,
                csv_cell(row.stage),
            )
        )
        for row in rows
    )


XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="UNKNOWN"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="UNKNOWN"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value={name}/>
  <string key="lifecycle:model" value="standard"/>
"""


def event_log_xes(rows: Iterable[ExportRow], *, log_name: str) -> Iterator[str]:
    """The rows as an XES log: one trace per case, its events in the order given (the rows
    come by case then time). Written as it goes: a trace is closed when the next begins."""
    yield XES_HEADER.format(name=_attr(log_name))
    yield from _joined(_xes_traces(rows))
    yield "</log>\n"


def _xes_traces(rows: Iterable[ExportRow]) -> Iterator[str]:
    case_id = None
    for row in rows:
        if row.case_id != case_id:
            if case_id is not None:
                yield "  </trace>\n"
            case_id = row.case_id
            yield f'  <trace>\n    <string key="concept:name" value={_attr(case_id)}/>\n'
        yield _xes_event(row)
    if case_id is not None:
        yield "  </trace>\n"


def _xes_event(row: ExportRow) -> str:
    lines = [
        "    <event>\n",
        f'      <string key="concept:name" value={_attr(row.activity)}/>\n',
        f'      <date key="time:timestamp" value="{row.timestamp}"/>\n',
        f'      <string key="lifecycle:transition" value="{row.lifecycle}"/>\n',
    ]
    if row.resource:
        lines.append(f'      <string key="org:resource" value={_attr(row.resource)}/>\n')
    if row.department:
        lines.append(f'      <string key="org:group" value={_attr(row.department)}/>\n')
    lines.append(f'      <string key="event" value={_attr(row.event)}/>\n')
    if row.stage:
        lines.append(f'      <string key="stage" value={_attr(row.stage)}/>\n')
    lines.append("    </event>\n")
    return "".join(lines)


def _attr(value: str) -> str:
    """An XML attribute value, quoted and escaped (newlines and tabs too)."""
    return quoteattr(
        _XML_INVALID.sub("\ufffd", value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
    )


def _joined(pieces: Iterable[str]) -> Iterator[str]:
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) >= ROWS_PER_WRITE:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)
