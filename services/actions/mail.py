"""E-mail in: one received message becomes a request, a comment, a reopening, or a kept
refusal, in one transaction with the row that remembers it was received.

This is the mail's entry point, as a view is the browser's: it finds the person behind the
sender and asks `can()` what they may do, then calls the same actions the pages call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q

from esm import clock
from esm.permissions import can, staff_department_ids
from services import notifications
from services.actions._base import ActionRefused, attach
from services.actions.requests import comment_add, service_request_reopen, service_request_submit
from services.actions.tasks import task_reply
from services.forms import validate_upload
from services.mail.parse import (
    Malformed,
    ParsedMail,
    mail_parse,
    message_key,
    subject_best_effort,
)
from services.models import (
    FulfilmentTask,
    InboundAddress,
    InboundMessage,
    OutboundMessageId,
    ServiceRequest,
    mail_answerable_problem,
    mail_body_field,
)

Status = InboundMessage.Status
# The statuses whose sender gets a polite answer: a person wrote, and nothing was made.
ANSWERED = (Status.UNKNOWN_SENDER, Status.NOT_PERMITTED, Status.REFUSED)
NO_TEXT = "(The e-mail had no text.)"


@transaction.atomic
def inbound_message_receive(*, address: InboundAddress, raw: bytes) -> tuple[InboundMessage, bool]:
    """Act on one raw message received on `address`; returns (its row, created).

    A message received before (same Message-ID) returns its first row with created=False
    and changes nothing: a fetch that died before marking the message seen may hand it in
    again. Every message leaves a row, whatever became of it.
    """
    key = message_key(raw)
    existing = InboundMessage.objects.filter(message_id=key).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint: two fetches racing on one message meet at the unique Message-ID,
        # and the loser (after the winner committed) returns the winner's row.
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                message_id=key, address=address, raw=raw, status=Status.MALFORMED
            )
    except IntegrityError:
        return InboundMessage.objects.get(message_id=key), False

    try:
        mail = mail_parse(raw)
    except Malformed as problem:
        inbound.subject = subject_best_effort(raw)[:255]
        _finish(inbound, Status.MALFORMED, reason=str(problem))
        return inbound, True
    inbound.sender, inbound.subject = mail.sender[:254], mail.subject[:255]
    if mail.noise:
        _finish(inbound, Status.NOISE, reason=mail.noise)
    elif InboundAddress.objects.filter(address__iexact=mail.sender).exists():
        # Another inbound address (a forward from hr@ to it@): answering would loop.
        _finish(inbound, Status.NOISE, reason="It comes from one of the portal's own addresses.")
    elif _flooding(address, mail.sender, before=inbound):
        _finish(
            inbound,
            Status.FLOOD,
            reason=f"More than {settings.MAIL_IN_PER_SENDER_PER_HOUR} messages from this "
            "sender within the hour.",
        )
    else:
        _act(inbound, address, mail)
    if inbound.status in ANSWERED:
        notifications.schedule("inbound_answer", inbound.pk)
    return inbound, True


@transaction.atomic
def inbound_message_keep(*, address: InboundAddress, raw: bytes, reason: str) -> InboundMessage:
    """Keep a message that could not be acted on (an unexpected failure) for a person to
    look at; the row received before is returned when there is one."""
    inbound, _ = InboundMessage.objects.get_or_create(
        message_id=message_key(raw),
        defaults={"address": address, "raw": raw, "status": Status.MALFORMED, "reason": reason},
    )
    return inbound


@transaction.atomic
def inbound_messages_mark_looked_at(*, ids: list[int]) -> int:
    """A person looked at these malformed messages: they leave the list of ones to look at."""
    return InboundMessage.objects.filter(pk__in=ids, status=Status.MALFORMED).update(
        status=Status.LOOKED_AT
    )


def _finish(inbound: InboundMessage, status: str, **fields: Any) -> None:
    inbound.status = status
    for name, value in fields.items():
        setattr(inbound, name, value)
    inbound.save(update_fields=["status", "sender", "subject", *fields])


def _flooding(address: InboundAddress, sender: str, *, before: InboundMessage) -> bool:
    since = clock.now() - dt.timedelta(hours=1)
    received = (
        InboundMessage.objects.filter(address=address, sender=sender, received_at__gte=since)
        .exclude(pk=before.pk)
        .count()
    )
    return received >= settings.MAIL_IN_PER_SENDER_PER_HOUR


def _person(sender: str) -> Any:
    """The one active person with this e-mail address, or None (also when several share it:
    the portal cannot tell who wrote)."""
    people = list(
        get_user_model().objects.filter(email__iexact=sender, is_active=True).order_by("pk")[:2]
    )
    return people[0] if len(people) == 1 else None


def _thread(mail: ParsedMail) -> tuple[ServiceRequest | None, bool]:
    """The request `mail` replies to, and whether it names one at all.

    Headers first (the Message-IDs of our own notifications and of earlier messages), then
    the reference in the subject. (None, True): it names a request that does not exist.
    """
    if mail.references:
        threads = dict(
            OutboundMessageId.objects.filter(message_id__in=mail.references).values_list(
                "message_id", "service_request_id"
            )
        )
        threads.update(
            InboundMessage.objects.filter(
                message_id__in=mail.references, service_request__isnull=False
            ).values_list("message_id", "service_request_id")
        )
        for reference in mail.references:
            if reference in threads:
                return ServiceRequest.objects.get(pk=threads[reference]), True
    if (pk := mail.subject_reference) is not None:
        return ServiceRequest.objects.filter(pk=pk).first(), True
    return None, False


def _uploads(mail: ParsedMail) -> tuple[list[SimpleUploadedFile], list[str]]:
    """The files that pass the upload rules, and why each of the others was refused."""
    accepted, refused = [], []
    for file in mail.files:
        upload = SimpleUploadedFile(file.name[:255], file.content, file.content_type)
        try:
            validate_upload(upload)
        except ValidationError as error:
            refused.append(" ".join(error.messages))
        else:
            accepted.append(upload)
    return accepted, refused


def _refused_note(refused: list[str]) -> str:
    lines = "\n".join(f"- {reason}" for reason in refused)
    return f"Files in the e-mail that were not attached:\n{lines}"


def _act(inbound: InboundMessage, address: InboundAddress, mail: ParsedMail) -> None:
    person = _person(mail.sender)
    if person is None:
        _finish(inbound, Status.UNKNOWN_SENDER, reason="No active person has this address.")
        return
    service_request, names_one = _thread(mail)
    if names_one:
        _reply(inbound, person, service_request, mail)
    else:
        _raise(inbound, person, address, mail)


def _raise(inbound: InboundMessage, person: Any, address: InboundAddress, mail: ParsedMail) -> None:
    item = address.catalog_item
    if not can(person, "services.request_item", item):
        _finish(inbound, Status.NOT_PERMITTED, reason=f"The sender may not request {item}.")
        return
    if problem := mail_answerable_problem(item):
        # The item changed since the address was set up: the admin must pick another.
        _finish(inbound, Status.MALFORMED, reason=f"{address} cannot raise {item}: {problem}")
        return
    body_field = mail_body_field(item)
    body = mail.body or NO_TEXT
    uploads, refused = _uploads(mail)
    service_request, _ = service_request_submit(
        item=item,
        raised_by=person,
        subject=(mail.subject or f"E-mail from {mail.sender_name or mail.sender}")[:200],
        answers=[
            {
                "key": body_field.key,
                "label": body_field.label,
                "kind": body_field.kind,
                "value": body,
                "display": body,
            }
        ],
        submission_key=f"mail-{hashlib.sha256(inbound.message_id.encode()).hexdigest()[:40]}",
        uploads=[("", upload) for upload in uploads],
    )
    comment = None
    if refused:
        comment = comment_add(
            service_request=service_request, author=person, body=_refused_note(refused)
        )
    _finish(inbound, Status.REQUEST_RAISED, service_request=service_request, comment=comment)
    notifications.schedule("inbound_acknowledge", inbound.pk)


def _reply_task(service_request: ServiceRequest, person: Any, *, owner: bool) -> Any:
    """The open task of the request a staff member's reply answers from: theirs first, then
    any of their departments'; None for the request's owner, or when no such task is open."""
    if owner:
        return None
    return (
        FulfilmentTask.objects.open()
        .filter(
            service_request=service_request,
            consult__isnull=True,
            department_id__in=staff_department_ids(person),
        )
        .annotate(theirs=Q(assignee=person))
        .order_by("-theirs", "pk")
        .first()
    )


def _reply(
    inbound: InboundMessage, person: Any, service_request: ServiceRequest | None, mail: ParsedMail
) -> None:
    if service_request is None or not can(
        person, "services.comment_service_request", service_request
    ):
        # One answer whether the request exists or not: a reply reveals nothing about it.
        _finish(
            inbound,
            Status.NOT_PERMITTED,
            service_request=None,
            reason="The sender may not comment on the request the message names.",
        )
        return
    uploads, refused = _uploads(mail)
    body = "\n\n".join(filter(None, [mail.body or NO_TEXT, refused and _refused_note(refused)]))
    owner = can(person, "services.own_service_request", service_request)
    try:
        if service_request.state == ServiceRequest.State.RESOLVED and owner:
            service_request = service_request_reopen(
                service_request=service_request, user=person, reason=body
            )
            attach(service_request, [("", upload) for upload in uploads], person)
            comment = service_request.comments.order_by("-pk").first()
            status = Status.REOPENED
        elif (task := _reply_task(service_request, person, owner=owner)) is not None:
            # Staff answering by e-mail answer as on the task page: the employee is told,
            # and it counts as the department's response.
            comment = task_reply(task=task, agent=person, body=body)
            attach(service_request, [("", upload) for upload in uploads], person)
            status = Status.COMMENTED
        else:
            comment = comment_add(
                service_request=service_request,
                author=person,
                body=body,
                uploads=[("", upload) for upload in uploads],
            )
            status = Status.COMMENTED
    except ActionRefused as refusal:
        _finish(inbound, Status.REFUSED, service_request=service_request, reason=str(refusal))
        return
    _finish(inbound, status, service_request=service_request, comment=comment)
