"""The one way the write layer asks workers for work: a Celery task by name, after commit.

Actions and notifications never import `services.tasks` (the Celery entry points import
them, so that would be a cycle); they name the task here instead. Each publish is its own
robust on-commit callback: a broker outage loses a message, never the change that asked
for it, and one lost message never stops the others. Whatever must not be lost has a row
that a sweep re-publishes (step runs); e-mails are best effort.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

TASKS_MODULE = "services.tasks"


def enqueue_on_commit(task: str, *args: object, countdown: float | None = None) -> None:
    """Publish `services.tasks.<task>(*args)` once the current transaction commits."""
    name = f"{TASKS_MODULE}.{task}"

    def publish() -> None:
        try:
            current_app.tasks[name].apply_async(args, countdown=countdown)
        except BrokerUnavailable:
            logger.warning("%s%r not published: the broker is unavailable", name, args)

    transaction.on_commit(publish, robust=True)
