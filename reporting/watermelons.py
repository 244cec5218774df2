"""Green outside, red inside: the rule that calls a service a watermelon.

A service is a watermelon when its end-to-end target attainment meets the attainment
target while its experience rating is below the point at which its decision maker acts,
on at least `SMALL_GROUP` ratings (fewer say too little to call it). Both thresholds are
the measures' own, edited in the portal: the `end_to_end_attainment` measure's `target`
and the `experience_rating` measure's `act_at`; where a measure is missing or has none,
the settings `WATERMELON_ATTAINMENT_TARGET` and `WATERMELON_RATING_BELOW` stand in.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from esm import kept_queries
from reporting.measures import Scope
from reporting.models import Measure, Snapshot
from reporting.rollups import WINDOW_DAYS
from reporting.selectors import User, small_group_applies
from services.models import ExperienceRating, Service, ServiceRequest
from services.models.requests import reference_for
from valuestreams.forms import day_period
from valuestreams.metrics import SMALL_GROUP

ATTAINMENT = "end_to_end_attainment"
RATING = "experience_rating"


@dataclass(frozen=True)
class Thresholds:
    attainment_target: float
    """Attainment from which the service looks green (a share, 0-1)."""
    rating_below: float
    """Mean rating (1-5) under which the experience is red."""


def watermelon_thresholds() -> Thresholds:
    """The two thresholds, read from the measures (one query)."""
    measures = {m.key: m for m in Measure.objects.filter(key__in=[ATTAINMENT, RATING])}
    return _thresholds(measures.get(ATTAINMENT), measures.get(RATING))


def _thresholds(attainment: Measure | None, rating: Measure | None) -> Thresholds:
    return Thresholds(
        attainment_target=(
            attainment.target
            if attainment and attainment.target is not None
            else settings.WATERMELON_ATTAINMENT_TARGET
        ),
        rating_below=(
            rating.act_at
            if rating and rating.act_at is not None
            else settings.WATERMELON_RATING_BELOW
        ),
    )


def is_watermelon(
    *, attainment: float | None, rating: float | None, ratings: int, thresholds: Thresholds
) -> bool:
    """Whether targets are met (`attainment`) while the experience (`rating`, the mean of
    `ratings` ratings) is below its threshold."""
    if attainment is None or rating is None or ratings < SMALL_GROUP:
        return False
    return attainment >= thresholds.attainment_target and rating < thresholds.rating_below


# -- detection: which services are watermelons now, and the comments behind them ------------

COMMENTS_PER_SERVICE = 3
"""The newest low ratings' comments shown beside a watermelon: enough to hear the voice."""


@dataclass(frozen=True)
class RatingComment:
    """A low rating's comment, shown without who wrote it: the voice behind a watermelon."""

    score: int
    comment: str
    rated_at: dt.datetime
    reference: str
    """The request's reference when the viewer may open it, else empty."""


@dataclass(frozen=True)
class Watermelon:
    service: Service
    day: dt.date
    attainment: float
    resolved: int
    """The resolved requests the attainment rests on."""
    rating: float
    ratings: int
    comments: list[RatingComment] = field(default_factory=list)


ServiceFigures = dict[tuple[str, int], tuple[float | None, int]]
"""(measure key, service id) -> (value, cases)."""


@dataclass(frozen=True)
class LatestServiceSnapshots:
    """The service-scope snapshots of some measures on their latest day: the day (None
    when there is none), the figures by (measure key, service id), the measures read
    (with their thresholds), and the services read (with their departments)."""

    day: dt.date | None
    figures: ServiceFigures
    measures: dict[str, Measure]
    services: dict[int, Service]


def latest_service_rows(
    *,
    keys: Iterable[str],
    service_ids: Iterable[int] | QuerySet[Any] | None,
    department_id: int | None = None,
) -> LatestServiceSnapshots:
    """The service-scope snapshots of the measures `keys` on the latest day any of them was
    taken (a refresh writes every measure and scope of a day at once), with the measures
    of the rows read (and their thresholds) and their services: one query, the latest day
    found in SQL. Of the services `service_ids`, or of every service of `department_id`,
    or of every service. A page that shows both the standings and the watermelons of some
    services reads them once with this and gives both the result."""
    if service_ids is None:
        kept = _latest_query(
            kept_queries.vendor_of(Snapshot), tuple(keys), of_department=department_id is not None
        )
        marks = {kept_queries.ID: department_id} if department_id is not None else None
        read = kept_queries.instances_at(kept, keys=marks)
    else:
        ids = service_ids if isinstance(service_ids, QuerySet) else list(service_ids)
        read = _latest_of(_service_snapshots(keys).filter(service_id__in=ids)).select_related(
            *LATEST_RELATIONS
        )
    day, figures, measures, services = None, {}, {}, {}
    for snapshot in read:
        day = snapshot.day
        measures[snapshot.measure.key] = snapshot.measure
        services[snapshot.service_id] = snapshot.service
        figures[(snapshot.measure.key, snapshot.service_id)] = (snapshot.value, snapshot.cases)
    return LatestServiceSnapshots(day, figures, measures, services)


LATEST_RELATIONS = ("measure", "service__department")


def _service_snapshots(keys: Iterable[str]) -> QuerySet[Snapshot]:
    return Snapshot.objects.filter(measure__key__in=list(keys), service__isnull=False)


def _latest_of(rows: QuerySet[Snapshot]) -> QuerySet[Snapshot]:
    """`rows` of their latest day, found in SQL."""
    return rows.filter(day=Subquery(rows.order_by("-day").values("day")[:1]))


@functools.lru_cache(maxsize=16)
def _latest_query(
    vendor: str, keys: tuple[str, ...], *, of_department: bool
) -> kept_queries.KeptInstances:
    """`latest_service_rows` of every service, or `of_department` (`ID`), kept built for
    the measures `keys`: the executives' and the department managers' dashboards read it
    at every view."""
    rows = _service_snapshots(keys)
    if of_department:
        rows = rows.filter(service__department_id=kept_queries.ID)
    return kept_queries.kept_instances(_latest_of(rows), LATEST_RELATIONS)


def watermelons(
    *,
    viewer: User,
    services: list[Service] | None = None,
    latest: LatestServiceSnapshots | None = None,
) -> list[Watermelon]:
    """The services (all, or those of `services`) that are watermelons by their latest
    snapshots of `end_to_end_attainment` and `experience_rating`, by name, each with the
    newest comments of its low ratings (below the rating threshold) on the requests
    resolved in the snapshot's window. One query (none when `latest` is given), with the
    services, and one more when any service is one: their comments.

    A comment is shown without its author. A confidential case's comment is shown only to
    who may see the case (`ServiceRequest.objects.visible_to`), and the request is linked
    only for them. Attainment resting on fewer than `SMALL_GROUP` cases is held back from
    a viewer who is not staff of the service's department (`small_group_applies`), and the
    rule itself needs `SMALL_GROUP` ratings, so no comment shows behind fewer ratings.

    `services`, when given, come with their department loaded and are not read again;
    `latest`, when given, are those services' snapshots of both measures already read
    (`latest_service_rows`)."""
    if latest is None:
        service_ids = None if services is None else [service.pk for service in services]
        latest = latest_service_rows(keys=(ATTAINMENT, RATING), service_ids=service_ids)
    day, read, measures = latest.day, latest.figures, latest.measures
    # The thresholds are the measures' own: the rows read carry them. A measure with no
    # row flags nothing whatever its threshold, so the settings stand in only for a
    # measure whose row is there without a threshold set.
    thresholds = _thresholds(measures.get(ATTAINMENT), measures.get(RATING))
    flagged = {}
    for (key, service_id), (rating, ratings) in read.items():
        if key != RATING:
            continue
        attainment, resolved = read.get((ATTAINMENT, service_id), (None, 0))
        if is_watermelon(
            attainment=attainment, rating=rating, ratings=ratings, thresholds=thresholds
        ):
            flagged[service_id] = (attainment, resolved, rating, ratings)
    if day is None or not flagged:
        return []
    candidates = services if services is not None else latest.services.values()
    found = sorted((s for s in candidates if s.pk in flagged), key=lambda s: (s.name, s.pk))
    shown = [
        service
        for service in found
        if flagged[service.pk][1] >= SMALL_GROUP
        or not small_group_applies(Scope(service=service), viewer)
    ]
    comments = _low_rating_comments(
        service_ids=[service.pk for service in shown],
        day=day,
        below=thresholds.rating_below,
        viewer=viewer,
    )
    return [
        Watermelon(
            service,
            day,
            *flagged[service.pk],
            comments=comments.get(service.pk, []),
        )
        for service in shown
    ]


def _low_rating_comments(
    *, service_ids: list[int], day: dt.date, below: float, viewer: User
) -> dict[int, list[RatingComment]]:
    """The newest `COMMENTS_PER_SERVICE` comments per service of ratings under `below`, on
    requests resolved in the window of the snapshot of `day`: one query."""
    if not service_ids:
        return {}
    period = day_period(day - dt.timedelta(days=WINDOW_DAYS - 1), day)
    visible = ServiceRequest.objects.visible_to(viewer)
    service = F("service_request__catalog_item__service_id")
    rows = (
        ExperienceRating.objects.filter(
            service_request__catalog_item__service_id__in=service_ids,
            service_request__resolved_at__gte=period.start,
            service_request__resolved_at__lt=period.end,
            score__lt=below,
        )
        .exclude(comment="")
        .filter(
            Q(service_request__is_confidential=False) | Q(service_request__in=visible.values("pk"))
        )
        .annotate(
            service_key=service,
            linkable=Exists(visible.filter(pk=OuterRef("service_request_id"))),
            rank=Window(
                RowNumber(),
                partition_by=[service],
                order_by=[F("created_at").desc(), F("pk").desc()],
            ),
        )
        .filter(rank__lte=COMMENTS_PER_SERVICE)
        .order_by("service_key", "rank")
        .values_list(
            "service_key", "score", "comment", "created_at", "service_request_id", "linkable"
        )
    )
    comments: dict[int, list[RatingComment]] = defaultdict(list)
    for service_id, score, comment, rated_at, request_id, linkable in rows:
        reference = reference_for(request_id) if linkable else ""
        comments[service_id].append(RatingComment(score, comment, rated_at, reference))
    return comments
