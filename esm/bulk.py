"""Rows written in bulk without a model instance each: what rollups write by the hundred
thousand, where building and preparing the instances for `bulk_create` costs more than the
database's work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router


def rows_insert(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` into `model`'s table: each a tuple of the values of `fields` (attribute
    names: `case_id`, not `case`), as the database takes them (aware datetimes, ids), with
    no default filled in and no `save()` run. On PostgreSQL, one INSERT from a column array
    each; elsewhere through `bulk_create`."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(model(**dict(zip(fields, row, strict=True))) for row in rows)
        return
    columns = [model._meta.get_field(name) for name in fields]
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "  # noqa: S608 - names from the model
            f"SELECT * FROM unnest({arrays})",
            [list(values) for values in zip(*rows, strict=True)],
        )
