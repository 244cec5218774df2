"""Reading one received message: who sent it, what it replies to, its new text, its files,
and whether it is noise (automatic replies, bounces, lists) that must never be answered.

Pure functions of the raw bytes and settings: no database, no network.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from mailparser_reply import EmailReplyParser

# The request reference in a subject, "Re: REQ-000123 is resolved".
SUBJECT_REFERENCE = re.compile(r"\bREQ-?(\d{1,12})\b", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Subjects that automatic replies start with, in the languages the company writes in. The
# headers below catch most of them; a few servers only say it in the subject.
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto:|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|respuesta autom[áa]tica)",
    re.IGNORECASE,
)
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")
BULK_PRECEDENCE = {"bulk", "junk", "list"}
DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster"}
# The reply parser's languages: the ones whose "On ... wrote:" lines it recognises.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]


class Malformed(Exception):
    """The message cannot be read as mail (no sender, unparseable): a person must look."""


@dataclass(frozen=True)
class MailFile:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str  # the bare address, lower case
    sender_name: str
    subject: str
    body: str  # the new text, quoted history trimmed
    references: list[str]  # In-Reply-To then References, nearest first
    files: list[MailFile] = field(default_factory=list)
    noise: str = ""  # why it must not be acted on or answered; "" for a person's message

    @property
    def subject_reference(self) -> int | None:
        match = SUBJECT_REFERENCE.search(self.subject)
        return int(match.group(1)) if match else None


def message_key(raw: bytes) -> str:
    """The key a raw message is kept under: its Message-ID, else a digest of its bytes (so
    a message without one is still received once, however often it is fetched)."""
    try:
        found = MESSAGE_ID.search(_header(_parse(raw), "Message-ID"))
    except Malformed:
        found = None
    if found:
        return found.group(0)[:255]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def subject_best_effort(raw: bytes) -> str:
    """The subject of a message that could not be read as a whole, for the person who
    looks at it; "" when even that cannot be read."""
    try:
        return " ".join(_header(_parse(raw), "Subject").split())
    except Malformed:
        return ""


def mail_parse(raw: bytes) -> ParsedMail:
    """The message in `raw`; raises Malformed when it has no readable sender."""
    message = _parse(raw)
    name, sender = parseaddr(_header(message, "From"))
    if "@" not in sender or any(c.isspace() for c in sender):
        raise Malformed("The message has no readable sender (From).")
    subject = " ".join(_header(message, "Subject").split())
    references = MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    references += reversed(MESSAGE_ID.findall(_header(message, "References")))
    return ParsedMail(
        message_id=message_key(raw),
        sender=sender.lower(),
        sender_name=name,
        subject=subject,
        body=_reply_text(_text_of(message)),
        references=list(dict.fromkeys(references)),
        files=_files_of(message),
        noise=_noise(message, sender.lower(), subject),
    )


def _parse(raw: bytes) -> EmailMessage:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the parser is lenient; whatever it still refuses is kept
        raise Malformed(f"The message cannot be parsed: {error}") from error
    if not isinstance(message, EmailMessage) or not message.keys():
        raise Malformed("The message has no headers.")
    return message


def _header(message: EmailMessage, name: str) -> str:
    """A header as text, "" when absent or unreadable (a broken encoded word in one header
    must not cost the whole message)."""
    try:
        value = message.get(name)
    except Exception:
        return ""
    return str(value) if value is not None else ""


def _noise(message: EmailMessage, sender: str, subject: str) -> str:
    """Why the message is automatic or loops back to us; "" when a person wrote it."""
    own = {
        address.lower()
        for _, address in getaddresses([settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL])
    }
    if sender in own:
        return "It comes from the portal's own address."
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"It was sent automatically (Auto-Submitted: {auto_submitted})."
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"It is bulk mail (Precedence: {precedence})."
    if any(_header(message, name) for name in AUTO_REPLY_HEADERS):
        return "It is an automatic reply."
    if AUTO_REPLY_SUBJECT.match(subject):
        return "It is an automatic reply (out of office)."
    if sender.split("@")[0] in DAEMON_LOCALPARTS:
        return "It is a bounce (from the mail system)."
    if _header(message, "Return-Path").strip() == "<>":
        return "It is a bounce (no return path)."
    if message.get_content_type() == "multipart/report":
        return "It is a delivery or read report."
    return ""


def _text_of(message: EmailMessage) -> str:
    """The plain text of the message; its HTML reduced to text when it has no plain part."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except Exception:  # an unknown charset: read what can be read
        text = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        text = _html_to_text(text)
    return text


def _html_to_text(html: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _reply_text(text: str) -> str:
    """The new text of a reply: the quoted history and signature trimmed by the reply
    parser. When it finds nothing new (a top line it took for a quote header), the whole
    text is kept rather than lose what the person wrote."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    latest = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    return (latest or text).strip()


def _files_of(message: EmailMessage) -> list[MailFile]:
    files = []
    for part in message.iter_attachments():
        if part.is_multipart():
            continue
        content = part.get_payload(decode=True) or b""
        name = part.get_filename() or f"attachment-{len(files) + 1}"
        files.append(MailFile(name=name, content_type=part.get_content_type(), content=content))
    return files
