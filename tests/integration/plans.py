"""Small plans built from the test-support actions, for integration tests and benches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from esm.models import Department
from services import actions
from services.models import CatalogItem, PlanStep, ServiceRequest, StepRun


def plan_step(
    item: CatalogItem,
    key: str,
    *,
    action: str = "integration.effect",
    after: Iterable[PlanStep] = (),
    department: Department | None = None,
    params: Mapping[str, Any] | None = None,
) -> PlanStep:
    step = PlanStep.objects.create(
        item=item,
        key=key,
        name=key.replace("-", " ").capitalize(),
        kind=PlanStep.Kind.AUTOMATED,
        department=department or item.department,
        action=action,
        params=dict(params or {}),
        position=PlanStep.objects.filter(item=item).count(),
    )
    step.after.set(after)
    return step


def onboarding_like_plan(item: CatalogItem, *, action: str) -> list[PlanStep]:
    """The shape of "New hire onboarding": one step, five in parallel after it, a join."""
    record = plan_step(item, "hr-record", action=action)
    parallel = [
        plan_step(item, key, action=action, after=[record])
        for key in ("it-account", "app-access", "desk", "badge", "orientation")
    ]
    join = plan_step(item, "tell-manager", action=action, after=parallel)
    return [record, *parallel, join]


def submit(item: CatalogItem, user: AbstractBaseUser, *, key: str = "k") -> ServiceRequest:
    """Submit in its own transaction: its steps are published when it commits."""
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=user, subject="Onboard Kim", answers=[], submission_key=key
    )
    return service_request


def step_states(service_request: ServiceRequest) -> dict[str, str]:
    return dict(
        StepRun.objects.filter(run__service_request=service_request).values_list(
            "step_key", "state"
        )
    )
