"""Reads of value streams: their flow measures from the rollup rows, the cases behind them.

Every function here runs a fixed number of queries whatever the history holds, and
aggregates in SQL: percentiles by nearest rank (on PostgreSQL each group's values gathered
in order and picked at their ranks, elsewhere `ROW_NUMBER` over the ordered values: the same
ranks in integers), sums and means by `GROUP BY`.

The small-group rule: when the viewer may not see every case of the period, an aggregate
of fewer than `SMALL_GROUP` cases is held back (counts stay, durations go).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from esm.cache import kept_until_rewritten
from esm.permissions import can
from services.models import ServiceRequest
from valuestreams.metrics import (
    SMALL_GROUP,
    Distribution,
    HandoffMetrics,
    Period,
    StageMetrics,
    StreamMetrics,
    StreamSummary,
    Trend,
    VariantMetrics,
)
from valuestreams.models import (
    CaseFlow,
    CaseHandoff,
    CaseStage,
    HandoffTarget,
    RollupWatermark,
    ValueStream,
)

PERCENTILES = (50, 85, 95)
MINUTES_PER_HOUR = 60
OPEN_STATES = ServiceRequest.OPEN_STATES
"""`ServiceRequest.objects.open()` named by the states it keeps: the few open requests of
the stream's items come through their index (`open_request_by_item`), where excluding the
finished ones reads every request the items ever had."""
TEAM_WAIT = F("queue_wait_minutes") + F("department_wait_minutes") + F("automation_wait_minutes")
"""A stage's wait that is the organisation's; waiting on the employee is apart."""


class NearestRank(Aggregate):
    """PostgreSQL's value at rank ceil(`percent` * n / 100) of the ordered values of the
    expression (nulls sort last and are not counted, so never reached): the nearest-rank
    percentile, in integers as `distributions` ranks them elsewhere."""

    name = "NearestRank"

    def __init__(self, expression: Any, percent: int) -> None:
        super().__init__(expression)
        self.percent = int(percent)

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        value, params = compiler.compile(self.get_source_expressions()[0])
        sql = f"(ARRAY_AGG({value} ORDER BY {value}))[({self.percent} * COUNT({value}) + 99) / 100]"
        return sql, [*params, *params, *params]


def distribution_figures(value: str, *, prefix: str) -> dict[str, Aggregate]:
    """`distributions`' figures of `value` as PostgreSQL aggregates named `prefix_…`, to be
    read with a page's other figures of the same rows in one scan (`distribution_of` reads
    them back). Nulls are left out as there: not counted, and ranked past the count."""
    return {
        f"{prefix}_n": Count(value),
        f"{prefix}_mean": Avg(value),
        **{f"{prefix}_p{p}": NearestRank(F(value), p) for p in PERCENTILES},
    }


def distribution_of(
    row: dict[str, Any], *, prefix: str, scale: float = MINUTES_PER_HOUR
) -> Distribution:
    """The distribution in `row`'s `distribution_figures`."""
    if not row[f"{prefix}_n"]:
        return Distribution(0)
    return Distribution(
        count=row[f"{prefix}_n"],
        mean=float(row[f"{prefix}_mean"]) / scale,
        **{f"p{p}": float(row[f"{prefix}_p{p}"]) / scale for p in PERCENTILES},
    )


def distributions(
    rows: QuerySet, value: str, *, by: Iterable[str] = (), scale: float = MINUTES_PER_HOUR
) -> dict[tuple, Distribution]:
    """Nearest-rank p50/p85/p95 and the mean of `value` over `rows`, per group of the `by`
    fields, in one query: on PostgreSQL one grouped read, each group's values gathered in
    order and picked at their ranks; elsewhere the rows are ranked by a window function and
    only the ranked rows that are percentiles come back."""
    by = list(by)
    if connection.vendor != "postgresql":
        return _ranked_distributions(rows, value, by=by, scale=scale)
    values = rows.filter(**{f"{value}__isnull": False}).order_by()
    figures = distribution_figures(value, prefix="d")
    if by:
        found = [
            (tuple(row[name] for name in by), row) for row in values.values(*by).annotate(**figures)
        ]
    else:
        found = [((), values.aggregate(**figures))]
    return {key: distribution_of(row, prefix="d", scale=scale) for key, row in found if row["d_n"]}


def _ranked_distributions(
    rows: QuerySet, value: str, *, by: list[str], scale: float
) -> dict[tuple, Distribution]:
    """`distributions` by a window function: ROW_NUMBER over the ordered values."""
    partition = [F(name) for name in by] or None
    keys = {f"_k{i}": F(name) for i, name in enumerate(by)}
    ranked = (
        rows.filter(**{f"{value}__isnull": False})
        .annotate(
            **keys,
            _v=F(value),
            _rn=Window(RowNumber(), partition_by=partition, order_by=F(value).asc()),
            _n=Window(Count("pk"), partition_by=partition),
            _mean=Window(Avg(value), partition_by=partition),
        )
        .values(*keys, "_v", "_rn", "_n", "_mean")
    )
    try:
        sql, params = ranked.query.sql_with_params()
    except EmptyResultSet:  # filtered on an empty list: nothing to rank
        return {}
    wanted = " OR ".join(f'"_rn" = ({p} * "_n" + 99) / 100' for p in PERCENTILES)
    columns = ", ".join(f'"{name}"' for name in [*keys, "_v", "_rn", "_n", "_mean"])
    with connection.cursor() as cursor:
        # Only our own column names are spliced in; values travel as parameters.
        query = f"SELECT {columns} FROM ({sql}) ranked WHERE {wanted}"  # noqa: S608
        cursor.execute(query, params)
        found = cursor.fetchall()
    by_key: dict[tuple, dict[str, Any]] = {}
    for *key, v, rank, n, mean in found:
        entry = by_key.setdefault(tuple(key), {"count": n, "mean": float(mean) / scale})
        for p in PERCENTILES:
            if rank == (p * n + 99) // 100:
                entry[f"p{p}"] = float(v) / scale
    return {key: Distribution(**entry) for key, entry in by_key.items()}


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else float(minutes) / MINUTES_PER_HOUR


def _invisible(viewer: Any) -> Q:
    """Cases the viewer may not see (a Q on CaseFlow)."""
    # NOT EXISTS, not NOT IN: past work_mem (a viewer who sees about a million cases)
    # PostgreSQL cannot hash a NOT IN list and scans it once per row.
    visible = ServiceRequest.objects.visible_to(viewer).filter(pk=OuterRef("service_request_id"))
    return ~Q(Exists(visible))


def _in(period: Period, prefix: str = "") -> Q:
    return Q(**{f"{prefix}resolved_at__gte": period.start, f"{prefix}resolved_at__lt": period.end})


def _trend(
    previous: Distribution, totals: dict[str, Any], period: Period, held_back: bool
) -> Trend:
    if held_back:
        return Trend(None, None, None)
    return Trend(
        lead_time_p50=previous.p50,
        flow_efficiency=_ratio(totals["prev_critical"], totals["prev_lead"]),
        throughput_per_week=previous.count / period.weeks,
    )


def _ratio(part: float | None, whole: float | None) -> float | None:
    return float(part) / float(whole) if part is not None and whole else None


def _period_label(period: Period) -> Case:
    previous = period.previous()
    return Case(
        When(_in(period), then=Value("now")),
        When(_in(previous), then=Value("before")),
        default=Value(""),
    )


def value_stream_summaries(
    *, streams: Iterable[ValueStream], period: Period, viewer: Any
) -> list[StreamSummary]:
    """The list of streams' headline figures: lead time, flow efficiency, throughput, WIP
    and the previous period's, for trend arrows. One query for any number of streams
    (their open cases read with them, a list of streams read again by its keys); one more
    (two on SQLite) for their totals and lead times the first time after a refresh of their
    rollups (they are kept), or every time while one of the streams was never refreshed;
    and one for the
    viewer's sight of the cases where a period holds too few to show to anyone who may not
    see them all (`_summaries_and_totals`)."""
    summaries, _, _, _ = _summaries_and_totals(streams, period, viewer)
    return summaries


@dataclass(frozen=True)
class Sight:
    """Whether a viewer may not see one of a stream's cases of a period and the one before."""

    hidden_now: bool = False
    hidden_before: bool = False


def _streams_with_open_cases(
    streams: Iterable[ValueStream],
) -> tuple[list[ValueStream], dict[int, int], Any]:
    """The streams, the open requests of each (WIP) and their rollups' versions together
    (`_versions`): one query (a list of streams is read again by its keys). A request is of
    one catalog item, listed once per stream, so a stream's join counts each request once."""
    if not isinstance(streams, QuerySet):
        given = list(streams)
        _, open_cases, version = _streams_with_open_cases(
            ValueStream.objects.filter(pk__in=[stream.pk for stream in given])
        )
        return given, open_cases, version
    counted = (
        ServiceRequest.objects.filter(
            state__in=OPEN_STATES, catalog_item__value_streams=OuterRef("pk")
        )
        .order_by()
        .values("catalog_item__value_streams")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    listed = list(
        streams.annotate(
            _open_cases=Coalesce(Subquery(counted), 0),
            _version=Subquery(
                RollupWatermark.objects.filter(stream=OuterRef("pk")).values("version")[:1]
            ),
        )
    )
    return listed, {stream.pk: stream._open_cases for stream in listed}, _versions(listed)


def _hidden_from(viewer: Any, stream_ids: list[int], period: Period) -> dict[int, Sight]:
    """Whether the viewer may not see one of each stream's cases resolved in the period
    and in the one before, by stream id: one query, none for no stream."""
    if not stream_ids:
        return {}
    flows = CaseFlow.objects.filter(stream=OuterRef("pk")).filter(_invisible(viewer))

    def hides_one(of: Period) -> Exists:
        # Whether one is hidden, not how many: EXISTS stops at the first, where a count
        # checks the viewer's sight of every case of the period (tens of thousands a month
        # at a large enterprise), and only a yes or no is ever read.
        return Exists(flows.filter(_in(of)))

    rows = (
        ValueStream.objects.filter(pk__in=stream_ids)
        .annotate(now=hides_one(period), before=hides_one(period.previous()))
        .values_list("pk", "now", "before")
    )
    return {pk: Sight(hidden_now=now, hidden_before=before) for pk, now, before in rows}


TOTALS = {
    "critical": Sum("critical_process_minutes"),
    "lead": Sum("lead_minutes"),
    "employee_wait": Avg("employee_wait_minutes"),
}
"""A stream's sums over its cases of a period: its critical path's process time and lead
time, and the mean wait on the employee."""


def _stream_figures(
    stream_ids: list[int], period: Period
) -> tuple[dict[int, dict[str, Any]], dict[tuple[int, str], Distribution]]:
    """Each stream's `TOTALS` over its cases resolved in the period and the one before (by
    stream id; none for a stream with no case in either), and the lead times of each (by
    stream id and "now" or "before"). One grouped read on PostgreSQL, where the lead times'
    percentiles are aggregates (`distribution_figures`); elsewhere two."""
    cases = _labelled_cases(stream_ids, period)
    grouped = cases.values("stream_id", "_period").order_by()
    if connection.vendor == "postgresql":
        rows = list(grouped.annotate(**TOTALS, **distribution_figures("lead_minutes", prefix="d")))
        leads = {
            (row["stream_id"], row["_period"]): distribution_of(row, prefix="d")
            for row in rows
            if row["d_n"]
        }
    else:
        rows = list(grouped.annotate(**TOTALS))
        leads = distributions(cases, "lead_minutes", by=["stream_id", "_period"])
    totals: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = totals.setdefault(
            row["stream_id"],
            dict.fromkeys(("critical", "lead", "prev_critical", "prev_lead", "employee_wait")),
        )
        if row["_period"] == "now":
            entry.update(
                critical=row["critical"], lead=row["lead"], employee_wait=row["employee_wait"]
            )
        else:
            entry.update(prev_critical=row["critical"], prev_lead=row["lead"])
    return totals, leads


def _labelled_cases(stream_ids: list[int], period: Period) -> QuerySet[CaseFlow]:
    """The streams' case rows resolved in the period or the one before, each labelled
    `_period` "now" or "before"."""
    return (
        CaseFlow.objects.filter(stream__in=stream_ids)
        .filter(_in(period) | _in(period.previous()))
        .annotate(_period=_period_label(period))
    )


def _versions(streams: list[ValueStream]) -> tuple[tuple[int, Any], ...] | None:
    """The streams' rollup versions, together: figures read from their case rows are kept
    in the cache under them (`esm.cache.kept_until_rewritten`) until one of the rollups
    rewrites its rows. None (nothing kept) when a stream was never refreshed."""
    if any(stream._version is None for stream in streams):
        return None
    return tuple((stream.pk, stream._version) for stream in streams)


def _summaries_and_totals(
    streams: Iterable[ValueStream], period: Period, viewer: Any, *, sight_of: Collection[int] = ()
) -> tuple[list[StreamSummary], dict[int, dict[str, Any]], dict[int, Sight], Any]:
    """`value_stream_summaries`, each stream's totals row (its sums and the mean wait on the
    employee over the period), the viewer's sight of the cases of the streams it was read
    for (`_hidden_from`; a stream missing from it was not asked about, so it says nothing
    of what the viewer sees) and their rollups' versions (`_versions`).

    A stream's sight of a period is read only where it changes what is shown: where the
    period holds cases, but fewer than `SMALL_GROUP` (a list of streams over a large
    history reads none), and for every stream in `sight_of`."""
    streams, open_cases, version = _streams_with_open_cases(streams)
    totals, leads = kept_until_rewritten(
        version,
        "stream-figures",
        (period.start, period.end),
        lambda: _stream_figures([stream.pk for stream in streams], period),
    )

    def few(stream: ValueStream, label: str) -> bool:
        return 0 < leads.get((stream.pk, label), Distribution(0)).count < SMALL_GROUP

    sight = _hidden_from(
        viewer,
        [
            stream.pk
            for stream in streams
            if stream.pk in sight_of or few(stream, "now") or few(stream, "before")
        ],
        period,
    )
    summaries = []
    for stream in streams:
        row = totals.get(stream.pk, {})
        seen = sight.get(stream.pk, Sight())
        now = leads.get((stream.pk, "now"), Distribution(0))
        before = leads.get((stream.pk, "before"), Distribution(0))
        hidden = seen.hidden_now and now.count < SMALL_GROUP
        held_back = seen.hidden_before and before.count < SMALL_GROUP
        summaries.append(
            StreamSummary(
                stream=stream,
                lead_time=Distribution(now.count) if hidden else now,
                flow_efficiency=None if hidden else _ratio(row.get("critical"), row.get("lead")),
                throughput_per_week=now.count / period.weeks,
                wip=open_cases.get(stream.pk, 0),
                previous=_trend(before, row, period, held_back) if row else None,
                hidden=hidden,
            )
        )
    return summaries, totals, sight, version


def _stage_metrics(
    stream: ValueStream, period: Period, sees_all: bool, version: Any
) -> list[StageMetrics]:
    rows = kept_until_rewritten(
        version, "stream-stages", (period.start, period.end), lambda: _stage_rows(stream, period)
    )
    total_wait = sum(float(row["wait_total"] or 0) for row in rows.values())
    bottleneck = max(rows, key=lambda pk: rows[pk]["wait_total"] or 0, default=None)
    if bottleneck is not None and not rows[bottleneck]["wait_total"]:
        bottleneck = None
    stages = []
    for stage in stream.stages.select_related("department"):
        row = rows.get(stage.pk)
        if row is None:
            stages.append(StageMetrics(stage=stage, cases=0))
            continue
        shown = sees_all or row["cases"] >= SMALL_GROUP
        stages.append(
            StageMetrics(
                stage=stage,
                cases=row["cases"],
                critical_cases=row["critical"],
                received=row["received"] or 0,
                flawed=(row["flawed"] or 0) if shown else 0,
                is_bottleneck=shown and stage.pk == bottleneck,
                held_back=not shown,
                **(
                    {
                        name: _hours(row[name])
                        for name in (
                            "process",
                            "queue_wait",
                            "department_wait",
                            "automation_wait",
                            "employee_wait",
                        )
                    }
                    | {"wait_share": _ratio(row["wait_total"], total_wait)}
                    if shown
                    else {}
                ),
            )
        )
    return stages


def _stage_rows(stream: ValueStream, period: Period) -> dict[int, dict[str, Any]]:
    """Each stage's figures over the stream's cases resolved in the period, by stage id."""
    return {
        row["stage_id"]: row
        for row in CaseStage.objects.filter(_in(period, "case__"), case__stream=stream)
        .values("stage_id")
        .annotate(
            cases=Count("pk"),
            process=Avg("process_minutes"),
            queue_wait=Avg("queue_wait_minutes"),
            department_wait=Avg("department_wait_minutes"),
            automation_wait=Avg("automation_wait_minutes"),
            employee_wait=Avg("employee_wait_minutes"),
            wait_total=Sum(
                F("queue_wait_minutes")
                + F("department_wait_minutes")
                + F("automation_wait_minutes")
            ),
            critical=Count("pk", filter=Q(on_critical_path=True)),
            received=Sum("received"),
            flawed=Sum("flawed"),
        )
    }


def _handoff_metrics(
    stream: ValueStream, stages: list[StageMetrics], period: Period, sees_all: bool, version: Any
) -> list[HandoffMetrics]:
    delays, breaches = kept_until_rewritten(
        version,
        "stream-handoffs",
        (period.start, period.end),
        lambda: _handoff_rows(stream, period),
    )
    targets = {
        (t.from_stage_id, t.to_stage_id): t.pickup_minutes
        for t in HandoffTarget.objects.filter(stream=stream)
    }
    stage_by_id = {metrics.stage.pk: metrics.stage for metrics in stages}
    handoffs = []
    for key in sorted(
        delays.keys() | targets.keys(),
        key=lambda k: (stage_by_id[k[0]].parallel_group, stage_by_id[k[1]].parallel_group, k),
    ):
        delay = delays.get(key, Distribution(0))
        shown = sees_all or delay.count >= SMALL_GROUP
        handoffs.append(
            HandoffMetrics(
                from_stage=stage_by_id[key[0]],
                to_stage=stage_by_id[key[1]],
                target_minutes=targets.get(key),
                delay=delay if shown else Distribution(delay.count),
                breaches=breaches.get(key, 0) if shown else 0,
            )
        )
    return handoffs


def _handoff_rows(
    stream: ValueStream, period: Period
) -> tuple[dict[tuple, Distribution], dict[tuple, int]]:
    """Each handoff's delays and breaches over the stream's cases resolved in the period,
    by (from stage id, to stage id)."""
    rows = CaseHandoff.objects.filter(_in(period, "case__"), case__stream=stream)
    delays = distributions(rows, "delay_minutes", by=["from_stage_id", "to_stage_id"])
    breaches = {
        (row["from_stage_id"], row["to_stage_id"]): row["breaches"]
        for row in rows.values("from_stage_id", "to_stage_id").annotate(
            breaches=Count("pk", filter=Q(breached=True))
        )
    }
    return delays, breaches


def value_stream_metrics(*, stream: ValueStream, period: Period, viewer: Any) -> StreamMetrics:
    """Every flow measure of the stream over the period, for the map page and the API."""
    # As a queryset, the stream's open cases come in one read (its totals are kept).
    (summary,), totals, sight, version = _summaries_and_totals(
        ValueStream.objects.filter(pk=stream.pk), period, viewer, sight_of=[stream.pk]
    )
    # Read with the summary: whether the viewer sees every case of the period (the stages'
    # figures depend on it), and the mean wait on the employee over it.
    sees_all = not sight[stream.pk].hidden_now
    employee_wait = totals.get(stream.pk, {}).get("employee_wait")
    stages = _stage_metrics(stream, period, sees_all, version)
    return StreamMetrics(
        stream=stream,
        period=period,
        lead_time=summary.lead_time,
        flow_efficiency=summary.flow_efficiency,
        throughput_per_week=summary.throughput_per_week,
        wip=summary.wip,
        employee_wait=None if summary.hidden else _hours(employee_wait),
        stages=stages,
        handoffs=_handoff_metrics(stream, stages, period, sees_all, version),
        previous=summary.previous,
        hidden=summary.hidden,
        sees_all=sees_all,
        rollup_version=version,
    )


def value_stream_variants(
    *, stream: ValueStream, period: Period, viewer: Any, metrics: StreamMetrics | None = None
) -> list[VariantMetrics]:
    """The distinct paths the period's cases took, most common first, with their lead
    times and how each went against the model. `metrics`, the stream's over the same
    period for the same viewer, when the page has them: their stages and whether the
    viewer sees every case are not read again."""
    in_period = CaseFlow.objects.filter(_in(period), stream=stream)
    version = None
    if metrics is not None:
        sees_all, version = metrics.sees_all, metrics.rollup_version
        stages = {figures.stage.pk: figures.stage for figures in metrics.stages}
    else:
        sees_all = not in_period.filter(_invisible(viewer)).exists()
        stages = {stage.pk: stage for stage in stream.stages.select_related("department")}
    leads = kept_until_rewritten(
        version,
        "stream-variants",
        (period.start, period.end),
        lambda: distributions(in_period, "lead_minutes", by=["variant", "conformance"]),
    )
    variants = []
    for (variant, conformance), lead in leads.items():
        path = tuple(
            tuple(stages[int(pk)] for pk in segment.split("+") if int(pk) in stages)
            for segment in variant.split(">")
            if segment
        )
        shown = sees_all or lead.count >= SMALL_GROUP
        variants.append(
            VariantMetrics(
                path=path,
                cases=lead.count,
                lead_time=lead if shown else Distribution(lead.count),
                conformance=conformance,
            )
        )
    return sorted(variants, key=lambda v: (-v.cases, v.conformance != "conforming"))


def value_stream_cases(
    *,
    stream: ValueStream,
    period: Period,
    viewer: Any,
    stage_id: int | None = None,
    handoff: tuple[int, int] | None = None,
) -> QuerySet[CaseFlow]:
    """The period's cases behind a figure that the viewer may see, slowest first: all of
    them, those that ran a stage (annotated with its times), or those that crossed a
    handoff (annotated with its delay)."""
    cases = (
        CaseFlow.objects.filter(_in(period), stream=stream)
        .exclude(_invisible(viewer))
        .select_related("service_request")
    )
    if stage_id is not None:
        cases = cases.filter(stages__stage_id=stage_id).annotate(
            process_minutes=F("stages__process_minutes"),
            wait_minutes=F("stages__queue_wait_minutes")
            + F("stages__department_wait_minutes")
            + F("stages__automation_wait_minutes"),
            employee_wait_at_stage=F("stages__employee_wait_minutes"),
        )
    if handoff is not None:
        cases = cases.filter(
            handoffs__from_stage_id=handoff[0], handoffs__to_stage_id=handoff[1]
        ).annotate(
            delay_minutes=F("handoffs__delay_minutes"),
            handoff_breached=F("handoffs__breached"),
        )
    return cases.order_by(F("lead_minutes").desc(nulls_last=True), "pk")


def value_streams_visible_to(viewer: Any) -> QuerySet[ValueStream]:
    """The streams the viewer may read (the `valuestreams.view_stream` rule as a queryset):
    live and retired ones for readers, drafts only for their owner and admins."""
    if not can(viewer, "valuestreams.view_streams"):
        return ValueStream.objects.none()
    streams = ValueStream.objects.select_related("owner")
    if can(viewer, "esm.use_admin"):
        return streams
    return streams.filter(~Q(status=ValueStream.Status.DRAFT) | Q(owner=viewer))


def value_stream_cases_hidden(*, stream: ValueStream, period: Period, viewer: Any) -> int:
    """How many of the period's cases the viewer may not see (left out of the drill-down)."""
    return CaseFlow.objects.filter(_in(period), stream=stream).filter(_invisible(viewer)).count()
