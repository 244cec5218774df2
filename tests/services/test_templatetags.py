"""The workspace's template tags: a clock in working words."""

import datetime as dt

import pytest
from django.template import Context, Template

from services.models import ClockState
from services.sla import ClockReading
from services.templatetags.workspace import business_time, clock_badge

HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("reading", "words"),
    [
        (ClockReading(ClockState.NONE, None), "No target"),
        (ClockReading(ClockState.ON_TRACK, 10 * HOUR), "1 d 2 h left"),
        (ClockReading(ClockState.AT_RISK, dt.timedelta(minutes=45)), "45 min left"),
        (ClockReading(ClockState.PAUSED, 3 * HOUR), "Paused · 3 h left"),
        (ClockReading(ClockState.BREACHED, -2 * HOUR), "Breached · 2 h overdue"),
        (ClockReading(ClockState.BREACHED, 2 * HOUR), "Breached"),
        (ClockReading(ClockState.MISSED, -9 * HOUR), "Missed by 1 d 1 h"),
        (ClockReading(ClockState.MET, 4 * HOUR), "Met"),
        # Read without a schedule: the state alone.
        (ClockReading(ClockState.ON_TRACK, None), "On track"),
    ],
)
def test_a_clock_badge_says_its_state_and_the_time_left_or_overdue(reading, words):
    assert clock_badge(reading) == (
        f'<span class="sla sla-{reading.status}" title="{reading.status.label}">{words}</span>'
    )


def test_a_named_badge_names_its_target_and_escapes_the_name():
    badge = Template("{% load workspace %}{% clock_badge clock name %}").render(
        Context({"clock": ClockReading(ClockState.AT_RISK, HOUR), "name": "Department <target>"})
    )

    assert badge == (
        '<span class="sla sla-at_risk" title="Department &lt;target&gt;: At risk">'
        '<strong class="sla-name">Department &lt;target&gt;</strong> 1 h left</span>'
    )


def test_business_time_counts_eight_hour_days():
    assert business_time(None) == ""
    assert business_time(dt.timedelta(hours=17, minutes=5)) == "2 d 1 h"
    assert business_time(-dt.timedelta(hours=1, minutes=30)) == "1 h 30 min"
