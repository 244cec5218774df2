"""The value-stream map: lanes per department, columns per parallel group, handoffs, the
process-vs-wait ladder, links to the cases, and the small-group rule."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import engines
from django.template.loader import render_to_string

from tests.valuestreams.factories import StageFactory, ValueStreamFactory
from valuestreams.map import value_stream_map
from valuestreams.metrics import (
    Distribution,
    HandoffMetrics,
    Period,
    StageMetrics,
    StreamMetrics,
)

pytestmark = pytest.mark.django_db

CASES_URL = "/streams/onboarding/cases/?start=2026-10-01&end=2026-11-01"
SVG = "{http://www.w3.org/2000/svg}"
DURATION = re.compile(r"\d+(\.\d+)? (min|h|days|working days)\b")


@pytest.fixture
def stream():
    return ValueStreamFactory(name="Onboarding", slug="onboarding")


@pytest.fixture
def stages(stream, hr_department, it_department, facilities_department):
    """Record (HR), then Laptop (IT) and Badge (Facilities) side by side, then Welcome (HR)."""
    return {
        "record": StageFactory(stream=stream, name="Record", department=hr_department),
        "laptop": StageFactory(
            stream=stream, name="Laptop", department=it_department, parallel_group=2
        ),
        "badge": StageFactory(
            stream=stream, name="Badge", department=facilities_department, parallel_group=2
        ),
        "welcome": StageFactory(
            stream=stream, name="Welcome", department=hr_department, parallel_group=3
        ),
    }


def _stage(stage, **figures):
    defaults = {"cases": 20, "process": 1.0, "queue_wait": 2.0, "received": 20, "flawed": 1}
    return StageMetrics(stage=stage, **(defaults | figures))


def _metrics(stream, stage_metrics, handoffs=(), *, hidden=False):
    return StreamMetrics(
        stream=stream,
        period=Period(
            dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        ),
        lead_time=Distribution(count=20, p50=50.0, mean=60.0),
        flow_efficiency=0.1,
        throughput_per_week=4.5,
        wip=3,
        employee_wait=5.0,
        stages=list(stage_metrics),
        handoffs=list(handoffs),
        hidden=hidden,
    )


@pytest.fixture
def metrics(stream, stages):
    return _metrics(
        stream,
        [
            _stage(stages["record"], process=1.5, critical_cases=20),
            _stage(
                stages["laptop"],
                process=3.0,
                queue_wait=30.0,
                critical_cases=14,
                wait_share=0.6,
                is_bottleneck=True,
            ),
            _stage(stages["badge"], process=0.5, critical_cases=6),
            _stage(stages["welcome"], process=0.25, critical_cases=20, employee_wait=2.0),
        ],
        [
            HandoffMetrics(
                stages["record"], stages["laptop"], 240, Distribution(20, mean=4.2), breaches=9
            ),
            HandoffMetrics(
                stages["record"], stages["badge"], 480, Distribution(20, mean=3.0), breaches=2
            ),
        ],
    )


def _box(stream_map, stage):
    return next(box for box in stream_map.boxes if box.stage_id == stage.pk)


def _arrow(stream_map, source, target):
    return next(
        arrow
        for arrow in stream_map.arrows
        if (arrow.from_stage_id, arrow.to_stage_id) == (source.pk, target.pk)
    )


def _lane_at(stream_map, box):
    return next(
        lane.department for lane in stream_map.lanes if lane.y <= box.y < lane.y + lane.height
    )


def _render(stream_map):
    return render_to_string("valuestreams/_map.svg.html", {"stream_map": stream_map})


def _parse(svg):
    return ET.fromstring(svg)  # noqa: S314  (our own rendering, not outside input)


def _texts(stream_map):
    labels = [label for lane in stream_map.lanes for label in lane.labels]
    labels += [label for box in stream_map.boxes for label in box.labels]
    labels += [label for arrow in stream_map.arrows for label in arrow.labels]
    labels += [label for step in stream_map.ladder.steps for label in step.labels]
    labels += stream_map.ladder.totals
    return [label.text for label in labels]


def test_parallel_stages_share_a_column_in_their_own_lanes(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    laptop, badge = _box(stream_map, stages["laptop"]), _box(stream_map, stages["badge"])
    record, welcome = _box(stream_map, stages["record"]), _box(stream_map, stages["welcome"])
    assert laptop.x == badge.x
    assert record.x < laptop.x < welcome.x
    assert _lane_at(stream_map, laptop) == "IT"
    assert _lane_at(stream_map, badge) == "Facilities"


def test_lanes_follow_departments_in_the_order_they_first_appear(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    assert [lane.department for lane in stream_map.lanes] == ["HR", "IT", "Facilities"]
    # Welcome comes back to HR: it sits in HR's lane, not in a lane of its own.
    assert _lane_at(stream_map, _box(stream_map, stages["welcome"])) == "HR"
    assert stream_map.columns == [1, 2, 3]


def test_two_stages_of_one_department_in_one_group_stack_in_its_lane(stream, stages, it_department):
    accounts = StageFactory(
        stream=stream, name="Accounts", department=it_department, parallel_group=2, position=1
    )
    metrics = _metrics(stream, [_stage(s) for s in [*stages.values(), accounts]])

    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    laptop, below = _box(stream_map, stages["laptop"]), _box(stream_map, accounts)
    assert below.x == laptop.x
    assert below.y >= laptop.y + laptop.height
    assert _lane_at(stream_map, below) == "IT"


def test_handoff_over_its_target_is_drawn_as_breached_with_its_label(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    late = _arrow(stream_map, stages["record"], stages["laptop"])
    on_time = _arrow(stream_map, stages["record"], stages["badge"])
    assert late.breached
    assert "vsm-breached" in late.css
    assert [label.text for label in late.labels] == ["4.2 h / target 4 h", "9 breaches"]
    assert not on_time.breached
    assert [label.text for label in on_time.labels] == ["3 h / target 8 h", "2 breaches"]
    svg = _render(stream_map)
    assert 'class="vsm-arrow vsm-breached"' in svg
    assert "4.2 h / target 4 h" in svg


def test_consecutive_groups_without_a_handoff_are_joined_by_plain_arrows(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    for upstream in ("laptop", "badge"):
        arrow = _arrow(stream_map, stages[upstream], stages["welcome"])
        assert not arrow.measured
        assert arrow.labels == []
        assert arrow.href == ""
    assert len(stream_map.arrows) == 4


def test_a_handoff_measured_without_a_target_shows_its_delay_alone(stream, stages):
    metrics = _metrics(
        stream,
        [_stage(s) for s in stages.values()],
        [HandoffMetrics(stages["laptop"], stages["welcome"], None, Distribution(20, mean=0.5))],
    )

    arrow = _arrow(
        value_stream_map(metrics, cases_url=CASES_URL), stages["laptop"], stages["welcome"]
    )

    assert [label.text for label in arrow.labels] == ["30 min"]
    assert not arrow.breached


def test_the_bottleneck_is_marked(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    laptop = _box(stream_map, stages["laptop"])
    assert laptop.is_bottleneck
    assert "Bottleneck" in [label.text for label in laptop.labels]
    assert "Wait 30 h (60%)" in [label.text for label in laptop.labels]
    assert not _box(stream_map, stages["badge"]).is_bottleneck
    assert _render(stream_map).count('class="vsm-box vsm-bottleneck"') == 1


def test_the_ladder_follows_the_critical_path_not_every_stage(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)
    ladder = stream_map.ladder

    # Laptop was last of its group more often than Badge: the path runs through it.
    assert ladder.process_total == 1.5 + 3.0 + 0.25
    assert ladder.process_total != sum(s.process for s in metrics.stages)
    assert ladder.wait_total == 2.0 + 30.0 + 2.0
    assert ladder.lead_time_p50 == 50.0
    processes = [step for step in ladder.steps if step.kind == "process"]
    assert [step.stage_id for step in processes] == [
        stages["record"].pk,
        stages["laptop"].pk,
        stages["welcome"].pk,
    ]
    totals = [label.text for label in ladder.totals]
    assert totals[:3] == ["Process 4.8 h", "Wait 34 h", "Lead time p50 2.1 days"]
    # The employee's wait is shown apart, never added to the team's.
    assert "Employee wait 5 h" in totals
    assert "Employee wait 2 h" in [
        label.text for label in _box(stream_map, stages["welcome"]).labels
    ]


def test_figures_link_to_their_cases(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    stage_link = urlsplit(_box(stream_map, stages["laptop"]).href)
    assert stage_link.path == "/streams/onboarding/cases/"
    assert parse_qs(stage_link.query) == {
        "start": ["2026-10-01"],
        "end": ["2026-11-01"],
        "stage": [str(stages["laptop"].pk)],
    }
    handoff = _arrow(stream_map, stages["record"], stages["laptop"])
    assert parse_qs(urlsplit(handoff.href).query)["handoff"] == [
        f"{stages['record'].pk}-{stages['laptop'].pk}"
    ]
    assert all(label.href == handoff.href for label in handoff.labels)
    assert {label.href for label in stream_map.ladder.totals} == {CASES_URL}
    svg = _render(stream_map)
    assert (
        f'href="/streams/onboarding/cases/?start=2026-10-01&amp;end=2026-11-01&amp;stage={stages["laptop"].pk}"'
        in svg
    )


def test_links_are_built_on_a_cases_url_without_a_query(metrics, stages):
    stream_map = value_stream_map(metrics, cases_url="/streams/onboarding/cases/")

    assert _box(stream_map, stages["record"]).href == (
        f"/streams/onboarding/cases/?stage={stages['record'].pk}"
    )


def test_hidden_metrics_show_no_durations_and_no_links(stream, stages):
    metrics = _metrics(
        stream,
        [
            _stage(s, process=None, queue_wait=None, received=0, flawed=0, critical_cases=3)
            for s in stages.values()
        ],
        [HandoffMetrics(stages["record"], stages["laptop"], 240, Distribution(3), breaches=1)],
        hidden=True,
    )

    stream_map = value_stream_map(metrics, cases_url=CASES_URL)
    svg = _render(stream_map)

    assert stream_map.hidden
    assert not [text for text in _texts(stream_map) if DURATION.search(text)]
    assert not [arrow for arrow in stream_map.arrows if arrow.labels or arrow.href]
    assert "fewer than 5 cases" in svg
    assert "href" not in svg
    assert not DURATION.search(_parse(svg).find(f".//{SVG}desc").text)


def test_a_stage_name_is_escaped_in_the_svg(stream, stages, it_department):
    hostile = StageFactory(
        stream=stream,
        name="<script>alert(1)</script>",
        department=it_department,
        parallel_group=4,
    )
    metrics = _metrics(stream, [_stage(s) for s in [*stages.values(), hostile]])

    svg = _render(value_stream_map(metrics, cases_url=CASES_URL))

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    names = [el.text for el in _parse(svg).iter(f"{SVG}title")]
    assert "<script>alert(1)</script>" in names


def test_the_map_renders_as_an_svg_image_that_parses_as_xml(metrics):
    stream_map = value_stream_map(metrics, cases_url=CASES_URL)

    root = _parse(_render(stream_map))

    svg = root.find(f"{SVG}svg")
    assert svg.get("role") == "group"  # its boxes are links
    assert svg.get("viewBox") == f"0 0 {stream_map.width} {stream_map.height}"
    assert svg.find(f"{SVG}title").text == "Value-stream map of Onboarding"
    assert "Bottleneck: Laptop, with 60% of the wait." in svg.find(f"{SVG}desc").text
    assert len(svg.findall(f".//{SVG}a")) > 0


def test_a_stream_without_stages_still_renders(stream):
    stream_map = value_stream_map(_metrics(stream, []), cases_url=CASES_URL)

    svg = _parse(_render(stream_map)).find(f"{SVG}svg")

    assert stream_map.boxes == stream_map.arrows == stream_map.lanes == []
    assert svg.get("role") == "group"


@pytest.mark.parametrize(
    ("hours", "unit", "expected"),
    [
        (None, "", ""),
        (0.25, "", "15 min"),
        (0.999, "", "1 h"),
        (4.2, "", "4.2 h"),
        (47.0, "", "47 h"),
        (50.0, "", "2.1 days"),
        (12.0, "business", "12 h"),
        (20.0, "business", "2.5 working days"),
    ],
)
def test_duration_filter_reads_as_minutes_hours_or_days(hours, unit, expected):
    template = engines["django"].from_string("{% load valuestreams %}{{ hours|duration:unit }}")

    assert template.render({"hours": hours, "unit": unit}) == expected
