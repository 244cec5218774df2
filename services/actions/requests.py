"""Service requests: submission, approvals, cancel, reopen, rating, conversation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import OuterRef

from esm import clock
from esm.aggregates import count_of
from esm.models import EventKind
from services import notifications, sla
from services.actions import automation, consults, knowledge, tasks
from services.actions._base import (
    ActionRefused,
    attach,
    request_event,
    request_lock,
    request_set_state_for_update,
)
from services.models import (
    Approval,
    ApprovalStep,
    CatalogItem,
    Comment,
    ExperienceRating,
    FulfilmentTask,
    ServiceRequest,
)
from services.models.catalog import POPULAR_WINDOW_DAYS

State = ServiceRequest.State


@transaction.atomic
def service_request_submit(
    *,
    item: CatalogItem,
    raised_by: AbstractBaseUser,
    requester: AbstractBaseUser | None = None,
    subject: str,
    answers: list[dict[str, Any]],
    submission_key: str,
    uploads: Iterable[tuple[str, UploadedFile]] = (),
) -> tuple[ServiceRequest, bool]:
    """Create a request from a validated form; returns (request, created).

    The same form sent twice (double click, network resend) carries the same
    `submission_key` and yields the first request again with created=False.
    """
    existing = ServiceRequest.objects.filter(
        raised_by=raised_by, submission_key=submission_key
    ).first()
    if existing is not None:
        return existing, False
    requester = requester or raised_by
    try:
        # A savepoint: two identical submissions racing past the check above meet at the
        # unique constraint, and the loser returns the winner's request.
        with transaction.atomic():
            service_request = ServiceRequest(
                catalog_item=item,
                requester=requester,
                raised_by=raised_by,
                subject=subject,
                answers=answers,
                state=State.SUBMITTED,
                priority=item.default_priority,
                department=item.department,
                is_confidential=item.is_confidential,
                submission_key=submission_key,
                form_start=knowledge.form_start_latest(person=raised_by, item=item),
                submitted_at=clock.now(),
            )
            # The employee's promise starts now; approval time counts towards it.
            sla.end_to_end_start(service_request, now=service_request.submitted_at)
            service_request.save(force_insert=True)
    except IntegrityError:
        return ServiceRequest.objects.get(raised_by=raised_by, submission_key=submission_key), False

    payload = {"item": item.slug, "form_start": service_request.form_start_id}
    if requester.pk != raised_by.pk:
        payload["on_behalf_of"] = requester.pk
    request_event(
        service_request, EventKind.SUBMITTED, raised_by, to_value=State.SUBMITTED, payload=payload
    )
    attach(service_request, uploads, raised_by)

    steps = list(item.approval_steps.all())
    Approval.objects.bulk_create(
        Approval(service_request=service_request, position=index, **_approver_of(step, requester))
        for index, step in enumerate(steps, start=1)
    )
    _approval_next(service_request, actor=None)
    return service_request, True


def _approver_of(step: ApprovalStep, requester: AbstractBaseUser) -> dict[str, Any]:
    if step.approver == ApprovalStep.Approver.PERSON:
        return {"approver": step.person, "label": step.person.get_full_name() or str(step.person)}
    if step.approver == ApprovalStep.Approver.DEPARTMENT_ROLE:
        label = f"{step.department} {step.get_role_display().lower()}"
        return {"department": step.department, "role": step.role, "label": label}
    profile = getattr(requester, "profile", None)
    manager = profile.manager if profile else None
    if manager is None:
        return {"label": "The requester's manager (none recorded)"}
    requester_name = requester.get_full_name() or requester.get_username()
    label = f"{manager.get_full_name() or manager.get_username()} ({requester_name}'s manager)"
    return {"approver": manager, "label": label}


def _approval_next(service_request: ServiceRequest, *, actor: Any) -> None:
    """Open the next waiting approval, or hand the request to its department when none is left.

    Call while holding the request's row lock.

    A step whose approver cannot be resolved (no manager on record) is skipped with an
    event, rather than leaving the request stuck with nobody able to act.
    """
    for approval in service_request.approvals.filter(state=Approval.State.WAITING):
        if approval.approver_id is None and approval.department_id is None:
            approval.state = Approval.State.SKIPPED
            approval.save(update_fields=["state"])
            request_event(
                service_request,
                EventKind.APPROVAL_SKIPPED,
                None,
                payload=approval.event_payload,
            )
            continue
        approval.state, approval.requested_at = Approval.State.PENDING, clock.now()
        approval.save(update_fields=["state", "requested_at"])
        notifications.schedule("approval_pending", approval.pk)
        if service_request.state != State.AWAITING_APPROVAL:
            request_set_state_for_update(
                service_request,
                State.AWAITING_APPROVAL,
                actor,
                EventKind.APPROVAL_REQUESTED,
                payload=approval.event_payload,
            )
        else:
            request_event(
                service_request,
                EventKind.APPROVAL_REQUESTED,
                actor,
                payload=approval.event_payload,
            )
        return
    steps = automation.plan_of(service_request.catalog_item_id)
    if steps:
        automation.run_start(service_request, steps=steps)
    else:
        tasks.task_open_for_request(service_request, actor=actor, title=service_request.subject)


@transaction.atomic
def approval_decide(
    *, approval: Approval, user: AbstractBaseUser, approve: bool, comment: str = ""
) -> Approval:
    """Record an approver's decision. A rejection ends the request; an approval moves it on."""
    service_request = request_lock(approval.service_request)
    approval = Approval.objects.get(pk=approval.pk)
    # An approval is either one of the item's up-front steps, or opened by a plan step.
    step_run = automation.step_waiting_on(approval)
    up_front = service_request.state == State.AWAITING_APPROVAL
    if approval.state != Approval.State.PENDING or not (up_front or step_run):
        raise ActionRefused("This approval has already been decided.")
    approval.state = Approval.State.APPROVED if approve else Approval.State.REJECTED
    approval.decided_by, approval.decided_at, approval.comment = user, clock.now(), comment
    approval.save(update_fields=["state", "decided_by", "decided_at", "comment"])
    if approve:
        request_event(
            service_request,
            EventKind.APPROVED,
            user,
            payload=approval.event_payload | {"comment": comment},
        )
        if step_run is not None:
            automation.step_finish_by_approval(step_run, service_request)
        else:
            _approval_next(service_request, actor=user)
        # The employee hears once nothing is left to approve, not after every step.
        if not service_request.approvals.filter(
            state__in=[Approval.State.WAITING, Approval.State.PENDING]
        ).exists():
            notifications.schedule("request_approved", service_request.pk)
    else:
        service_request.approvals.filter(state=Approval.State.WAITING).update(
            state=Approval.State.SKIPPED
        )
        consults.consults_withdraw_open(service_request, actor=user)
        tasks.tasks_cancel_open(service_request, actor=user)
        automation.run_cancel(service_request)
        request_set_state_for_update(
            service_request,
            State.REJECTED,
            user,
            EventKind.REJECTED,
            payload=approval.event_payload | {"comment": comment},
            closed_at=clock.now(),
            resolution=comment,
        )
        notifications.schedule("request_rejected", service_request.pk)
    return approval


@transaction.atomic
def service_request_cancel(
    *, service_request: ServiceRequest, user: AbstractBaseUser, reason: str = ""
) -> ServiceRequest:
    service_request = request_lock(service_request)
    if not service_request.is_open:
        raise ActionRefused("Only a request that is not resolved yet can be cancelled.")
    service_request.approvals.filter(
        state__in=[Approval.State.WAITING, Approval.State.PENDING]
    ).update(state=Approval.State.SKIPPED)
    consults.consults_withdraw_open(service_request, actor=user)
    tasks.tasks_cancel_open(service_request, actor=user)
    automation.run_cancel(service_request)
    request_set_state_for_update(
        service_request,
        State.CANCELLED,
        user,
        EventKind.CANCELLED,
        closed_at=clock.now(),
        resolution=reason,
    )
    return service_request


@transaction.atomic
def service_request_resolve(
    *, service_request: ServiceRequest, user: AbstractBaseUser | None, resolution: str
) -> ServiceRequest:
    """Resolve the whole request at once, closing whatever tasks are still open."""
    service_request = request_lock(service_request)
    if service_request.state not in (State.SUBMITTED, State.IN_PROGRESS, State.WAITING_ON_EMPLOYEE):
        raise ActionRefused("Only a request being worked on can be resolved.")
    consults.consults_withdraw_open(service_request, actor=user)
    tasks.tasks_finish_open(service_request, actor=user, resolution=resolution)
    automation.run_cancel(service_request)
    now = clock.now()
    sla.end_to_end_stop(service_request, now=now)
    request_set_state_for_update(
        service_request,
        State.RESOLVED,
        user,
        EventKind.RESOLVED,
        resolved_at=now,
        resolution=resolution,
        **{name: getattr(service_request, name) for name in sla.END_TO_END_FIELDS},
    )
    return service_request


def reopen_deadline(service_request: ServiceRequest) -> dt.datetime | None:
    if service_request.state != State.RESOLVED or service_request.resolved_at is None:
        return None
    return service_request.resolved_at + dt.timedelta(days=settings.REOPEN_WINDOW_DAYS)


@transaction.atomic
def service_request_reopen(
    *, service_request: ServiceRequest, user: AbstractBaseUser, reason: str
) -> ServiceRequest:
    service_request = request_lock(service_request)
    deadline = reopen_deadline(service_request)
    if deadline is None:
        raise ActionRefused("Only a resolved request can be reopened.")
    if clock.now() > deadline:
        raise ActionRefused(
            f"Requests can be reopened within {settings.REOPEN_WINDOW_DAYS} days of resolution; "
            "please raise a new one."
        )
    # A consult task answered a question; it never resolved the request.
    last_done = (
        service_request.tasks.filter(state=FulfilmentTask.State.DONE, consult__isnull=True)
        .select_related("queue")
        .order_by("-done_at", "-pk")
        .first()
    )
    # The work goes back to whoever resolved it last, not to the item's default queue.
    queue = last_done.queue if last_done else None
    # The same end-to-end target continues: the time it stood resolved does not count, and
    # a target already missed stays missed.
    sla.end_to_end_continue(service_request, now=clock.now())
    request_set_state_for_update(
        service_request,
        State.IN_PROGRESS,
        user,
        EventKind.REOPENED,
        payload={"reason": reason, "to_queue": queue.slug if queue else ""},
        resolved_at=None,
        **{name: getattr(service_request, name) for name in sla.END_TO_END_FIELDS},
    )
    if reason:
        comment = Comment.objects.create(service_request=service_request, author=user, body=reason)
        request_event(
            service_request,
            EventKind.COMMENTED,
            user,
            to_value=Comment.PUBLIC,
            payload={"comment": comment.pk},
        )
    tasks.task_open_for_request(
        service_request,
        actor=user,
        title=f"Reopened: {service_request.subject}"[:200],
        queue=queue,
    )
    return service_request


@transaction.atomic
def service_request_rate(
    *, service_request: ServiceRequest, user: AbstractBaseUser, score: int, comment: str = ""
) -> ExperienceRating:
    service_request = request_lock(service_request)
    if service_request.state not in (State.RESOLVED, State.CLOSED):
        raise ActionRefused("A request can be rated once it is resolved.")
    if ExperienceRating.objects.filter(service_request=service_request).exists():
        raise ActionRefused("This request has been rated already. Thank you!")
    if not 1 <= score <= 5:
        raise ActionRefused("Rate from 1 to 5.")
    rating = ExperienceRating.objects.create(
        service_request=service_request, score=score, comment=comment, rated_by=user
    )
    request_event(
        service_request, EventKind.RATED, user, to_value=str(score), payload={"score": score}
    )
    return rating


@transaction.atomic
def comment_add(
    *,
    service_request: ServiceRequest,
    author: AbstractBaseUser,
    body: str,
    uploads: Iterable[tuple[str, UploadedFile]] = (),
    is_internal: bool = False,
) -> Comment:
    service_request = request_lock(service_request)
    if service_request.state in ServiceRequest.CLOSED_STATES:
        raise ActionRefused("This request is closed; raise a new one to continue.")
    comment = Comment.objects.create(
        service_request=service_request, author=author, body=body, is_internal=is_internal
    )
    attach(service_request, uploads, author)
    request_event(
        service_request,
        EventKind.COMMENTED,
        author,
        to_value=Comment.INTERNAL if is_internal else Comment.PUBLIC,
        payload={"comment": comment.pk},
    )
    speaks_for_employee = author.pk in (service_request.requester_id, service_request.raised_by_id)
    if speaks_for_employee and not is_internal:
        # The employee answered: every task that was waiting on them starts its clock again.
        tasks.tasks_resume_for_employee(service_request, actor=author)
    return comment


# How many resolved requests one sweep closes at most; the next sweep takes the rest.
CLOSE_SWEEP_BATCH = 500


@transaction.atomic
def service_requests_close_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Close resolved requests whose reopen window has passed; returns their ids.

    Runs from Celery beat. A closed request takes no more comments or reopening; the
    employee can still rate it.
    """
    now = now or clock.now()
    cutoff = now - dt.timedelta(days=settings.REOPEN_WINDOW_DAYS)
    due = list(
        ServiceRequest.objects.filter(state=State.RESOLVED, resolved_at__lte=cutoff)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("department")
        .order_by("resolved_at")[:CLOSE_SWEEP_BATCH]
    )
    for service_request in due:
        request_set_state_for_update(
            service_request, State.CLOSED, None, EventKind.CLOSED, closed_at=now
        )
    return [service_request.pk for service_request in due]


def catalog_items_count_recent(*, now: dt.datetime | None = None) -> int:
    """Count each catalog item's requests raised in the last `POPULAR_WINDOW_DAYS` days into
    its `recent_requests`, in one UPDATE (hourly from beat, and after a seed); returns the
    items counted. A count, not a configuration change: nothing is recorded in the log."""
    since = (now or clock.now()) - dt.timedelta(days=POPULAR_WINDOW_DAYS)
    return CatalogItem.objects.update(
        recent_requests=count_of(
            ServiceRequest.objects.filter(catalog_item=OuterRef("pk"), submitted_at__gte=since)
        )
    )
