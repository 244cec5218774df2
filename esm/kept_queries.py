"""Queries whose SQL a process keeps, run afresh at each visit, at its now when they read
the clock.

A page that runs the same query at every visit can keep its SQL and parameters (an
`lru_cache` keyed by everything that shapes them, the vendor among them: `vendor_of`) and
run them with `rows_at`, from the database the model is read from.

Django takes milliseconds to build and compile a query that reads a clock's state (a CASE
of seven conditions, `services.models.clocks.clock_state_sql`), more than PostgreSQL
takes to run it on a queue's open tasks. A page that runs the same such query at every
visit keeps it built with `NOW` where the current time goes; `rows_at` runs it with the
time of the run in its place.

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


def vendor_of(model: type[Model]) -> str:
    """The vendor of the database `model` is read from: a kept query is kept for it."""
    return connections[router.db_for_read(model)].vendor


def rows_at(
    model: type[Model], query: SqlWithParams, *, now: dt.datetime | None = None
) -> list[tuple[Any, ...]]:
    """The rows of `query` from the database `model` is read from (the replica on a
    measuring page, `esm.db_routers`); at `now` when it was built with `NOW`."""
    connection = connections[router.db_for_read(model)]
    if now is not None:
        query = at(query, now=now, connection=connection)
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return cursor.fetchall()


def at(query: SqlWithParams, *, now: dt.datetime, connection: Any) -> SqlWithParams:
    """`query` (built with `NOW`) as it runs at `now` on `connection`."""
    # As the query's compiler wrote the mark: a datetime for PostgreSQL, text for SQLite.
    mark = connection.ops.adapt_datetimefield_value(NOW)
    current = connection.ops.adapt_datetimefield_value(now)
    sql, params = query
    return sql, tuple(current if param == mark else param for param in params)
