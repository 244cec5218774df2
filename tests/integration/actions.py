"""Automated actions and a no-op task for tests and benches that run on a real worker.

The worker imports this module (see `tests.integration.worker`), so the actions it runs
are registered there too. Their effects go to a plain table, written on the step's
connection inside the step's transaction: counting the rows keyed by step run tells how
many times a step took effect, and a worker killed mid-step leaves no row behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery import shared_task
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from services.automation import registry

EFFECTS_TABLE = "integration_effect"
# A blocked step gives up after this long, so a test that forgets to release it ends.
BLOCK_TIMEOUT_SECONDS = 60
# Set by the worker entry module: the one place a step may kill its own process.
IN_WORKER_ENV = "ESM_INTEGRATION_WORKER"


def effects_table_reset(db: BaseDatabaseWrapper = connection) -> None:
    with db.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (
                id bigserial PRIMARY KEY,
                step_run_key varchar(64) NOT NULL,
                step varchar(50) NOT NULL,
                delivery integer NOT NULL,
                pid integer NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )"""
        )
        cursor.execute(f"TRUNCATE {EFFECTS_TABLE}")


def effects(db: BaseDatabaseWrapper = connection) -> list[dict[str, Any]]:
    """Every committed effect, oldest first."""
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT step_run_key, step, delivery, pid FROM {EFFECTS_TABLE} ORDER BY id"  # noqa: S608
        )
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _effect_record(context: registry.StepContext) -> None:
    # Deliberately not idempotent: a step that took effect twice shows as two rows.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (step_run_key, step, delivery, pid)"  # noqa: S608
            " VALUES (%s, %s, %s, %s)",
            [context.key, context.step_run.step_key, context.step_run.deliveries, os.getpid()],
        )


@registry.action("integration.noop", label="Do nothing (benches)")
def noop(context: registry.StepContext) -> dict[str, Any]:
    return {}


@registry.action("integration.effect", label="Record one effect (integration tests)")
def effect(context: registry.StepContext) -> dict[str, Any]:
    _effect_record(context)
    return {"pid": os.getpid()}


@registry.action(
    "integration.block",
    label="Record one effect, then wait to be released (integration tests)",
    inputs=(registry.Input("marker_dir", "Where to say it started and look for `release`"),),
)
def block(context: registry.StepContext) -> dict[str, Any]:
    """Record the effect (uncommitted), write `<step>.entered.<delivery>` holding this
    process's id, then wait for a `release` file: the test kills the worker meanwhile."""
    _effect_record(context)
    directory = Path(context.require("marker_dir"))
    entered = directory / f"{context.step_run.step_key}.entered.{context.step_run.deliveries}"
    entered.write_text(str(os.getpid()))
    deadline = time.monotonic() + BLOCK_TIMEOUT_SECONDS
    while not (directory / "release").exists():
        if time.monotonic() > deadline:
            raise registry.PermanentError("Nobody released the blocked step.")
        time.sleep(0.02)
    return {"pid": os.getpid()}


@registry.action("integration.kill_worker", label="Kill the worker running it (fault tests)")
def kill_worker(context: registry.StepContext) -> dict[str, Any]:
    """A step that crashes its process every time (think segfault or OOM kill)."""
    _effect_record(context)
    if os.environ.get(IN_WORKER_ENV) != "1":
        raise registry.PermanentError("Only kills a worker started by the integration tests.")
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


# Its result is the round trip's end, whatever the project's task_ignore_result says.
@shared_task(name="integration.noop_task", ignore_result=False)
def noop_task() -> None:
    """The cheapest round trip a worker can make: the bench's yardstick."""


@shared_task(name="integration.backend_pid_task", ignore_result=False)
def backend_pid_task() -> int:
    """The PostgreSQL backend serving this task's database connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
