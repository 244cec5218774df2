"""The workspace's template tags: a clock in working words, a list's task rows."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.template import Context, RequestContext, Template
from django.urls import reverse
from django.utils import timezone

from services.models import ClockState
from services.sla import ClockReading
from services.templatetags.workspace import business_time, clock_badge, promise_badge, task_rows
from tests.services.factories import ConsultFactory, FulfilmentTaskFactory

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


def _row(task, *, end_to_end=True):
    return {
        "task": task,
        "clock": ClockReading(ClockState.AT_RISK, HOUR),
        "end_to_end": ClockReading(ClockState.ON_TRACK, 3 * HOUR) if end_to_end else None,
    }


@pytest.mark.django_db
def test_a_task_row_shows_the_task_its_case_and_both_clocks_escaped():
    task = FulfilmentTaskFactory(
        title="Laptop <script>", service_request__requester__first_name="Ada & Co"
    )
    task.case_hidden = False

    html = task_rows([_row(task)], selectable=True)

    reference = task.service_request.reference
    assert html.startswith('<tr class="task-row sla-row-at_risk">')
    assert f'value="{task.pk}" form="bulk-form" aria-label="Select {reference}"' in html
    assert f'<a href="{reverse("task_detail", args=[task.pk])}">{reference}</a>' in html
    assert "Laptop &lt;script&gt;" in html
    assert "<script>" not in html
    assert f"{task.service_request.catalog_item.name} · Queued" in html
    assert "Ada &amp; Co" in html
    assert '<span class="sla sla-at_risk" title="At risk">1 h left</span>' in html
    assert '<span class="sla sla-on_track" title="On track">3 h left</span>' in html
    assert '<span class="meta">Unclaimed</span>' in html
    assert "<td>" + task.queue.name not in html  # the queue only where asked


@pytest.mark.django_db
def test_a_hidden_case_shows_neither_its_requester_nor_its_item_nor_its_promise(it_agent):
    task = FulfilmentTaskFactory(assignee=it_agent, service_request__is_confidential=True)
    task.case_hidden = True

    html = task_rows([_row(task, end_to_end=False)], show_queue=True)

    assert task.service_request.requester.username not in html
    assert task.service_request.catalog_item.name not in html
    assert '<span class="meta">Not shown</span>' in html
    assert '<span class="muted">Not shown</span>' in html
    assert '<span class="badge">Confidential</span>' in html
    assert f"<td>{task.queue.name}</td>" in html
    assert it_agent.get_full_name() in html
    assert 'type="checkbox"' not in html


@pytest.mark.django_db
def test_a_consult_task_row_says_which_department_asked():
    consult = ConsultFactory(from_department__name="Legal & Risk")
    task = consult.consult_task
    task.case_hidden = False

    html = task_rows([_row(task)])

    assert '<span class="badge consult">Consult from Legal &amp; Risk</span>' in html


def test_a_long_list_links_its_ends_and_the_pages_around_the_current_one(rf):
    """Forty pages: the first and last, two either side of page 20, an ellipsis between."""
    page = Paginator(range(1000), 25).page(20)

    request = rf.get("/queues/it/", {"state": "queued"})
    request.user = AnonymousUser()
    html = Template('{% include "services/_pagination.html" %}').render(
        RequestContext(request, {"page": page})
    )

    links = re.findall(r'<a href="\?state=queued&amp;page=(\d+)">', html)
    assert links == ["1", "18", "19", "21", "22", "40"]
    assert '<span aria-current="page">20</span>' in html
    assert html.count('class="gap"') == 2
    assert "1000 in all" in html
