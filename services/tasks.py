"""Celery entry points of the services app: thin, idempotent, taking ids."""

from celery import shared_task

from services import actions, notifications


@shared_task(acks_late=True)
def notify_task(kind: str, *args: object) -> None:
    notifications.send(kind, *args)


@shared_task(acks_late=True)
def sla_breach_sweep_task() -> int:
    """Flag newly breached tasks (runs every minute from beat; safe to overlap)."""
    return len(actions.sla_breach_sweep())
