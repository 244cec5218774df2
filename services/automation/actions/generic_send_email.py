"""Generic: send an e-mail from a template under templates/email/, once per step."""

from __future__ import annotations

from typing import Any

from services.automation import inputs, mail
from services.automation.registry import Input, StepContext, action


@action(
    "generic.send_email",
    label="Send an e-mail",
    inputs=(
        Input(
            "template",
            "Template name under templates/email/ (<name>.txt and <name>_subject.txt)",
        ),
        Input(
            "recipient",
            "requester (default), raised_by, manager (the requester's) or an address",
            required=False,
        ),
    ),
)
def send_email(context: StepContext) -> dict[str, Any]:
    template = str(context.require("template")).strip()
    to = inputs.recipient_addresses(context, context.value("recipient") or "requester")
    sent = mail.send_once(context, template=template, to=to)
    return {"template": template, "sent_to": to, "sent_now": sent}
