"""Celery entry points of the services app: thin, idempotent, taking ids."""

from celery import shared_task

from services import actions, notifications
from services.mail import fetch


@shared_task(acks_late=True)
def notify_task(kind: str, *args: object) -> None:
    notifications.send(kind, *args)


@shared_task(acks_late=True)
def sla_breach_sweep_task() -> int:
    """Flag newly breached tasks (runs every minute from beat; safe to overlap)."""
    return len(actions.sla_breach_sweep())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_step_task(step_run_id: int) -> str:
    """Run one automated step. Late acks: a worker killed mid-step leaves the message to be
    delivered again, and the step (idempotent by its key) runs again."""
    return actions.step_run_execute(step_run_id)


@shared_task(acks_late=True)
def step_runs_sweep_task() -> int:
    """Re-enqueue steps whose message was lost (runs every minute from beat)."""
    return len(actions.step_runs_sweep())


@shared_task(acks_late=True)
def service_requests_close_sweep_task() -> int:
    """Close resolved requests past their reopen window (runs hourly from beat)."""
    return len(actions.service_requests_close_sweep())


@shared_task(acks_late=True)
def catalog_items_count_recent_task() -> int:
    """Each catalog item's requests of the popular window (runs hourly from beat)."""
    return actions.catalog_items_count_recent()


@shared_task(acks_late=True)
def mail_fetch_task() -> int:
    """Fetch the inbound addresses' mailboxes (runs every minute from beat; safe to
    overlap: a message is received once, by its Message-ID)."""
    return len(fetch.mailboxes_fetch())
