"""Celery entry points of reporting: thin, idempotent."""

from celery import shared_task

from reporting import delivery, rollups, service_days


@shared_task(acks_late=True)
def snapshots_refresh_task() -> int:
    """Today's snapshots of every measure (hourly from beat, and on demand)."""
    return rollups.snapshots_refresh()


@shared_task(acks_late=True)
def service_days_refresh_task(days: int = service_days.RECENT_DAYS) -> int:
    """The portfolio's daily rollup of the last `days` days: the recent ones hourly from
    beat, the portfolio's whole window nightly. Replaces whole days, so safe to run twice."""
    return service_days.service_days_refresh_recent(days=days)


@shared_task(acks_late=True)
def subscriptions_send_task() -> int:
    """E-mail every subscription that is due (daily from beat). Each is claimed before it
    is sent, so a retried or overlapping run sends nothing twice."""
    return delivery.subscriptions_send()
