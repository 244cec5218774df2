"""Rollups of journeys: one row per case of a touchpoint (`TouchpointCase`) and one per day of
a touchpoint's forms and suggested articles (`TouchpointDay`), from the event log and the
records beside it. The journey pages aggregate these rows in SQL (`journeys.selectors`).

A touchpoint's cases are the requests of its catalog items, and the requests that ran one
of its value-stream stages (a `valuestreams.CaseStage` row, or a step run of one of the
stage's plan steps). A case's facts do not depend on the touchpoint, so each case is read
once per refresh however many touchpoints share it.

The log is read a batch of cases at a time, once per batch: each read looks the batch's
references up in every month since its earliest submission, so one read serves all the
facts. From its rows, in order, Python sums the teams' waiting (each state change of a
task or automated step opens an interval its next one closes), pairs each approval asked
with its decision, and counts handoffs, send-backs, consults, asks for missing
information, reopens and breaches. Definitions are those of `docs/events.md` and the
glossary:

- **resolved_at**: the request's last `resolved`; none when it was `reopened` since.
- **team wait**: tasks `queued` or `waiting_on_department`, automated steps `pending`
  (not asleep on purpose), as in value streams; a consult's own task is left out (the
  asking task's `waiting_on_department` is that wait already).
- **bounces**: `sent_back`, and a `handed_off` to a department the case had already
  handed work away from.
- **department targets**: the case's tasks with a resolution target; met unless a task
  `sla_breached` event with `to_value` `resolution` was written.
- **sentiment**: the mean of `journeys.sentiment` over the requester's own public comments
  that have a scorable word.

A refresh is idempotent (a case's rows are replaced whole) and incremental: it recomputes the
cases with events since the previous refresh began, less `valuestreams.rollups.LAG`, and the
days whose form starts or reads could have changed since (a read is judged a deflection only
once `DEFLECTION_WINDOW` has passed, a start abandoned only while no request links to it).
A full refresh recomputes everything, for when a touchpoint's links changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from esm import clock
from esm.bulk import rows_insert
from esm.models import Event
from journeys.models import (
    JourneyMap,
    JourneyRollupWatermark,
    Touchpoint,
    TouchpointCase,
    TouchpointDay,
)
from journeys.sentiment import sentiment
from services.models import (
    ArticleView,
    Comment,
    Consult,
    ExperienceRating,
    FormStart,
    FulfilmentTask,
    PlanStep,
    ServiceRequest,
    StepRun,
)
from services.models.requests import pk_from_reference
from services.selectors import DEFLECTION_WINDOW, deflections
from valuestreams.models import CaseStage, StageStep
from valuestreams.rollups import BATCH_SIZE, LAG, _fetch, _json_text, _true
from valuestreams.rollups import _moment as _read_moment

ANSWERS_KEY_LENGTH = 16
"""Hex digits of the answers' digest kept: plenty to tell a form's answer sets apart."""

# Case ids named in one statement at most, well under the 65,535 parameters PostgreSQL takes.
IDS_PER_READ = 10_000

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
REQUEST = "services.servicerequest"
TASK = "services.fulfilmenttask"
CONSULT = "services.consult"
# The task states the teams wait in (an automated step waits while `pending`).
TEAM_WAITS = frozenset({"queued", "waiting_on_department"})

# Every event a case's facts come from, oldest first, in one read (each read of the log
# looks the batch's references up in every month since its earliest submission): the
# request's submission, resolutions, reopens, breaches and approvals; every event of its
# tasks and automated steps (their state changes give the teams' waiting, and the handoffs,
# send-backs, asks for missing information and breaches are among them); its consults asked.
CASE_EVENTS_SQL = """
SELECT e.reference, e.subject_type, e.subject_id, e.kind, e.occurred_at, e.to_value,
       e.from_department_id, e.to_department_id, {missing} AS missing, {approval} AS approval
FROM esm_event AS e
WHERE {of_batch} AND e.occurred_at >= %s
  AND ((e.subject_type = 'services.servicerequest'
        AND e.kind IN ('submitted', 'resolved', 'reopened', 'sla_breached',
                       'approval_requested', 'approved', 'rejected'))
       OR e.subject_type IN ('services.fulfilmenttask', 'services.steprun')
       OR (e.subject_type = 'services.consult' AND e.kind = 'consult_asked'))
ORDER BY e.occurred_at, e.id
"""

# Events that are not a change of their subject's state (`docs/events.md`, stage_times).
NOT_STATE_CHANGES = frozenset({"priority_changed", "sla_breached"})
DECISIONS = frozenset({"approved", "rejected"})


@dataclass
class _CaseFacts:
    submitted_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    reopened_at: dt.datetime | None = None
    team_wait_minutes: float = 0.0
    approval_minutes: float | None = None
    handoffs: int = 0
    bounces: int = 0
    consults: int = 0
    reopened: bool = False
    missing_information: int = 0
    end_to_end_breached: bool = False
    left: set[int] = field(default_factory=set)
    """Departments the case handed work away from."""
    approvals: dict[object, list[dt.datetime | None]] = field(default_factory=dict)
    """Each approval's first `approval_requested` and first decision."""


def _moment(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timestamp read back from raw SQL, aware (SQLite's hands back naive UTC)."""
    moment = _read_moment(value)
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def answers_key(answers: object) -> str:
    """A short digest of a form's answers: the same answers give the same key, whatever
    the labels or the order they were listed in; no answers give ""."""
    if not answers:
        return ""
    if isinstance(answers, list):
        pairs = sorted(
            (str(answer.get("key", "")), json.dumps(answer.get("value"), sort_keys=True))
            for answer in answers
            if isinstance(answer, dict)
        )
    else:
        pairs = [("", json.dumps(answers, sort_keys=True, default=str))]
    digest = hashlib.sha256(json.dumps(pairs).encode()).hexdigest()
    return digest[:ANSWERS_KEY_LENGTH]


def touchpoint_cases(touchpoint: Touchpoint) -> QuerySet[ServiceRequest]:
    """The requests of the touchpoint's items, and those that ran one of its stream stages
    (rolled up as a case stage, or a step run of one of the stage's plan steps)."""
    stages = touchpoint.stream_stages.all()
    ran_a_stage = CaseStage.objects.filter(stage__in=stages).values("case__service_request_id")
    stage_steps = StageStep.objects.filter(
        stage__in=stages,
        plan_step__item_id=OuterRef("run__service_request__catalog_item_id"),
        plan_step__key=OuterRef("step_key"),
    )
    ran_a_step = StepRun.objects.filter(Exists(stage_steps)).values("run__service_request_id")
    return ServiceRequest.objects.filter(
        Q(catalog_item__in=touchpoint.items.all()) | Q(pk__in=ran_a_stage) | Q(pk__in=ran_a_step)
    )


def _case_facts(batch: list[ServiceRequest]) -> tuple[dict[str, _CaseFacts], set[int]]:
    """Each case's facts from its events, and the ids of the tasks that missed their
    resolution target."""
    facts: dict[str, _CaseFacts] = defaultdict(_CaseFacts)
    consult_tasks = set(
        Consult.objects.filter(consult_task__service_request__in=batch).values_list(
            "consult_task_id", flat=True
        )
    )
    breached: set[int] = set()
    # Each task's and automated step's latest state change: when, and whether the team
    # waits in the state it entered.
    changes: dict[tuple[str, int], tuple[dt.datetime, bool]] = {}
    rows = _fetch(
        CASE_EVENTS_SQL,
        batch,
        missing=_json_text("e.payload", "missing_information"),
        approval=_json_text("e.payload", "approval"),
    )
    for row in rows:
        reference, subject_type, subject_id, kind, occurred_at, to_value = row[:6]
        from_dep, to_dep, missing, approval = row[6:]
        case = facts[reference]
        moment = _moment(occurred_at)
        if subject_type == REQUEST:
            if kind == "submitted":
                case.submitted_at = case.submitted_at or moment
            elif kind == "resolved":
                case.resolved_at = moment
            elif kind == "reopened":
                case.reopened, case.reopened_at = True, moment
            elif kind == "sla_breached" and to_value == "end_to_end":
                case.end_to_end_breached = True
            else:  # an approval asked or decided
                times = case.approvals.setdefault(approval, [None, None])
                first = 1 if kind in DECISIONS else 0
                times[first] = times[first] or moment
            continue
        if subject_type == TASK:
            if kind == "handed_off":
                case.handoffs += 1
                if to_dep is not None and to_dep in case.left:
                    case.bounces += 1
                if from_dep is not None:
                    case.left.add(from_dep)
            elif kind == "sent_back":
                case.bounces += 1
            elif kind == "waiting_on_employee" and _true(missing):
                case.missing_information += 1
            elif kind == "sla_breached" and to_value == "resolution":
                breached.add(subject_id)
        elif subject_type == CONSULT:
            case.consults += 1
            continue
        # The teams' waiting: each state change of a task or automated step opens an
        # interval its next one closes (`docs/events.md`, stage_times). A consult's own
        # task is left out: the asking task's `waiting_on_department` is that wait already.
        if not to_value or kind in NOT_STATE_CHANGES:
            continue
        if subject_type == TASK and subject_id in consult_tasks:
            continue
        entered_at, waiting = changes.get((subject_type, subject_id), (moment, False))
        if waiting:
            case.team_wait_minutes += (moment - entered_at).total_seconds() / 60
        changes[subject_type, subject_id] = (
            moment,
            to_value in TEAM_WAITS
            if subject_type == TASK
            else to_value == "pending" and kind != "step_sleeping",
        )
    for case in facts.values():
        spent = [
            (decided - asked).total_seconds() / 60
            for asked, decided in case.approvals.values()
            if asked is not None and decided is not None
        ]
        case.approval_minutes = sum(spent) if spent else None
    return facts, breached


def _department_targets(
    batch: list[ServiceRequest], breached: set[int]
) -> dict[int, tuple[int, int]]:
    """Each case's tasks with a resolution target, and how many of them met it."""
    targets: dict[int, tuple[int, int]] = {}
    tasks = FulfilmentTask.objects.filter(
        service_request__in=batch, resolution_due_at__isnull=False
    ).values_list("service_request_id", "pk")
    for request_id, task_id in tasks:
        count, met = targets.get(request_id, (0, 0))
        targets[request_id] = (count + 1, met + (task_id not in breached))
    return targets


def _steps(batch: list[ServiceRequest]) -> dict[int, dict[str, int]]:
    """Human and automated steps per case: its step runs (skipped ones aside), or, before
    any run started, its item's plan. An item without a plan is worked by people in its
    department's queue: one human step."""
    steps: dict[int, dict[str, int]] = defaultdict(dict)
    runs = (
        StepRun.objects.filter(run__service_request__in=batch)
        .exclude(state=StepRun.State.SKIPPED)
        .values_list("run__service_request_id", "kind")
        .annotate(n=Count("pk"))
    )
    for request_id, kind, n in runs:
        steps[request_id][kind] = steps[request_id].get(kind, 0) + n
    planned = (
        PlanStep.objects.filter(item_id__in={case.catalog_item_id for case in batch})
        .values_list("item_id", "kind")
        .annotate(n=Count("pk"))
    )
    plans: dict[int, dict[str, int]] = defaultdict(dict)
    for item_id, kind, n in planned:
        plans[item_id][kind] = n
    for case in batch:
        if case.pk not in steps:
            steps[case.pk] = plans.get(case.catalog_item_id) or {PlanStep.Kind.HUMAN: 1}
    return steps


def _feelings(batch: list[ServiceRequest]) -> tuple[dict, dict]:
    """Ratings, and the requester's own public comments (their count, their mean
    sentiment over those with a scorable word)."""
    ratings = dict(
        ExperienceRating.objects.filter(service_request__in=batch).values_list(
            "service_request_id", "score"
        )
    )
    requester_of = {case.pk: case.requester_id for case in batch}
    comments: dict[int, list[float | None]] = defaultdict(list)
    for request_id, author_id, body in Comment.objects.filter(
        service_request__in=batch, is_internal=False
    ).values_list("service_request_id", "author_id", "body"):
        if author_id == requester_of[request_id]:
            comments[request_id].append(sentiment(body))
    return ratings, comments


# The columns of a case's rows, in the order `_case_rows` gives their values.
CASE_COLUMNS = (
    "touchpoint_id",
    "service_request_id",
    "is_confidential",
    "submitted_at",
    "resolved_at",
    "resolution_minutes",
    "team_wait_minutes",
    "handoffs",
    "bounces",
    "consults",
    "reopened",
    "approval_minutes",
    "missing_information",
    "end_to_end_breached",
    "department_targets",
    "department_targets_met",
    "human_steps",
    "automated_steps",
    "answers_key",
    "rating",
    "sentiment",
    "employee_comments",
    "refreshed_at",
)


def _case_rows(
    batch: list[ServiceRequest], touchpoints_of: dict[int, list[int]], now: dt.datetime
) -> list[tuple]:
    """The batch's `TouchpointCase` rows, as values of `CASE_COLUMNS`."""
    facts, breached = _case_facts(batch)
    targets = _department_targets(batch, breached)
    steps = _steps(batch)
    ratings, comments = _feelings(batch)
    rows = []
    for case in batch:
        fact = facts.get(case.reference)
        if fact is None or fact.submitted_at is None:
            continue
        resolved = fact.resolved_at
        if fact.reopened_at is not None and (resolved is None or fact.reopened_at > resolved):
            resolved = None
        scored = [score for score in comments.get(case.pk, []) if score is not None]
        row = (
            case.pk,
            case.is_confidential,
            fact.submitted_at,
            resolved,
            (resolved - fact.submitted_at).total_seconds() / 60 if resolved else None,
            fact.team_wait_minutes,
            fact.handoffs,
            fact.bounces,
            fact.consults,
            fact.reopened,
            fact.approval_minutes,
            fact.missing_information,
            fact.end_to_end_breached,
            *targets.get(case.pk, (0, 0)),
            steps[case.pk].get(PlanStep.Kind.HUMAN, 0),
            steps[case.pk].get(PlanStep.Kind.AUTOMATED, 0),
            answers_key(case.answers),
            ratings.get(case.pk),
            sum(scored) / len(scored) if scored else None,
            len(comments.get(case.pk, [])),
            now,
        )
        rows.extend((touchpoint_id, *row) for touchpoint_id in touchpoints_of[case.pk])
    return rows


def _day_rows(touchpoint: Touchpoint, since: dt.datetime | None) -> list[TouchpointDay]:
    """The touchpoint's days from `since`'s local day on (all of them when None)."""
    days: dict[dt.date, TouchpointDay] = {}

    def day(value: dt.date) -> TouchpointDay:
        return days.setdefault(value, TouchpointDay(touchpoint=touchpoint, day=value))

    from_day = timezone.localdate(since) if since is not None else None
    starts = FormStart.objects.filter(catalog_item__in=touchpoint.items.all())
    if from_day is not None:
        starts = starts.filter(day__gte=from_day)
    starts = starts.annotate(
        linked=Exists(ServiceRequest.objects.filter(form_start=OuterRef("pk")))
    ).values("day")
    for row in starts.annotate(
        starts=Count("pk"), abandoned=Count("pk", filter=Q(linked=False))
    ).order_by():
        day(row["day"]).form_starts = row["starts"]
        day(row["day"]).abandoned_forms = row["abandoned"]
    reads = ArticleView.objects.filter(article__in=touchpoint.articles.all())
    deflected = deflections(since=EPOCH).filter(article__in=touchpoint.articles.all())
    if from_day is not None:
        local_start = timezone.make_aware(dt.datetime.combine(from_day, dt.time()))
        reads = reads.filter(viewed_at__gte=local_start)
        deflected = deflected.filter(viewed_at__gte=local_start)
    for views, attribute in ((reads, "article_reads"), (deflected, "deflections")):
        grouped = views.annotate(_day=TruncDate("viewed_at")).values("_day").order_by()
        for row in grouped.annotate(n=Count("pk")):
            setattr(day(row["_day"]), attribute, row["n"])
    return list(days.values())


def _touchpoints_of_cases(
    touchpoints: list[Touchpoint], touched: set[int] | None
) -> dict[int, list[int]]:
    touchpoints_of: dict[int, list[int]] = defaultdict(list)
    for touchpoint in touchpoints:
        for cases in _among(touchpoint_cases(touchpoint), touched):
            for pk in cases.values_list("pk", flat=True).distinct():
                touchpoints_of[pk].append(touchpoint.pk)
    return touchpoints_of


def _among(cases: QuerySet[ServiceRequest], ids: set[int] | None) -> Iterator[QuerySet]:
    """`cases` narrowed to `ids` (all of them when None), in parts of IDS_PER_READ: a
    refresh after a long pause can touch more cases than PostgreSQL takes parameters in
    one statement."""
    if ids is None:
        yield cases
        return
    for part in itertools.batched(sorted(ids), IDS_PER_READ):
        yield cases.filter(pk__in=part)


def _touched_cases(since: dt.datetime) -> set[int]:
    touched = Event.objects.filter(occurred_at__gte=since).values_list("reference", flat=True)
    return {pk for ref in touched.distinct() if (pk := pk_from_reference(ref)) is not None}


def _ids(cases: Iterable[ServiceRequest]) -> list[int]:
    return [case.pk for case in cases]


def _lock_and_move_version(watermark: JourneyRollupWatermark) -> None:
    """Lock the journey's watermark row for a transaction that rewrites its rows (the
    UPDATE holds the row's lock until the transaction ends), and give it a new version
    there: what was cached from the old rows is never read again."""
    JourneyRollupWatermark.objects.filter(pk=watermark.pk).update(version=uuid.uuid4())


def journey_refresh(*, journey: JourneyMap, full: bool = False) -> int:
    """Recompute the touchpoint rows of the journey's cases that changed since the last
    refresh (all of them when `full`, or on the first refresh), and its touchpoints' days
    that could have changed. Safe to run twice, or at once with another refresh of the
    same journey: each batch replaces its rows under the journey's watermark row lock.
    Returns how many cases were refreshed."""
    began = clock.now()
    watermark, first = JourneyRollupWatermark.objects.get_or_create(
        journey=journey, defaults={"refreshed_through": began}
    )
    whole = full or first
    since = None if whole else watermark.refreshed_through - LAG
    touchpoints = list(Touchpoint.objects.filter(stage__journey=journey))
    touchpoints_of = _touchpoints_of_cases(
        touchpoints, None if since is None else _touched_cases(since)
    )
    cases = ServiceRequest.objects.only(
        "id", "catalog_item_id", "requester_id", "is_confidential", "answers", "submitted_at"
    ).order_by("id")
    refreshed = 0
    # Each batch read by its own ids: all of a full refresh's in one statement (700,000 at a
    # million requests) pass the 65,535 parameters PostgreSQL takes.
    for part in itertools.batched(sorted(touchpoints_of), BATCH_SIZE):
        batch = list(cases.filter(pk__in=part))
        with transaction.atomic():
            _lock_and_move_version(watermark)
            rows = _case_rows(batch, touchpoints_of, began)
            TouchpointCase.objects.filter(
                touchpoint__in=touchpoints, service_request_id__in=_ids(batch)
            ).delete()
            rows_insert(TouchpointCase, CASE_COLUMNS, rows)
        refreshed += len(batch)
    # Days: a start is abandoned until a request links to it (within a day), a read is a
    # deflection once the window passed without a request, so the last window is re-read.
    days_since = None if since is None else since - DEFLECTION_WINDOW - LAG
    with transaction.atomic():
        _lock_and_move_version(watermark)
        for touchpoint in touchpoints:
            rows = _day_rows(touchpoint, days_since)
            old = TouchpointDay.objects.filter(touchpoint=touchpoint)
            if days_since is not None:
                old = old.filter(day__gte=timezone.localdate(days_since))
            old.delete()
            TouchpointDay.objects.bulk_create(rows)
            if whole:  # cases no longer linked to the touchpoint leave it
                # NOT EXISTS, not NOT IN: past work_mem (about a million cases) PostgreSQL
                # cannot hash a NOT IN list and scans it once per row, for hours.
                linked = touchpoint_cases(touchpoint).filter(pk=OuterRef("service_request_id"))
                TouchpointCase.objects.filter(touchpoint=touchpoint).filter(
                    ~Exists(linked)
                ).delete()
    JourneyRollupWatermark.objects.filter(pk=watermark.pk, refreshed_through__lt=began).update(
        refreshed_through=began
    )
    return refreshed


def journeys_refresh(*, full: bool = False) -> int:
    """Refresh every journey that is not retired (retired ones keep their last rows)."""
    journeys = JourneyMap.objects.exclude(status=JourneyMap.Status.RETIRED)
    return sum(journey_refresh(journey=journey, full=full) for journey in journeys)
