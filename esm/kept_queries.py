"""Queries that read the clock, their SQL kept by a process and run at each visit's now.

Django takes milliseconds to build and compile a query that reads a clock's state (a CASE
of seven conditions, `services.models.clocks.clock_state_sql`), more than PostgreSQL
takes to run it on a queue's open tasks. A page that runs the same such query at every
visit keeps its SQL and parameters (an `lru_cache` keyed by everything else that shapes
them, as the approval summary does), built with `NOW` where the current time goes;
`rows_at` runs it with the time of the run in its place. The rows are read afresh at each
run.

Only a parameter equal to `NOW` is replaced: a query kept this way may compare columns
with now, never with a time computed from it (now minus a day).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections, router
from django.db.models import Model

# The instant a kept query is built with where it reads now: one no row holds and no
# caller passes (a microsecond past midnight, the 1st of January 1900, UTC).
NOW = dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC)

type SqlWithParams = tuple[str, tuple[Any, ...]]


def rows_at(model: type[Model], query: SqlWithParams, *, now: dt.datetime) -> list[tuple[Any, ...]]:
    """The rows of `query` (built with `NOW`) at `now`, from the database `model` is read
    from (the replica on a measuring page, `esm.db_routers`)."""
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(*at(query, now=now, connection=connection))
        return cursor.fetchall()


def at(query: SqlWithParams, *, now: dt.datetime, connection: Any) -> SqlWithParams:
    """`query` (built with `NOW`) as it runs at `now` on `connection`."""
    # As the query's compiler wrote the mark: a datetime for PostgreSQL, text for SQLite.
    mark = connection.ops.adapt_datetimefield_value(NOW)
    current = connection.ops.adapt_datetimefield_value(now)
    sql, params = query
    return sql, tuple(current if param == mark else param for param in params)
