"""Reads of the report audit: what in the reporting definitions no decision rests on.

"If no one is making any kind of decisions from your reports, then you're not capturing and
providing the right measures to the right people." Each question is one queryset, filtered
and counted in SQL, so the audit page runs the same number of queries whatever the number
of measures, reports, views and answers.

Every opening of a report counts as reading it, its owner's too: an owner is often one of
its audience (the executive who owns the executives' report).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from esm.aggregates import count_of
from reporting.measures import REGISTRY
from reporting.models import Measure, Report, ReportFeedback, ReportMeasure, ReportView

UNREAD_DAYS = 90
"""A report nobody opened for this long is flagged (the issue's 90 days)."""

LATEST_COMMENTS = 3
"""Answers with words shown beside each report; the counts cover all of them."""


def _measures() -> QuerySet[Measure]:
    return Measure.objects.select_related("owner", "objective").order_by("name", "pk")


def measures_unused() -> QuerySet[Measure]:
    """Measures no report shows, so no audience reads them: nobody decides with them."""
    return _measures().filter(~Exists(ReportMeasure.objects.filter(measure=OuterRef("pk"))))


def measures_undecided() -> QuerySet[Measure]:
    """Measures that name no decision they support, or nobody who makes it."""
    return _measures().filter(Q(decision="") | Q(decision_maker=""))


def measures_without_objective() -> QuerySet[Measure]:
    return _measures().filter(objective__isnull=True)


def measures_without_function() -> QuerySet[Measure]:
    """Measures over the portal's own data whose key names no function in
    `reporting.measures`: they can never show a number. (A measure over data the portal
    does not hold has no function by design, and says so on its card.)"""
    return _measures().filter(source_controlled=True).exclude(key__in=list(REGISTRY))


def _reports() -> QuerySet[Report]:
    return Report.objects.select_related("audience", "owner").order_by("name", "pk")


def reports_only_outputs() -> QuerySet[Report]:
    """Reports with measures, all of them outputs (activity): they tell the audience how
    busy people were, never what it achieved or how it felt."""
    return (
        _reports()
        .annotate(
            measures_count=Count("lines"),
            not_outputs=Count("lines", filter=~Q(lines__measure__kind=Measure.Kind.OUTPUT)),
        )
        .filter(measures_count__gt=0, not_outputs=0)
    )


def _views() -> QuerySet[ReportView]:
    """A report's views (in a subquery on reports)."""
    return ReportView.objects.filter(report=OuterRef("pk"))


def _last_opened() -> Subquery:
    latest = _views().order_by("-last_viewed_at").values("last_viewed_at")[:1]
    return Subquery(latest)


def reports_unread(*, now: dt.datetime) -> QuerySet[Report]:
    """Reports older than `UNREAD_DAYS` days that nobody opened in the last
    `UNREAD_DAYS` days (or ever), the longest unread first, with `last_opened` (None: never
    opened). A newer report has not had its chance yet."""
    cutoff = now - dt.timedelta(days=UNREAD_DAYS)
    return (
        _reports()
        .filter(created_at__lt=cutoff)
        .annotate(last_opened=_last_opened())
        .filter(Q(last_opened__isnull=True) | Q(last_opened__lt=cutoff))
        .order_by(F("last_opened").asc(nulls_first=True), "name", "pk")
    )


def reports_engagement(*, now: dt.datetime) -> QuerySet[Report]:
    """Every report with how its audience uses it: `readers` (the people who opened it in
    the last `UNREAD_DAYS` days), `opens` (their opens in all), `last_opened`, and the
    answers `helped_yes` / `helped_no`."""
    cutoff = now - dt.timedelta(days=UNREAD_DAYS)
    opens = _views().order_by().values("report").annotate(n=Sum("count")).values("n")
    feedback = ReportFeedback.objects.filter(report=OuterRef("pk"))
    # Each count a subquery of its own: counted through joins, views would multiply answers.
    return _reports().annotate(
        readers=count_of(_views().filter(last_viewed_at__gte=cutoff)),
        opens=Coalesce(Subquery(opens, output_field=IntegerField()), Value(0)),
        last_opened=_last_opened(),
        helped_yes=count_of(feedback.filter(helped=True)),
        helped_no=count_of(feedback.filter(helped=False)),
    )


def feedback_latest(reports: Iterable[Report]) -> dict[int, list[ReportFeedback]]:
    """For each report, its `LATEST_COMMENTS` latest answers that say something in words,
    newest first: one query for them all."""
    ranked = (
        ReportFeedback.objects.filter(report__in=list(reports))
        .exclude(decision="", missing="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("report_id")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=LATEST_COMMENTS)
        .select_related("author")
        .order_by("report_id", "rank")
    )
    latest: dict[int, list[ReportFeedback]] = defaultdict(list)
    for answer in ranked:
        latest[answer.report_id].append(answer)
    return latest
