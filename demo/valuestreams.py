"""The demo's value streams (`demo/data/valuestreams.toml`): onboarding, offboarding, desk
moves and parental leave, each in stages made of its item's plan steps.

Keyed by slug and stage name: seeding again changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from demo.data import load
from esm.models import Department
from services.models import CatalogItem, PlanStep
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream

User = get_user_model()

MINUTES_PER_HOUR = 60


def seed() -> None:
    departments = {department.slug: department for department in Department.objects.all()}
    for spec in load("valuestreams")["streams"]:
        stream, created = ValueStream.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "outcome": spec["outcome"],
                "customer": spec["customer"],
                "owner": User.objects.get(username=spec["owner"]),
                "status": spec["status"],
            },
        )
        if not created:
            continue
        items = list(CatalogItem.objects.filter(slug__in=spec["items"]))
        stream.items.set(items)
        steps = {step.key: step for step in PlanStep.objects.filter(item__in=items)}
        stages = {}
        for position, stage_spec in enumerate(spec["stages"]):
            stage = Stage.objects.create(
                stream=stream,
                name=stage_spec["name"],
                department=departments[stage_spec["department"]],
                position=position,
                parallel_group=stage_spec["group"],
                expected_process_minutes=stage_spec["expected_minutes"],
            )
            StageStep.objects.bulk_create(
                StageStep(stage=stage, plan_step=steps[key]) for key in stage_spec["steps"]
            )
            stages[stage.name] = stage
        HandoffTarget.objects.bulk_create(
            HandoffTarget(
                stream=stream,
                from_stage=stages[handoff["from"]],
                to_stage=stages[handoff["to"]],
                pickup_minutes=handoff["hours"] * MINUTES_PER_HOUR,
            )
            for handoff in spec.get("handoffs", [])
        )
