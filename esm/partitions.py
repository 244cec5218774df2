"""The event log's monthly partitions on PostgreSQL.

On PostgreSQL `esm_event` is partitioned by range of `occurred_at`, one partition a month
(`esm_event_y2026m11` holds November 2026, UTC), plus `esm_event_default` for any moment
no partition covers yet. Migration 0010 converted the table; beat calls
`event_partitions_create()` daily so the coming months exist before their first event.
A query or rollup that filters on `occurred_at` reads only the months it names (partition
pruning), and an old month can be detached and archived whole (docs/scaling.md).

Elsewhere (SQLite) the table is a plain table and these functions do nothing.

What partitioning changes in the table (the model is unchanged, Django sees one table):

- The primary key is `(id, occurred_at)`: PostgreSQL requires the partition key in every
  unique index. `id` stays unique, drawn from one sequence; nothing references an event by
  a foreign key (the migration checks and refuses otherwise).
- The model's unique constraint `work_starts_once` cannot be a unique index on a
  partitioned table (it does not hold the partition key). A trigger keeps it instead: each
  `work_started` event also inserts its subject into `esm_event_work_start`, whose primary
  key refuses a second one with the same IntegrityError the index raised.
- A month that already has events in the default partition is not created (PostgreSQL
  refuses to: those rows would have to move); `event_partitions_create` says which.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction

from esm import clock

logger = logging.getLogger(__name__)

TABLE = "esm_event"
DEFAULT_PARTITION = f"{TABLE}_default"
# Months before today the conversion creates, so a backdated load (the scale seed, an
# import of two years of history) lands in monthly partitions, not in the default one.
MONTHS_BEHIND_AT_CONVERSION = 24


def month_start(moment: dt.date | dt.datetime) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def is_partitioned() -> bool:
    """True on PostgreSQL once the event table is partitioned."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
            [TABLE],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partition_create_sql(month: dt.date) -> str:
    """`CREATE TABLE IF NOT EXISTS` of the month's partition: running it twice is harmless."""
    following = add_months(month, 1)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
        f"TO ('{following.isoformat()} 00:00:00+00')"
    )


def _default_holds_rows_of(cursor: object, month: dt.date) -> bool:
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "  # noqa: S608 (a constant name)
        "WHERE occurred_at >= %s AND occurred_at < %s)",
        [
            dt.datetime.combine(month, dt.time(), tzinfo=dt.UTC),
            dt.datetime.combine(add_months(month, 1), dt.time(), tzinfo=dt.UTC),
        ],
    )
    return cursor.fetchone()[0]  # type: ignore[attr-defined]


def event_partitions_create(
    *, first: dt.date | None = None, months_ahead: int | None = None
) -> list[str]:
    """Make sure a partition exists for every month from `first` (default: this month)
    through `months_ahead` months after this one (default: EVENT_PARTITIONS_AHEAD_MONTHS).

    Idempotent: existing partitions are left alone. Returns the names of the partitions
    it created; nothing on a database without a partitioned event table. A month whose
    events already sit in the default partition is skipped with a warning."""
    if not is_partitioned():
        return []
    if months_ahead is None:
        months_ahead = settings.EVENT_PARTITIONS_AHEAD_MONTHS
    this_month = month_start(clock.now())
    month = month_start(first) if first is not None else this_month
    last = add_months(this_month, months_ahead)
    created = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(%s)",
            [TABLE],
        )
        existing = {name for (name,) in cursor.fetchall()}
        while month <= last:
            name = partition_name(month)
            if name not in existing:
                if _default_holds_rows_of(cursor, month):
                    logger.warning(
                        "%s not created: the default partition holds events of that month",
                        name,
                    )
                else:
                    # Each month in its own transaction: creating a partition takes a
                    # short lock on the table; one refusal must not undo the others.
                    with transaction.atomic():
                        # Two overlapping runs would both pass IF NOT EXISTS and one
                        # would fail on the catalog: one at a time.
                        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
                        cursor.execute(partition_create_sql(month))
                    created.append(name)
            month = add_months(month, 1)
    return created
