"""The event log is partitioned by month on PostgreSQL, and beat creates the months ahead.

PostgreSQL only: SQLite has no declarative partitioning, and there the table stays plain
(the SQLite test below pins that nothing is attempted).
"""

import datetime as dt
import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from esm import clock, partitions
from esm.models import Event, EventKind
from esm.tasks import event_partitions_create_task

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="declarative partitioning exists on PostgreSQL only",
)

SUBJECT = {"subject_type": "services.servicerequest", "subject_id": 1}


def _event(moment: dt.datetime, kind: str = EventKind.SUBMITTED) -> Event:
    return Event.objects.create(occurred_at=moment, kind=kind, **SUBJECT)


def _partition_of(event: Event) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM esm_event WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def _partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent = 'esm_event'::regclass"
        )
        return {name for (name,) in cursor.fetchall()}


@postgresql_only
def test_an_event_lands_in_the_partition_of_its_month():
    this_month = partitions.month_start(clock.now())
    moment = dt.datetime.combine(this_month, dt.time(12), tzinfo=dt.UTC)
    last_instant_of_last_month = dt.datetime.combine(
        this_month, dt.time(), tzinfo=dt.UTC
    ) - dt.timedelta(microseconds=1)

    assert _partition_of(_event(moment)) == partitions.partition_name(this_month)
    assert _partition_of(_event(last_instant_of_last_month)) == partitions.partition_name(
        partitions.add_months(this_month, -1)
    )


@postgresql_only
def test_an_event_no_month_covers_lands_in_the_default_partition():
    assert _partition_of(_event(dt.datetime(1999, 1, 1, tzinfo=dt.UTC))) == "esm_event_default"


@postgresql_only
def test_a_query_filtered_by_time_reads_only_the_months_it_names():
    month = partitions.month_start(clock.now())
    start = dt.datetime.combine(month, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(partitions.add_months(month, 1), dt.time(), tzinfo=dt.UTC)
    queryset = Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)

    plan = queryset.explain()

    scanned = {name for name in _partitions() if name in plan}
    assert scanned == {partitions.partition_name(month)}, plan


@postgresql_only
def test_the_beat_task_creates_the_months_ahead_once():
    ahead = partitions.add_months(partitions.month_start(clock.now()), 5)

    first = partitions.event_partitions_create(months_ahead=5)
    again = event_partitions_create_task()

    assert partitions.partition_name(ahead) in first
    assert partitions.partition_name(ahead) in _partitions()
    assert again == 0


@postgresql_only
def test_a_month_already_in_the_default_partition_is_skipped_not_failed():
    far = partitions.add_months(partitions.month_start(clock.now()), 10)
    _event(dt.datetime.combine(far, dt.time(9), tzinfo=dt.UTC))

    created = partitions.event_partitions_create(months_ahead=11)

    assert partitions.partition_name(far) not in created
    assert partitions.partition_name(partitions.add_months(far, 1)) in created


@postgresql_only
def test_work_still_starts_once_per_subject_on_the_partitioned_table():
    _event(clock.now(), kind=EventKind.WORK_STARTED)

    with pytest.raises(IntegrityError), transaction.atomic():
        _event(clock.now() - dt.timedelta(days=40), kind=EventKind.WORK_STARTED)
    assert Event.objects.filter(kind=EventKind.WORK_STARTED).count() == 1


@postgresql_only
def test_the_primary_key_holds_the_month_and_ids_stay_unique():
    first = _event(dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    second = _event(dt.datetime(2026, 2, 5, tzinfo=dt.UTC))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'esm_event'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, occurred_at)"
    assert second.pk > first.pk


@pytest.mark.skipif(connection.vendor == "postgresql", reason="pins the non-PostgreSQL path")
def test_elsewhere_the_table_is_plain_and_the_task_does_nothing():
    assert partitions.is_partitioned() is False
    assert event_partitions_create_task() == 0


@postgresql_only
def test_the_conversion_keeps_every_row_and_its_id_both_ways():
    migration = importlib.import_module("esm.migrations.0010_event_partitioned_by_month")
    months_ago = partitions.add_months(partitions.month_start(clock.now()), -3)
    oldest = partitions.add_months(months_ago, -27)
    recorded = [
        _event(dt.datetime.combine(months_ago, dt.time(9), tzinfo=dt.UTC)),
        _event(clock.now(), kind=EventKind.WORK_STARTED),
        _event(dt.datetime.combine(oldest, dt.time(9), tzinfo=dt.UTC)),
    ]
    rows = list(Event.objects.order_by("id").values_list("id", "occurred_at", "kind"))
    # The rows' deferred foreign-key checks run now: a table with checks still pending in
    # the transaction cannot be dropped (a migration runs in a transaction of its own).
    connection.check_constraints()

    with connection.schema_editor() as editor:
        migration.unpartition(None, editor)
    assert partitions.is_partitioned() is False
    assert list(Event.objects.order_by("id").values_list("id", "occurred_at", "kind")) == rows
    with connection.schema_editor() as editor:
        migration.partition(None, editor)

    assert partitions.is_partitioned() is True
    assert list(Event.objects.order_by("id").values_list("id", "occurred_at", "kind")) == rows
    assert [_partition_of(event) for event in recorded] == [
        partitions.partition_name(months_ago),
        partitions.partition_name(partitions.month_start(clock.now())),
        # Older than the two years made ahead of a backdated load: the months start at
        # the oldest event's.
        partitions.partition_name(oldest),
    ]
    assert _event(clock.now()).pk > max(row[0] for row in rows)
    with pytest.raises(IntegrityError), transaction.atomic():
        _event(clock.now(), kind=EventKind.WORK_STARTED)
