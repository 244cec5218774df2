"""Celery entry points of reporting: thin, idempotent."""

from celery import shared_task

from reporting import rollups


@shared_task(acks_late=True)
def snapshots_refresh_task() -> int:
    """Today's snapshots of every measure (hourly from beat, and on demand)."""
    return rollups.snapshots_refresh()
