"""The Celery application. Configuration comes from Django settings (the CELERY_ names)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esm.settings")

app = Celery("esm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_kept_while_usable(**kwargs: Any) -> None:
    """Around each task, as Django does around a web request: a connection that failed, or
    outlived CONN_MAX_AGE, is closed; a sound one is kept for the next task (Celery's own
    closing is spaced out by CELERY_DB_REUSE_MAX)."""
    if not getattr(kwargs["task"].request, "is_eager", False):
        close_old_connections()
