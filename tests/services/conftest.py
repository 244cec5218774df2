"""Fixtures of the services tests that start servers: a real IMAP server and SMTP sink."""

from tests.services.mail_servers import imap_server, mailbox, smtp_sink  # noqa: F401
