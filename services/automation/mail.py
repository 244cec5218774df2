"""E-mails sent by automated steps: at most once per step, and only once the step commits."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse

from services.automation import inputs
from services.automation.registry import PermanentError, StepContext
from services.models import (
    Badge,
    DeskBooking,
    DirectoryAccount,
    EmployeeRecord,
    OrientationEvent,
    ParkingReservation,
    SentMessage,
)

# A file name under templates/email/, nothing that could climb out of it.
TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


def send_once(
    context: StepContext, *, template: str, to: list[str], extra: dict[str, Any] | None = None
) -> bool:
    """Send `template` to `to` when the step commits, unless this step already sent it.

    Call inside the step's transaction. The `SentMessage` row commits with the step: a
    rerun after a crash before the commit sends (the first send never happened, it waited
    for the commit); a rerun after it finds the row and sends nothing. The price is that a
    process dying between the commit and the mail server's answer loses the e-mail: at most
    once, never twice. Returns whether this call sent it.
    """
    if SentMessage.objects.filter(key=context.key).exists():
        return False
    subject, body = render(template, message_context(context) | (extra or {}))
    SentMessage.objects.create(
        key=context.key,
        template=template,
        recipients=", ".join(to),
        service_request=context.service_request,
    )
    # Robust: a mail server outage must not undo the step's records (they committed).
    transaction.on_commit(partial(send_mail, subject, body, None, to), robust=True)
    return True


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    if not TEMPLATE_NAME.fullmatch(template):
        raise PermanentError(f"{template!r} is not an e-mail template name.")
    try:
        subject = render_to_string(f"email/{template}_subject.txt", context)
        body = render_to_string(f"email/{template}.txt", context)
    except TemplateDoesNotExist as missing:
        raise PermanentError(f"There is no e-mail template {missing}.") from None
    # One line: a subject with a line break would be refused as a header injection.
    return " ".join(subject.split()), body


def message_context(context: StepContext) -> dict[str, Any]:
    """What every automation e-mail may use: the request, its answers, what steps made."""
    service_request = context.service_request
    path = reverse("request_detail", args=[service_request.reference])
    return {
        "service_request": service_request,
        "url": f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}",
        "answers": {
            row["key"]: row.get("display", row.get("value")) for row in service_request.answers
        },
        "account": inputs.made_for_request(context, DirectoryAccount),
        "employee_record": inputs.made_for_request(context, EmployeeRecord),
        "desk_booking": inputs.made_for_request(context, DeskBooking),
        "badge": inputs.made_for_request(context, Badge),
        "orientation": inputs.made_for_request(context, OrientationEvent),
        "parking": inputs.made_for_request(context, ParkingReservation),
    }


def link_url(token: str) -> str:
    """The address of a one-time link's page, where the holder chooses a password."""
    path = reverse("one_time_link", args=[token])
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{path}"
