"""Reads of journeys: every touchpoint's friction signals over a period, the emotion curve,
and a touchpoint's drill-down (its weeks, its employees' comments), from the rollup rows.

Every function runs a fixed number of queries whatever the journey or the history holds:
sums, means and counts by `GROUP BY touchpoint`, percentiles by nearest rank in one query
(`valuestreams.selectors.flow.distributions`).

A period's cases are those resolved in it; its days are the local days it covers. The
small-group rule is that of value streams: when the viewer may not see every case of a
touchpoint in the period and it has fewer than `SMALL_GROUP`, its durations and rates are
held back (`hidden`); counts stay. Form starts and article reads are no one's case, so
their rates always show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from esm.cache import kept_until_rewritten
from journeys.metrics import (
    SMALL_GROUP,
    Distribution,
    JourneyMetrics,
    Period,
    StageEmotion,
    TouchpointSignals,
)
from journeys.models import (
    JourneyMap,
    JourneyRollupWatermark,
    Touchpoint,
    TouchpointCase,
    TouchpointDay,
)
from journeys.scores import score_weights, touchpoint_scored
from services.models import Comment, ServiceRequest
from valuestreams.selectors.flow import distribution_figures, distribution_of, distributions

MINUTES_PER_HOUR = 60
LOW_RATINGS = (1, 2)


def _invisible(viewer: Any) -> Q:
    """Cases the viewer may not see (a Q on TouchpointCase)."""
    # NOT EXISTS, not NOT IN: past work_mem (a viewer who sees about a million cases)
    # PostgreSQL cannot hash a NOT IN list and scans it once per row.
    visible = ServiceRequest.objects.visible_to(viewer).filter(pk=OuterRef("service_request_id"))
    return ~Q(Exists(visible))


def _holding_hidden_cases(
    cases: QuerySet[TouchpointCase], viewer: Any, *, small: list[int]
) -> set[int]:
    """Of the `small` touchpoints (fewer than `SMALL_GROUP` of `cases`), those with a case
    `viewer` may not see: only there does a hidden case hold the figures back (`_signals`).
    One query, which checks the viewer's sight of those touchpoints' cases alone (none when
    no touchpoint is small); checking every case of the period cost the journey map most
    of its time at a large enterprise."""
    return set(
        cases.filter(_invisible(viewer), touchpoint_id__in=small)
        .order_by()
        .values_list("touchpoint_id", flat=True)
        .distinct()
    )


def _resolved_in(period: Period) -> Q:
    return Q(resolved_at__gte=period.start, resolved_at__lt=period.end)


def _days_of(period: Period) -> Q:
    """The local days the period covers (its last moment's day included)."""
    last = period.end - dt.timedelta(microseconds=1)
    return Q(day__gte=timezone.localdate(period.start), day__lte=timezone.localdate(last))


def _ratio(part: float | None, whole: float | None) -> float | None:
    return float(part) / float(whole) if part is not None and whole else None


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else float(minutes) / MINUTES_PER_HOUR


def _answer_variation(distinct: int, answered: int) -> float | None:
    """0 when every request came with the same answers, 1 when no two were alike."""
    if not answered:
        return None
    return (distinct - 1) / (answered - 1) if answered > 1 else 0.0


CASE_FIGURES = {
    "t_cases": Count("pk"),
    "t_resolution_total": Sum("resolution_minutes"),
    "t_team_wait_total": Sum("team_wait_minutes"),
    "t_handoffs": Avg("handoffs"),
    "t_bounces": Avg("bounces"),
    "t_consults": Avg("consults"),
    "t_reopened": Count("pk", filter=Q(reopened=True)),
    "t_approval": Avg("approval_minutes"),
    "t_missing_information": Avg("missing_information"),
    "t_breached": Count("pk", filter=Q(end_to_end_breached=True)),
    "t_targets": Sum("department_targets"),
    "t_targets_met": Sum("department_targets_met"),
    "t_human_steps": Sum("human_steps"),
    "t_steps": Sum(F("human_steps") + F("automated_steps")),
    "t_answered": Count("pk", filter=~Q(answers_key="")),
    "t_answer_sets": Count("answers_key", filter=~Q(answers_key=""), distinct=True),
    "t_ratings": Count("rating"),
    "t_rating_mean": Avg("rating"),
    **{f"t_rated_{score}": Count("pk", filter=Q(rating=score)) for score in range(1, 6)},
    "t_sentiment": Avg("sentiment"),
    "t_employee_comments": Sum("employee_comments"),
}


def _signals(
    touchpoint: Touchpoint,
    row: dict[str, Any],
    resolution: Distribution,
    day: dict[str, Any],
) -> TouchpointSignals:
    cases = row.get("t_cases", 0)
    starts, reads = day.get("d_starts") or 0, day.get("d_reads") or 0
    days = {
        "form_starts": starts,
        "abandonment_rate": _ratio(day.get("d_abandoned"), starts),
        "article_reads": reads,
        "deflection_rate": _ratio(day.get("d_deflections"), reads),
    }
    ratings = row.get("t_ratings", 0)
    counts = {
        "touchpoint": touchpoint,
        "cases": cases,
        "ratings": ratings,
        "employee_comments": row.get("t_employee_comments") or 0,
    }
    hidden = bool(row.get("t_hidden")) and cases < SMALL_GROUP
    if hidden or not cases:
        return TouchpointSignals(
            **counts, **days, resolution=Distribution(resolution.count), hidden=hidden
        )
    distribution = tuple(row[f"t_rated_{score}"] for score in range(1, 6))
    return TouchpointSignals(
        **counts,
        **days,
        resolution=resolution,
        wait_share=_ratio(row["t_team_wait_total"], row["t_resolution_total"]),
        handoffs_per_request=row["t_handoffs"],
        bounces_per_request=row["t_bounces"],
        consults_per_request=row["t_consults"],
        reopen_rate=row["t_reopened"] / cases,
        approval_delay=_hours(row["t_approval"]),
        missing_information_rate=row["t_missing_information"],
        breach_rate=row["t_breached"] / cases,
        department_target_attainment=_ratio(row["t_targets_met"], row["t_targets"]),
        human_step_share=_ratio(row["t_human_steps"], row["t_steps"]),
        answer_variation=_answer_variation(row["t_answer_sets"], row["t_answered"]),
        response_rate=ratings / cases,
        rating_mean=None if row["t_rating_mean"] is None else float(row["t_rating_mean"]),
        rating_distribution=distribution,  # type: ignore[arg-type]
        low_rating_share=_ratio(sum(distribution[s - 1] for s in LOW_RATINGS), ratings),
        sentiment=None if row["t_sentiment"] is None else float(row["t_sentiment"]),
    )


def _scored(signals: list[TouchpointSignals]) -> list[TouchpointSignals]:
    """The one place the scores are put on the signals (`emotion`, `friction`): the
    weights are read once for all touchpoints."""
    weights = score_weights()
    return [touchpoint_scored(each, weights) for each in signals]


def _curve(journey: JourneyMap, touchpoints: list[TouchpointSignals]) -> list[StageEmotion]:
    """Each stage's emotion: its touchpoints' emotion, weighted by their cases."""
    curve = []
    for stage in journey.stages.all():
        own = [s for s in touchpoints if s.touchpoint.stage_id == stage.pk]
        scored = [s for s in own if s.emotion.value is not None and s.cases]
        weight = sum(s.cases for s in scored)
        emotion = sum(s.emotion.value * s.cases for s in scored) / weight if weight else None
        curve.append(StageEmotion(stage=stage, emotion=emotion, cases=sum(s.cases for s in own)))
    return curve


def _case_figures(
    cases: QuerySet[TouchpointCase],
    touchpoints: list[Touchpoint],
    period: Period,
    *,
    with_resolution: bool,
) -> dict[int, dict[str, Any]]:
    """`CASE_FIGURES` (and the resolution times' percentiles `with_resolution`) of each
    touchpoint's `cases`, by touchpoint id.

    They are the same for every reader (a small touchpoint's hidden cases are asked apart)
    and change only when the journey's rollup rewrites its case rows, which gives them a
    new `version` (`journeys.rollups`): so they are kept in the cache under it. A month of
    a busy journey's cases is some 30,000 rows (25 ms at a million requests) that the
    map's readers would otherwise aggregate again on every visit between refreshes."""
    resolution = distribution_figures("resolution_minutes", prefix="r") if with_resolution else {}

    def compute() -> dict[int, dict[str, Any]]:
        rows = cases.values("touchpoint_id").annotate(**CASE_FIGURES, **resolution).order_by()
        return {row["touchpoint_id"]: row for row in rows}

    return kept_until_rewritten(
        touchpoints[0].rollup_version if touchpoints else None,
        "journey-case-figures",
        (period.start, period.end, [t.pk for t in touchpoints], with_resolution),
        compute,
    )


def journey_metrics(*, journey: JourneyMap, period: Period, viewer: Any) -> JourneyMetrics:
    """Every touchpoint's signals over the period (cases resolved in it, days in it), and
    the emotion curve, in seven queries at most: the touchpoints (with their rollup's
    version), their cases' figures (on PostgreSQL with the resolution times' percentiles;
    elsewhere these take one more; none while the rollup is unchanged, `_case_figures`),
    the small touchpoints' hidden cases (when a touchpoint is small), the days, the score
    weights and the stages."""
    version = JourneyRollupWatermark.objects.filter(journey=journey).values("version")[:1]
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey=journey)
        .select_related("stage", "department")
        .annotate(rollup_version=Subquery(version))
    )
    cases = TouchpointCase.objects.filter(_resolved_in(period), touchpoint__in=touchpoints)
    # On PostgreSQL the resolution times' percentiles come in the same scan of the cases.
    in_sql = connection.vendor == "postgresql"
    rows = _case_figures(cases, touchpoints, period, with_resolution=in_sql)
    small = [pk for pk, row in rows.items() if row["t_cases"] < SMALL_GROUP]
    for touchpoint_id in _holding_hidden_cases(cases, viewer, small=small):
        rows[touchpoint_id]["t_hidden"] = True
    if in_sql:
        resolutions = {(pk,): distribution_of(row, prefix="r") for pk, row in rows.items()}
    else:
        resolutions = distributions(cases, "resolution_minutes", by=["touchpoint_id"])
    days = {
        row["touchpoint_id"]: row
        for row in TouchpointDay.objects.filter(_days_of(period), touchpoint__in=touchpoints)
        .values("touchpoint_id")
        .annotate(
            d_starts=Sum("form_starts"),
            d_abandoned=Sum("abandoned_forms"),
            d_reads=Sum("article_reads"),
            d_deflections=Sum("deflections"),
        )
        .order_by()
    }
    signals = _scored(
        [
            _signals(
                touchpoint,
                rows.get(touchpoint.pk, {}),
                resolutions.get((touchpoint.pk,), Distribution(0)),
                days.get(touchpoint.pk, {}),
            )
            for touchpoint in touchpoints
        ]
    )
    return JourneyMetrics(
        journey=journey, period=period, touchpoints=signals, curve=_curve(journey, signals)
    )


@dataclass(frozen=True)
class TouchpointWeek:
    """One week of a touchpoint's cases, for its drill-down chart."""

    cases: int
    resolution_p50: float | None = None
    """Hours."""
    rating_mean: float | None = None
    reopen_rate: float | None = None
    hidden: bool = False


def touchpoint_weeks(
    *, touchpoint: Touchpoint, period: Period, viewer: Any
) -> list[tuple[dt.date, TouchpointWeek]]:
    """The touchpoint's cases week by week (weeks start on Monday, local time), every week
    the period touches, in two queries; the small-group rule applies per week."""
    cases = TouchpointCase.objects.filter(_resolved_in(period), touchpoint=touchpoint).annotate(
        week=TruncWeek("resolved_at", output_field=DateField())
    )
    medians = {
        # Raw SQL hands the week back as text on SQLite.
        dt.date.fromisoformat(str(key)[:10]): distribution
        for (key,), distribution in distributions(cases, "resolution_minutes", by=["week"]).items()
    }
    rows = {
        row["week"]: row
        for row in cases.values("week")
        .annotate(
            t_cases=Count("pk"),
            t_rating_mean=Avg("rating"),
            t_reopened=Count("pk", filter=Q(reopened=True)),
            t_hidden=Count("pk", filter=_invisible(viewer)),
        )
        .order_by()
    }
    first = timezone.localdate(period.start)
    week = first - dt.timedelta(days=first.weekday())
    last = timezone.localdate(period.end - dt.timedelta(microseconds=1))
    weeks = []
    while week <= last:
        row = rows.get(week)
        if row is None:
            weeks.append((week, TouchpointWeek(cases=0)))
        elif row["t_hidden"] and row["t_cases"] < SMALL_GROUP:
            weeks.append((week, TouchpointWeek(cases=row["t_cases"], hidden=True)))
        else:
            median = medians.get(week, Distribution(0))
            mean = row["t_rating_mean"]
            weeks.append(
                (
                    week,
                    TouchpointWeek(
                        cases=row["t_cases"],
                        resolution_p50=median.p50,
                        rating_mean=None if mean is None else float(mean),
                        reopen_rate=row["t_reopened"] / row["t_cases"],
                    ),
                )
            )
        week += dt.timedelta(weeks=1)
    return weeks


def touchpoint_comments(
    *, touchpoint: Touchpoint, period: Period, viewer: Any, limit: int = 10
) -> QuerySet[Comment]:
    """The latest public comments the requesters wrote in the period on the touchpoint's
    cases that the viewer may see, newest first (a confidential case's text never reaches
    anyone else; its numbers still count in the aggregates)."""
    return (
        Comment.objects.filter(
            service_request__in=TouchpointCase.objects.filter(touchpoint=touchpoint).values(
                "service_request_id"
            ),
            is_internal=False,
            author=F("service_request__requester"),
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .filter(service_request__in=ServiceRequest.objects.visible_to(viewer).values("pk"))
        .select_related("service_request", "author")
        .order_by("-created_at", "-pk")[:limit]
    )


def touchpoint_signals(*, touchpoint: Touchpoint, period: Period, viewer: Any) -> TouchpointSignals:
    """One touchpoint's signals, as its journey's map shows them."""
    metrics = journey_metrics(journey=touchpoint.stage.journey, period=period, viewer=viewer)
    return next(each for each in metrics.touchpoints if each.touchpoint.pk == touchpoint.pk)
