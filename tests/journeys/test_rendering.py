"""The journey pages as they render: the board, the cards' friction levels, pinned findings,
the emotion curve and its gaps, the touchpoint drill-down and the list of maps."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from journeys.board import FRICTION_HIGH, FRICTION_SOME, board_columns, friction_level
from journeys.curve import emotion_curve
from journeys.metrics import (
    Distribution,
    JourneyMetrics,
    Period,
    Score,
    ScorePart,
    StageEmotion,
    TouchpointSignals,
)
from journeys.models import Finding, JourneyMap
from tests.esm.factories import DepartmentFactory
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.journeys.urls_for_rendering")]

SVG = "{http://www.w3.org/2000/svg}"
PERIOD = Period(
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
)


def period_context():
    return {
        "period_form": [],
        "period": PERIOD,
        "period_query": "start=2026-01-01&end=2026-01-31",
        "period_last_day": dt.date(2026, 1, 31),
        "presets": [],
    }


def signals(touchpoint, *, cases=12, friction=0.2, emotion=0.4, hidden=False, **fields):
    if hidden:
        return TouchpointSignals(
            touchpoint, cases=cases, resolution=Distribution(cases), hidden=True
        )
    return TouchpointSignals(
        touchpoint,
        cases=cases,
        resolution=Distribution(cases, p50=30.0, p85=50.0, p95=70.0, mean=33.0),
        ratings=4,
        response_rate=0.33,
        rating_mean=3.5,
        rating_distribution=(1, 0, 1, 1, 1),
        friction=Score(friction, (ScorePart("wait_share", 0.5, 2.0),), cases),
        emotion=Score(emotion, (ScorePart("rating_mean", 0.6, 1.0),), cases),
        **fields,
    )


def metrics_for(journey, touchpoint_signals, curve):
    return JourneyMetrics(journey, PERIOD, touchpoint_signals, curve)


@pytest.fixture
def journey():
    return JourneyMapFactory(name="Joining", slug="joining")


@pytest.fixture
def stages(journey):
    return [
        JourneyStageFactory(journey=journey, name=name, position=position)
        for position, name in enumerate(["Pre-boarding", "First day", "First week"])
    ]


def render_map(journey, metrics, **extra):
    context = {
        "journey": journey,
        "metrics": metrics,
        "curve": emotion_curve(metrics),
        "findings_by_touchpoint": {},
        "may_change": False,
        **period_context(),
        **extra,
    }
    return render_to_string("journeys/journey_map.html", context)


def card_of(html, name):
    """The <li> of the card whose link text is `name`."""
    start = html.index(f">{name}</a>")
    li = html.rindex('<li class="jm-card', 0, start)
    return html[li : _card_end(html, li)]


def _card_end(html, li):
    depth, position = 0, li
    for match in re.finditer(r"<(/?)li\b", html[li:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            position = li + match.end()
            break
    return position


def stage_sections(html):
    return re.findall(r'<section class="jm-stage".*?</section>', html, re.S)


def parse_svg(html):
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    return ET.fromstring(svg)  # noqa: S314  (our own rendering, not outside input)


def test_cards_sit_in_their_stage_columns_with_their_signals_and_drill_down_link(journey, stages):
    laptop = TouchpointFactory(
        stage=stages[0], name="Laptop ordered", department=DepartmentFactory(name="IT")
    )
    badge = TouchpointFactory(stage=stages[1], name="Badge collected")
    metrics = metrics_for(
        journey,
        [signals(laptop), signals(badge)],
        [StageEmotion(s, 0.4, 12) for s in stages],
    )

    html = render_map(journey, metrics)

    sections = stage_sections(html)
    assert len(sections) == 3
    assert "Laptop ordered" in sections[0]
    assert "Badge collected" not in sections[0]
    assert "Badge collected" in sections[1]
    assert "No touchpoints at this stage." in sections[2]
    card = card_of(html, "Laptop ordered")
    assert "Portal" in card
    assert "IT" in card
    assert "12 cases" in card
    assert "30 h" in card  # median time to resolution
    assert "3.5 of 5" in card
    assert "33% responded" in card
    assert "0.20" in card
    assert "+0.40" in card
    assert (
        f'href="/journeys/joining/touchpoints/{laptop.pk}/?start=2026-01-01&amp;end=2026-01-31"'
        in card
    )
    assert "Joining" in html
    assert "New hire" in html
    assert "Productive in my first week" in html


@pytest.mark.parametrize(
    ("friction", "css", "word"),
    [
        (0.0, "friction-smooth", "Smooth"),
        (FRICTION_SOME - 0.001, "friction-smooth", "Smooth"),
        (FRICTION_SOME, "friction-some", "Some friction"),
        (FRICTION_HIGH - 0.001, "friction-some", "Some friction"),
        (FRICTION_HIGH, "friction-high", "High friction"),
        (1.0, "friction-high", "High friction"),
    ],
)
def test_friction_levels_change_at_the_documented_cut_offs(journey, stages, friction, css, word):
    touchpoint = TouchpointFactory(stage=stages[0], name="Laptop ordered")
    metrics = metrics_for(journey, [signals(touchpoint, friction=friction)], [])

    card = card_of(render_map(journey, metrics), "Laptop ordered")

    assert f'class="jm-card {css}"' in card
    assert f'<p class="jm-level">{word}</p>' in card
    assert (FRICTION_SOME, FRICTION_HIGH) == (0.33, 0.66)


def test_a_touchpoint_with_nothing_measured_is_grey_and_says_so(journey, stages):
    touchpoint = TouchpointFactory(stage=stages[0], name="Welcome e-mail")
    unmeasured = TouchpointSignals(touchpoint, cases=0, resolution=Distribution(0))
    metrics = metrics_for(journey, [unmeasured], [])

    card = card_of(render_map(journey, metrics), "Welcome e-mail")

    assert 'class="jm-card friction-none"' in card
    assert "Not measured" in card
    assert "<dl" not in card
    assert friction_level(unmeasured).key == "none"


def test_hidden_touchpoints_show_no_figures(journey, stages):
    touchpoint = TouchpointFactory(stage=stages[0], name="Payroll set up")
    metrics = metrics_for(journey, [signals(touchpoint, cases=3, hidden=True)], [])

    card = card_of(render_map(journey, metrics), "Payroll set up")

    assert 'class="jm-card friction-hidden"' in card
    assert "Fewer than 5 cases" in card
    assert "<dl" not in card
    assert not re.search(r"\d+ cases?\b", card.replace("5 cases", ""))
    assert "of 5" not in card


def test_findings_are_pinned_to_their_card_with_before_and_after_when_done(journey, stages):
    laptop = TouchpointFactory(stage=stages[0], name="Laptop ordered")
    badge = TouchpointFactory(stage=stages[1], name="Badge collected")
    done = Finding.objects.create(
        touchpoint=laptop,
        kind=Finding.Kind.OPPORTUNITY,
        title="Order the laptop at signing",
        status=Finding.Status.DONE,
        signal="wait_share",
        value_before=0.62,
        value_after=0.25,
    )
    suggested = Finding.objects.create(
        touchpoint=badge,
        kind=Finding.Kind.PAIN_POINT,
        title="Badge form left half-filled",
        suggestion=Finding.Suggestion.ABANDONED_FORM,
    )
    metrics = metrics_for(journey, [signals(laptop), signals(badge)], [])

    html = render_map(
        journey, metrics, findings_by_touchpoint={laptop.pk: [done], badge.pk: [suggested]}
    )

    laptop_card, badge_card = card_of(html, "Laptop ordered"), card_of(html, "Badge collected")
    assert "Order the laptop at signing" in laptop_card
    assert "Badge form left half-filled" not in laptop_card
    assert "Opportunity" in laptop_card
    assert "Done" in laptop_card
    assert "Wait share:" in laptop_card
    assert "62% → 25%" in laptop_card
    assert "suggested" not in laptop_card
    assert "Badge form left half-filled" in badge_card
    assert "Pain point" in badge_card
    assert "New" in badge_card
    assert "suggested" in badge_card
    assert "→" not in badge_card


def test_the_curve_leaves_a_gap_where_a_stage_has_no_measured_emotion(journey, stages):
    metrics = metrics_for(
        journey,
        [],
        [
            StageEmotion(stages[0], 0.5, 10),
            StageEmotion(stages[1], None, 0),
            StageEmotion(stages[2], -0.25, 8),
        ],
    )

    curve = emotion_curve(metrics, width_per_stage=100)

    assert [p.stage for p in curve.points] == ["Pre-boarding", "First week"]
    assert curve.segments == []  # two lone points: no line joins them across the gap
    assert [c.measured for c in curve.columns] == [True, False, True]
    assert curve.points[0].y < curve.zero < curve.points[1].y

    root = parse_svg(render_to_string("journeys/_curve.svg.html", {"curve": curve}))
    assert root.get("role") == "img"
    assert root.get("viewBox") == f"0 0 {curve.width} {curve.height}"
    assert root.find(f"{SVG}title").text == "Emotion curve of Joining"
    assert root.findall(f".//{SVG}path") == []
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "neutral" in texts
    assert "not measured" in texts
    assert "+0.50" in texts
    assert "\N{MINUS SIGN}0.25" in texts
    assert "10 cases" in texts
    assert "8 cases" in texts
    assert "First day: not measured." in root.find(f"{SVG}desc").text


def test_the_curve_joins_consecutive_measured_stages_only(journey, stages):
    fourth = JourneyStageFactory(journey=journey, name="First month", position=3)
    metrics = metrics_for(
        journey,
        [],
        [
            StageEmotion(stages[0], 0.5, 10),
            StageEmotion(stages[1], 0.1, 9),
            StageEmotion(stages[2], None, 0),
            StageEmotion(fourth, -1.0, 6),
        ],
    )

    curve = emotion_curve(metrics, width_per_stage=100)

    assert len(curve.segments) == 1
    first, second = curve.points[:2]
    assert curve.segments[0] == f"M {first.x} {first.y} L {second.x} {second.y}"
    assert curve.points[2].y == curve.bottom


def test_text_is_escaped_on_the_map_and_in_the_curve(journey, stages):
    journey.name = "<b>Joining</b>"
    stages[0].name = "<img src=x>"
    touchpoint = TouchpointFactory(stage=stages[0], name="<script>alert(1)</script>")
    metrics = metrics_for(journey, [signals(touchpoint)], [StageEmotion(stages[0], 0.2, 12)])

    html = render_map(journey, metrics)

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x>" not in html
    assert "<b>Joining" not in html
    root = parse_svg(html[html.index('<div class="jc">') :])
    assert "<img src=x>" in [t.text for t in root.iter(f"{SVG}text")]


def test_as_is_and_to_be_boards_side_by_side(journey, stages):
    to_be = JourneyMapFactory(
        name="Joining, improved",
        slug="joining-to-be",
        version=JourneyMap.Version.TO_BE,
        as_is=journey,
    )
    to_be_stage = JourneyStageFactory(journey=to_be, name="Before day one")
    touchpoint = TouchpointFactory(stage=stages[0], name="Laptop ordered")
    planned = TouchpointFactory(stage=to_be_stage, name="Laptop on the desk")
    metrics = metrics_for(
        journey, [signals(touchpoint)], [StageEmotion(s, None, 0) for s in stages]
    )
    to_be_metrics = metrics_for(to_be, [signals(planned)], [StageEmotion(to_be_stage, 0.6, 12)])

    html = render_map(
        journey,
        metrics,
        to_be=to_be,
        to_be_metrics=to_be_metrics,
        to_be_curve=emotion_curve(to_be_metrics),
    )

    assert '<div class="jm-versions">' in html
    as_is_part, to_be_part = html.split('id="to-be-heading"')
    assert "Laptop ordered" in as_is_part
    assert "Laptop on the desk" in to_be_part
    assert f"/journeys/joining-to-be/touchpoints/{planned.pk}/" in to_be_part
    assert "No emotion measured at any stage in this period." in as_is_part
    assert 'id="jc-joining-to-be-title"' in to_be_part


def test_a_journey_without_stages_has_an_empty_state(journey):
    metrics = metrics_for(journey, [], [])

    html = render_map(journey, metrics)

    assert "has no stages yet" in html
    assert 'class="jm-board"' not in html
    assert 'href="#how-computed"' in html
    assert 'id="how-computed"' in html


def test_board_columns_keep_stage_order_and_empty_stages(journey, stages):
    late = TouchpointFactory(stage=stages[2], name="Check-in", position=1)
    early = TouchpointFactory(stage=stages[2], name="Buddy lunch", position=0)
    metrics = metrics_for(
        journey, [signals(late), signals(early)], [StageEmotion(s, None, 0) for s in stages]
    )

    columns = board_columns(metrics)

    assert [c.stage.name for c in columns] == ["Pre-boarding", "First day", "First week"]
    assert [[s.touchpoint.name for s in c.touchpoints] for c in columns] == [
        [],
        [],
        ["Buddy lunch", "Check-in"],
    ]


def render_touchpoint(journey, touchpoint, touchpoint_signals, **extra):
    context = {
        "journey": journey,
        "touchpoint": touchpoint,
        "signals": touchpoint_signals,
        "weeks": [],
        "comments": [],
        "findings": [],
        **period_context(),
        **extra,
    }
    return render_to_string("journeys/touchpoint.html", context)


def test_the_touchpoint_page_explains_every_signal_and_the_scores(journey, stages):
    touchpoint = TouchpointFactory(stage=stages[0], name="Laptop ordered")
    week = SimpleNamespace(cases=7, resolution_p50=5.5, rating_mean=4.0, reopen_rate=0.1)
    comment = SimpleNamespace(
        created_at=dt.datetime(2026, 1, 12, 9, 30, tzinfo=dt.UTC),
        body="Still <waiting>",
        service_request=SimpleNamespace(reference="SR-000042"),
    )

    html = render_touchpoint(
        journey,
        touchpoint,
        signals(touchpoint, wait_share=0.45, abandonment_rate=0.2, form_starts=10),
        weeks=[(dt.date(2026, 1, 5), week)],
        comments=[comment],
    )

    assert "Form abandonment" in html
    assert "started, not submitted" in html
    assert "45%" in html
    assert "20%" in html
    assert "What the friction score is made of" in html
    assert "Wait share" in html
    assert "0.50" in html
    assert "2.00" in html
    assert "rests on 12 cases" in html
    assert "5 Jan 2026" in html
    assert "5.5 h" in html
    assert "10%" in html
    assert "SR-000042" in html
    assert "Still &lt;waiting&gt;" in html
    root = parse_svg(html[html.index("<svg") :])
    bars = root.findall(f".//{SVG}rect")
    assert len(bars) == 5
    assert max(int(b.get("width")) for b in bars) == 200
    assert "No pain points or opportunities pinned" in html


def test_the_touchpoint_page_has_empty_states_and_holds_back_small_groups(journey, stages):
    touchpoint = TouchpointFactory(stage=stages[0], name="Payroll set up")

    html = render_touchpoint(journey, touchpoint, signals(touchpoint, cases=3, hidden=True))

    assert "Fewer than 5 cases" in html
    assert "<svg" not in html
    assert "No comments from employees in this period." in html
    assert "No score: nothing measured in this period." in html


def test_the_list_links_each_map_and_offers_a_new_one(journey, stages):
    summary = SimpleNamespace(touchpoints=4, measured=3, findings_open=2)
    empty = JourneyMapFactory(name="Leaving", slug="leaving", persona=JourneyMap.Persona.LEAVER)
    nothing = SimpleNamespace(touchpoints=0, measured=0, findings_open=0)

    html = render_to_string(
        "journeys/journey_list.html",
        {"journeys": [(journey, summary), (empty, nothing)], "may_add": True},
    )

    assert 'href="/journeys/joining/"' in html
    assert 'href="/journeys/leaving/"' in html
    assert "3 of 4" in html
    assert "0 of 0" in html
    assert "Leaver" in html
    assert 'href="/journeys/new/"' in html
    assert "New journey" in html

    without = render_to_string("journeys/journey_list.html", {"journeys": [], "may_add": False})
    assert "New journey" not in without
    assert "No journey maps yet." in without
