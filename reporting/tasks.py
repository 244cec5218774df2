"""Celery entry points of reporting: thin, idempotent."""

from celery import shared_task

from reporting import crossings, delivery, portfolio, rollups, service_days, sharing


@shared_task(acks_late=True)
def snapshots_refresh_task() -> int:
    """Today's snapshots of every measure (hourly from beat, and on demand)."""
    return rollups.snapshots_refresh()


@shared_task(acks_late=True)
def service_days_refresh_task(*, whole_window: bool = False) -> int:
    """The portfolio's daily rollup of its recent days (hourly from beat, and on demand), or
    of the portfolio's whole window (nightly, for the ratings given later). Replaces whole
    days, so safe to run twice."""
    days = portfolio.WINDOW_DAYS if whole_window else service_days.RECENT_DAYS
    return service_days.service_days_refresh_recent(days=days)


@shared_task(acks_late=True)
def crossings_refresh_task(*, full: bool = False) -> int:
    """The collaboration map's rollup of the cases with new events (every five minutes from
    beat), or of the whole log. Upserts by event, so safe to run twice."""
    return crossings.crossings_refresh(full=full)


@shared_task(acks_late=True)
def sharing_refresh_task() -> int:
    """The department managers' knowledge sharing rollup, over the last 90 days up to now
    (every quarter of an hour from beat, and on demand). Upserts by department and person,
    so safe to run twice."""
    return sharing.sharing_refresh()


@shared_task(acks_late=True)
def subscriptions_send_task() -> int:
    """E-mail every subscription that is due (daily from beat). Each is claimed before it
    is sent, so a retried or overlapping run sends nothing twice."""
    return delivery.subscriptions_send()
