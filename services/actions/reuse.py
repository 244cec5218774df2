"""Reuse across departments, the writes: copy an item into another department, resolve the
parts its new department must name, publish it once none is left.

Each write records who changed what in the catalog (`esm.changes`): the copy as created
(what it came from is also kept on the copy itself, `copied_from`, `copied_snapshot`), each
step a resolution changed, the item published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from esm import clock
from esm.changes import change_record, snapshot
from esm.models import Department
from services.actions._base import ActionRefused
from services.models import (
    ApprovalStep,
    CatalogItem,
    Entitlement,
    FormField,
    OpenPart,
    PlanStep,
    Queue,
    Service,
)
from services.reuse import (
    ACTION_HUMAN,
    ACTION_KEEP,
    APPROVER_ROLES,
    item_snapshot,
    people_of_department,
    specific_parts,
)


def _unique_slug(base: str) -> str:
    slug, n = base[:150], 2
    while CatalogItem.objects.filter(slug=slug).exists():
        suffix = f"-{n}"
        slug, n = base[: 150 - len(suffix)] + suffix, n + 1
    return slug


def _copy_row(row: Any, **changes: Any) -> Any:
    """`row`, turned into a new unsaved row with `changes` (the instance itself changes)."""
    row.pk = row.id = None
    row._state.adding = True
    for name, value in changes.items():
        setattr(row, name, value)
    return row


@transaction.atomic
def catalog_item_copy(
    *,
    item: CatalogItem,
    department: Department,
    by: Any,
    service: Service | None = None,
    resolutions: Mapping[str, str] | None = None,
) -> CatalogItem:
    """Copy `item` into `department`, unpublished, as a starting point.

    The form, entitlement, approvals, plan (dependencies and conditions included), targets
    and SLA policy are copied; what is the origin department's own (its people as
    approvers, its queues, its systems' actions) is left as it was and recorded as an
    open part, unless `resolutions` (keyed by `services.reuse.SpecificPart.key`) names the
    new department's own. The origin is not changed. Callers check `services.copy_item_into`.
    """
    if department.pk == item.department_id:
        raise ActionRefused(f"{item} already belongs to {department}.")
    if service is None:
        service = department.services.filter(status=Service.Status.LIVE).first()
    if service is None or service.department_id != department.pk:
        raise ActionRefused(f"{department} has no live service to hold the copy; add one first.")
    origin = CatalogItem.objects.select_for_update().get(pk=item.pk)
    parts = specific_parts(origin)
    origin_department = origin.department_id
    fields = list(origin.fields.all())
    approvals = list(origin.approval_steps.all())
    plan = list(origin.plan_steps.prefetch_related("after"))
    after = {step.pk: [earlier.pk for earlier in step.after.all()] for step in plan}
    entitlements = list(origin.entitlements.all())
    snapshot = item_snapshot(origin)

    copy = _copy_row(
        CatalogItem.objects.get(pk=origin.pk),
        slug=_unique_slug(f"{origin.slug}-{department.slug}"),
        department=department,
        service=service,
        is_published=False,
        copied_from=origin,
        copied_at=clock.now(),
        recent_requests=0,
        copied_snapshot=snapshot,
    )
    copy.save()

    def moved(department_id: int | None) -> int | None:
        # What was the origin department's becomes the new department's.
        return department.pk if department_id == origin_department else department_id

    # Fields first, their show-when links after: a link must point at the copy's field.
    field_for = {field.pk: _copy_row(field, item=copy) for field in fields}
    FormField.objects.bulk_create(field_for.values())
    for field in field_for.values():
        if field.show_when_field_id:
            field.show_when_field_id = field_for[field.show_when_field_id].pk
    FormField.objects.bulk_update(field_for.values(), ["show_when_field"])

    Entitlement.objects.bulk_create(
        _copy_row(row, item=copy, department_id=moved(row.department_id)) for row in entitlements
    )
    step_for = {
        approval.pk: _copy_row(approval, item=copy, department_id=moved(approval.department_id))
        for approval in approvals
    }
    ApprovalStep.objects.bulk_create(step_for.values())

    plan_for = {
        step.pk: _copy_row(
            step,
            item=copy,
            department_id=moved(step.department_id),
            # A queue of the origin department cannot take the new department's work.
            queue_id=None if step.department_id == origin_department else step.queue_id,
        )
        for step in plan
    }
    PlanStep.objects.bulk_create(plan_for.values())
    Through = PlanStep.after.through
    Through.objects.bulk_create(
        Through(from_planstep_id=plan_for[later].pk, to_planstep_id=plan_for[earlier].pk)
        for later, earliers in after.items()
        for earlier in earliers
    )

    resolutions = resolutions or {}
    for part in parts:
        copied: dict[int, Any] = plan_for if isinstance(part.step, PlanStep) else step_for
        target = copied[part.step.pk]
        open_part = OpenPart.objects.create(
            item=copy,
            kind=part.kind,
            approval_step=target if isinstance(target, ApprovalStep) else None,
            plan_step=target if isinstance(target, PlanStep) else None,
            origin_value=part.value[:255],
        )
        if resolutions.get(part.key):
            _resolve(open_part, resolutions[part.key], department, by=by)
    change_record(
        subject=copy,
        actor=by,
        before=None,
        via="catalog_item_copy",
        related={"open_parts": sorted(str(part) for part in copy.open_parts.all())},
    )
    return copy


def _resolve(part: OpenPart, value: str, department: Department, *, by: Any) -> None:
    """Apply `value` (one of `services.reuse.resolution_choices`), close the part and
    record the change of its step."""
    changed: PlanStep | ApprovalStep = part.plan_step or part.approval_step  # type: ignore[assignment]
    before = snapshot(changed)
    if part.kind == OpenPart.Kind.QUEUE:
        queue = Queue.objects.filter(department=department, pk=_int(value)).first()
        if queue is None:
            raise ActionRefused(f"Pick a queue of {department}.")
        PlanStep.objects.filter(pk=part.plan_step_id).update(queue=queue)
    elif part.kind == OpenPart.Kind.APPROVER:
        step = ApprovalStep.objects.get(pk=part.approval_step_id)
        if value in APPROVER_ROLES:
            step.approver = ApprovalStep.Approver.DEPARTMENT_ROLE
            step.department, step.role, step.person = department, APPROVER_ROLES[value], None
        else:
            person = people_of_department(department.pk).filter(
                pk=_int(value.removeprefix("person:"))
            )
            if not value.startswith("person:") or not person.exists():
                raise ActionRefused(f"Pick a role or a person of {department}.")
            step.approver, step.department, step.role = ApprovalStep.Approver.PERSON, None, ""
            step.person = get_user_model().objects.get(pk=_int(value.removeprefix("person:")))
        step.save(update_fields=["approver", "department", "role", "person"])
    elif value == ACTION_HUMAN:
        PlanStep.objects.filter(pk=part.plan_step_id).update(
            kind=PlanStep.Kind.HUMAN, action="", params={}, queue=None
        )
    elif value != ACTION_KEEP:
        raise ActionRefused("Keep the action or make the step a task for people.")
    part.delete()
    changed.refresh_from_db()
    change_record(subject=changed, actor=by, before=before, via="open_parts_resolve")


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


@transaction.atomic
def open_parts_resolve(*, item: CatalogItem, by: Any, resolutions: Mapping[int, str]) -> int:
    """Resolve the copy's open parts named in `resolutions` (part id → choice); parts not
    named stay open. All or nothing: one bad choice refuses them all. Returns how many
    were resolved."""
    item = CatalogItem.objects.select_for_update().select_related("department").get(pk=item.pk)
    done = 0
    for part in item.open_parts.all():
        if resolutions.get(part.pk):
            _resolve(part, resolutions[part.pk], item.department, by=by)
            done += 1
    return done


@transaction.atomic
def catalog_item_publish(*, item: CatalogItem, by: Any) -> CatalogItem:
    """Put the item in the catalog. Refused, changing nothing, while a copy has open parts
    or the item breaks a rule of the catalog."""
    item = CatalogItem.objects.select_for_update().get(pk=item.pk)
    if item.is_published:
        return item
    before = snapshot(item)
    item.is_published = True
    try:
        item.full_clean()
    except ValidationError as error:
        raise ActionRefused(" ".join(error.messages)) from None
    item.save(update_fields=["is_published"])
    change_record(subject=item, actor=by, before=before, via="catalog_item_publish")
    return item
