"""E-mails the portal sends. Each function takes ids (it runs after commit, maybe on a
worker), loads what it needs and sends one templated message per recipient."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage, make_msgid
from django.template.loader import render_to_string
from django.urls import reverse

from esm.models import DepartmentRole
from services.enqueue import enqueue_on_commit
from services.models import (
    Approval,
    Comment,
    FulfilmentTask,
    InboundAddress,
    InboundMessage,
    OutboundMessageId,
    ServiceRequest,
)

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


def _send(
    template: str,
    recipients: Iterable[AbstractBaseUser],
    context: dict,
    *,
    service_request: ServiceRequest | None = None,
) -> None:
    """Send `template` to each recipient as a message of its own (see `_deliver`)."""
    addresses = list(dict.fromkeys(person.email for person in recipients if person.email))
    _deliver(template, addresses, context, service_request=service_request)


def _deliver(
    template: str,
    addresses: list[str],
    context: dict,
    *,
    service_request: ServiceRequest | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send `template` to each address as a message of its own.

    One address the mail server refuses (or any other failure sending to it) is logged
    and skipped: it must not cost the other recipients, or the next items of a sweep,
    their messages. A message about `service_request` answers to its department's inbound
    address, and its Message-ID is kept, so that a reply threads into the request.
    """
    if not addresses:
        return
    # A header value may not contain a line break, and a request's subject (typed by the
    # employee) can: the rendered subject is made one line.
    subject = " ".join(render_to_string(f"email/{template}_subject.txt", context).split())
    body = render_to_string(f"email/{template}.txt", context)
    reply_to = _inbound_address_of(service_request)
    for address in addresses:
        message_id = make_msgid(domain=_own_domain())
        message = EmailMessage(
            subject,
            body,
            to=[address],
            reply_to=reply_to,
            # Auto-Submitted (RFC 3834) tells auto-responders not to answer: no out-of-office
            # ping-pong with the portal.
            headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"}
            | (headers or {}),
        )
        try:
            message.send()
        except Exception:  # best effort: log it, keep sending to the others
            logger.exception("The %s e-mail to %s was not sent", template, address)
            continue
        if service_request is not None:
            # The record of what was sent, written once it was: a failed send threads nothing.
            OutboundMessageId.objects.create(message_id=message_id, service_request=service_request)


def _own_domain() -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address.rpartition("@")[2] or "localhost"


def _inbound_address_of(service_request: ServiceRequest | None) -> list[str] | None:
    if service_request is None:
        return None
    address = (
        InboundAddress.objects.filter(department_id=service_request.department_id, is_active=True)
        .order_by("pk")
        .values_list("address", flat=True)
        .first()
    )
    return [address] if address else None


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
    _send(
        "public_reply",
        [comment.service_request.requester],
        context,
        service_request=comment.service_request,
    )


def question_asked(comment_id: int) -> None:
    comment = Comment.objects.select_related("service_request__requester", "author").get(
        pk=comment_id
    )
    context = _request_context(comment.service_request) | {"comment": comment}
    _send(
        "question_asked",
        [comment.service_request.requester],
        context,
        service_request=comment.service_request,
    )


def request_resolved(service_request_id: int) -> None:
    service_request = ServiceRequest.objects.select_related("requester").get(pk=service_request_id)
    context = _request_context(service_request) | {"reopen_days": settings.REOPEN_WINDOW_DAYS}
    _send("request_resolved", [service_request.requester], context, service_request=service_request)


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
    _send(
        "request_approved",
        [service_request.requester],
        _request_context(service_request),
        service_request=service_request,
    )


def request_rejected(service_request_id: int) -> None:
    """The reason is the rejecting approver's comment, kept as the request's resolution."""
    service_request = ServiceRequest.objects.select_related("requester").get(pk=service_request_id)
    _send(
        "request_rejected",
        [service_request.requester],
        _request_context(service_request),
        service_request=service_request,
    )


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


# The answers to a message that made nothing, one template per status.
INBOUND_ANSWERS = {
    InboundMessage.Status.UNKNOWN_SENDER: "inbound_unknown_sender",
    InboundMessage.Status.NOT_PERMITTED: "inbound_not_permitted",
    InboundMessage.Status.REFUSED: "inbound_refused",
}


def _answer_headers(inbound: InboundMessage) -> dict[str, str]:
    """Threads the answer under the message it answers; an automatic answer (RFC 3834)."""
    headers = {"Auto-Submitted": "auto-replied"}
    if not inbound.message_id.startswith("<sha256-"):  # a key of ours, not a Message-ID
        headers |= {"In-Reply-To": inbound.message_id, "References": inbound.message_id}
    return headers


def inbound_answer(inbound_id: int) -> None:
    """A polite answer to a person's message that made nothing: who they are not, what they
    may not do, or why the request took no more. It says nothing about any request."""
    inbound = InboundMessage.objects.select_related("address").get(pk=inbound_id)
    template = INBOUND_ANSWERS.get(inbound.status)
    if template is None or not inbound.sender:
        return
    context = {"inbound": inbound, "portal_url": _absolute(reverse("home"))}
    _deliver(template, [inbound.sender], context, headers=_answer_headers(inbound))


def inbound_acknowledge(inbound_id: int) -> None:
    """The request a message raised, with its reference and link, as an answer to that
    message; replies to it thread into the request."""
    inbound = InboundMessage.objects.select_related("service_request__requester").get(pk=inbound_id)
    service_request = inbound.service_request
    if service_request is None or not service_request.requester.email:
        return
    _deliver(
        "inbound_acknowledged",
        [service_request.requester.email],
        _request_context(service_request),
        service_request=service_request,
        headers=_answer_headers(inbound),
    )


NOTIFICATIONS = {
    "inbound_acknowledge": inbound_acknowledge,
    "inbound_answer": inbound_answer,
    "approval_pending": approval_pending,
    "request_approved": request_approved,
    "request_rejected": request_rejected,
    "public_reply": public_reply,
    "question_asked": question_asked,
    "request_resolved": request_resolved,
    "task_assigned": task_assigned,
    "sla_breached": sla_breached,
}
