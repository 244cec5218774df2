"""Rows for PostgreSQL's COPY, in its text format, written in batches.

Values are formatted by the generator (`ts`, `text`, ...) as they are made, so a row is
one string and a batch one write: formatting is most of the cost at a million requests.
"""

from __future__ import annotations

import functools
import io
import json
import time
from typing import Any

from django.db import connection
from django.db.models import Model

NULL = "\\N"
# Rows buffered per table before they go to the server.
BATCH_ROWS = 50_000


@functools.lru_cache(maxsize=1 << 17)
def _minute(minute: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(minute * 60))


def ts(moment: int | None) -> str:
    """Seconds since the epoch as a UTC timestamp, or NULL."""
    if moment is None:
        return NULL
    return f"{_minute(moment // 60)}:{moment % 60:02d}+00"


def iso(moment: int) -> str:
    """As `datetime.isoformat()` writes an aware UTC moment (event payloads carry it)."""
    return f"{_minute(moment // 60).replace(' ', 'T')}:{moment % 60:02d}+00:00"


def text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def jsonb(value: Any) -> str:
    return text(json.dumps(value, separators=(", ", ": ")))


def num(value: int | None) -> str:
    return NULL if value is None else str(value)


def flag(value: bool) -> str:
    return "t" if value else "f"


def seconds(value: int) -> str:
    return f"{value} seconds"


class Table:
    """One table's COPY stream: `add` a formatted row, `flush` when done."""

    def __init__(self, model: type[Model], fields: list[str]) -> None:
        self.name = model._meta.db_table
        self.columns = [model._meta.get_field(name).column for name in fields]
        self.rows: list[str] = []
        self.written = 0

    def add(self, *values: str) -> None:
        self.rows.append("\t".join(values))
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        data = io.StringIO("\n".join(self.rows) + "\n")
        columns = ", ".join(f'"{column}"' for column in self.columns)
        with connection.cursor() as cursor:
            cursor.copy_expert(f'COPY "{self.name}" ({columns}) FROM STDIN', data)
        self.written += len(self.rows)
        self.rows = []
