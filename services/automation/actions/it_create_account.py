"""IT: create a directory account; its first password is chosen through a one-time link.

The password is never set by IT, stored in clear or mailed: the recipient (by default the
hiring manager, who hands it over on day one) gets a link that works once.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from services.automation import inputs, mail
from services.automation.registry import (
    Input,
    PermanentError,
    StepContext,
    TransientError,
    action,
)
from services.models import DirectoryAccount, OneTimeLink

LINK_VALID_FOR = dt.timedelta(days=14)
# Room for the collision number within DirectoryAccount.username's 150 characters.
MAX_BASE_LENGTH = 140
# Each try loses only to an account created concurrently with the same name.
MAX_USERNAME_TRIES = 5


@action(
    "it.create_account",
    label="Create a directory account",
    inputs=(
        Input("first_name", "First name (default: the answer 'first_name')"),
        Input("last_name", "Last name (default: the answer 'last_name')"),
        Input(
            "person",
            "A person field's answer: the portal user the account belongs to",
            required=False,
        ),
        Input(
            "email_domain",
            "Domain of the account's address (default: the DIRECTORY_EMAIL_DOMAIN setting)",
            required=False,
        ),
        Input(
            "recipient",
            "Who gets the one-time link: raised_by (default: the new hire's manager, who "
            "raised the request), requester, manager, or an address",
            required=False,
        ),
    ),
)
def create_account(context: StepContext) -> dict[str, Any]:
    account = DirectoryAccount.objects.filter(created_by_key=context.key).first()
    if account is not None:
        return _result(account)
    first_name = " ".join(str(context.require("first_name")).split())
    last_name = " ".join(str(context.require("last_name")).split())
    person = inputs.person_input(context)
    if person is not None:
        existing = DirectoryAccount.objects.filter(person=person, active=True).first()
        if existing is not None:
            raise PermanentError(f"{person} already has the account {existing.username}.")
    recipients = inputs.recipient_addresses(context, context.value("recipient") or "raised_by")
    domain = context.value("email_domain") or getattr(
        settings, "DIRECTORY_EMAIL_DOMAIN", "example.com"
    )
    account = _create_with_free_username(
        context,
        base=username_base(first_name, last_name),
        domain=str(domain).strip().lstrip("@"),
        first_name=first_name,
        last_name=last_name,
        person=person,
    )
    link, token = OneTimeLink.issue(
        account=account,
        purpose=OneTimeLink.Purpose.SET_PASSWORD,
        valid_for=LINK_VALID_FOR,
        key=context.key,
    )
    mail.send_once(
        context,
        template="account_created",
        to=recipients,
        extra={"account": account, "link": mail.link_url(token), "expires_at": link.expires_at},
    )
    return _result(account) | {"link_sent_to": recipients}


def username_base(first_name: str, last_name: str) -> str:
    """Kim Tan -> "kim.tan"; accents dropped ("Zoë" -> "zoe"), spaces and marks too."""

    def part(name: str) -> str:
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
        return re.sub(r"[^a-z0-9-]", "", plain).strip("-")

    base = ".".join(piece for piece in (part(first_name), part(last_name)) if piece)
    if not base:
        raise PermanentError(f"Cannot make a username from {first_name!r} {last_name!r}.")
    return base[:MAX_BASE_LENGTH]


def free_username(base: str) -> str:
    """`base` if free, else `base` with the smallest number from 2 that is: kim.tan2, ..."""
    taken = set(
        DirectoryAccount.objects.filter(username__startswith=base).values_list(
            "username", flat=True
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


def _create_with_free_username(
    context: StepContext, *, base: str, domain: str, **fields: Any
) -> DirectoryAccount:
    for _ in range(MAX_USERNAME_TRIES):
        username = free_username(base)
        email = f"{username}@{domain}"
        try:
            validate_email(email)
        except ValidationError:
            raise PermanentError(f"{email!r} is not a valid address: check the domain.") from None
        try:
            # A savepoint: losing the race for a username must not abort the step.
            with transaction.atomic():
                return DirectoryAccount.objects.create(
                    username=username,
                    email=email,
                    service_request=context.service_request,
                    created_by_key=context.key,
                    **fields,
                )
        except IntegrityError:
            # The unique username is the arbiter between two concurrent hires of the same
            # name; anything else is not ours to retry.
            if not DirectoryAccount.objects.filter(username=username).exists():
                raise
    raise TransientError(f"Usernames like {base!r} kept being taken; trying again later.")


def _result(account: DirectoryAccount) -> dict[str, Any]:
    return {"account": account.pk, "username": account.username, "email": account.email}
