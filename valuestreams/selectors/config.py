"""Every non-trivial read of the value-stream configuration, with relations loaded for the
page, and the outside-in (COPIS) view derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from esm.permissions import can
from services.automation import registry
from services.models import ApprovalStep, CatalogItem, FormField, PlanStep
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream


def value_stream_for_viewer(*, user: Any, slug: str) -> ValueStream:
    """The stream, for someone who may read it; 404 otherwise (a draft they may not see
    does not exist for them)."""
    stream = ValueStream.objects.select_related("owner").filter(slug=slug).first()
    if stream is None or not can(user, "valuestreams.view_stream", stream):
        raise Http404("No such value stream.")
    return stream


def value_stream_for_editor(*, user: Any, slug: str) -> ValueStream:
    """The stream, for someone who may shape it: 404 when they may not even read it, 403
    when they read it but may not change it."""
    stream = value_stream_for_viewer(user=user, slug=slug)
    if not can(user, "valuestreams.change_stream", stream):
        raise PermissionDenied("Only the stream's owner or an admin shapes it.")
    return stream


def value_stream_with_model(*, viewer: Any, slug: str) -> ValueStream:
    """The stream with its stages in order, each with its department, steps (plan step and
    item) and outgoing handoff targets. Raises `Http404` when `viewer` may not see it, as
    when it does not exist."""
    steps = StageStep.objects.select_related("plan_step__item").order_by(
        "plan_step__item__slug", "plan_step__position", "plan_step__id"
    )
    handoffs = HandoffTarget.objects.select_related("to_stage").order_by(
        "to_stage__parallel_group", "to_stage__position", "to_stage__id"
    )
    stages = Stage.objects.select_related("department").prefetch_related(
        Prefetch("steps", queryset=steps), Prefetch("handoffs_out", queryset=handoffs)
    )
    streams = ValueStream.objects.select_related("owner").prefetch_related(
        Prefetch("stages", queryset=stages),
        Prefetch("items", queryset=CatalogItem.objects.order_by("name")),
    )
    stream = streams.filter(slug=slug).first()
    if stream is None or not can(viewer, "valuestreams.view_stream", stream):
        raise Http404("No such value stream.")
    return stream


def catalog_items_for_streams() -> QuerySet[CatalogItem]:
    """The items a stream may be made of: every catalog item, with its department."""
    return CatalogItem.objects.select_related("department").order_by("name")


def value_stream_stages(*, stream: ValueStream) -> list[Stage]:
    """The stream's stages in flow order, each with its department and plan steps."""
    return list(
        stream.stages.select_related("department").prefetch_related(
            Prefetch(
                "steps",
                StageStep.objects.select_related(
                    "plan_step__item", "plan_step__department"
                ).order_by("plan_step__position", "plan_step__id"),
            )
        )
    )


def value_stream_plan_steps(*, stream: ValueStream) -> QuerySet[PlanStep]:
    """The plan steps of the stream's items, each with the stage it is in (if any)."""
    return (
        PlanStep.objects.filter(item__value_streams=stream)
        .select_related("item", "department", "stage_link__stage__stream")
        .order_by("item__name", "position", "id")
    )


def plan_steps_free_for(*, stage: Stage | None, steps: QuerySet[PlanStep]) -> list[PlanStep]:
    """Of `steps`, those a stage may take: in no stage yet, or already in this one."""
    free = Q(stage_link__isnull=True)
    if stage is not None and stage.pk:
        free |= Q(stage_link__stage=stage)
    return list(steps.filter(free))


def value_stream_handoff_targets(*, stream: ValueStream) -> list[HandoffTarget]:
    return list(
        stream.handoff_targets.select_related(
            "from_stage__department", "to_stage__department"
        ).order_by("from_stage__parallel_group", "from_stage__position", "to_stage__parallel_group")
    )


# --- COPIS: the stream read from the outside in -----------------------------------------------


@dataclass(frozen=True)
class CopisStage:
    """One stage as COPIS reads it: what it does and delivers (its steps), what it needs
    (the forms of its steps' items, the answers its steps read by name, the steps it waits
    for) and who supplies the work."""

    name: str
    department: str
    parallel_group: int
    steps: tuple[PlanStep, ...]
    items: tuple[str, ...]
    reads: tuple[str, ...]
    waits_for: tuple[str, ...]

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)


@dataclass(frozen=True)
class CopisItem:
    """An item's request form and approvals: what the requester and approvers put in."""

    name: str
    fields: tuple[FormField, ...]
    approvals: tuple[str, ...]


@dataclass(frozen=True)
class CopisSupplier:
    """Who supplies what: "IT", "owns the stages", ("Laptop", "Accounts")."""

    name: str
    role: str
    supplies: tuple[str, ...]


@dataclass(frozen=True)
class Copis:
    customer: str
    outcome: str
    outputs: tuple[CopisStage, ...]
    """The stages, the one nearest the customer first."""
    process: tuple[tuple[CopisStage, ...], ...]
    """Parallel groups in flow order, each with the stages that run side by side."""
    stages: tuple[CopisStage, ...]
    """The stages in flow order."""
    inputs: tuple[CopisItem, ...]
    suppliers: tuple[CopisSupplier, ...]


def value_stream_copis(*, stream: ValueStream) -> Copis:
    """The outside-in view of `stream`, derived from its model: its stages and their plan
    steps, its items' forms and approvals. A fixed number of queries, however big."""
    items = list(
        stream.items.order_by("name").prefetch_related(
            Prefetch("fields", FormField.objects.order_by("position", "id")),
            Prefetch(
                "approval_steps",
                ApprovalStep.objects.select_related("department", "person"),
            ),
        )
    )
    fields_by_item = {item.pk: {field.key: field for field in item.fields.all()} for item in items}
    stages = list(
        stream.stages.select_related("department").prefetch_related(
            Prefetch(
                "steps",
                StageStep.objects.select_related("plan_step__item", "plan_step__department")
                .order_by("plan_step__position", "plan_step__id")
                .prefetch_related(
                    Prefetch(
                        "plan_step__after",
                        PlanStep.objects.select_related("stage_link__stage__department"),
                    )
                ),
            )
        )
    )
    actions = {action.key: action for action in registry.all_actions()}

    copis_stages = [_copis_stage(stage, fields_by_item, actions) for stage in stages]
    groups: dict[int, list[CopisStage]] = {}
    for copis_stage in copis_stages:
        groups.setdefault(copis_stage.parallel_group, []).append(copis_stage)

    return Copis(
        customer=stream.customer,
        outcome=stream.outcome,
        outputs=tuple(reversed(copis_stages)),
        stages=tuple(copis_stages),
        process=tuple(tuple(group) for _, group in sorted(groups.items())),
        inputs=tuple(
            CopisItem(
                name=item.name,
                fields=tuple(item.fields.all()),
                approvals=tuple(str(approval) for approval in item.approval_steps.all()),
            )
            for item in items
        ),
        suppliers=_suppliers(stages, items, actions),
    )


def _copis_stage(
    stage: Stage,
    fields_by_item: dict[int, dict[str, FormField]],
    actions: dict[str, registry.Action],
) -> CopisStage:
    steps = [link.plan_step for link in stage.steps.all()]
    own = {step.pk for step in steps}
    reads: list[str] = []
    waits_for: list[str] = []
    for step in steps:
        fields = fields_by_item.get(step.item_id, {})
        for key in _answer_keys(step, actions.get(step.action)):
            if key in fields and fields[key].label not in reads:
                reads.append(fields[key].label)
        for earlier in step.after.all():
            if earlier.pk in own:
                continue
            link = getattr(earlier, "stage_link", None)
            where = f"{link.stage.name}, {link.stage.department.name}" if link else "in no stage"
            waiting = f"{earlier.name} ({where})"
            if waiting not in waits_for:
                waits_for.append(waiting)
    return CopisStage(
        name=stage.name,
        department=stage.department.name,
        parallel_group=stage.parallel_group,
        steps=tuple(steps),
        items=tuple(dict.fromkeys(step.item.name for step in steps)),
        reads=tuple(reads),
        waits_for=tuple(waits_for),
    )


def _answer_keys(step: PlanStep, action: registry.Action | None) -> list[str]:
    """The form answers a step reads by name: its condition, params written
    "answer:<key>", and its action's inputs the params leave to the answer of that name
    (as `StepContext.value` reads them)."""
    keys = [step.condition_field] if step.condition_field else []
    params = step.params if isinstance(step.params, dict) else {}
    for value in params.values():
        if isinstance(value, str) and value.startswith("answer:"):
            keys.append(value.removeprefix("answer:"))
    if step.kind == PlanStep.Kind.AUTOMATED and action is not None:
        keys.extend(i.name for i in action.inputs if params.get(i.name) is None)
    return keys


# What a supplier does, for one thing and for several.
_ANSWERS = ("answers the form of", "answers the forms of")
_APPROVES = ("approves", "approves")
_OWNS = ("owns the stage", "owns the stages")
_WORKS = ("works the step", "works the steps")
_RUNS_IN = ("runs in the stage", "runs in the stages")


def _suppliers(
    stages: list[Stage], items: list[CatalogItem], actions: dict[str, registry.Action]
) -> tuple[CopisSupplier, ...]:
    """Who supplies the stream: the requester (the forms), the approvers, the departments
    owning stages or working their human steps, and the automations of automated steps."""
    supplies: dict[tuple[str, tuple[str, str]], list[str]] = {}

    def add(supplier: str, role: tuple[str, str], what: str) -> None:
        listed = supplies.setdefault((supplier, role), [])
        if what not in listed:
            listed.append(what)

    for item in items:
        if item.fields.all():
            add("The requester", _ANSWERS, item.name)
        for approval in item.approval_steps.all():
            add(str(approval), _APPROVES, item.name)
    for stage in stages:
        add(stage.department.name, _OWNS, stage.name)
        for link in stage.steps.all():
            step = link.plan_step
            if step.kind == PlanStep.Kind.AUTOMATED:
                action = actions.get(step.action)
                add(f"Automation: {action.label if action else step.action}", _RUNS_IN, stage.name)
            elif step.department_id != stage.department_id:
                add(step.department.name, _WORKS, f"{step.name} ({stage.name})")
    return tuple(
        CopisSupplier(name, role[0] if len(what) == 1 else role[1], tuple(what))
        for (name, role), what in supplies.items()
    )
