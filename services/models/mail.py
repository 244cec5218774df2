"""E-mail in: the addresses a department receives mail on, every message received, and the
Message-IDs of the portal's own mail, by which replies find their request."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from esm import clock
from esm.models import Department
from services.models.catalog import CatalogItem, FormField
from services.models.requests import Comment, ServiceRequest

# The kinds of question an e-mail answers: its body is the description.
MAIL_BODY_KINDS = (FormField.Kind.LONG_TEXT, FormField.Kind.TEXT)


def mail_body_field(item: CatalogItem) -> FormField | None:
    """The question of `item` an e-mail's body answers: its first long text, else its first
    text question; None when it has neither."""
    fields = list(item.fields.all())
    for kind in MAIL_BODY_KINDS:
        for field in fields:
            if field.kind == kind:
                return field
    return None


def mail_answerable_problem(item: CatalogItem) -> str:
    """Why an e-mail cannot answer `item`'s form, in words for the admin; "" when it can.

    An e-mail carries a subject, a body and files: the item needs a text question for the
    body, and no other required question (an e-mail could never answer it). Attachments
    are always optional by e-mail: a required attachment question would refuse every
    message without a file.
    """
    body = mail_body_field(item)
    if body is None:
        return "The item needs a text or long text question for the e-mail's body."
    others = [f.label for f in item.fields.all() if f.required and f.pk != body.pk]
    if others:
        return (
            "An e-mail cannot answer the item's other required questions: "
            f"{', '.join(others)}. Pick an item that asks only for a description."
        )
    return ""


class InboundAddress(models.Model):
    """An address a department receives requests on (it@, hr@), read from an IMAP mailbox.

    The mailbox is named here; its server and credentials come from the environment
    (`MAIL_IN_<NAME>_HOST`, `_USER`, `_PASSWORD`, ...), never from the database.
    """

    address = models.EmailField(
        unique=True, help_text="Where employees write, e.g. it@example.com."
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="inbound_addresses"
    )
    catalog_item = models.ForeignKey(
        CatalogItem,
        on_delete=models.PROTECT,
        related_name="inbound_addresses",
        help_text="New messages raise a request on this item; its form must ask only for a "
        "description.",
    )
    mailbox = models.CharField(
        max_length=40,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_]+$", "Letters, digits and underscores: it names variables."
            )
        ],
        help_text="The IMAP account, by name: mailbox it reads MAIL_IN_IT_HOST, "
        "MAIL_IN_IT_USER and MAIL_IN_IT_PASSWORD from the environment.",
    )
    folder = models.CharField(
        max_length=100,
        default="INBOX",
        help_text="The folder of that account that receives this address's mail.",
    )
    is_active = models.BooleanField(default=True, help_text="Fetched by the mail job.")

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "inbound addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "folder"], name="one_inbound_address_per_folder"
            ),
        ]

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        errors = {}
        item = self.catalog_item if self.catalog_item_id else None
        if item is not None:
            if self.department_id and item.department_id != self.department_id:
                errors["catalog_item"] = "Pick an item of the address's own department."
            elif problem := mail_answerable_problem(item):
                errors["catalog_item"] = problem
        if errors:
            raise ValidationError(errors)


class InboundMessage(models.Model):
    """One message fetched from a mailbox, whatever became of it; kept with its raw text.

    Keyed by Message-ID (or, when it has none, a digest of the raw message) and written in
    the same transaction as the request or comment it made: a fetch that died before it
    marked the message seen finds this row on the next run and creates nothing twice.
    """

    class Status(models.TextChoices):
        REQUEST_RAISED = "request_raised", "Raised a request"
        COMMENTED = "commented", "Added as a comment"
        REOPENED = "reopened", "Reopened its request"
        NOISE = "noise", "Refused: automatic or looping mail"
        FLOOD = "flood", "Refused: too many from this sender"
        UNKNOWN_SENDER = "unknown_sender", "Refused: unknown sender (answered)"
        NOT_PERMITTED = "not_permitted", "Refused: sender may not act on it (answered)"
        REFUSED = "refused", "Refused by the request's state (answered)"
        MALFORMED = "malformed", "Malformed: needs a person to look"
        LOOKED_AT = "looked_at", "Looked at by a person"

    message_id = models.CharField(max_length=255, unique=True)
    address = models.ForeignKey(
        InboundAddress, on_delete=models.PROTECT, related_name="messages", null=True
    )
    sender = models.CharField(max_length=254, blank=True, help_text="Lower case.")
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was refused, in words.")
    raw = models.BinaryField(help_text="The message as received.")
    service_request = models.ForeignKey(
        ServiceRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The flood check: one sender's (lower-cased) messages to one address in the hour.
            models.Index(fields=["sender", "address", "received_at"], name="inbound_by_sender"),
        ]

    def __str__(self) -> str:
        return f"{self.sender or '(no sender)'}: {self.subject or '(no subject)'}"


class OutboundMessageId(models.Model):
    """The Message-ID of a notification the portal sent about a request: a reply naming it
    (In-Reply-To, References) threads into that request."""

    message_id = models.CharField(max_length=255, unique=True)
    service_request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="outbound_message_ids"
    )
    sent_at = models.DateTimeField(default=clock.now, editable=False)

    def __str__(self) -> str:
        return self.message_id
