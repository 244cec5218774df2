"""E-mails the portal sends. Each function takes ids (it runs after commit, maybe on a
worker), loads what it needs and sends one templated message per recipient."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from esm.models import DepartmentRole
from services.enqueue import enqueue_on_commit
from services.models import Approval, Comment, FulfilmentTask, ServiceRequest

logger = logging.getLogger(__name__)


def schedule(kind: str, *args: object) -> None:
    """Send notification `kind` from a worker once the current transaction commits.

    If the broker is down the e-mail is lost, never the change that caused it.
    """
    enqueue_on_commit("notify_task", kind, *args)


def send(kind: str, *args: object) -> None:
    """Run notification `kind` now (called by the worker)."""
    if kind not in NOTIFICATIONS:
        raise ValueError(f"unknown notification {kind!r}")
    NOTIFICATIONS[kind](*args)


def _absolute(path: str) -> str:
    """`path` on the portal's public address (PORTAL_BASE_URL): every link in an e-mail."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def _send(template: str, recipients: Iterable[AbstractBaseUser], context: dict) -> None:
    """Send `template` to each recipient as a message of its own.

    One address the mail server refuses (or any other failure sending to it) is logged
    and skipped: it must not cost the other recipients, or the next items of a sweep,
    their messages.
    """
    addresses = list(dict.fromkeys(person.email for person in recipients if person.email))
    if not addresses:
        return
    # A header value may not contain a line break, and a request's subject (typed by the
    # employee) can: the rendered subject is made one line.
    subject = " ".join(render_to_string(f"email/{template}_subject.txt", context).split())
    body = render_to_string(f"email/{template}.txt", context)
    for address in addresses:
        try:
            send_mail(subject, body, None, [address])
        except Exception:  # best effort: log it, keep sending to the others
            logger.exception("The %s e-mail to %s was not sent", template, address)


def _request_context(service_request: ServiceRequest) -> dict:
    return {
        "service_request": service_request,
        "url": _absolute(reverse("request_detail", args=[service_request.reference])),
    }


def public_reply(comment_id: int) -> None:
    comment = Comment.objects.select_related("service_request__requester", "author").get(
        pk=comment_id
    )
    context = _request_context(comment.service_request) | {"comment": comment}
    _send("public_reply", [comment.service_request.requester], context)


def question_asked(comment_id: int) -> None:
    comment = Comment.objects.select_related("service_request__requester", "author").get(
        pk=comment_id
    )
    context = _request_context(comment.service_request) | {"comment": comment}
    _send("question_asked", [comment.service_request.requester], context)


def request_resolved(service_request_id: int) -> None:
    service_request = ServiceRequest.objects.select_related("requester").get(pk=service_request_id)
    context = _request_context(service_request) | {"reopen_days": settings.REOPEN_WINDOW_DAYS}
    _send("request_resolved", [service_request.requester], context)


def approval_pending(approval_id: int) -> None:
    """Whoever may decide an approval that just reached them: a named approver, or every
    holder of the department role it waits for (never the requester or whoever raised it,
    who may not approve their own request)."""
    approval = Approval.objects.select_related(
        "approver", "department", "service_request__requester", "service_request__raised_by"
    ).get(pk=approval_id)
    if approval.state != Approval.State.PENDING:
        return  # decided (or withdrawn) before the e-mail went out
    service_request = approval.service_request
    if approval.approver is not None:
        approvers = [approval.approver]
    else:
        approvers = [
            role.user
            for role in DepartmentRole.objects.filter(
                department=approval.department, role=approval.role, user__is_active=True
            ).select_related("user")
        ]
    own = {service_request.requester_id, service_request.raised_by_id}
    context = {
        "approval": approval,
        "service_request": service_request,
        "url": _absolute(reverse("approvals")),
    }
    _send("approval_pending", [p for p in approvers if p.pk not in own], context)


def request_approved(service_request_id: int) -> None:
    service_request = ServiceRequest.objects.select_related("requester").get(pk=service_request_id)
    _send("request_approved", [service_request.requester], _request_context(service_request))


def request_rejected(service_request_id: int) -> None:
    """The reason is the rejecting approver's comment, kept as the request's resolution."""
    service_request = ServiceRequest.objects.select_related("requester").get(pk=service_request_id)
    _send("request_rejected", [service_request.requester], _request_context(service_request))


def task_assigned(task_id: int) -> None:
    task = FulfilmentTask.objects.select_related("assignee", "service_request").get(pk=task_id)
    if task.assignee is None:
        return
    context = {"task": task, "url": _absolute(reverse("task_detail", args=[task.pk]))}
    _send("task_assigned", [task.assignee], context)


def sla_breached(task_ids: list[int]) -> None:
    """One e-mail per breached task to its department's managers."""
    tasks = FulfilmentTask.objects.filter(pk__in=task_ids).select_related(
        "service_request", "department", "queue"
    )
    for task in tasks:
        managers = [
            role.user
            for role in DepartmentRole.objects.filter(
                department=task.department, role=DepartmentRole.Role.MANAGER
            ).select_related("user")
        ]
        context = {"task": task, "url": _absolute(reverse("task_detail", args=[task.pk]))}
        _send("sla_breached", managers, context)


NOTIFICATIONS = {
    "approval_pending": approval_pending,
    "request_approved": request_approved,
    "request_rejected": request_rejected,
    "public_reply": public_reply,
    "question_asked": question_asked,
    "request_resolved": request_resolved,
    "task_assigned": task_assigned,
    "sla_breached": sla_breached,
}
