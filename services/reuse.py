"""Reuse across departments, the reads: who may copy what where, the parts of an item that
belong to its department, and what an origin changed since it was copied.

"Don't force the form on it, see the function as an abstract": a copy is a starting point.
Its form and plan travel; the people, queues and actions of the origin department do not,
and are asked for before the copy goes live (`services.actions.reuse`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from esm.models import Department, DepartmentRole
from esm.permissions import department_ids_with_role, is_admin, staff_department_ids
from services.models import ApprovalStep, CatalogItem, OpenPart, PlanStep, Queue, Service

# Automated actions whose key starts with one of these work the same for any department
# (send an e-mail, wait for a date); the others (`facilities.book_desk`) act on one
# department's systems and must be confirmed by the department taking the copy.
PORTABLE_ACTION_PREFIXES = ("generic.",)

# What an approver part may be resolved to besides a named person of the new department.
APPROVER_ROLES = {
    "role:manager": DepartmentRole.Role.MANAGER,
    "role:agent": DepartmentRole.Role.AGENT,
}
ACTION_KEEP = "keep"
ACTION_HUMAN = "human"


# --- Permissions --------------------------------------------------------------------


def departments_to_copy_into(user: Any) -> QuerySet[Department]:
    """The departments `user` may copy into (`services.copy_item_into`, as a list):
    managers the departments they manage, admins any."""
    if is_admin(user):
        return Department.objects.all()
    return Department.objects.filter(
        pk__in=department_ids_with_role(user, DepartmentRole.Role.MANAGER)
    )


def items_visible_for_reuse(user: Any) -> QuerySet[CatalogItem]:
    """Items a person may take as an origin: the live catalog, plus everything of the
    departments they work in (drafts included); admins see all."""
    items = CatalogItem.objects.select_related("department", "service")
    if is_admin(user):
        return items
    return items.filter(
        Q(is_published=True, service__status=Service.Status.LIVE)
        | Q(department_id__in=staff_department_ids(user))
    )


def copies_of(origin: CatalogItem, user: Any) -> QuerySet[CatalogItem]:
    """The copies of `origin` a person may list: all of them for admins and the origin
    department's staff (whose work is being reused), else those of departments they manage."""
    copies = CatalogItem.objects.filter(copied_from=origin).select_related("department")
    if is_admin(user) or origin.department_id in staff_department_ids(user):
        return copies.order_by("department__name", "slug")
    return copies.filter(department__in=departments_to_copy_into(user)).order_by(
        "department__name", "slug"
    )


def copies_visible_to(user: Any) -> QuerySet[CatalogItem]:
    """Copies a person may follow: those of the departments they manage."""
    # `copied_at`, not `copied_from`: a copy stays a copy after its origin is deleted.
    return CatalogItem.objects.filter(
        copied_at__isnull=False, department__in=departments_to_copy_into(user)
    ).select_related("department", "service", "copied_from__department")


# --- Department-specific parts ------------------------------------------------------


@dataclass(frozen=True)
class SpecificPart:
    """A part of an origin that names its department's people, queues or systems.

    `key` names it within one copy operation (a form field name); `step` is the origin's
    step, `value` what it holds, in words.
    """

    key: str
    kind: str
    step: ApprovalStep | PlanStep
    value: str

    @property
    def label(self) -> str:
        return step_label(self.step)


def step_label(step: ApprovalStep | PlanStep) -> str:
    """A plan step by its name; an approval by who gives it (positions only order steps,
    they do not count them)."""
    if isinstance(step, PlanStep):
        return f"Step “{step.name}”"
    if step.approver == ApprovalStep.Approver.PERSON and step.person is not None:
        return f"Approval by {step.person.get_full_name() or step.person.username}"
    return f"Approval by {step}"


def people_of_department(department_id: int) -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(profile__department_id=department_id)
            | Q(department_roles__department_id=department_id)
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def is_bound_action(action: str) -> bool:
    return not action.startswith(PORTABLE_ACTION_PREFIXES)


def specific_parts(item: CatalogItem) -> list[SpecificPart]:
    """The origin's parts a copy in another department must name for itself.

    Approvals by a department role and steps owned by other departments are not listed:
    the first move to the new department with their role, the second stay with whoever
    did them (a cross-department plan stays cross-department).
    """
    origin = item.department_id
    person_ids = set(people_of_department(origin).values_list("pk", flat=True))
    parts = []
    for step in item.approval_steps.select_related("person", "department"):
        if step.approver == ApprovalStep.Approver.PERSON and step.person_id in person_ids:
            person = step.person.get_full_name() or step.person.username
            parts.append(SpecificPart(f"approval-{step.pk}", OpenPart.Kind.APPROVER, step, person))
    for step in item.plan_steps.select_related("queue", "department"):
        if step.department_id != origin:
            continue
        if step.kind == PlanStep.Kind.HUMAN:
            queue = step.queue.name if step.queue else f"{step.department} default queue"
            parts.append(SpecificPart(f"plan-{step.pk}", OpenPart.Kind.QUEUE, step, queue))
        elif is_bound_action(step.action):
            value = f"{step.action} ({step.department})"
            parts.append(SpecificPart(f"plan-{step.pk}", OpenPart.Kind.ACTION, step, value))
    return parts


def resolution_choices(kind: str, department: Department) -> list[tuple[str, str]]:
    """What a part may be resolved to in `department`, as (value, words) pairs."""
    if kind == OpenPart.Kind.QUEUE:
        return [(str(q.pk), q.name) for q in Queue.objects.filter(department=department)]
    if kind == OpenPart.Kind.APPROVER:
        roles = [
            ("role:manager", f"Any {department} manager"),
            ("role:agent", f"Any {department} agent"),
        ]
        people = people_of_department(department.pk)
        return roles + [(f"person:{p.pk}", p.get_full_name() or p.username) for p in people]
    return [
        (ACTION_KEEP, f"Keep the action, run for {department}"),
        (ACTION_HUMAN, f"Make it a task for {department}'s default queue"),
    ]


# --- What the origin changed since the copy -----------------------------------------


def item_snapshot(item: CatalogItem) -> dict[str, list[dict[str, Any]]]:
    """The comparable shape of an item: form fields and plan steps by key, with kind and
    the words a person reads."""
    return {
        "fields": [
            {"key": f.key, "label": f.label, "kind": f.kind, "required": f.required}
            for f in item.fields.all()
        ],
        "plan": [{"key": s.key, "label": s.name, "kind": s.kind} for s in item.plan_steps.all()],
    }


@dataclass(frozen=True)
class Change:
    part: str  # "form field" or "plan step"
    key: str
    label: str
    change: str  # "added", "removed" or "changed"
    detail: str = ""


def snapshot_changes(
    before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
) -> list[Change]:
    changes: list[Change] = []
    for section, part in (("fields", "form field"), ("plan", "plan step")):
        old = {row["key"]: row for row in before.get(section, [])}
        new = {row["key"]: row for row in after.get(section, [])}
        for key, row in new.items():
            if key not in old:
                changes.append(Change(part, key, row["label"], "added", row["kind"]))
                continue
            differing = [
                f"{name}: {old[key].get(name)} → {value}"
                for name, value in row.items()
                if name != "key" and old[key].get(name) != value
            ]
            if differing:
                changes.append(Change(part, key, row["label"], "changed", "; ".join(differing)))
        changes += [
            Change(part, key, row["label"], "removed", row["kind"])
            for key, row in old.items()
            if key not in new
        ]
    return changes


def origin_changes(copy: CatalogItem) -> list[Change]:
    """What the copy's origin changed since the copy was made (added, removed, changed
    fields and steps). Empty for an item that is not a copy, or whose origin is gone."""
    if copy.copied_from is None:
        return []
    return snapshot_changes(copy.copied_snapshot, item_snapshot(copy.copied_from))


def copies_with_changes(origin: CatalogItem, copies: Iterable[CatalogItem]) -> list[Any]:
    """Each copy of `origin` with what the origin changed since it: the origin is read
    once, whatever the number of copies."""
    now = item_snapshot(origin)
    return [(copy, snapshot_changes(copy.copied_snapshot, now)) for copy in copies]


def copy_for_page(*, slug: str) -> CatalogItem:
    """A copy with what its page shows loaded; raises CatalogItem.DoesNotExist."""
    return (
        CatalogItem.objects.filter(copied_at__isnull=False)
        .select_related("department", "service", "copied_from__department")
        .prefetch_related(
            "copied_from__fields",
            "copied_from__plan_steps",
            "open_parts__approval_step__person",
            "open_parts__approval_step__department",
            "open_parts__plan_step",
        )
        .get(slug=slug)
    )
