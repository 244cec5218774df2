"""Settings of the gunicorn server an integration test starts: the worker's settings (the
test settings, not eager), served as in production (DEBUG off, the error pages of
templates/), on loopback.

The environment names the run's queue (CELERY_TASK_DEFAULT_QUEUE): every task the web
processes publish goes there, where the test's worker listens.
"""

import os

from tests.integration.worker_settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
CELERY_TASK_ROUTES = None
