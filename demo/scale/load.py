"""Around the COPY: secondary indexes and foreign keys dropped before and made again after
(one sorted index build, and one join that checks every reference, are much faster than
millions of index insertions and of deferred per-row checks, which PostgreSQL would also
queue in memory until the commit), sequences moved past the ids written, and fresh
planner statistics."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from psycopg import sql

# Enough memory for an index build to sort in one pass.
INDEX_BUILD_MEMORY = "256MB"
INDEX_BUILDERS = 2
"""Indexes built at once, each on a connection of its own: a build sorts on one core, and
builds on one table share its lock (SHARE)."""
TABLE_OF_INDEX = re.compile(r" ON (?:ONLY )?(\S+) USING ")
"""The table in an index's definition (`pg_get_indexdef`)."""


def secondary_indexes(tables: Iterable[str]) -> list[tuple[str, str]]:
    """(name, definition) of each index on `tables` that no constraint stands on: the
    primary keys, unique constraints and foreign keys stay and are checked as rows arrive."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index AS x
            JOIN pg_class AS i ON i.oid = x.indexrelid
            JOIN pg_class AS t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)
            ORDER BY t.relname, i.relname
            """,
            [list(tables)],
        )
        return cursor.fetchall()


def indexes_drop(indexes: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))


def indexes_create(indexes: list[tuple[str, str]]) -> None:
    """Make `indexes` again, `INDEX_BUILDERS` at a time, the largest tables' first so that
    the builders finish together."""
    tables = {definition: TABLE_OF_INDEX.search(definition)[1] for _, definition in indexes}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.name, COALESCE(
                (SELECT SUM(pg_relation_size(p.relid))
                 FROM pg_partition_tree(t.name::regclass) AS p),
                pg_relation_size(t.name::regclass))  -- a table that is not partitioned
            FROM unnest(%s::text[]) AS t(name)
            """,
            [sorted(set(tables.values()))],
        )
        sizes = dict(cursor.fetchall())
    largest_first = sorted(tables, key=lambda definition: -sizes[tables[definition]])
    with ThreadPoolExecutor(INDEX_BUILDERS) as builders:
        list(builders.map(_index_create, largest_first))


def _index_create(definition: str) -> None:
    try:
        with connection.cursor() as cursor:  # this thread's own connection
            cursor.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            # A partitioned table's index reads "ON ONLY" (the parent alone): made that way
            # it would stay invalid, with no index on the partitions. Made "ON" the table, it
            # cascades to every partition, as the dropped one did.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
    finally:
        connection.close()


def foreign_keys(tables: Iterable[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of each foreign key of `tables`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint AS c
            JOIN pg_class AS t ON t.oid = c.conrelid
            WHERE c.contype = 'f' AND t.relname = ANY(%s)
            ORDER BY t.relname, c.conname
            """,
            [list(tables)],
        )
        return cursor.fetchall()


def foreign_keys_drop(keys: list[tuple[str, str, str]]) -> None:
    with connection.cursor() as cursor:
        for table, name, _ in keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )


def foreign_keys_create(keys: list[tuple[str, str, str]]) -> None:
    """Add the keys back; each is checked against every row as it is added."""
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
                + sql.SQL(definition)
            )


def sequences_reset(tables: Iterable[str]) -> None:
    """Move each table's id sequence past the largest id written with COPY."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "COALESCE((SELECT MAX(id) FROM {}), 0) + 1, false)"
                ).format(sql.Identifier(table)),
                [f'"{table}"'],
            )


def sequences_restart(tables: Iterable[str]) -> None:
    """Restart the id sequence of each of `tables` that is empty and has one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id')
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND column_name = 'id'
              AND table_name = ANY(%s)
            """,
            [list(tables)],
        )
        for table, sequence in cursor.fetchall():
            if sequence is None:
                continue
            cursor.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
            )
            if not cursor.fetchone()[0]:
                cursor.execute("SELECT setval(%s, 1, false)", [sequence])


def vacuum_analyze(tables: Iterable[str]) -> None:
    """What autovacuum would have done by the time anyone reads a history this old: the
    planner's statistics, and the visibility map that lets index-only scans skip the
    table (a freshly loaded table has none, so every index lookup reads its rows too)."""
    # VACUUM cannot run inside a transaction (a test's): there, the statistics only.
    command = "ANALYZE {}" if connection.in_atomic_block else "VACUUM (ANALYZE) {}"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(sql.SQL(command).format(sql.Identifier(table)))


def never_analyzed() -> list[str]:
    """The tables PostgreSQL holds no statistics of: those the ORM filled (the catalog, the
    streams, the configuration), which autovacuum would analyze on its own, when it runs.
    Without them the planner guesses their sizes (49 value streams where there are 4) and
    picks plans for the guess."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = current_schema()
              AND last_analyze IS NULL AND last_autoanalyze IS NULL
            ORDER BY relname
            """
        )
        return [table for (table,) in cursor.fetchall()]


def row_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
        return cursor.fetchone()[0]


def database_size() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]
