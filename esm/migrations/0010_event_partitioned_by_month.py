"""On PostgreSQL the event table becomes partitioned by month of `occurred_at`.

In one transaction: the table is renamed aside, a partitioned table of the same columns
takes its name, monthly partitions are made (from the month of the oldest event, or two
years back, through a few months ahead) with a default partition for anything else, the
rows are copied over, and the old table is dropped; then the primary key `(id,
occurred_at)`, the foreign keys, the indexes, the append-only trigger and the one-start-
per-subject guard are built on the new table (after the copy: building them once is
faster than maintaining them row by row). The table is locked for the copy: on a large
log, run it in a maintenance window (docs/scaling.md).

Django's model is unchanged: it still sees one table with `id` as its key (`esm.partitions`
says what differs). Reversible: the reverse builds the plain table back the same way.
Nothing happens on other databases.
"""

from django.db import migrations

from esm import clock
from esm.partitions import (
    DEFAULT_PARTITION,
    MONTHS_BEHIND_AT_CONVERSION,
    TABLE,
    add_months,
    month_start,
    partition_create_sql,
)

AHEAD_AT_CONVERSION = 3
ASIDE = f"{TABLE}_unpartitioned"

APPEND_ONLY_TRIGGER = f"""
CREATE TRIGGER esm_event_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION esm_event_append_only();
"""

# The model's `work_starts_once` (a partial unique index) cannot exist on a partitioned
# table, whose unique indexes must hold the partition key: a side table's key keeps it.
# Emptied with the log (TRUNCATE, as tests and archiving do), so the two never disagree.
WORK_START_GUARD = f"""
CREATE TABLE esm_event_work_start (
    subject_type varchar(100) NOT NULL,
    subject_id bigint NOT NULL,
    CONSTRAINT work_starts_once PRIMARY KEY (subject_type, subject_id)
);
INSERT INTO esm_event_work_start (subject_type, subject_id)
    SELECT DISTINCT subject_type, subject_id FROM {TABLE} WHERE kind = 'work_started';

CREATE FUNCTION esm_event_work_starts_once() RETURNS trigger AS $$
BEGIN
    INSERT INTO esm_event_work_start (subject_type, subject_id)
        VALUES (NEW.subject_type, NEW.subject_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER esm_event_work_starts_once
    AFTER INSERT ON {TABLE}
    FOR EACH ROW WHEN (NEW.kind = 'work_started')
    EXECUTE FUNCTION esm_event_work_starts_once();

CREATE FUNCTION esm_event_work_start_truncate() RETURNS trigger AS $$
BEGIN
    TRUNCATE esm_event_work_start;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER esm_event_work_start_truncate
    AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION esm_event_work_start_truncate();
"""

DROP_WORK_START_GUARD = f"""
DROP TRIGGER IF EXISTS esm_event_work_start_truncate ON {TABLE};
DROP TRIGGER IF EXISTS esm_event_work_starts_once ON {TABLE};
DROP FUNCTION IF EXISTS esm_event_work_start_truncate();
DROP FUNCTION IF EXISTS esm_event_work_starts_once();
DROP TABLE IF EXISTS esm_event_work_start;
"""


def _fetch(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _set_aside(cursor):
    """Rename the table aside; return what to rebuild on its successor: the foreign keys'
    and the plain indexes' definitions (unique ones are handled by each direction)."""
    referencing = _fetch(
        cursor,
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f'",
        [TABLE],
    )
    if referencing:
        # A foreign key to a partitioned table needs the whole key, (id, occurred_at):
        # a model pointing at events must be changed first.
        raise RuntimeError(f"Foreign keys reference {TABLE}: {referencing}")
    foreign_keys = _fetch(
        cursor,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [TABLE],
    )
    indexes = _fetch(
        cursor,
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass AND NOT indisunique AND NOT indisprimary",
        [TABLE],
    )
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {ASIDE}")
    return foreign_keys, [definition for (definition,) in indexes]


def _rebuild(cursor, foreign_keys, indexes):
    """After the old table is dropped (so its index names are free again)."""
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:
        # Read before the rename, so they name esm_event: the same index on the new table.
        # Without ONLY: on a partitioned table, one per partition, made and kept.
        cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
    cursor.execute(APPEND_ONLY_TRIGGER)


def _next_id(cursor, table):
    return _fetch(cursor, f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")[0][0]  # noqa: S608


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        foreign_keys, indexes = _set_aside(cursor)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {ASIDE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (occurred_at)"
        )
        oldest = _fetch(cursor, f"SELECT MIN(occurred_at) FROM {ASIDE}")[0][0]  # noqa: S608
        this_month = month_start(clock.now())
        month = add_months(this_month, -MONTHS_BEHIND_AT_CONVERSION)
        if oldest is not None:
            month = min(month, month_start(oldest))
        while month <= add_months(this_month, AHEAD_AT_CONVERSION):
            cursor.execute(partition_create_sql(month))
            month = add_months(month, 1)
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")

        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {ASIDE}")  # noqa: S608
        next_id = _next_id(cursor, TABLE)
        cursor.execute(f"DROP TABLE {ASIDE}")  # with its identity sequence, esm_event_id_seq

        # Identity columns cannot be declared on a partitioned table (before PostgreSQL
        # 17): a sequence owned by the column serves the same (Django finds it by owner).
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq AS bigint OWNED BY {TABLE}.id")
        cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s, false)", [next_id])
        cursor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')"
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, occurred_at)"
        )
        _rebuild(cursor, foreign_keys, indexes)
        cursor.execute(WORK_START_GUARD)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP_WORK_START_GUARD)
        foreign_keys, indexes = _set_aside(cursor)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {ASIDE} INCLUDING CONSTRAINTS INCLUDING STORAGE "
            "INCLUDING COMMENTS)"
        )
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {ASIDE}")  # noqa: S608
        next_id = _next_id(cursor, TABLE)
        cursor.execute(f"DROP TABLE {ASIDE}")  # with its partitions and its sequence
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s, false)", [next_id])
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        cursor.execute(
            f"CREATE UNIQUE INDEX work_starts_once ON {TABLE} (subject_type, subject_id) "
            "WHERE kind = 'work_started'"
        )
        _rebuild(cursor, foreign_keys, indexes)


class Migration(migrations.Migration):
    dependencies = [("esm", "0009_directory_provisioning")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
