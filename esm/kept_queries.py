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
with now, never with a time computed from it (now minus a day). A query that reads rows
by their keys is built the same way with a mark in their place: `ID` (or `ids(n)`),
`UNSIGNED_ID` for a positive integer column, `TEXT_ID` for a text key, and `AT` for an
instant of the visit's own other than now.

An UPDATE is kept the same way (`kept_update`, run with `updated_at`).

A query that reads whole rows with their relations (`select_related`) keeps how its row
is laid out too (`KeptInstances`): Django took longer to build and compile the task
page's one row with thirteen relations than the database took to find it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.db.models.sql import UpdateQuery

# The instant a kept query is built with where it reads now: one no row holds and no
# caller passes (a microsecond past midnight, the 1st of January 1900, UTC).
NOW = dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC)

# The key a kept query is built with where it reads a row by its key: one no row holds.
ID = -(2**62)

# The key for a column that holds no negative number (a positive integer field refuses `ID`
# as out of its range): the largest bigint, which no sequence reaches.
UNSIGNED_ID = 2**63 - 1

# The text a kept query is built with where it reads rows by a text key (a case's
# reference): one no row holds.
TEXT_ID = "\x1fkept text key\x1f"

# The instant a kept query is built with where it reads an instant of the visit's own other
# than now (a case's submission): one no row holds, a microsecond after `NOW`.
AT = dt.datetime(1900, 1, 1, 0, 0, 0, 2, tzinfo=dt.UTC)

type SqlWithParams = tuple[str, tuple[Any, ...]]


def ids(count: int) -> list[int]:
    """`count` distinct marks for a kept query that reads that many rows by their keys."""
    return [ID - n for n in range(count)]


def vendor_of(model: type[Model]) -> str:
    """The vendor of the database `model` is read from: a kept query is kept for it."""
    return connections[router.db_for_read(model)].vendor


def rows_at(
    model: type[Model],
    query: SqlWithParams,
    *,
    now: dt.datetime | None = None,
    keys: Mapping[Any, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of `query` from the database `model` is read from (the replica on a
    measuring page, `esm.db_routers`); at `now` when it was built with `NOW`, and with
    `keys` in place of the marks they map (`ID`, `ids`, `UNSIGNED_ID`, `TEXT_ID`, `AT`)."""
    connection = connections[router.db_for_read(model)]
    if now is not None or keys:
        query = at(query, now=now, keys=keys, connection=connection)
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return cursor.fetchall()


def at(
    query: SqlWithParams,
    *,
    now: dt.datetime | None = None,
    keys: Mapping[Any, Any] | None = None,
    connection: Any,
) -> SqlWithParams:
    """`query` (built with `NOW` or a key's mark) as it runs at `now` with
    `keys` in place of their marks, on `connection`."""
    # An instant as the query's compiler wrote it: a datetime for PostgreSQL, text for SQLite.
    adapt = connection.ops.adapt_datetimefield_value
    marks: dict[Any, Any] = {
        adapt(mark) if isinstance(mark, dt.datetime) else mark: (
            adapt(value) if isinstance(mark, dt.datetime) else value
        )
        for mark, value in (keys or {}).items()
    }
    if now is not None:
        marks[adapt(NOW)] = adapt(now)
    sql, params = query
    return sql, tuple(
        marks.get(param, param) if isinstance(param, int | str | dt.datetime) else param
        for param in params
    )


def kept_update(queryset: QuerySet[Any], **values: Any) -> SqlWithParams:
    """The UPDATE that `queryset.update(**values)` runs, to keep built and run with
    `updated_at`; with `NOW` or a key's mark where a run's values go. Only an update of the
    model's own table: a parent model's fields would need a statement of their own."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    if query.related_updates:
        raise ValueError("A kept update changes one table: these values reach a parent's.")
    query.clear_select_clause()
    sql, params = query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


def updated_at(
    model: type[Model],
    query: SqlWithParams,
    *,
    now: dt.datetime | None = None,
    keys: Mapping[Any, Any] | None = None,
) -> int:
    """Run a kept UPDATE (`kept_update`) on the database `model` is written to, at `now`
    and with `keys` in place of their marks; the number of rows it changed."""
    connection = connections[router.db_for_write(model)]
    if now is not None or keys:
        query = at(query, now=now, keys=keys, connection=connection)
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return cursor.rowcount


@dataclass(frozen=True)
class _Part:
    """One model of a kept row: where its columns are and which relation of which part
    before it leads to it."""

    model: type[Model]
    attnames: tuple[str, ...]
    start: int
    pk_index: int
    make: Callable[[str, list[Any]], Model]
    parent: int | None
    fill: Callable[[Model, Model | None], None] | None
    fill_back: Callable[[Model, Model], None] | None


@dataclass(frozen=True)
class KeptInstances:
    """A query of whole rows with relations, built once (`kept_instances`)."""

    query: SqlWithParams
    parts: tuple[_Part, ...]
    annotations: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


def kept_instances(queryset: QuerySet[Any], relations: Iterable[str]) -> KeptInstances:
    """`queryset` (its filters and annotations) with the relations `relations` names, as
    `select_related(*relations)` reads them, to keep built and read with `instances_at`.
    Build it with `NOW`, `ID` or `ids` where a visit's values go."""
    model = queryset.model
    parts = [_part(model, start=0, parent=None, relation=None)]
    paths: dict[str, int] = {"": 0}
    columns = list(parts[0].attnames)
    for relation in relations:
        path = ""
        for name in relation.split("__"):
            parent, path = paths[path], f"{path}__{name}" if path else name
            if path in paths:
                continue
            field = parts[parent].model._meta.get_field(name)
            part = _part(field.related_model, start=len(columns), parent=parent, relation=field)
            paths[path] = len(parts)
            parts.append(part)
            columns += [f"{path}__{attname}" for attname in part.attnames]
    annotations = tuple(queryset.query.annotation_select)
    values = queryset.values_list(*columns, *annotations)
    compiler = values.query.get_compiler(using=values.db)
    sql, params = compiler.as_sql()
    # What Django does to each column read (a datetime from SQLite's text, JSON decoded).
    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    return KeptInstances(
        query=(sql, tuple(params)),
        parts=tuple(parts),
        annotations=annotations,
        converters=tuple(
            (index, tuple(functions), expression)
            for index, (functions, expression) in converters.items()
        ),
    )


def _part(model: type[Model], *, start: int, parent: int | None, relation: Any) -> _Part:
    attnames = tuple(field.attname for field in model._meta.concrete_fields)
    fill = fill_back = None
    if relation is not None and relation.concrete:
        # A foreign key or one-to-one of the parent's: one-to-one knows its way back.
        fill = relation.set_cached_value
        if relation.one_to_one:
            fill_back = relation.remote_field.set_cached_value
    elif relation is not None:
        # A one-to-one of the child's, pointing at the parent.
        fill, fill_back = relation.set_cached_value, relation.field.set_cached_value
    return _Part(
        model=model,
        attnames=attnames,
        start=start,
        pk_index=attnames.index(model._meta.pk.attname),
        make=_maker(model, attnames),
        parent=parent,
        fill=fill,
        fill_back=fill_back,
    )


def _maker(model: type[Model], attnames: tuple[str, ...]) -> Callable[[str, list[Any]], Model]:
    """How an instance of `model` is made from its columns, as `Model.from_db` makes it.

    Without a `from_db`, an `__init__` or an init signal of the model's own, that is its
    values set and its state marked as read: a queue page's 150 instances took 4 ms
    through `__init__`, which sets each field through `setattr` and sends two signals
    that no one receives, and under 1 ms this way."""
    if (
        model.from_db.__func__ is not Model.from_db.__func__  # type: ignore[attr-defined]
        or model.__init__ is not Model.__init__
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return lambda db, values: model.from_db(db, attnames, values)

    def make(db: str, values: list[Any]) -> Model:
        instance = model.__new__(model)
        instance.__dict__.update(zip(attnames, values, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = False, db
        return instance

    return make


def instances_at(
    kept: KeptInstances, *, now: dt.datetime | None = None, keys: Mapping[Any, Any] | None = None
) -> list[Any]:
    """The rows of `kept` as model instances with their relations filled in and their
    annotations set, as Django makes them, read where its model is read from."""
    model = kept.parts[0].model
    db = router.db_for_read(model)
    connection = connections[db]
    found = []
    for read in rows_at(model, kept.query, now=now, keys=keys):
        row = list(read)
        for index, functions, expression in kept.converters:
            for function in functions:
                row[index] = function(row[index], expression, connection)
        made: list[Model | None] = []
        for part in kept.parts:
            values = row[part.start : part.start + len(part.attnames)]
            parent = made[part.parent] if part.parent is not None else None
            if values[part.pk_index] is None or (part.parent is not None and parent is None):
                instance = None
            else:
                instance = part.make(db, values)
            if parent is not None and part.fill is not None:  # every part but the first
                part.fill(parent, instance)
                if instance is not None and part.fill_back is not None:
                    part.fill_back(instance, parent)
            made.append(instance)
        root = made[0]
        for name, value in zip(
            kept.annotations, row[len(row) - len(kept.annotations) :], strict=True
        ):
            setattr(root, name, value)
        found.append(root)
    return found
