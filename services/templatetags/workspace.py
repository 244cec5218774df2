import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.template.defaultfilters import timesince_filter
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from esm.html import html_format
from services.models import ClockState
from services.sla import ClockReading

register = template.Library()


@register.filter
def business_time(duration: dt.timedelta | None) -> str:
    """A span of business time in working words: '2 h 15 min', '3 d 4 h' (8-hour days)."""
    if duration is None:
        return ""
    minutes = abs(int(duration.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if hours >= 8:
        days, hours = divmod(hours, 8)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.simple_tag
def clock_badge(clock: ClockReading, name: str = "") -> SafeString:
    """A clock as its badge: the state in words with the business time left or overdue.

    Written here rather than in an included template: a queue page shows two on each of its
    25 rows, and an include costs more than the rest of the row."""
    status = clock.status
    if clock.left is None:
        words = status.label
    elif status in (ClockState.ON_TRACK, ClockState.AT_RISK):
        words = f"{business_time(clock.left)} left"
    elif status == ClockState.PAUSED:
        words = f"Paused · {business_time(clock.left)} left"
    elif status == ClockState.BREACHED:
        words = (
            f"Breached · {business_time(clock.overdue)} overdue" if clock.overdue else "Breached"
        )
    elif status == ClockState.MISSED:
        words = f"Missed by {business_time(clock.overdue)}" if clock.overdue else "Missed"
    else:
        words = status.label
    if name:
        title = html_format("{}: {}", name, status.label)
        words = html_format('<strong class="sla-name">{}</strong> {}', name, words)
    else:
        title = status.label
    return html_format('<span class="sla sla-{}" title="{}">{}</span>', status, title, words)


PROMISE_DUE_FORMAT = "D j M, H:i"


@register.simple_tag
def promise_badge(promise: ClockReading, waiting_for: str = "") -> SafeString:
    """The end-to-end target in the employee's words (nothing without a target).

    A tag for the reason `clock_badge` is one: "My requests" shows one on each row."""
    status = promise.status
    due = date_format(localtime(promise.due_at), PROMISE_DUE_FORMAT) if promise.due_at else ""
    overdue = f" by {business_time(promise.overdue)}" if promise.overdue else ""
    if status == ClockState.NONE:
        return SafeString("")
    if status in (ClockState.ON_TRACK, ClockState.AT_RISK):
        words = f"We aim to finish by {due} · {status.label.lower()}"
    elif status == ClockState.PAUSED:
        words = f"Paused while we wait for {waiting_for or 'your answer'}"
    elif status == ClockState.BREACHED:
        words = f"We aimed to finish by {due} · late{overdue}"
    elif status == ClockState.MET:
        words = f"Finished within our target ({due}) · met"
    else:
        words = f"We aimed to finish by {due} · missed{overdue}"
    return html_format('<span class="promise sla sla-{}">{}</span>', status, words)


@register.simple_tag
def task_rows(
    rows: Iterable[Mapping[str, Any]], *, selectable: bool = False, show_queue: bool = False
) -> SafeString:
    """The body rows of a task list (`services/workspace/_task_rows.html`), each row a task
    with its department target's `clock` and its request's `end_to_end` (None when the
    case is hidden from the reader). `selectable` adds the bulk form's checkbox, and
    `show_queue` the task's queue.

    Built in Python, escaped: as template nodes the 25 rows of a queue page were a third
    of its rendering (some 600 variables and tags)."""
    return SafeString("\n".join(_task_row(row, selectable, show_queue) for row in rows))


def _task_row(row: Mapping[str, Any], selectable: bool, show_queue: bool) -> str:
    task, service_request = row["task"], row["task"].service_request
    reference = service_request.reference
    consult = task.consult_answered
    hidden = getattr(task, "case_hidden", False)
    end_to_end = row["end_to_end"]
    return html_format(
        '<tr class="task-row sla-row-{}">{}'
        '<td class="nowrap"><a href="{}">{}</a></td>'
        '<td>{}{}{}<div class="meta">{}{}</div></td>'
        "<td>{}</td>{}"
        '<td><span class="priority priority-{}">{}</span></td>'
        '<td>{}</td><td class="nowrap">{}</td><td class="nowrap">{}</td>'
        "<td>{}</td></tr>",
        row["clock"].status,
        html_format(
            '<td><input type="checkbox" name="tasks" value="{}" form="bulk-form"'
            ' aria-label="Select {}"></td>',
            task.pk,
            reference,
        )
        if selectable
        else "",
        reverse("task_detail", args=[task.pk]),
        reference,
        task.title,
        html_format(
            ' <span class="badge consult">Consult from {}</span>', consult.from_department.name
        )
        if consult
        else "",
        SafeString(' <span class="badge">Confidential</span>')
        if service_request.is_confidential
        else "",
        "" if hidden else f"{service_request.catalog_item.name} · ",
        task.get_state_display(),
        SafeString('<span class="meta">Not shown</span>')
        if hidden
        else _person_name(service_request.requester),
        html_format("<td>{}</td>", task.queue.name) if show_queue else "",
        task.priority,
        task.get_priority_display(),
        timesince_filter(task.created_at),
        clock_badge(row["clock"]),
        clock_badge(end_to_end)
        if end_to_end
        else SafeString('<span class="muted">Not shown</span>'),
        _person_name(task.assignee)
        if task.assignee
        else SafeString('<span class="meta">Unclaimed</span>'),
    )


def _person_name(person: Any) -> str:
    return person.get_full_name() or person.username
