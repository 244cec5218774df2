"""HR: e-mail the welcome pack to the new hire (or the requester), once."""

from __future__ import annotations

from typing import Any

from services.automation import inputs, mail
from services.automation.registry import Input, StepContext, action


@action(
    "hr.send_welcome_pack",
    label="Send the welcome pack",
    inputs=(
        Input(
            "recipient",
            "requester, raised_by, manager or an address (default: the new hire's account "
            "address, else the requester)",
            required=False,
        ),
    ),
)
def send_welcome_pack(context: StepContext) -> dict[str, Any]:
    account = inputs.new_account(context)
    record = inputs.new_hire_record(context)
    recipient = context.value("recipient")
    if recipient:
        to = inputs.recipient_addresses(context, recipient)
    elif account is not None and account.email:
        to = [account.email]
    else:
        to = inputs.recipient_addresses(context, "requester")
    requester = context.service_request.requester
    name = (
        (account.first_name if account else "")
        or (record.first_name if record else "")
        or requester.first_name
        or requester.get_username()
    )
    sent = mail.send_once(context, template="welcome_pack", to=to, extra={"name": name})
    return {"sent_to": to, "sent_now": sent}
