"""Celery entry points of the core: thin, idempotent."""

from celery import shared_task

from esm import partitions


@shared_task(acks_late=True)
def event_partitions_create_task() -> int:
    """Create the event log's coming monthly partitions (daily from beat; idempotent, and a
    no-op where the table is not partitioned)."""
    return len(partitions.event_partitions_create())
