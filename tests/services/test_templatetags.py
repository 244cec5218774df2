"""The workspace's template tags: a clock in working words."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone

from services.models import ClockState
from services.sla import ClockReading
from services.templatetags.workspace import business_time, clock_badge, promise_badge

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


DUE = dt.datetime(2026, 11, 5, 10, 0, tzinfo=dt.UTC)  # a Thursday
AIM, AIMED = "We aim to finish by Thu 5 Nov, 11:00", "We aimed to finish by Thu 5 Nov, 11:00"


@pytest.mark.parametrize(
    ("reading", "words"),
    [
        (ClockReading(ClockState.ON_TRACK, 3 * HOUR, DUE), f"{AIM} · on track"),
        (ClockReading(ClockState.AT_RISK, HOUR, DUE), f"{AIM} · at risk"),
        (ClockReading(ClockState.PAUSED, HOUR, DUE), "Paused while we wait for your answer"),
        (ClockReading(ClockState.BREACHED, -10 * HOUR, DUE), f"{AIMED} · late by 1 d 2 h"),
        (ClockReading(ClockState.BREACHED, None, DUE), f"{AIMED} · late"),
        (
            ClockReading(ClockState.MET, 2 * HOUR, DUE),
            "Finished within our target (Thu 5 Nov, 11:00) · met",
        ),
        (ClockReading(ClockState.MISSED, -HOUR, DUE), f"{AIMED} · missed by 1 h"),
    ],
)
def test_a_promise_says_in_the_employees_words_when_we_aim_to_finish(reading, words):
    with timezone.override("Europe/Paris"):
        badge = promise_badge(reading)

    assert badge == f'<span class="promise sla sla-{reading.status}">{words}</span>'


def test_a_paused_promise_says_what_it_waits_for_and_no_target_says_nothing():
    paused = ClockReading(ClockState.PAUSED, HOUR, DUE)

    assert "wait for the <b>form</b>" not in promise_badge(paused, "the <b>form</b>")
    assert "wait for the &lt;b&gt;form&lt;/b&gt;" in promise_badge(paused, "the <b>form</b>")
    assert promise_badge(ClockReading(ClockState.NONE, None)) == ""
