"""Every write of the value-stream configuration: streams, their stages and handoff targets.

Each action is one transaction and validates with the models' own rules (`full_clean`), so
the portal and any other caller refuse the same things with the same words. A refusal is a
`ValidationError` keyed by the field it is about, for pages to show beside that field.
These are configuration changes, not work: each records who changed what
(`esm.changes`), in its transaction. A change to what a
stream measures (its items, stages, steps or targets) has its case rows recomputed from the
log once the change is committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from esm.changes import change_record, delete_recorded, snapshot
from esm.models import Department
from services.models import CatalogItem, PlanStep
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream
from valuestreams.tasks import value_stream_refresh_task


@transaction.atomic
def value_stream_create(
    *,
    creator: Any,
    name: str,
    slug: str,
    outcome: str,
    customer: str,
    status: str,
    items: Iterable[CatalogItem],
    owner: Any = None,
) -> ValueStream:
    """A new stream, owned by `owner` or else by its creator. Who may choose another owner
    is the caller's question (pages offer it to admins only)."""
    stream = ValueStream(
        name=name,
        slug=slug,
        outcome=outcome,
        customer=customer,
        status=status,
        owner=owner or creator,
    )
    stream.full_clean()
    stream.save()
    stream.items.set(items)
    change_record(subject=stream, actor=creator, before=None, via="value_stream_create")
    return stream


@transaction.atomic
def value_stream_update(
    *,
    stream: ValueStream,
    by: Any,
    name: str,
    slug: str,
    outcome: str,
    customer: str,
    status: str,
    items: Iterable[CatalogItem],
    owner: Any = None,
) -> ValueStream:
    """Change what the stream is, as `by`; `owner=None` keeps the owner.

    An item cannot leave the stream while one of its plan steps is part of a stage: the
    stage would measure work of an item that no longer runs the stream.
    """
    stream = ValueStream.objects.select_for_update().get(pk=stream.pk)
    before = snapshot(stream)
    items = list(items)
    staged = (
        StageStep.objects.filter(stage__stream=stream)
        .exclude(plan_step__item__in=items)
        .select_related("stage", "plan_step__item")
        .order_by("stage__parallel_group", "stage__position", "plan_step__position")
    )
    leaving = {link.plan_step.item.name: link.stage.name for link in staged}
    if leaving:
        raise ValidationError(
            {
                "items": [
                    f"{item} has steps in the stage “{stage}”: take them out of the stage first."
                    for item, stage in leaving.items()
                ]
            }
        )
    stream.name, stream.slug, stream.outcome = name, slug, outcome
    stream.customer, stream.status = customer, status
    if owner is not None:
        stream.owner = owner
    stream.full_clean()
    stream.save(update_fields=["name", "slug", "outcome", "customer", "status", "owner"])
    stream.items.set(items)
    change_record(subject=stream, actor=by, before=before, via="value_stream_update")
    _measure_again(stream.pk)
    return stream


def _measure_again(stream_id: int) -> None:
    transaction.on_commit(lambda: value_stream_refresh_task.delay(stream_id), robust=True)


@transaction.atomic
def stage_save(
    *,
    stream: ValueStream,
    by: Any,
    stage: Stage | None = None,
    name: str,
    department: Department,
    position: int,
    parallel_group: int,
    expected_process_minutes: int,
    plan_steps: Iterable[PlanStep],
) -> Stage:
    """Add a stage to `stream` (`stage=None`) or change one of its stages, and make it of
    exactly `plan_steps`.

    A plan step belongs to at most one stage, across all streams, and must be a step of a
    plan of one of the stream's items.
    """
    if stage is None:
        stage = Stage(stream=stream)
    elif stage.stream_id != stream.pk:
        raise ValueError("The stage belongs to another stream.")
    before = None if stage.pk is None else snapshot(stage) | {"plan_steps": _steps_of(stage)}
    stage.name, stage.department, stage.position = name, department, position
    stage.parallel_group, stage.expected_process_minutes = parallel_group, expected_process_minutes
    _check_stage_name_free(stage)
    stage.full_clean()
    stage.save()

    chosen = {step.pk: step for step in plan_steps}
    kept = set(stage.steps.filter(plan_step__in=chosen.keys()).values_list("plan_step", flat=True))
    stage.steps.exclude(plan_step__in=chosen.keys()).delete()
    added = [step for pk, step in chosen.items() if pk not in kept]
    _check_steps_free(stage, added)
    links = [StageStep(stage=stage, plan_step=step) for step in added]
    for link in links:
        try:
            link.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            raise ValidationError(
                {"plan_steps": f"{link.plan_step.name}: {' '.join(error.messages)}"}
            ) from error
    try:
        # A savepoint, so a step taken by someone else since the check above ends in a
        # form error instead of a broken transaction.
        with transaction.atomic():
            StageStep.objects.bulk_create(links)
    except IntegrityError as error:
        raise ValidationError(
            {"plan_steps": "A step was just put in another stage: reload the page and pick again."}
        ) from error
    _stage_record(stage, by=by, before=before)
    _measure_again(stream.pk)
    return stage


def _steps_of(stage: Stage) -> list[str]:
    return sorted(str(link.plan_step) for link in stage.steps.select_related("plan_step"))


def _stage_record(stage: Stage, *, by: Any, before: dict[str, Any] | None) -> None:
    # The plan steps a stage is made of are what it measures: recorded as one of its fields.
    change_record(
        subject=stage,
        actor=by,
        before=before,
        via="stage_save",
        related={"plan_steps": _steps_of(stage)},
    )


def _check_stage_name_free(stage: Stage) -> None:
    taken = Stage.objects.filter(stream_id=stage.stream_id, name=stage.name)
    if stage.pk:
        taken = taken.exclude(pk=stage.pk)
    if taken.exists():
        raise ValidationError({"name": f"This stream already has a stage called “{stage.name}”."})


def _check_steps_free(stage: Stage, steps: list[PlanStep]) -> None:
    elsewhere = (
        StageStep.objects.filter(plan_step__in=steps)
        .exclude(stage=stage)
        .select_related("plan_step", "stage__stream")
    )
    messages = [
        f"“{link.plan_step.name}” is already in the stage “{link.stage.name}”"
        + ("" if link.stage.stream_id == stage.stream_id else f" of “{link.stage.stream.name}”")
        + ": a plan step belongs to one stage only."
        for link in elsewhere
    ]
    if messages:
        raise ValidationError({"plan_steps": messages})


@transaction.atomic
def stage_delete(*, stage: Stage, by: Any) -> None:
    """Remove the stage, its links to plan steps and the handoff targets at its edges."""
    delete_recorded(subject=stage, actor=by, via="stage_delete")
    _measure_again(stage.stream_id)


@transaction.atomic
def handoff_target_save(
    *,
    stream: ValueStream,
    by: Any,
    target: HandoffTarget | None = None,
    from_stage: Stage,
    to_stage: Stage,
    pickup_minutes: int,
) -> HandoffTarget:
    """Set the pick-up time allowed from `from_stage` to `to_stage` of `stream`."""
    if target is None:
        target = HandoffTarget(stream=stream)
    elif target.stream_id != stream.pk:
        raise ValueError("The handoff target belongs to another stream.")
    before = None if target.pk is None else snapshot(target)
    target.from_stage, target.to_stage, target.pickup_minutes = from_stage, to_stage, pickup_minutes
    if from_stage.pk == to_stage.pk:
        raise ValidationError({"to_stage": "Pick a stage other than the one the work leaves."})
    duplicate = HandoffTarget.objects.filter(from_stage=from_stage, to_stage=to_stage)
    if target.pk:
        duplicate = duplicate.exclude(pk=target.pk)
    if duplicate.exists():
        raise ValidationError(
            {"to_stage": "This handoff already has a target: change that one instead."}
        )
    target.full_clean()
    target.save()
    change_record(subject=target, actor=by, before=before, via="handoff_target_save")
    _measure_again(stream.pk)
    return target


@transaction.atomic
def handoff_target_delete(*, target: HandoffTarget, by: Any) -> None:
    delete_recorded(subject=target, actor=by, via="handoff_target_delete")
    _measure_again(target.stream_id)
