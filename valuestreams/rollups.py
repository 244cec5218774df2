"""Rollups of value streams: each case's stages, handoffs and lead time, from the event log.

The log is read in SQL, case by case in batches: window functions (`LEAD` over a subject's
state changes) turn events into time spent per state, and a second pass finds when each
stage's work arrived, was picked up and was done. Python then assembles the few rows per
case (the critical path, the releasing handoff, the variant), which the pages aggregate in
SQL. Definitions are those of `docs/events.md` ("Measures from the log") and the glossary.

A refresh is idempotent (a case's rows are replaced whole, from all its events) and
incremental: it recomputes the cases with events since the previous refresh began, less
`LAG`, so an event committed late (its transaction began earlier than it committed) is
still seen. A full refresh recomputes every case, for when the model changed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from esm import clock
from esm.bulk import rows_insert
from esm.calendars import Schedule
from esm.models import Event
from services.models import ServiceRequest
from services.models.requests import pk_from_reference
from services.sla import schedule_for
from valuestreams.models import (
    CaseFlow,
    CaseHandoff,
    CaseStage,
    HandoffTarget,
    RollupWatermark,
    Stage,
    StageStep,
    ValueStream,
)

LAG = dt.timedelta(minutes=15)
"""How far before the previous refresh's start a refresh looks again for late commits."""

BATCH_SIZE = 500
"""Cases per read of the log and per transaction of replaced rows."""

SAME_MOMENT = dt.timedelta(seconds=1)
"""Events written in one transaction can differ by microseconds; within this they tie."""

TASK = "services.fulfilmenttask"


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"{column}->>'{key}'"
    return f"json_extract({column}, '$.{key}')"


def _minutes(start: str, end: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start})) / 60"
    return f"(julianday({end}) - julianday({start})) * 1440"


def _moment(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timestamp read back from raw SQL (SQLite hands back text for aggregates)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# Time spent per stage of each case, by what kind of time it was. A subject's state-changing
# event opens an interval its next one closes (`docs/events.md`, stage_times).
STAGE_TIMES_SQL = """
WITH changes AS (
    SELECT e.reference, e.subject_type, e.kind, e.to_value AS state, {step} AS step,
           e.occurred_at AS entered_at,
           LEAD(e.occurred_at) OVER (
               PARTITION BY e.subject_type, e.subject_id ORDER BY e.occurred_at, e.id
           ) AS left_at
    FROM esm_event AS e
    WHERE {of_batch} AND e.occurred_at >= %s
      AND e.subject_type IN ('services.fulfilmenttask', 'services.steprun')
      AND e.to_value <> '' AND e.kind NOT IN ('priority_changed', 'sla_breached')
)
SELECT reference, step,
    SUM(CASE WHEN (subject_type = 'services.fulfilmenttask' AND state = 'in_progress')
               OR (subject_type = 'services.steprun' AND state = 'running')
             THEN {spent} ELSE 0 END),
    SUM(CASE WHEN subject_type = 'services.fulfilmenttask' AND state = 'queued'
             THEN {spent} ELSE 0 END),
    SUM(CASE WHEN subject_type = 'services.fulfilmenttask' AND state = 'waiting_on_department'
             THEN {spent} ELSE 0 END),
    SUM(CASE WHEN subject_type = 'services.steprun' AND state = 'pending'
                  AND kind <> 'step_sleeping'
             THEN {spent} ELSE 0 END),
    SUM(CASE WHEN subject_type = 'services.fulfilmenttask' AND state = 'waiting_on_employee'
             THEN {spent} ELSE 0 END)
FROM changes
WHERE step IS NOT NULL AND left_at IS NOT NULL
GROUP BY reference, step
"""

# When each step's work arrived, was first picked up and was done, and whether it came back.
STEP_MILESTONES_SQL = """
WITH step_events AS (
    SELECT e.reference, e.subject_type, e.kind, e.occurred_at, {step} AS step,
           MIN(CASE WHEN e.kind IN ('resolved', 'step_succeeded') THEN e.occurred_at END)
               OVER (PARTITION BY e.reference, {step}) AS first_done_at
    FROM esm_event AS e
    WHERE {of_batch} AND e.occurred_at >= %s
      AND e.subject_type IN ('services.fulfilmenttask', 'services.steprun')
)
SELECT reference, step,
    MIN(CASE WHEN kind <> 'step_skipped' THEN occurred_at END),
    MIN(CASE WHEN kind IN ('claimed', 'assigned', 'step_started') THEN occurred_at END),
    MIN(first_done_at),
    MAX(CASE WHEN kind IN ('resolved', 'step_succeeded') THEN occurred_at END),
    SUM(CASE WHEN kind = 'returned'
              OR (kind IN ('queued', 'claimed', 'assigned', 'step_started')
                  AND occurred_at > first_done_at)
             THEN 1 ELSE 0 END),
    SUM(CASE WHEN subject_type = 'services.fulfilmenttask' AND kind = 'queued'
             THEN 1 ELSE 0 END),
    SUM(CASE WHEN kind = 'step_skipped' THEN 1 ELSE 0 END)
FROM step_events
WHERE step IS NOT NULL
GROUP BY reference, step
"""

# What counts against %C&A: tasks sent back or short of information, and the task that
# resolved a case last before the employee reopened it (`docs/events.md`, %C&A).
FLAWS_SQL = """
SELECT e.reference, e.subject_type, e.subject_id, e.kind, e.occurred_at, e.id,
       {step} AS step, {missing} AS missing, {consult} AS consult
FROM esm_event AS e
WHERE {of_batch} AND e.occurred_at >= %s
  AND ((e.subject_type = 'services.fulfilmenttask'
        AND e.kind IN ('sent_back', 'waiting_on_employee', 'resolved'))
       OR (e.subject_type = 'services.servicerequest' AND e.kind = 'reopened'))
ORDER BY e.reference, e.occurred_at, e.id
"""

# Submission, last resolution and reopen, and the time the case waited on the employee.
CASE_TIMES_SQL = """
WITH changes AS (
    SELECT e.reference, e.kind, e.to_value AS state, e.occurred_at,
           LEAD(e.occurred_at) OVER (
               PARTITION BY e.subject_id ORDER BY e.occurred_at, e.id
           ) AS left_at
    FROM esm_event AS e
    WHERE {of_batch} AND e.occurred_at >= %s
      AND e.subject_type = 'services.servicerequest'
      AND e.to_value <> '' AND e.kind NOT IN ('commented', 'rated', 'sla_breached')
)
SELECT reference,
    MIN(CASE WHEN kind = 'submitted' THEN occurred_at END),
    MAX(CASE WHEN kind = 'resolved' THEN occurred_at END),
    MAX(CASE WHEN kind = 'reopened' THEN occurred_at END),
    SUM(CASE WHEN state = 'waiting_on_employee' AND left_at IS NOT NULL
             THEN {spent} ELSE 0 END)
FROM changes
GROUP BY reference
"""


def _fetch(sql: str, batch: list[ServiceRequest], **parts: str) -> list[tuple]:
    """The rows of `sql` (one of the reads above) over the events of the batch's cases."""
    # A case's events come after its submission (the request is saved, stamped now, before
    # any event names it): bounded by the batch's earliest, the planner leaves out the log's
    # older months, about a third of each read at a million requests.
    references = [case.reference for case in batch]
    since = connection.ops.adapt_datetimefield_value(min(case.submitted_at for case in batch))
    if connection.vendor == "postgresql":
        # The array passed whole, behind a subquery: PostgreSQL plans the read without
        # weighing each reference against each month's statistics, which took longer than
        # the read itself, and for some batches chose a parallel scan of the months.
        of_batch, params = "e.reference = ANY(ARRAY(SELECT unnest(%s::text[])))", [references]
    else:
        of_batch, params = f"e.reference IN ({', '.join(['%s'] * len(references))})", references
    with connection.cursor() as cursor:
        cursor.execute(sql.format(of_batch=of_batch, **parts), [*params, since])
        return cursor.fetchall()


@dataclass
class _StageFacts:
    stage: Stage
    started_at: dt.datetime | None = None
    picked_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    """When all its steps were first done: the stage's work went downstream."""
    finished_at: dt.datetime | None = None
    times: list[float] = field(default_factory=lambda: [0.0] * 5)
    received: int = 0
    flawed_tasks: set[int] = field(default_factory=set)
    repeats: int = 0
    skipped_steps: int = 0
    """Steps the plan skipped by their condition on the form's answers."""

    @property
    def ran(self) -> bool:
        return self.started_at is not None


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


class _StreamModel:
    """The stream's stages and transitions, and where each plan step belongs."""

    def __init__(self, stream: ValueStream) -> None:
        self.stream = stream
        self.stages = list(stream.stages.select_related("department"))
        by_id = {stage.pk: stage for stage in self.stages}
        links = StageStep.objects.filter(stage__stream=stream).values_list(
            "plan_step__item_id", "plan_step__key", "stage_id"
        )
        self.stage_of: dict[tuple[int, str], Stage] = {
            (item_id, key): by_id[stage_id] for item_id, key, stage_id in links
        }
        self.targets = {
            (target.from_stage_id, target.to_stage_id): target.pickup_minutes
            for target in HandoffTarget.objects.filter(stream=stream)
        }
        groups = sorted({stage.parallel_group for stage in self.stages})
        following = dict(itertools.pairwise(groups))
        self.upstream: dict[int, list[Stage]] = defaultdict(list)
        for before in self.stages:
            for after in self.stages:
                next_group = following.get(before.parallel_group)
                if after.parallel_group == next_group or (before.pk, after.pk) in self.targets:
                    self.upstream[after.pk].append(before)
        self._schedules: dict[int, Schedule] = {}

    def schedule(self, stage: Stage) -> Schedule:
        if stage.department_id not in self._schedules:
            self._schedules[stage.department_id] = schedule_for(stage.department)
        return self._schedules[stage.department_id]


def _case_stage_facts(
    model: _StreamModel, batch: list[ServiceRequest]
) -> dict[str, dict[int, _StageFacts]]:
    item_of = {case.reference: case.catalog_item_id for case in batch}
    facts: dict[str, dict[int, _StageFacts]] = defaultdict(dict)
    task_stage: dict[int, tuple[str, int]] = {}

    def facts_for(reference: str, step: str | None) -> _StageFacts | None:
        stage = model.stage_of.get((item_of[reference], step or ""))
        if stage is None:
            return None
        return facts[reference].setdefault(stage.pk, _StageFacts(stage))

    step_sql = {"step": _json_text("e.payload", "step")}
    for reference, step, *minutes in _fetch(
        STAGE_TIMES_SQL, batch, spent=_minutes("entered_at", "left_at"), **step_sql
    ):
        if (stage_facts := facts_for(reference, step)) is not None:
            spent = zip(stage_facts.times, minutes, strict=True)
            stage_facts.times = [a + float(b or 0) for a, b in spent]
    for reference, step, started, *milestones, repeats, received, skipped in _fetch(
        STEP_MILESTONES_SQL, batch, **step_sql
    ):
        if (stage_facts := facts_for(reference, step)) is None:
            continue
        picked, first_done, last_done = milestones
        stage_facts.skipped_steps += int(skipped or 0)
        stage_facts.started_at = _earliest(stage_facts.started_at, _moment(started))
        stage_facts.picked_at = _earliest(stage_facts.picked_at, _moment(picked))
        if first_done is not None:
            stage_facts.done_at = _latest(stage_facts.done_at, _moment(first_done))
        stage_facts.finished_at = _latest(stage_facts.finished_at, _moment(last_done))
        stage_facts.repeats += int(repeats or 0)
        stage_facts.received += int(received or 0)

    last_resolved: dict[str, int] = {}
    flawed: set[int] = set()
    for reference, subject_type, subject_id, kind, _, _, step, missing, consult in _fetch(
        FLAWS_SQL,
        batch,
        missing=_json_text("e.payload", "missing_information"),
        consult=_json_text("e.payload", "consult"),
        **step_sql,
    ):
        if subject_type == TASK:
            if (stage_facts := facts_for(reference, step)) is not None:
                task_stage[subject_id] = (reference, stage_facts.stage.pk)
            if kind == "sent_back" or (kind == "waiting_on_employee" and _true(missing)):
                flawed.add(subject_id)
            elif kind == "resolved" and consult is None:
                last_resolved[reference] = subject_id
        elif reference in last_resolved:  # reopened: the last resolution was not complete
            flawed.add(last_resolved[reference])
    for task in flawed & task_stage.keys():
        reference, stage_id = task_stage[task]
        facts[reference][stage_id].flawed_tasks.add(task)
    return facts


def _true(value: object) -> bool:
    return value in (True, 1, "1", "true")


def _critical_path(ran: list[_StageFacts]) -> set[int]:
    """The chain the case's lead time followed, read back from the stage done last: each
    step back is the stage whose completion released the one after it (the last one done
    before it started). Parallel work off that chain is not on it, so the chain's process
    time never counts two overlapping stages."""
    done = [facts for facts in ran if facts.done_at is not None]
    if not done:
        return set()
    current = max(done, key=lambda facts: facts.finished_at or facts.done_at)
    chain = {current.stage.pk}
    while True:
        before = [
            facts
            for facts in done
            if facts.stage.pk not in chain and facts.done_at <= current.started_at + SAME_MOMENT
        ]
        if not before:
            return chain
        current = max(before, key=lambda facts: facts.done_at)
        chain.add(current.stage.pk)


def _variant(ran: list[_StageFacts]) -> str:
    """Stage ids in the order the case started them; a run of stages of one parallel group
    is one segment ("+"), so side-by-side work in either order is one path."""
    segments: list[list[Stage]] = []
    for facts in sorted(ran, key=lambda f: (f.started_at, f.stage.position, f.stage.pk)):
        if segments and segments[-1][0].parallel_group == facts.stage.parallel_group:
            segments[-1].append(facts.stage)
        else:
            segments.append([facts.stage])
    return ">".join(
        "+".join(str(s.pk) for s in sorted(seg, key=lambda s: (s.position, s.pk)))
        for seg in segments
    )


def _conformance(model: _StreamModel, ran: list[_StageFacts], skipped: set[int]) -> str:
    """Against the model: a stage that never ran (unless the plan skipped it by its
    condition on the form), a stage worked again after it was done, or a stage that
    started before an earlier group's stage was done."""
    ran_ids = {facts.stage.pk for facts in ran}
    found = []
    if any(stage.pk not in ran_ids | skipped for stage in model.stages):
        found.append("skipped")
    if any(facts.repeats for facts in ran):
        found.append("repeated")
    if any(
        later.started_at + SAME_MOMENT < earlier.done_at
        for earlier in ran
        for later in ran
        if earlier.stage.parallel_group < later.stage.parallel_group and earlier.done_at
    ):
        found.append("reordered")
    return "+".join(found) or "conforming"


def _handoffs(model: _StreamModel, ran: dict[int, _StageFacts]) -> Iterator[tuple]:
    """A case's `CaseHandoff` rows, as values of `HANDOFF_COLUMNS` but its case: one per
    stage whose work was released by an upstream stage, from the moment its work arrived
    (written as the releasing stage finished) to its first pick-up."""
    for facts in ran.values():
        if facts.started_at is None or facts.picked_at is None:
            continue
        released_by = [
            ran[up.pk]
            for up in model.upstream.get(facts.stage.pk, [])
            if up.pk in ran
            and ran[up.pk].done_at is not None
            and ran[up.pk].done_at <= facts.started_at + SAME_MOMENT
        ]
        if not released_by:
            continue
        releasing = max(released_by, key=lambda f: f.done_at)
        delay = model.schedule(facts.stage).between(facts.started_at, facts.picked_at)
        target = model.targets.get((releasing.stage.pk, facts.stage.pk))
        minutes = delay.total_seconds() / 60
        yield (
            releasing.stage.pk,
            facts.stage.pk,
            facts.started_at,
            facts.picked_at,
            minutes,
            target,
            target is not None and minutes > target,
        )


# The columns of a case's stage and handoff rows, in the order `_case_rows` gives their values.
STAGE_COLUMNS = (
    "case_id",
    "stage_id",
    "started_at",
    "picked_at",
    "finished_at",
    "process_minutes",
    "queue_wait_minutes",
    "department_wait_minutes",
    "automation_wait_minutes",
    "employee_wait_minutes",
    "received",
    "flawed",
    "repeated",
    "on_critical_path",
)
HANDOFF_COLUMNS = (
    "case_id",
    "from_stage_id",
    "to_stage_id",
    "ready_at",
    "picked_at",
    "delay_minutes",
    "target_minutes",
    "breached",
)


def _case_rows(
    model: _StreamModel, batch: list[ServiceRequest], now: dt.datetime
) -> tuple[list[CaseFlow], list[tuple], list[tuple]]:
    """The batch's `CaseFlow` rows, and their stage and handoff rows as values of
    `STAGE_COLUMNS` and `HANDOFF_COLUMNS`, each with its `CaseFlow` (not saved yet) for the
    case's id."""
    stage_facts = _case_stage_facts(model, batch)
    case_times = {
        row[0]: row[1:]
        for row in _fetch(CASE_TIMES_SQL, batch, spent=_minutes("occurred_at", "left_at"))
    }
    cases, stages, handoffs = [], [], []
    for service_request in batch:
        submitted, resolved, reopened, employee_wait = case_times.get(
            service_request.reference, (None, None, None, 0)
        )
        submitted, resolved, reopened = _moment(submitted), _moment(resolved), _moment(reopened)
        if submitted is None:
            continue
        if reopened is not None and (resolved is None or reopened > resolved):
            resolved = None
        facts_of_case = stage_facts.get(service_request.reference, {})
        ran = {pk: f for pk, f in facts_of_case.items() if f.ran}
        critical = _critical_path(list(ran.values()))
        case = CaseFlow(
            stream=model.stream,
            service_request=service_request,
            reference=service_request.reference,
            is_confidential=service_request.is_confidential,
            submitted_at=submitted,
            resolved_at=resolved,
            lead_minutes=(resolved - submitted).total_seconds() / 60 if resolved else None,
            critical_process_minutes=sum(ran[pk].times[0] for pk in critical),
            employee_wait_minutes=float(employee_wait or 0),
            variant=_variant(list(ran.values())),
            conformance=_conformance(
                model,
                list(ran.values()),
                {pk for pk, f in facts_of_case.items() if not f.ran and f.skipped_steps},
            ),
            refreshed_at=now,
        )
        cases.append(case)
        for facts in ran.values():
            stages.append(
                (
                    case,
                    facts.stage.pk,
                    facts.started_at,
                    facts.picked_at,
                    facts.finished_at,
                    *facts.times,
                    facts.received,
                    min(len(facts.flawed_tasks), facts.received),
                    bool(facts.repeats),
                    facts.stage.pk in critical,
                )
            )
        handoffs.extend((case, *handoff) for handoff in _handoffs(model, ran))
    return cases, stages, handoffs


def _batches(cases: Iterable[ServiceRequest]) -> Iterator[list[ServiceRequest]]:
    batch: list[ServiceRequest] = []
    for case in cases:
        batch.append(case)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def value_stream_refresh(*, stream: ValueStream, full: bool = False) -> int:
    """Recompute the rollup rows of the stream's cases that changed since the last refresh
    (all of them when `full`, or on the first refresh). Safe to run twice, or at once with
    another refresh of the same stream: each batch replaces its cases' rows under the
    stream's watermark row lock. Returns how many cases were refreshed."""
    began = clock.now()
    watermark, first = RollupWatermark.objects.get_or_create(
        stream=stream, defaults={"refreshed_through": began}
    )
    cases = ServiceRequest.objects.filter(catalog_item__value_streams=stream)
    if not (full or first):
        since = watermark.refreshed_through - LAG
        touched = Event.objects.filter(occurred_at__gte=since).values_list("reference", flat=True)
        cases = cases.filter(pk__in={pk_from_reference(ref) for ref in touched.distinct()})
    model = _StreamModel(stream)
    refreshed = 0
    cases = cases.only("id", "catalog_item_id", "is_confidential", "submitted_at").order_by("id")
    for batch in _batches(cases.iterator()):
        with transaction.atomic():
            # The UPDATE holds the watermark row's lock until the batch commits, and gives
            # the stream's rows a new version: what was cached from the old rows is never
            # read again (`esm.cache.kept_until_rewritten`).
            RollupWatermark.objects.filter(pk=watermark.pk).update(version=uuid.uuid4())
            rows, stage_rows, handoff_rows = _case_rows(model, batch, began)
            CaseFlow.objects.filter(stream=stream, service_request__in=batch).delete()
            CaseFlow.objects.bulk_create(rows)  # gives each case its id
            for table, columns, part_rows in (
                (CaseStage, STAGE_COLUMNS, stage_rows),
                (CaseHandoff, HANDOFF_COLUMNS, handoff_rows),
            ):
                rows_insert(table, columns, [(case.pk, *row) for case, *row in part_rows])
        refreshed += len(batch)
    RollupWatermark.objects.filter(pk=watermark.pk, refreshed_through__lt=began).update(
        refreshed_through=began
    )
    return refreshed


def value_streams_refresh(*, full: bool = False) -> int:
    """Refresh every stream (retired ones keep their history as it was last refreshed)."""
    streams = ValueStream.objects.exclude(status=ValueStream.Status.RETIRED)
    return sum(value_stream_refresh(stream=stream, full=full) for stream in streams)
