"""The Celery app of workers started by integration tests and benches.

    celery -A tests.integration.worker worker -Q <queue> ...

The project's app, plus the test-support actions (so the worker can run plans built from
them). The environment says where it works:

- DJANGO_SETTINGS_MODULE: tests.integration.worker_settings unless set (benches use
  esm.settings); DATABASE_URL and REDIS_URL as for any process of the project.
- CELERY_TASK_DEFAULT_QUEUE: the run's private queue. The engine publishes the next steps
  with `.delay()`, i.e. to the default queue: it must be the queue this worker consumes,
  or parallel test runs sharing one Redis would run each other's steps. The project's
  task routes are dropped for the same reason: one run, one queue.
- ESM_BROKER_VISIBILITY_TIMEOUT: seconds before this worker takes back messages a dead
  worker left unacknowledged (Redis' default is an hour; fault tests use a second or two).
"""

import datetime as dt
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integration.worker_settings")
django.setup()

from esm.celery import app  # noqa: E402
from tests.integration import actions  # noqa: E402  (registers the actions and the task)

# Pool processes inherit it: the one place the crashing test action may kill its process.
os.environ[actions.IN_WORKER_ENV] = "1"

if queue := os.environ.get("CELERY_TASK_DEFAULT_QUEUE"):
    app.conf.task_default_queue = queue
    # Everything on that one queue, whatever the project's routes (esm/settings.py).
    app.conf.task_routes = None
if visibility_timeout := os.environ.get("ESM_BROKER_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        "visibility_timeout": float(visibility_timeout),
        # Look for such messages every second instead of every ten seconds times ten.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
# Results of test runs should not outlive them in a shared Redis.
app.conf.result_expires = dt.timedelta(minutes=10)

__all__ = ["app"]
