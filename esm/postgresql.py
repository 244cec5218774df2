"""What PostgreSQL connections need beyond their settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper


def prepared_statements_sized(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Let a new connection that prepares statements keep `DATABASE_PREPARED_MAX` of them
    (esm/settings.py says why psycopg's own limit is too few). Connected to
    `connection_created`: psycopg takes the limit only from the open connection."""
    if (
        connection.vendor == "postgresql"
        and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    ):
        connection.connection.prepared_max = settings.DATABASE_PREPARED_MAX
