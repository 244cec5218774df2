"""Every write of reporting: report definitions are written by forms and the admin; these
are the writes the audience makes by reading, answering and subscribing, and the ESM
lead's readiness records and roll-out plan (each recorded in the event log as a change of
configuration, `esm.changes`)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from esm import clock
from esm.changes import change_record, snapshot
from esm.models import Department
from reporting.models import (
    ReadinessAssessment,
    Report,
    ReportFeedback,
    ReportView,
    RolloutStep,
    ServiceReview,
    Subscription,
    TribalGroup,
)
from reporting.readiness import SIGN_KEYS
from services.models import Service


def report_view_record(*, report: Report, viewer: AbstractBaseUser) -> None:
    """Note that `viewer` opened `report` now: one row per reader, counted, so the audit
    can tell which reports nobody reads. One statement, first view or not: an INSERT that
    on meeting the reader's row counts on it instead, so two tabs opening at once never
    lose a count (PostgreSQL and SQLite both upsert with ON CONFLICT)."""
    now = connection.ops.adapt_datetimefield_value(clock.now())
    table = ReportView._meta.db_table
    columns = {name: ReportView._meta.get_field(name).column for name in _VIEW_FIELDS}
    report_id, viewer_id, first, last, count = (columns[name] for name in _VIEW_FIELDS)
    # Only the model's own column names are spliced in; values travel as parameters.
    sql = (
        f'INSERT INTO "{table}" ("{report_id}", "{viewer_id}", "{first}", "{last}", "{count}") '  # noqa: S608
        "VALUES (%s, %s, %s, %s, 1) "
        f'ON CONFLICT ("{report_id}", "{viewer_id}") DO UPDATE SET '
        f'"{last}" = EXCLUDED."{last}", "{count}" = "{table}"."{count}" + 1'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [report.pk, viewer.pk, now, now])


_VIEW_FIELDS = ("report", "viewer", "first_viewed_at", "last_viewed_at", "count")


def report_feedback_submit(
    *, report: Report, author: AbstractBaseUser, helped: bool, decision: str, missing: str
) -> ReportFeedback:
    """Keep a reader's answer to "did this help you decide something, and what is
    missing?". Every answer is a row of its own (a reader's view changes as the report
    does); the caller has checked that `author` may read `report`.

    Raises `ValidationError` (by field) when it helped but no decision is named: a "yes"
    without what was decided tells the owner nothing."""
    decision, missing = decision.strip(), missing.strip()
    if helped and not decision:
        raise ValidationError({"decision": "Say what you decided with it."})
    return ReportFeedback.objects.create(
        report=report,
        author=author,
        helped=helped,
        decision=decision,
        missing=missing,
        created_at=clock.now(),
    )


def subscription_set(
    *, report: Report, subscriber: AbstractBaseUser, frequency: str
) -> Subscription:
    """Subscribe `subscriber` to `report` at `frequency`, or change how often. A change
    keeps `last_sent_at`, so moving from monthly to weekly sends as soon as a week has
    passed since the last e-mail, not a second one today. The caller has checked that
    `subscriber` may read `report`."""
    if frequency not in Subscription.Frequency.values:
        raise ValidationError({"frequency": "Choose weekly or monthly."})
    with transaction.atomic():
        # Locked, and get_or_create absorbs a twin insert: two tabs saving at once leave
        # one subscription with one of their answers, never an error.
        subscription, created = Subscription.objects.select_for_update().get_or_create(
            report=report,
            subscriber=subscriber,
            defaults={"frequency": frequency, "created_at": clock.now()},
        )
        if not created and subscription.frequency != frequency:
            subscription.frequency = frequency
            subscription.save(update_fields=["frequency"])
    return subscription


def subscription_cancel(*, report: Report, subscriber: AbstractBaseUser) -> bool:
    """Stop e-mailing `report` to `subscriber`; whether there was a subscription to stop."""
    deleted, _ = Subscription.objects.filter(report=report, subscriber=subscriber).delete()
    return bool(deleted)


def service_review_record(
    *,
    service: Service,
    reviewer: AbstractBaseUser,
    reviewed_on: dt.date,
    needs_met: int,
    value: str,
    changes: str = "",
) -> ServiceReview:
    """The accountable customer's review of `service`: did it meet the business's needs (1-5),
    what value it brought and what should change. Kept apart from requester ratings."""
    if not 1 <= needs_met <= 5:
        raise ValidationError({"needs_met": "Give 1 (not at all) to 5 (fully)."})
    if reviewed_on > timezone.localdate(clock.now()):
        raise ValidationError({"reviewed_on": "A review cannot be dated in the future."})
    return ServiceReview.objects.create(
        service=service,
        reviewer=reviewer,
        reviewed_on=reviewed_on,
        needs_met=needs_met,
        value=value.strip(),
        changes=changes.strip(),
    )


def readiness_assess(
    *,
    department: Department,
    sign: str,
    answer: str,
    evidence: str,
    assessed_by: AbstractBaseUser,
    assessed_on: dt.date,
) -> ReadinessAssessment:
    """Record an owner's answer to one readiness sign. A new row every time (the latest
    counts), so how the department moved stays readable; the caller has checked that
    `assessed_by` may assess `department`.

    Raises `ValidationError` (by field) for an unknown sign or answer, or empty evidence:
    an answer nobody can check is no sign at all."""
    errors = {}
    if sign not in SIGN_KEYS:
        errors["sign"] = "Pick one of the nine signs."
    if answer not in ReadinessAssessment.Answer.values:
        errors["answer"] = "Answer yes, partly or no."
    if not evidence.strip():
        errors["evidence"] = "Say what the answer rests on."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        assessment = ReadinessAssessment.objects.create(
            department=department,
            sign=sign,
            answer=answer,
            evidence=evidence.strip(),
            assessed_by=assessed_by,
            assessed_on=assessed_on,
        )
        change_record(subject=assessment, actor=assessed_by, before=None, via="readiness_assess")
    return assessment


@transaction.atomic
def tribal_group_record(*, recorded_by: AbstractBaseUser, **facts: object) -> TribalGroup:
    """Record a group of the organisation as the ESM lead sees it today. Never an edit: a
    recording of a known name is a new row beside the old ones, so the audit shows change."""
    group = TribalGroup(recorded_by=recorded_by, **facts)
    group.full_clean()
    group.save()
    change_record(subject=group, actor=recorded_by, before=None, via="tribal_group_record")
    return group


@transaction.atomic
def rollout_step_save(
    *, by: AbstractBaseUser | None, step: RolloutStep | None = None, **fields: object
) -> RolloutStep:
    """Add a step at the end of the plan, or change one, as `by`. The last position is read
    under a lock so two steps added at once do not share it."""
    before = None if step is None or step.pk is None else snapshot(step)
    if step is None:
        last = (
            RolloutStep.objects.select_for_update()
            .order_by("-position")
            .values_list("position", flat=True)
        ).first()
        step = RolloutStep(position=(last or 0) + 1)
    for name, value in fields.items():
        setattr(step, name, value)
    step.full_clean()
    step.save()
    change_record(subject=step, actor=by, before=before, via="rollout_step_save")
    return step


@transaction.atomic
def rollout_step_move(*, step: RolloutStep, by: AbstractBaseUser, up: bool) -> None:
    """Swap `step` with its neighbour above (or below); at either end nothing changes. The
    plan is locked whole: it is a short list and two editors must not interleave swaps."""
    steps = list(RolloutStep.objects.select_for_update().order_by("position", "pk"))
    at = next((index for index, candidate in enumerate(steps) if candidate.pk == step.pk), None)
    if at is None:
        return
    other = at - 1 if up else at + 1
    if not 0 <= other < len(steps):
        return
    steps[at], steps[other] = steps[other], steps[at]
    for position, candidate in enumerate(steps, start=1):
        if candidate.position != position:
            before = snapshot(candidate)
            candidate.position = position
            candidate.save(update_fields=["position"])
            change_record(subject=candidate, actor=by, before=before, via="rollout_step_move")
