"""The value-stream map as a drawing: where every box, arrow and figure goes, in SVG units.

`value_stream_map` turns a stream's measures into plain numbers and strings; the partial
`valuestreams/_map.svg.html` only writes them out, so the layout rules live (and are tested)
here, and the page needs no JavaScript to show, scale or print the map.

The map reads the way lean value-stream maps do:
- one horizontal swim lane per department, in the order the department first appears in
  the stages; one column per parallel group, in group order, so stages that run side by
  side share a column (in their own lanes, or stacked when one department has several);
- arrows for the handoffs, labelled with the mean pick-up delay against its target and the
  breaches, and plain arrows between consecutive groups where nothing was measured;
- under the lanes, the process-vs-wait ladder along the critical path, with the totals at
  its end. Time waiting on the employee is shown apart: it is not the team's wait.

Every figure that stands for cases links to them. Under the small-group rule (`hidden`)
the map keeps its shape and says "fewer than 5 cases" instead of figures, with no links.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from textwrap import wrap
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from valuestreams.formatting import duration, percent
from valuestreams.metrics import SMALL_GROUP, HandoffMetrics, StageMetrics, StreamMetrics
from valuestreams.models import Stage

MARGIN = 16
LEAD_WIDTH = 136
"""Left of the first column: the lanes' names, and the ladder's first wait under them."""
BOX_WIDTH = 176
FLAG_HEIGHT = 22
"""The "Bottleneck" band along the bottom of a box."""
GAP = 136
"""Between columns: room for a handoff label such as "12.5 h / target 16 h"."""
LANE_TOP = 14
ROW_GAP = 14
LANE_BOTTOM = 22
"""Below a lane's boxes: the channel for arrows that skip a column."""
LADDER_HEIGHT = 104
TOTALS_GAP = 24
TOTALS_WIDTH = 184
LEGIBLE_SCALE = 0.8
"""The smallest scale the map is drawn at: 12-unit figures stay at about 10 px on a phone,
where the map scrolls sideways instead of shrinking further."""

LINE = 15
LABEL_LINE = 13
NAME_LINE = 16
NAME_CHARS = 20
LANE_NAME_CHARS = 16
LABEL_CHARS = 21
"""About what fits on one line of a box, a lane's name or a handoff label (12 units)."""

NOT_MEASURED = "not measured"
HIDDEN = f"fewer than {SMALL_GROUP} cases"


@dataclass(frozen=True)
class Label:
    """One line of text. `anchor` is SVG's text-anchor; `href` makes it a link."""

    x: float
    y: float
    text: str
    css: str = "vsm-figure"
    anchor: str = "start"
    href: str = ""


@dataclass(frozen=True)
class Lane:
    department: str
    x: float
    y: float
    width: float
    height: float
    labels: list[Label]
    css: str


@dataclass(frozen=True)
class StageBox:
    stage_id: int | None
    name: str
    column: int
    x: float
    y: float
    width: float
    height: float
    labels: list[Label]
    """Positioned in the map, like every other label; the box links as a whole."""
    href: str
    is_bottleneck: bool
    on_critical_path: bool

    @property
    def css(self) -> str:
        return "vsm-box vsm-bottleneck" if self.is_bottleneck else "vsm-box"

    @property
    def flag_band(self) -> str:
        """The band along the bottom of a bottleneck's box, following its rounded corners."""
        x, bottom, w = self.x, self.y + self.height, self.width
        top, side = bottom - FLAG_HEIGHT, FLAG_HEIGHT - 6
        return f"M {x} {top} h {w} v {side} a 6 6 0 0 1 -6 6 h {12 - w} a 6 6 0 0 1 -6 -6 z"


@dataclass(frozen=True)
class Arrow:
    from_stage_id: int | None
    to_stage_id: int | None
    path: str
    """SVG path data, ending at the downstream box's edge (the arrowhead's point)."""
    labels: list[Label]
    href: str
    measured: bool
    """Drawn from a handoff's figures; a plain arrow only shows that the work flows on."""
    breached: bool

    @property
    def css(self) -> str:
        if self.breached:
            return "vsm-arrow vsm-breached"
        return "vsm-arrow" if self.measured else "vsm-arrow vsm-plain"


@dataclass(frozen=True)
class LadderStep:
    kind: str
    """"wait" or "process"."""
    stage_id: int | None
    x1: float
    x2: float
    y: float
    hours: float | None
    labels: list[Label]


@dataclass(frozen=True)
class Ladder:
    path: str
    steps: list[LadderStep]
    totals: list[Label]
    labels: list[Label]
    """The ladder's heading."""
    process_total: float | None
    wait_total: float | None
    lead_time_p50: float | None


@dataclass(frozen=True)
class StreamMap:
    uid: str
    """Prefixes the SVG ids (title, markers), so two maps can share a page."""
    title: str
    description: str
    width: float
    height: float
    lanes: list[Lane]
    boxes: list[StageBox]
    arrows: list[Arrow]
    ladder: Ladder
    hidden: bool
    columns: list[int] = field(default_factory=list)
    """The parallel groups, left to right."""

    @property
    def min_width(self) -> int:
        return round(self.width * LEGIBLE_SCALE)

    @property
    def min_height(self) -> int:
        return round(self.height * LEGIBLE_SCALE)


def value_stream_map(metrics: StreamMetrics, *, cases_url: str) -> StreamMap:
    """Lay out the map of `metrics`, linking figures to `cases_url` (which carries the period).

    Expects each stage with its department loaded (the selector's `select_related`): the
    layout reads `stage.department` for every stage. Figures link only for saved stages. Handoffs
    between stages that are not in `metrics.stages`, or that do not flow forward, are left
    out: the model allows neither.
    """
    hidden = metrics.hidden
    stages = sorted(
        metrics.stages,
        key=lambda s: (s.stage.parallel_group, s.stage.position, s.stage.pk or 0),
    )
    groups = sorted({s.stage.parallel_group for s in stages})
    column_of = {group: index for index, group in enumerate(groups)}
    lanes_order: list[tuple[int | None, str]] = []
    for s in stages:
        key = _lane_key(s)
        if key not in lanes_order:
            lanes_order.append(key)

    # A lane is as tall as its busiest column: stages of one department in one group stack.
    rows: dict[tuple[tuple[int | None, str], int], list[StageMetrics]] = defaultdict(list)
    for s in stages:
        rows[_lane_key(s), column_of[s.stage.parallel_group]].append(s)
    lane_rows = {
        key: max(len(cell) for (lane, _), cell in rows.items() if lane == key)
        for key in lanes_order
    }

    columns_width = len(groups) * BOX_WIDTH + max(len(groups) - 1, 0) * GAP
    width = MARGIN + LEAD_WIDTH + columns_width + TOTALS_GAP + TOTALS_WIDTH + MARGIN
    critical = _critical_stages(stages, column_of)
    # One height for every box of the map, enough for the wordiest, so the columns line up.
    texts = {id(s): _box_text(s, hidden) for s in stages}
    box_height = max((text.height for text in texts.values()), default=0)
    # ...and tall enough that the labels of the handoffs arriving at one box (two lines
    # each, stacked above their arrows) do not run into each other.
    arriving = Counter(_stage_key(h.to_stage) for h in metrics.handoffs)
    box_height = max(box_height, (max(arriving.values(), default=0) + 1) * 2 * LABEL_LINE)

    lanes: list[Lane] = []
    boxes: dict[int, StageBox] = {}
    lane_of: dict[int, Lane] = {}
    y = MARGIN
    for index, key in enumerate(lanes_order):
        height = LANE_TOP + lane_rows[key] * (box_height + ROW_GAP) - ROW_GAP + LANE_BOTTOM
        names = wrap(key[1], LANE_NAME_CHARS, max_lines=3, placeholder="…") or [""]
        lane = Lane(
            department=key[1],
            x=MARGIN // 2,
            y=y,
            width=width - MARGIN,
            height=height,
            labels=[
                Label(MARGIN + 10, y + 24 + i * NAME_LINE, line, "vsm-lane-name")
                for i, line in enumerate(names)
            ],
            css="vsm-lane vsm-lane-alt" if index % 2 else "vsm-lane",
        )
        lanes.append(lane)
        for column in range(len(groups)):
            for row, s in enumerate(rows.get((key, column), [])):
                box = _stage_box(
                    s,
                    texts[id(s)],
                    column=column,
                    x=_column_x(column),
                    y=y + LANE_TOP + row * (box_height + ROW_GAP),
                    height=box_height,
                    on_critical_path=any(s is c for c in critical.values()),
                    hidden=hidden,
                    cases_url=cases_url,
                )
                boxes[id(s.stage)] = box
                lane_of[id(s.stage)] = lane
        y += height

    arrows = _arrows(metrics.handoffs, stages, boxes, lane_of, column_of, hidden, cases_url)
    ladder = _ladder(metrics, critical, len(groups), stages, y + 12, hidden, cases_url)
    stream = metrics.stream
    return StreamMap(
        uid=f"vsm-{stream.slug or stream.pk or 'stream'}",
        title=f"Value-stream map of {stream.name}",
        description=_description(metrics, stages, lanes, groups, ladder),
        width=width,
        height=y + 12 + LADDER_HEIGHT + MARGIN,
        lanes=lanes,
        boxes=list(boxes.values()),
        arrows=arrows,
        ladder=ladder,
        hidden=hidden,
        columns=groups,
    )


def cases_link(cases_url: str, **params: str) -> str:
    """`cases_url` with `params` set in its query, whether or not it already has one."""
    parts = urlsplit(cases_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _lane_key(s: StageMetrics) -> tuple[int | None, str]:
    return (s.stage.department_id, s.stage.department.name)


def _column_x(column: int) -> float:
    return MARGIN + LEAD_WIDTH + column * (BOX_WIDTH + GAP)


def _stage_link(s: StageMetrics, cases_url: str, hidden: bool) -> str:
    if hidden or s.stage.pk is None:
        return ""
    return cases_link(cases_url, stage=str(s.stage.pk))


def _critical_stages(
    stages: list[StageMetrics], column_of: dict[int, int]
) -> dict[int, StageMetrics]:
    """Per column, the stage most often last of its group to finish (so on the critical
    path); on a tie, the longer one, then the first in the stream's order."""
    critical: dict[int, StageMetrics] = {}
    for s in stages:
        column = column_of[s.stage.parallel_group]
        best = critical.get(column)
        if best is None or _criticality(s) > _criticality(best):
            critical[column] = s
    return critical


def _criticality(s: StageMetrics) -> tuple[int, float]:
    return (s.critical_cases, (s.process or 0.0) + (s.wait or 0.0))


@dataclass(frozen=True)
class _BoxText:
    names: list[str]
    figures: list[tuple[str, str]]
    """(text, css) per line."""
    flagged: bool

    @property
    def height(self) -> float:
        flag = FLAG_HEIGHT if self.flagged else 0
        return 10 + len(self.names) * NAME_LINE + 4 + len(self.figures) * LINE + 6 + flag


def _box_text(s: StageMetrics, hidden: bool) -> _BoxText:
    names = wrap(s.stage.name, NAME_CHARS, max_lines=2, placeholder="…") or [""]
    if hidden:
        return _BoxText(names, [(HIDDEN, "vsm-figure vsm-muted")], flagged=False)
    cases = f"{s.cases} case" if s.cases == 1 else f"{s.cases} cases"
    accuracy = s.percent_complete_accurate
    if accuracy is not None:
        cases += f" · %C&A {percent(accuracy)}"
    wait = f"Wait {duration(s.wait) or NOT_MEASURED}"
    if s.wait_share is not None:
        wait += f" ({percent(s.wait_share)})"
    figures = [
        (cases, "vsm-figure"),
        (f"Process {duration(s.process) or NOT_MEASURED}", "vsm-figure"),
        (wait, "vsm-figure vsm-wait" if s.is_bottleneck else "vsm-figure"),
    ]
    if s.employee_wait is not None:
        figures.append((f"Employee wait {duration(s.employee_wait)}", "vsm-figure vsm-muted"))
    return _BoxText(names, figures, flagged=s.is_bottleneck)


def _stage_box(
    s: StageMetrics,
    text: _BoxText,
    *,
    column: int,
    x: float,
    y: float,
    height: float,
    on_critical_path: bool,
    hidden: bool,
    cases_url: str,
) -> StageBox:
    labels = [
        Label(x + 10, y + 20 + i * NAME_LINE, line, "vsm-name") for i, line in enumerate(text.names)
    ]
    top = y + 20 + len(text.names) * NAME_LINE + 4
    labels += [
        Label(x + 10, top + i * LINE, line, css) for i, (line, css) in enumerate(text.figures)
    ]
    if text.flagged:
        labels.append(Label(x + 10, y + height - 6, "Bottleneck", "vsm-flag"))
    return StageBox(
        stage_id=s.stage.pk,
        name=s.stage.name,
        column=column,
        x=x,
        y=y,
        width=BOX_WIDTH,
        height=height,
        labels=labels,
        href=_stage_link(s, cases_url, hidden),
        is_bottleneck=text.flagged,
        on_critical_path=on_critical_path,
    )


@dataclass
class _Route:
    source: StageMetrics
    target: StageMetrics
    handoff: HandoffMetrics | None
    start_y: float = 0.0
    end_y: float = 0.0


def _arrows(
    handoffs: list[HandoffMetrics],
    stages: list[StageMetrics],
    boxes: dict[int, StageBox],
    lane_of: dict[int, Lane],
    column_of: dict[int, int],
    hidden: bool,
    cases_url: str,
) -> list[Arrow]:
    by_stage = {_stage_key(s.stage): s for s in stages}
    routes: list[_Route] = []
    for handoff in handoffs:
        source = by_stage.get(_stage_key(handoff.from_stage))
        target = by_stage.get(_stage_key(handoff.to_stage))
        if source and target and _col(source, column_of) < _col(target, column_of):
            routes.append(_Route(source, target, handoff))

    # Where no handoff was measured, the work still flows from one group to the next. Plain
    # arrows join the stages that have no way out yet to those that have no way in, so no
    # stage looks unreachable or like a dead end, with as few arrows as that takes.
    has_out = {id(r.source) for r in routes}
    has_in = {id(r.target) for r in routes}
    by_column: dict[int, list[StageMetrics]] = defaultdict(list)
    for s in stages:
        by_column[_col(s, column_of)].append(s)
    for column in range(len(by_column) - 1):
        upstream, downstream = by_column[column], by_column[column + 1]
        dead_ends = [s for s in upstream if id(s) not in has_out]
        unreached = [s for s in downstream if id(s) not in has_in]
        if not (dead_ends or unreached):
            continue
        for source in dead_ends or upstream:
            for target in unreached or downstream:
                routes.append(_Route(source, target, None))
                has_out.add(id(source))
                has_in.add(id(target))

    # Spread the arrows leaving (and entering) one box along its edge, in the order of the
    # boxes at their other end, so they neither overlap nor cross at the box.
    def box(s: StageMetrics) -> StageBox:
        return boxes[id(s.stage)]

    for attr, end, other in (("start_y", "source", "target"), ("end_y", "target", "source")):
        by_box: dict[int, list[_Route]] = defaultdict(list)
        for route in routes:
            by_box[id(getattr(route, end).stage)].append(route)
        for group in by_box.values():
            group.sort(
                key=lambda r, other=other: (box(getattr(r, other)).y, box(getattr(r, other)).x)
            )
            for i, route in enumerate(group):
                b = box(getattr(route, end))
                setattr(route, attr, round(b.y + b.height * (i + 1) / (len(group) + 1), 1))

    arrows = []
    turns: dict[int, int] = defaultdict(int)
    for route in routes:
        start, end = box(route.source), box(route.target)
        x1, x2 = start.x + start.width, end.x
        # Vertical runs in one gap sit a few units apart, nearest the upstream side.
        turn = turns[start.column]
        turns[start.column] += 1
        xa = x1 + 12 + 7 * min(turn, 8)
        if end.column == start.column + 1:
            path = f"M {x1} {route.start_y} H {xa} V {route.end_y} H {x2}"
        else:
            lane = lane_of[id(route.source.stage)]
            channel = lane.y + lane.height - LANE_BOTTOM / 2
            xb = x2 - 20 - 7 * min(turn, 8)
            path = f"M {x1} {route.start_y} H {xa} V {channel} H {xb} V {route.end_y} H {x2}"
        arrows.append(_arrow(route, path, x2, hidden, cases_url))
    return arrows


def _arrow(route: _Route, path: str, x2: float, hidden: bool, cases_url: str) -> Arrow:
    handoff = route.handoff
    source, target = route.source.stage, route.target.stage
    if handoff is None or hidden:
        return Arrow(source.pk, target.pk, path, [], "", handoff is not None, False)
    mean = handoff.delay.mean
    target_hours = handoff.target_minutes / 60 if handoff.target_minutes else None
    breached = mean is not None and target_hours is not None and mean > target_hours
    lines = _handoff_lines(mean, target_hours, handoff)
    href = ""
    if source.pk is not None and target.pk is not None:
        href = cases_link(cases_url, handoff=f"{source.pk}-{target.pk}")
    css = "vsm-handoff vsm-breached" if breached else "vsm-handoff"
    bottom = route.end_y - 5
    labels = [
        Label(x2 - 6, bottom - (len(lines) - 1 - i) * LABEL_LINE, text, css, "end", href)
        for i, text in enumerate(lines)
    ]
    return Arrow(source.pk, target.pk, path, labels, href, True, breached)


def _handoff_lines(
    mean: float | None, target_hours: float | None, handoff: HandoffMetrics
) -> list[str]:
    measured = duration(mean, business=True)
    target = duration(target_hours, business=True)
    if measured and target:
        both = f"{measured} / target {target}"
        lines = [both] if len(both) <= LABEL_CHARS else [measured, f"/ target {target}"]
    elif measured:
        lines = [measured]
    elif target:
        lines = [f"target {target}"]
    else:
        lines = []
    if target and handoff.breaches:
        n = handoff.breaches
        lines.append(f"{n} breach" if n == 1 else f"{n} breaches")
    return lines


def _ladder(
    metrics: StreamMetrics,
    critical: dict[int, StageMetrics],
    columns: int,
    stages: list[StageMetrics],
    top: float,
    hidden: bool,
    cases_url: str,
) -> Ladder:
    high, low = top + 46, top + 76
    heading = "Critical path: waiting above the line, working below it"
    path = [f"M {MARGIN + 4} {high}"]
    steps: list[LadderStep] = []
    # Where a column has several stages, the ladder says which one it follows (not when the
    # figures are held back: which stage finished last is a fact about the cases too).
    sizes = Counter(s.stage.parallel_group for s in stages)
    step = ("vsm-step", "middle")
    wait_start = MARGIN + 4
    for column in range(columns):
        s = critical[column]
        x = _column_x(column)
        href = _stage_link(s, cases_url, hidden)
        wait_labels, process_labels = [], []
        if not hidden:
            wait_text, process_text = duration(s.wait), duration(s.process)
            wait_labels.append(
                Label((wait_start + x) / 2, high - 7, wait_text or NOT_MEASURED, *step, href)
            )
            process_labels.append(
                Label(x + BOX_WIDTH / 2, low + 17, process_text or NOT_MEASURED, *step, href)
            )
        if sizes[s.stage.parallel_group] > 1 and not hidden:
            name = wrap(s.stage.name, NAME_CHARS, max_lines=1, placeholder="…")[0]
            process_labels.append(
                Label(x + BOX_WIDTH / 2, low + 31, f"via {name}", "vsm-figure vsm-muted", "middle")
            )
        steps.append(LadderStep("wait", s.stage.pk, wait_start, x, high, s.wait, wait_labels))
        steps.append(
            LadderStep("process", s.stage.pk, x, x + BOX_WIDTH, low, s.process, process_labels)
        )
        path.append(f"H {x} V {low} H {x + BOX_WIDTH}")
        if column < columns - 1:
            path.append(f"V {high}")
        wait_start = x + BOX_WIDTH

    process_total = _known_sum(s.process for s in critical.values())
    wait_total = _known_sum(s.wait for s in critical.values())
    lead_time = metrics.lead_time.p50
    totals_x = MARGIN + LEAD_WIDTH + columns * (BOX_WIDTH + GAP) - GAP + TOTALS_GAP
    if not columns:
        totals_x = MARGIN + LEAD_WIDTH
    if hidden:
        lines = [("Totals", "vsm-total"), (HIDDEN, "vsm-figure vsm-muted")]
        href = ""
    else:
        lines = [
            (f"Process {duration(process_total) or NOT_MEASURED}", "vsm-total"),
            (f"Wait {duration(wait_total) or NOT_MEASURED}", "vsm-total"),
            (f"Lead time p50 {duration(lead_time) or NOT_MEASURED}", "vsm-total"),
            (f"Flow efficiency {percent(metrics.flow_efficiency) or NOT_MEASURED}", "vsm-figure"),
        ]
        if metrics.employee_wait is not None:
            lines.append(
                (f"Employee wait {duration(metrics.employee_wait)}", "vsm-figure vsm-muted")
            )
        href = cases_url
    totals = [
        Label(totals_x, top + 18 + i * 17, text, css, "start", href)
        for i, (text, css) in enumerate(lines)
    ]
    return Ladder(
        path=" ".join(path) if columns else "",
        steps=steps,
        totals=totals,
        labels=[Label(MARGIN + 4, top + 16, heading, "vsm-figure vsm-muted")],
        process_total=None if hidden else process_total,
        wait_total=None if hidden else wait_total,
        lead_time_p50=None if hidden else lead_time,
    )


def _description(
    metrics: StreamMetrics,
    stages: list[StageMetrics],
    lanes: list[Lane],
    groups: list[int],
    ladder: Ladder,
) -> str:
    stage_count = f"{len(stages)} stage" if len(stages) == 1 else f"{len(stages)} stages"
    lane_count = f"{len(lanes)} department" if len(lanes) == 1 else f"{len(lanes)} departments"
    parts = [
        f"{stage_count} of {metrics.stream.name} in {lane_count}, "
        f"in {len(groups)} steps from left to right; stages in one column run side by side."
    ]
    if metrics.hidden:
        parts.append(f"Figures are not shown: {HIDDEN}.")
        return " ".join(parts)
    if metrics.lead_time.p50 is not None:
        parts.append(f"Lead time p50 {duration(metrics.lead_time.p50)}.")
    if ladder.process_total is not None:
        parts.append(f"Process time on the critical path {duration(ladder.process_total)}.")
    if metrics.flow_efficiency is not None:
        parts.append(f"Flow efficiency {percent(metrics.flow_efficiency)}.")
    bottleneck = metrics.bottleneck
    if bottleneck is not None:
        share = percent(bottleneck.wait_share)
        parts.append(
            f"Bottleneck: {bottleneck.stage.name}"
            + (f", with {share} of the wait." if share else ".")
        )
    return " ".join(parts)


def _known_sum(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _stage_key(stage: Stage) -> int:
    """Handoffs may hold other instances of the stages: match saved ones by id."""
    return stage.pk if stage.pk is not None else id(stage)


def _col(s: StageMetrics, column_of: dict[int, int]) -> int:
    return column_of[s.stage.parallel_group]
