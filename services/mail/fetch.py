"""Fetching the inbound addresses' mailboxes over IMAP (Celery beat, `mail_fetch_task`).

Each message is handed to `inbound_message_receive`, which commits, and only then marked
seen: a fetch that dies in between leaves the message unseen, the next fetch hands it in
again, and the row keyed by its Message-ID makes that a no-op. A message is never lost and
never acted on twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from services.actions.mail import inbound_message_keep, inbound_message_receive
from services.models import InboundAddress, InboundMessage

logger = logging.getLogger(__name__)

# How many messages one fetch takes from one folder; the next fetch takes the rest.
FETCH_BATCH = 50
IMAP_TIMEOUT_SECONDS = 30


class MailboxNotConfigured(Exception):
    """The address names a mailbox the environment does not describe."""


def mailboxes_fetch(
    *, after_receive: Callable[[InboundMessage], Any] | None = None
) -> list[InboundMessage]:
    """Fetch every active address's folder; returns the rows of the messages handed in.

    One mailbox that cannot be reached is logged and skipped: it must not stop the others.
    `after_receive` runs between a message's commit and its mark-seen (tests use it to
    die there).
    """
    received: list[InboundMessage] = []
    for address in InboundAddress.objects.filter(is_active=True).select_related("catalog_item"):
        try:
            received += mailbox_fetch(address=address, after_receive=after_receive)
        except (MailboxNotConfigured, IMAPClientError, OSError):
            logger.exception("The mailbox of %s was not fetched", address)
    return received


def mailbox_settings(name: str) -> dict[str, Any]:
    """Host, port, user, password and ssl of the mailbox called `name`, from the
    environment (`MAIL_IN_<NAME>_...`, read into `settings.MAIL_IN_MAILBOXES`)."""
    try:
        return settings.MAIL_IN_MAILBOXES[name.lower()]
    except KeyError:
        raise MailboxNotConfigured(
            f"No mailbox {name!r}: set MAIL_IN_{name.upper()}_HOST, _USER and _PASSWORD."
        ) from None


def mailbox_fetch(
    *, address: InboundAddress, after_receive: Callable[[InboundMessage], Any] | None = None
) -> list[InboundMessage]:
    """Hand in the unseen messages of `address`'s folder, oldest first, then mark each seen."""
    config = mailbox_settings(address.mailbox)
    received = []
    with IMAPClient(
        config["host"], port=config["port"], ssl=config["ssl"], timeout=IMAP_TIMEOUT_SECONDS
    ) as client:
        client.login(config["user"], config["password"])
        client.select_folder(address.folder)
        for uid in sorted(client.search(["UNSEEN"]))[:FETCH_BATCH]:
            # PEEK: reading must not mark it seen; only a committed receive does.
            fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
            if fetched is None:
                continue  # expunged by someone else meanwhile
            raw = fetched[b"BODY[]"]
            try:
                inbound, _ = inbound_message_receive(address=address, raw=raw)
            except Exception as error:
                # A message that breaks the receiving is kept for a person (and marked seen,
                # so it does not block the ones behind it). If the database itself is down,
                # keeping fails too, and the message stays unseen for the next fetch.
                logger.exception("A message to %s could not be received", address)
                inbound = inbound_message_keep(
                    address=address, raw=raw, reason=f"Receiving it failed: {error!r}"
                )
            if after_receive is not None:
                after_receive(inbound)
            client.add_flags([uid], [b"\\Seen"])
            received.append(inbound)
    return received
