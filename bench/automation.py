"""`make bench-automation`: what running fulfilment plans on workers costs, as a ratio.

Runs onboarding-shaped plans (one step, five in parallel after it, a join) on a real
Celery worker with 2 pool processes over Redis, working a scratch PostgreSQL database
created for the run and dropped after it. Beside them, the same worker's round trip for a
task that does nothing, so the automation's overhead reads as a multiple of what Celery
itself costs on this machine:

- noop_roundtrip_ms: median `.delay().get()` of a no-op task;
- step_median_ms: median time from a step becoming ready (its row marked PENDING) to the
  step being done, runs going one at a time;
- step_worked_median_ms: the same steps from a worker claiming them to done: what a step
  costs the worker, without the broker's hop and the wait for a free worker process (the
  five parallel steps share two);
- run_median_ms: median time from submission to the run being done, one run at a time;
- runs_per_s: runs completed per second when `--runs` are submitted back to back.

Those steps are no-op test-support actions (tests/integration/actions.py): they measure the
engine, the broker and the database, not what the real actions do. Then the demo's real
"New hire onboarding" (demo/data/plans.toml) runs `--onboarding-runs` times, one at a time,
on the real actions (employee record, IT account, access, desk, badge, orientation, welcome
pack, the e-mail to the manager): the bench approves each request and completes its human
step (the workstation set-up) as Facilities would, as soon as it reaches their queue.

- onboarding_step_median_ms: median time from an automated onboarding step becoming ready
  to it being done, on the real actions (onboarding_step_worked_median_ms: claimed to done);
- onboarding_run_median_ms: submission to done, the approval and the human step included.

Needs DATABASE_URL (PostgreSQL: the server to create the scratch database on) and
REDIS_URL. Prints a table and writes .bench/automation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import environ
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / ".bench"
WORKER_PROCESSES = 2
RUN_TIMEOUT_SECONDS = 30
BURST_TIMEOUT_SECONDS = 300
# How often the bench looks whether a run is done. Every figure comes from the rows' own
# timestamps, so this only paces the bench; looking every few milliseconds took CPU and
# database time from the worker it measures on a 2-core machine.
POLL_SECONDS = 0.05
# The human step is resolved as soon as the bench sees it, and its wait is in the
# onboarding run's figure, so the bench looks for it more often.
HUMAN_POLL_SECONDS = 0.01
WARM_UP_RUNS = 3
WARM_UP_NOOPS = 10
ONBOARDING_ITEM = "new-hire-onboarding"
# No laptop: the one human step left is Facilities' workstation set-up.
ONBOARDING_ANSWERS = {
    "first_name": "Kim",
    "last_name": "Tan",
    "start_date": "2027-01-04",
    "role": "Account Executive",
    "location": "London HQ",
    "laptop_needed": "no",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="runs submitted back to back")
    parser.add_argument("--latency-runs", type=int, default=20, help="runs timed one at a time")
    parser.add_argument("--noops", type=int, default=200, help="no-op task round trips")
    parser.add_argument(
        "--onboarding-runs", type=int, default=10, help="real onboarding runs, one at a time"
    )
    args = parser.parse_args()

    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    server = environ.Env.db_url_config(database_url) if database_url else {}
    if server.get("ENGINE") != "django.db.backends.postgresql" or not redis_url:
        sys.stderr.write("bench-automation needs DATABASE_URL (PostgreSQL) and REDIS_URL.\n")
        return 2

    with scratch_database(server) as scratch_url:
        os.environ.update(
            DATABASE_URL=scratch_url,
            DJANGO_SETTINGS_MODULE="esm.settings",
            CELERY_TASK_ALWAYS_EAGER="0",
        )
        os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        try:
            results = _bench(args, scratch_url=scratch_url, redis_url=redis_url)
        finally:
            from django.db import connections

            connections.close_all()

    _report(results, redis_url=redis_url)
    return 0


@contextmanager
def scratch_database(server: dict[str, Any]) -> Iterator[str]:
    """Create a database of our own next to DATABASE_URL's, yield its URL, drop it."""
    name = f"esm_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg.connect(
        dbname="postgres",
        user=server.get("USER") or None,
        password=server.get("PASSWORD") or None,
        host=server.get("HOST") or None,
        port=server.get("PORT") or None,
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        from tests.integration.harness import database_url

        yield database_url({**server, "NAME": name})
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


def _bench(args: argparse.Namespace, *, scratch_url: str, redis_url: str) -> dict[str, Any]:
    from django.core.management import call_command

    from tests.integration.actions import noop_task
    from tests.integration.harness import (
        CeleryWorker,
        private_queue,
        publishing_to,
        redis_queue_forget,
    )

    _say("Migrating a scratch database...")
    call_command("migrate", verbosity=0)
    item, employee = _fixtures()
    queue = private_queue("esm-bench")
    OUT_DIR.mkdir(exist_ok=True)
    worker = CeleryWorker(
        name=queue,
        database_url=scratch_url,
        redis_url=redis_url,
        queue=queue,
        log_path=OUT_DIR / "automation-worker.log",
        concurrency=WORKER_PROCESSES,
        settings_module="esm.settings",
    )
    worker.log_path.unlink(missing_ok=True)
    _say(f"Starting a worker with {WORKER_PROCESSES} processes on queue {queue}...")
    worker.start()
    try:
        with publishing_to(broker_url=redis_url, queue=queue):
            submitted = iter(range(1_000_000))
            for _ in range(WARM_UP_NOOPS):
                noop_task.delay().get(timeout=RUN_TIMEOUT_SECONDS)
            for _ in range(WARM_UP_RUNS):
                _run_alone(item, employee, key=f"warm-{next(submitted)}")

            _say(f"{args.noops} no-op round trips...")
            noops = []
            for _ in range(args.noops):
                started = time.perf_counter()
                noop_task.delay().get(timeout=RUN_TIMEOUT_SECONDS)
                noops.append(time.perf_counter() - started)

            _say(f"{args.latency_runs} runs, one at a time...")
            alone = [
                _run_alone(item, employee, key=f"alone-{next(submitted)}")
                for _ in range(args.latency_runs)
            ]

            _say(f"{args.runs} runs, submitted back to back...")
            burst = _burst(item, employee, runs=args.runs, keys=submitted)

            _say(f"{args.onboarding_runs} real onboarding runs, one at a time...")
            onboardings = [
                _onboard(key=f"onboard-{next(submitted)}") for _ in range(args.onboarding_runs)
            ]
    finally:
        worker.stop()
        redis_queue_forget(redis_url, queue)

    run_ms, step_ms, worked_ms = _durations_ms(alone)
    burst_run_ms, _, _ = _durations_ms(burst)
    runs, steps = _runs_and_steps(burst)
    elapsed = (
        max(run.finished_at for run in runs) - min(run.created_at for run in runs)
    ).total_seconds()
    onboarding_run_ms, onboarding_step_ms, onboarding_worked_ms = _durations_ms(
        onboardings, automated_only=True
    )
    return {
        "onboarding_step_median_ms": round(statistics.median(onboarding_step_ms), 2),
        "onboarding_step_worked_median_ms": round(statistics.median(onboarding_worked_ms), 2),
        "onboarding_run_median_ms": round(statistics.median(onboarding_run_ms), 2),
        "onboarding_runs": len(onboardings),
        "runs_per_s": round(len(runs) / elapsed, 2),
        "run_median_ms": round(statistics.median(run_ms), 2),
        "step_median_ms": round(statistics.median(step_ms), 2),
        "step_worked_median_ms": round(statistics.median(worked_ms), 2),
        "noop_roundtrip_ms": round(statistics.median(noops) * 1000, 2),
        "run_median_under_load_ms": round(statistics.median(burst_run_ms), 2),
        "runs": len(runs),
        "latency_runs": len(alone),
        "noop_round_trips": len(noops),
        "steps_per_run": len(steps) // len(runs),
        "worker_processes": WORKER_PROCESSES,
        "plan": "1 step -> 5 parallel -> join (no-op actions)",
    }


def _fixtures() -> tuple[Any, Any]:
    from django.db import transaction

    from demo import catalog, enterprise
    from tests.esm.factories import ProfileFactory, UserFactory
    from tests.integration.plans import onboarding_like_plan
    from tests.services.factories import CatalogItemFactory

    # The demo enterprise and its catalog: the real onboarding plan, its departments, queues
    # and people (its calendar is the company's).
    with transaction.atomic():
        enterprise.seed()
        catalog.seed()
    item = CatalogItemFactory(name="New hire onboarding (bench)")
    onboarding_like_plan(item, action="integration.noop")
    employee = UserFactory(username="bench-employee")
    ProfileFactory(user=employee, department=item.department)
    return item, employee


def _run_alone(item: Any, employee: Any, *, key: str) -> int:
    from services.models import AutomationRun
    from tests.integration.harness import wait_for
    from tests.integration.plans import submit

    service_request = submit(item, employee, key=key)
    wait_for(
        AutomationRun.objects.filter(
            service_request=service_request, state=AutomationRun.State.DONE
        ).exists,
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"run {key} to finish",
        interval=POLL_SECONDS,
    )
    return service_request.pk


def _onboard(*, key: str) -> int:
    """Raise the demo's "New hire onboarding" as a hiring manager would, approve it, and
    resolve its human step as soon as it reaches Facilities' queue; wait for it to finish."""
    from django.db import transaction

    from esm.models import DepartmentRole
    from services import actions
    from services.forms import RequestForm
    from services.models import AutomationRun, CatalogItem, FulfilmentTask
    from tests.integration.harness import wait_for

    item = CatalogItem.objects.get(slug=ONBOARDING_ITEM)
    data = {"subject": "Onboard Kim Tan", "submission_key": key} | {
        f"field_{name}": value for name, value in ONBOARDING_ANSWERS.items()
    }
    form = RequestForm(data=data, item=item)
    if not form.is_valid():
        raise RuntimeError(f"The onboarding form refused the bench's answers: {form.errors}")
    hiring_manager = DepartmentRole.objects.filter(
        department=item.department, role=DepartmentRole.Role.MANAGER
    ).first()
    with transaction.atomic():
        service_request, _ = actions.service_request_submit(
            item=item,
            raised_by=hiring_manager.user,
            subject=data["subject"],
            answers=form.answer_rows(),
            submission_key=key,
        )
    for approval in service_request.approvals.filter(state="pending").select_related("approver"):
        actions.approval_decide(approval=approval, user=approval.approver, approve=True)
    human = FulfilmentTask.objects.filter(
        service_request=service_request, state=FulfilmentTask.State.QUEUED
    )
    wait_for(
        human.exists,
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"{key}'s human step",
        interval=HUMAN_POLL_SECONDS,
    )
    for task in human.select_related("department"):
        agent = DepartmentRole.objects.filter(
            department=task.department, role=DepartmentRole.Role.AGENT
        ).first()
        actions.task_resolve(task=task, agent=agent.user, resolution="Screen and dock in place")
    wait_for(
        AutomationRun.objects.filter(
            service_request=service_request, state=AutomationRun.State.DONE
        ).exists,
        timeout=RUN_TIMEOUT_SECONDS,
        what=f"onboarding {key} to finish",
        interval=POLL_SECONDS,
    )
    return service_request.pk


def _burst(item: Any, employee: Any, *, runs: int, keys: Iterator[int]) -> list[int]:
    from services.models import AutomationRun
    from tests.integration.harness import wait_for
    from tests.integration.plans import submit

    ids = [submit(item, employee, key=f"burst-{next(keys)}").pk for _ in range(runs)]
    done = AutomationRun.objects.filter(service_request__in=ids, state=AutomationRun.State.DONE)
    wait_for(
        lambda: done.count() == runs,
        timeout=BURST_TIMEOUT_SECONDS,
        what=f"{runs} runs to finish",
        interval=POLL_SECONDS,
    )
    return ids


def _runs_and_steps(request_ids: list[int]) -> tuple[list[Any], list[Any]]:
    from services.models import AutomationRun, StepRun

    runs = list(AutomationRun.objects.filter(service_request__in=request_ids))
    steps = list(StepRun.objects.filter(run__in=runs))
    return runs, steps


def _durations_ms(
    request_ids: list[int], *, automated_only: bool = False
) -> tuple[list[float], list[float], list[float]]:
    """Per run: submission to done; per step: ready (PENDING) to done, and worked (claimed by
    a worker to done: without the broker's hop and the wait for a free worker process). All
    from the rows' own timestamps, written in the transactions that made them so, on this
    machine's clock. `automated_only` leaves out the steps people did (and those not
    needed)."""
    runs, steps = _runs_and_steps(request_ids)
    if automated_only:
        steps = [step for step in steps if step.kind == "automated" and step.enqueued_at]
    run_ms = [(run.finished_at - run.created_at).total_seconds() * 1000 for run in runs]
    step_ms = [(step.finished_at - step.enqueued_at).total_seconds() * 1000 for step in steps]
    worked_ms = [(step.finished_at - step.started_at).total_seconds() * 1000 for step in steps]
    return run_ms, step_ms, worked_ms


def _report(results: dict[str, Any], *, redis_url: str) -> None:
    noop = results["noop_roundtrip_ms"]
    rows = [
        ("no-op task round trip (median)", f"{noop:.1f} ms", "1.0x"),
        (
            "step, ready to done (median)",
            f"{results['step_median_ms']:.1f} ms",
            f"{results['step_median_ms'] / noop:.1f}x",
        ),
        (
            "step, worked: claimed to done (median)",
            f"{results['step_worked_median_ms']:.1f} ms",
            f"{results['step_worked_median_ms'] / noop:.1f}x",
        ),
        (
            "run, submitted to done, alone (median)",
            f"{results['run_median_ms']:.1f} ms",
            f"{results['run_median_ms'] / noop:.1f}x",
        ),
        (
            f"run, submitted to done, {results['runs']} at once (median)",
            f"{results['run_median_under_load_ms']:.1f} ms",
            f"{results['run_median_under_load_ms'] / noop:.1f}x",
        ),
        ("runs completed per second", f"{results['runs_per_s']:.1f} /s", ""),
        (
            "real onboarding step, ready to done (median)",
            f"{results['onboarding_step_median_ms']:.1f} ms",
            f"{results['onboarding_step_median_ms'] / noop:.1f}x",
        ),
        (
            "real onboarding step, worked (median)",
            f"{results['onboarding_step_worked_median_ms']:.1f} ms",
            f"{results['onboarding_step_worked_median_ms'] / noop:.1f}x",
        ),
        (
            "real onboarding, submitted to done (median)",
            f"{results['onboarding_run_median_ms']:.1f} ms",
            f"{results['onboarding_run_median_ms'] / noop:.1f}x",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [
        "",
        f"Automation bench: {results['plan']}, {results['steps_per_run']} steps a run",
        f"{results['worker_processes']} worker processes (prefork) on Redis "
        f"{redis_url.split('@')[-1]}, PostgreSQL; {results['noop_round_trips']} no-op round "
        f"trips, {results['latency_runs']} runs alone, {results['runs']} runs at once",
        "",
        f"{'measure':<{width}}  {'value':>10}  {'vs no-op':>8}",
        f"{'-' * width}  {'-' * 10}  {'-' * 8}",
        *(f"{name:<{width}}  {value:>10}  {ratio:>8}" for name, value, ratio in rows),
        "",
    ]
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / "automation.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    lines.append(f"Wrote {path.relative_to(ROOT)}")
    sys.stdout.write("\n".join(lines) + "\n")


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


if __name__ == "__main__":
    sys.exit(main())
