"""Generic: stop the plan until someone approves (e.g. a budget sign-off mid-way)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Max

from esm import clock
from esm.events import event_record
from esm.models import Department, DepartmentRole, EventKind
from services import notifications
from services.automation.registry import (
    AWAITING_APPROVAL,
    Input,
    PermanentError,
    StepContext,
    action,
)
from services.models import Approval


def _approver(context: StepContext, spec: str) -> dict[str, Any]:
    """Who approves: "manager" (the requester's), "role:<department>:<role>", or a username."""
    service_request = context.service_request
    if spec == "manager":
        profile = getattr(service_request.requester, "profile", None)
        manager = profile.manager if profile else None
        if manager is None:
            raise PermanentError("The requester has no manager on record to approve.")
        name = manager.get_full_name() or manager.get_username()
        return {"approver": manager, "label": f"{name} (the requester's manager)"}
    if spec.startswith("role:"):
        _, slug, role = spec.split(":", 2) if spec.count(":") == 2 else ("", "", "")
        department = Department.objects.filter(slug=slug).first()
        if department is None or role not in DepartmentRole.Role.values:
            raise PermanentError(f"'{spec}' names no department role.")
        label = f"{department.name} {DepartmentRole.Role(role).label.lower()}"
        return {"department": department, "role": role, "label": label}
    person = get_user_model().objects.filter(username=spec, is_active=True).first()
    if person is None:
        raise PermanentError(f"No active person is called '{spec}'.")
    return {"approver": person, "label": person.get_full_name() or person.get_username()}


@action(
    "generic.wait_for_approval",
    label="Wait for an approval",
    inputs=(Input("approver", 'manager, "role:<department>:<agent|manager>" or a username'),),
)
def wait_for_approval(context: StepContext) -> dict[str, Any]:
    service_request = context.service_request
    who = _approver(context, str(context.require("approver")))
    if service_request.is_confidential and who.get("department") != service_request.department:
        raise PermanentError("A confidential case is approved only within its department.")
    last = service_request.approvals.aggregate(last=Max("position"))["last"] or 0
    approval = Approval.objects.create(
        service_request=service_request,
        position=last + 1,
        state=Approval.State.PENDING,
        step_key=context.step_run.step_key,
        requested_at=clock.now(),
        **who,
    )
    event_record(
        subject=service_request,
        kind=EventKind.APPROVAL_REQUESTED,
        department=service_request.department,
        reference=service_request.reference,
        is_confidential=service_request.is_confidential,
        payload=approval.event_payload,
    )
    notifications.schedule("approval_pending", approval.pk)
    return {AWAITING_APPROVAL: approval.pk, "approver": approval.label}
