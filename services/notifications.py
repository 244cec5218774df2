"""E-mails the portal sends. Each function takes ids (it runs after commit, maybe on a
worker), loads what it needs and sends one templated message per recipient."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from esm.models import DepartmentRole
from services.enqueue import enqueue_on_commit
from services.models import Comment, FulfilmentTask, ServiceRequest


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
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"


def _send(template: str, recipients: Iterable[AbstractBaseUser], context: dict) -> None:
    addresses = [person.email for person in recipients if person.email]
    if not addresses:
        return
    subject = render_to_string(f"email/{template}_subject.txt", context).strip()
    body = render_to_string(f"email/{template}.txt", context)
    send_mail(subject, body, None, addresses)


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
    "public_reply": public_reply,
    "question_asked": question_asked,
    "request_resolved": request_resolved,
    "task_assigned": task_assigned,
    "sla_breached": sla_breached,
}
