"""A case's events in plain words, for the request page and the task page alike.

One state change often writes several rows in one transaction (a claim writes `claimed`
and, the first time, the request's `work_started`; a question writes the task's and the
request's `waiting_on_employee`). The log keeps them all; a reader needs each fact once,
so the rows that only repeat what a row beside them says are left out here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from esm.models import Event, EventKind
from services.models import Comment, ServiceRequest

TASK = "services.fulfilmenttask"
REQUEST = "services.servicerequest"
STEP = "services.steprun"

# Rows written in the same transaction as the row that says the same thing are this close.
SAME_MOMENT = dt.timedelta(seconds=2)

# Request-level kinds that follow a task's row of the same kind (`flow.request_follow_work`).
FOLLOWS_TASK = {EventKind.WAITING_ON_EMPLOYEE, EventKind.RESUMED}


# A plan step's events, in the employee's words: "<step name>: <words>".
STEP_WORDS = {
    EventKind.STEP_PENDING: "queued for automation",
    EventKind.STEP_STARTED: "started automatically",
    EventKind.STEP_RETRIED: "will be tried again",
    EventKind.STEP_WITH_PEOPLE: "waiting for an approval",
    EventKind.STEP_SUCCEEDED: "done",
    EventKind.STEP_SKIPPED: "not needed",
    EventKind.STEP_CANCELLED: "cancelled",
}


def person(user: Any, viewer: Any) -> str:
    if user is None:
        return "the system"
    if user.pk == viewer.pk:
        return "you"
    return user.get_full_name() or user.get_username()


def _department(event: Event, service_request: ServiceRequest) -> str:
    return event.department.name if event.department else service_request.department.name


def event_in_words(event: Event, service_request: ServiceRequest, viewer: Any) -> str:
    """One event of the case in plain words; the events come from the request, its tasks
    (claimed, handed off, ...) and its plan's automated steps."""
    who = person(event.actor, viewer)
    kind = event.kind
    department = _department(event, service_request)
    step = event.payload.get("name") or event.payload.get("step", "")
    on_task = event.subject_type == TASK
    crossing = event.from_department and event.to_department
    if kind == EventKind.SUBMITTED:
        return f"Submitted by {who}"
    if kind == EventKind.APPROVAL_REQUESTED:
        label = event.payload.get("label")
        return f"Approval requested from {label}" if label else "Approval requested"
    if kind == EventKind.APPROVED:
        return f"Approved by {who}"
    if kind == EventKind.REJECTED:
        return f"Rejected by {who}"
    if kind == EventKind.APPROVAL_SKIPPED:
        return f"Approval step skipped: {event.payload.get('label', '')}"
    if kind == EventKind.QUEUED and on_task:
        return f"Queued with {department}"
    if kind == EventKind.QUEUED:
        return "Accepted: the work is with the teams"
    if kind in (EventKind.CLAIMED, EventKind.ASSIGNED):
        return f"Picked up in {department}"
    if kind == EventKind.UNASSIGNED:
        return f"Put back in {department}'s queue by {who}"
    if kind == EventKind.WORK_STARTED:
        return f"Work started in {department}"
    if kind == EventKind.COMMENTED:
        note = "Internal note" if event.to_value == Comment.INTERNAL else "Comment"
        return f"{note} from {who}"
    if kind == EventKind.HANDED_OFF and crossing:
        if event.from_department_id == event.to_department_id:
            return f"Handed on to another {department} queue by {who}"
        return f"Handed from {event.from_department} to {event.to_department} by {who}"
    if kind == EventKind.SENT_BACK and crossing:
        return (
            f"Sent back from {event.from_department} to {event.to_department} by {who}: "
            "something was missing"
        )
    if kind == EventKind.WAITING_ON_EMPLOYEE and on_task:
        return f"{who[:1].upper()}{who[1:]} asked for more information"
    if kind == EventKind.WAITING_ON_EMPLOYEE:
        return "Waiting for the employee's answer"
    if kind == EventKind.RESUMED and on_task:
        return "Answer received: work resumed"
    if kind == EventKind.RESUMED:
        return "Work resumed"
    if kind == EventKind.WAITING_ON_DEPARTMENT and crossing:
        return f"{event.from_department} waits for an answer from {event.to_department}"
    if kind == EventKind.DEPARTMENT_WAIT_ENDED:
        return f"{department} works on it again"
    if kind == EventKind.RESOLVED and on_task:
        return f"{department} finished its part: resolved by {who}"
    if kind == EventKind.RESOLVED:
        return "Request resolved: all its work is done"
    if kind == EventKind.CANCELLED and on_task:
        return f"{department}'s task cancelled"
    if kind == EventKind.REOPENED:
        return f"Reopened by {who}"
    if kind == EventKind.CLOSED:
        return "Closed: the time to reopen it has passed"
    if kind == EventKind.RATED:
        return f"Rated {event.to_value}/5 by {who}"
    if kind == EventKind.PRIORITY_CHANGED:
        return f"Priority changed from {event.from_value} to {event.to_value} by {who}"
    if kind == EventKind.SLA_BREACHED:
        if event.to_value == "end_to_end":
            return "Target breached: end to end"
        return f"Target breached: {department} department target ({event.to_value})"
    if kind == EventKind.RUN_STARTED:
        return "Fulfilment plan started"
    if kind == EventKind.RUN_FINISHED:
        return "Fulfilment plan finished"
    if kind == EventKind.STEP_SLEEPING:
        return f"{step}: waiting until {event.payload.get('until', 'later')[:10]}"
    if kind == EventKind.STEP_FAILED:
        return f"{step}: could not be done automatically, {department} is handling it"
    if kind in STEP_WORDS:
        return f"{step}: {STEP_WORDS[kind]}"
    return f"{event.get_kind_display()} by {who}"


def _near(event: Event, others: list[Event]) -> bool:
    return any(abs(other.occurred_at - event.occurred_at) <= SAME_MOMENT for other in others)


def _repeats(event: Event, events: list[Event]) -> bool:
    """Whether another row of `events` already says what `event` says."""
    kind, payload = event.kind, event.payload
    if kind == EventKind.WORK_STARTED:
        # The claim or the step's start that started it says so, with who and where.
        return any(
            (
                other.kind in (EventKind.CLAIMED, EventKind.ASSIGNED)
                and other.subject_type == TASK
                and other.subject_id == payload.get("task")
            )
            or (
                other.kind == EventKind.STEP_STARTED
                and other.subject_type == STEP
                and other.subject_id == payload.get("step_run")
            )
            for other in events
        )
    if kind in FOLLOWS_TASK and event.subject_type == REQUEST:
        return _near(event, [e for e in events if e.kind == kind and e.subject_type == TASK])
    if kind == EventKind.RETURNED:
        return _near(event, [e for e in events if e.kind == EventKind.SENT_BACK])
    if kind == EventKind.STEP_WITH_PEOPLE:
        # Given to a task: the task's `queued` row says where; only an approval is news.
        return "task" in payload
    if kind == EventKind.STEP_SUCCEEDED:
        # Done by people: the task's `resolved` row says who finished it.
        return "task" in payload
    return False


def timeline_in_words(
    events: list[Event], service_request: ServiceRequest, viewer: Any
) -> list[dict[str, Any]]:
    """The events the viewer may read, each once, as `{"event", "text"}` rows."""
    rows: list[dict[str, Any]] = []
    for event in events:
        if _repeats(event, events):
            continue
        text = event_in_words(event, service_request, viewer)
        if rows and rows[-1]["text"] == text and _near(event, [rows[-1]["event"]]):
            continue
        rows.append({"event": event, "text": text})
    return rows
