"""IT: reset the requester's password: a one-time link e-mailed, no person involved."""

from __future__ import annotations

from typing import Any

from esm import clock
from services.automation import inputs, mail
from services.automation.registry import Input, PermanentError, StepContext, action
from services.models import DirectoryAccount, OneTimeLink

LINK_VALID_MINUTES = 60


@action(
    "it.reset_password",
    label="Reset a password (one-time link)",
    inputs=(Input("valid_minutes", "How long the link works (default 60)", required=False),),
)
def reset_password(context: StepContext) -> dict[str, Any]:
    link = OneTimeLink.objects.filter(created_by_key=context.key).select_related("account").first()
    if link is not None:
        return {"username": link.account.username}
    requester = context.service_request.requester
    account = DirectoryAccount.objects.filter(person=requester, active=True).first()
    if account is None:
        raise PermanentError(f"{requester} has no directory account.")
    # The requester's portal address first: they signed in to ask, and a forgotten password
    # may be what stands between them and the directory mailbox. Never raised_by's: a
    # colleague raising it on their behalf must not receive the link.
    address = requester.email or account.email
    if not address:
        raise PermanentError(f"{requester} has no e-mail address to send the link to.")
    now = clock.now()
    # Only the newest reset link works: earlier unused ones stop working now.
    OneTimeLink.objects.filter(
        account=account,
        purpose=OneTimeLink.Purpose.RESET_PASSWORD,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(expires_at=now)
    link, token = OneTimeLink.issue(
        account=account,
        purpose=OneTimeLink.Purpose.RESET_PASSWORD,
        valid_for=inputs.as_minutes(
            context.value("valid_minutes"), name="valid_minutes", default=LINK_VALID_MINUTES
        ),
        key=context.key,
    )
    mail.send_once(
        context,
        template="password_reset",
        to=[address],
        extra={"account": account, "link": mail.link_url(token), "expires_at": link.expires_at},
    )
    return {"username": account.username, "sent_to": address}
