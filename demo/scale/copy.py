"""Rows for PostgreSQL's COPY, in its text format, written in batches.

Values are formatted by the generator (`ts`, `text`, ...) as they are made, so a row is
one string and a batch one write: formatting is most of the cost at a million requests.
"""

from __future__ import annotations

import functools
import json
import queue
import threading
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


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is str and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def jsonb(value: Any) -> str:
    """`value` as JSON in a COPY field. Event payloads (flat objects of ids, words and
    flags) take a short path: `json.dumps` is a third of the cost of an event otherwise."""
    if type(value) is dict:
        encoded = (
            "{" + ", ".join(f'"{key}": {_json_value(item)}' for key, item in value.items()) + "}"
        )
    else:
        encoded = json.dumps(value)
    return text(encoded)


def num(value: int | None) -> str:
    return NULL if value is None else str(value)


def flag(value: bool) -> str:
    return "t" if value else "f"


def seconds(value: int) -> str:
    return f"{value} seconds"


class Writer:
    """Sends batches to the server from a thread of its own, so the next batch is made
    while PostgreSQL stores the last one (the two take a core each). The queue is short:
    memory stays bounded whichever side is slower.

    It uses the caller's connection (and transaction): nothing else may use the connection
    from its creation to `close`.
    """

    def __init__(self) -> None:
        self.batches: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        connection.ensure_connection()
        self.raw = connection.connection
        self.thread = threading.Thread(target=self._run, name="copy-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is not None:
                continue  # drain: the caller learns of the error at the next put or close
            statement, data = batch
            try:
                with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
                    copy.write(data)
            except BaseException as error:
                self.error = error

    def put(self, statement: str, data: str) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put((statement, data))

    def close(self) -> None:
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class Table:
    """One table's COPY stream: `add` a formatted row, `flush` when done. With a `writer`,
    batches go through it; without, straight to the server."""

    def __init__(self, model: type[Model], fields: list[str]) -> None:
        self.name = model._meta.db_table
        self.columns = [model._meta.get_field(name).column for name in fields]
        self.rows: list[str] = []
        self.written = 0
        self.writer: Writer | None = None

    def add(self, *values: str) -> None:
        self.rows.append("\t".join(values))
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        data = "\n".join(self.rows) + "\n"
        columns = ", ".join(f'"{column}"' for column in self.columns)
        statement = f'COPY "{self.name}" ({columns}) FROM STDIN'
        if self.writer is not None:
            self.writer.put(statement, data)
        else:
            with connection.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(data)
        self.written += len(self.rows)
        self.rows = []
