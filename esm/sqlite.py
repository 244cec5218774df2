"""What the embedded SQLite default needs beyond its settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections


@contextmanager
def transaction_deferred(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Begin the outermost `transaction.atomic()` entered inside as a reader, on SQLite.

    The settings begin every SQLite transaction IMMEDIATE, holding the database's one write
    lock from the start, so that two processes wait for each other instead of failing. A
    transaction that calls another server (an automated step's webhook) must not hold that
    lock while it waits: every other writer would wait too, and a row its action writes
    from a thread of its own (the webhook's delivery log) never could. Such a transaction
    begins deferred; if another process wrote meanwhile, its first write fails with a
    database error, which the step engine retries. Elsewhere, and on PostgreSQL, a no-op.
    """
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()  # connecting sets the mode from the settings
    mode, connection.transaction_mode = connection.transaction_mode, None
    try:
        yield
    finally:
        connection.transaction_mode = mode
