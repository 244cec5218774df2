import datetime as dt

from django import template
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

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
        title = format_html("{}: {}", name, status.label)
        words = format_html('<strong class="sla-name">{}</strong> {}', name, words)
    else:
        title = status.label
    return format_html('<span class="sla sla-{}" title="{}">{}</span>', status, title, words)


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
    return format_html('<span class="promise sla sla-{}">{}</span>', status, words)
