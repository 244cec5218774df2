"""`make bench`: how fast the portal's pages answer on a database of a given size, as a ratio
to the framework's own cost.

Runs on PostgreSQL and Redis (DATABASE_URL's server, REDIS_URL), in a database of its own
named for its size (`esm_bench_<N>`, or BENCH_DATABASE), kept between runs: it is created,
migrated and seeded with `manage.py seed_scale --requests N` when it holds fewer than
BENCH_REQUESTS requests. The accounts the bench signs in as get a password made up for the
run: never point BENCH_DATABASE at a database people use.

The portal is served by gunicorn on loopback with production settings (DEBUG off, a
SECRET_KEY made up for the run, ALLOWED_HOSTS 127.0.0.1, no HTTPS redirect on loopback)
and 2 workers, one per core, plus BENCH=1, which adds a signed-in no-op page and the query
count of each response (esm/bench.py). A small asyncio client signs in as the role each
scenario is for and sends a fixed number of requests per scenario, one at a time, then 16
at once. Beside the pages, the floors: the no-op page, and the queue page's main query run
directly with psycopg.

Prints a table and writes .bench/results.json: per scenario p50_ms, p95_ms, p99_ms
(sequential), rps (at concurrency), errors, queries_per_request and ratio_to_noop; the
database's size, the floors and the peak resident memory of a web worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import environ
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / ".bench"
WEB_WORKERS = 2
CONCURRENCY = 16
DEFAULT_REQUESTS_IN_DB = 100_000
DEFAULT_REQUESTS_PER_SCENARIO = 100
# Before timing, each scenario is sent this many times: enough for both workers to reach
# their steady state on every query of the page. A kept connection prepares a query after
# its fifth run (esm/wsgi.py), and PostgreSQL plans a prepared statement afresh for five
# more runs before it settles on the generic plan; the task page's own row takes 25 ms to
# plan and 1 ms to run, so a few warm-up requests timed the planning, not the page.
WARM_UP_REQUESTS = 30
# The one-at-a-time requests of each scenario are sent in this many rounds over them all.
SEQUENTIAL_ROUNDS = 5
READY_TIMEOUT_SECONDS = 60
NOOP = "no-op (floor)"
# The targets: sequential p50 within this many times the no-op's.
PAGE_TARGET, ROLLUP_TARGET = 5, 8
PAGES = {
    "portal home",
    "my requests",
    "request detail",
    "approvals",
    "queue list",
    "queue, first page",
    "queue, last page",
    "task page",
}
ROLLUP_PAGES = {"department overview", "value-stream list", "value-stream map", "journey map"}
MAX_QUERIES = 15
# At concurrency, each page's throughput at least this share of the no-op's.
MIN_RPS_SHARE = 1 / 6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=int(os.environ.get("BENCH_PER_SCENARIO", DEFAULT_REQUESTS_PER_SCENARIO)),
        help="requests per scenario, in each phase (BENCH_PER_SCENARIO)",
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=WARM_UP_REQUESTS,
        help="untimed requests per scenario first, the floors' query's untimed runs too",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR / "results.json")
    parser.add_argument(
        "--drop", action="store_true", help="drop the bench database afterwards (a smoke run)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="time only the scenarios whose name holds NAME (repeatable), beside the no-op",
    )
    args = parser.parse_args()
    wanted = int(os.environ.get("BENCH_REQUESTS", DEFAULT_REQUESTS_IN_DB))

    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    server = environ.Env.db_url_config(database_url) if database_url else {}
    if server.get("ENGINE") != "django.db.backends.postgresql" or not redis_url:
        sys.stderr.write(
            "make bench measures the deployment shape: it needs DATABASE_URL on PostgreSQL "
            "and REDIS_URL (SQLite is the embedded default, not something to size a "
            "deployment with).\n"
        )
        return 2

    name = os.environ.get("BENCH_DATABASE") or f"esm_bench_{wanted}"
    with bench_database(server, name, drop=args.drop) as url:
        os.environ.update(_production_env(database_url=url, redis_url=redis_url))
        seeded = _migrate_and_seed(server, name, wanted=wanted)
        _manage("collectstatic", "--noinput", "--verbosity", "0")
        import django

        django.setup()
        from django.conf import settings
        from django.db import connections

        from bench import scenarios

        password = secrets.token_urlsafe(16)
        plan = scenarios.plan(password=password)
        if args.only:
            plan.scenarios = [
                scenario
                for scenario in plan.scenarios
                if scenario.name == NOOP or any(name in scenario.name for name in args.only)
            ]
        size = scenarios.database_size()
        connections.close_all()
        for note in plan.notes:
            _say(note)

        from tests.integration.harness import redis_queue_forget

        put_back = scenarios.take_next_put_back()

        def between_phases() -> None:
            # In a thread of its own: the connection it opened is closed with it.
            put_back()
            connections.close_all()

        try:
            with gunicorn(log_path=OUT_DIR / "web.log") as (base_url, master):
                timings = asyncio.run(_drive(base_url, plan, password, args, between_phases))
                peak_rss_kb = _peak_rss_kb(master)
        finally:
            put_back()
            redis_queue_forget(redis_url, os.environ["BENCH_CELERY_QUEUE"])
        _streamed_queries(timings)
        # On the portal's own connection settings (no JIT, no parallel workers...).
        portal = settings.DATABASES["default"]
        queue_query = _time_query(
            server | {"NAME": name, "OPTIONS": portal.get("OPTIONS", {})},
            plan.floor_sql,
            times=args.requests,
            warm_up=args.warm_up,
        )

    results = _results(
        timings,
        plan=plan,
        size=size,
        seeded=seeded,
        queue_query=queue_query,
        peak_rss_kb=peak_rss_kb,
        args=args,
    )
    _report(results, out=args.out)
    return 0


def _production_env(*, database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "esm.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback; everything else of production stays (Secure cookies, HSTS).
        "SECURE_SSL_REDIRECT": "0",
        "BENCH": "1",
        # The API's per-person rate would answer the bench's hundreds of requests a minute
        # with 429: the limiter still runs, at a rate the bench does not reach.
        "API_RATE_PERSON": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "CACHE_KEY_PREFIX": "esm-bench",
        # Submissions publish their automations to the broker, as in production, on a queue
        # of the run's own that no worker reads; removed after the run.
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "BENCH_CELERY_QUEUE": f"esm-bench-{os.getpid()}-{secrets.token_hex(4)}",
    }


@contextmanager
def bench_database(server: dict[str, Any], name: str, *, drop: bool) -> Iterator[str]:
    """The bench's database on DATABASE_URL's server, created when missing; yields its URL."""
    with _admin(server) as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    from tests.integration.harness import database_url

    try:
        yield database_url({**server, "NAME": name})
    finally:
        if drop:
            _drop(server, name)


@contextmanager
def _admin(server: dict[str, Any]) -> Iterator[Any]:
    admin = psycopg.connect(**_connection_kwargs(server | {"NAME": "postgres"}))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            yield cursor
    finally:
        admin.close()


def _drop(server: dict[str, Any], name: str) -> None:
    with _admin(server) as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _connection_kwargs(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "dbname": server["NAME"],
        "user": server.get("USER") or None,
        "password": server.get("PASSWORD") or None,
        "host": server.get("HOST") or None,
        "port": server.get("PORT") or None,
        "options": server.get("OPTIONS", {}).get("options"),
    }


def _migrate_and_seed(server: dict[str, Any], name: str, *, wanted: int) -> str:
    """Bring the bench database to `wanted` requests; says how it got there."""
    _manage("migrate", "--noinput", "--verbosity", "0")
    held = _requests_held(server, name)
    if held >= wanted:
        _say(f"{name} holds {held:,} requests: no seeding needed.")
        return "existing"
    if _has_command("seed_scale"):
        if held:
            # seed_scale starts from an empty database.
            _say(f"{name} holds {held:,} requests, fewer than {wanted:,}: starting it afresh.")
            _drop(server, name)
            with _admin(server) as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            _manage("migrate", "--noinput", "--verbosity", "0")
        _say(f"Seeding {name} with seed_scale --requests {wanted}...")
        _manage("seed_scale", "--requests", str(wanted))
        return "seed_scale"
    if held:
        _say(
            f"{name} holds {held:,} requests, fewer than {wanted:,}, and seed_scale is not "
            "available here: benching what it holds."
        )
        return "existing (seed_scale not available)"
    _say(
        "seed_scale is not a known command here: seeding the demo enterprise (seed_demo) "
        f"instead of {wanted:,} requests."
    )
    _manage("seed_demo")
    return "seed_demo (seed_scale not available)"


def _requests_held(server: dict[str, Any], name: str) -> int:
    connection = psycopg.connect(**_connection_kwargs(server | {"NAME": name}))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM services_servicerequest")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def _has_command(name: str) -> bool:
    listed = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return name in listed.stdout.split()


def _manage(*arguments: str) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=ROOT, check=True)  # noqa: S603
    if arguments[0].startswith("seed"):
        _say(f"{arguments[0]} took {time.perf_counter() - started:.0f} s.")


@contextmanager
def gunicorn(*, log_path: Path) -> Iterator[tuple[str, int]]:
    """Serve esm.wsgi on a free loopback port; yields its base URL and the master's pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our interpreter and gunicorn
            [
                sys.executable,
                "-m",
                "gunicorn",
                "esm.wsgi",
                "--workers",
                str(WEB_WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, server, log_path)
        _say(f"gunicorn serves {base_url} with {WEB_WORKERS} workers (log: {log_path}).")
        yield base_url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_serving(base_url: str, server: subprocess.Popen, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped; see {log_path}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/account/sign-in/", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT_SECONDS} s; see {log_path}")


def round_shares(requests: int, rounds: int = SEQUENTIAL_ROUNDS) -> list[int]:
    """How many of a scenario's `requests` each round sends: as even as they divide, the
    first rounds taking the rest, and never an empty round."""
    rounds = min(rounds, requests)
    return [requests // rounds + (number < requests % rounds) for number in range(rounds)]


async def _drive(
    base_url: str,
    plan: Any,
    password: str,
    args: argparse.Namespace,
    between_phases: Callable[[], None],
) -> Any:
    """Warm-up, the sequential rounds, then each scenario at concurrency; what the
    scenarios claimed is put back between them (`between_phases`)."""
    from bench import load

    async with load.client(base_url, concurrency=args.concurrency) as client:
        sessions = {
            role: await load.sign_in(client, username=username, password=password)
            for role, username in plan.accounts.items()
        }
        shares = round_shares(args.requests)
        _say(
            f"{len(plan.scenarios)} scenarios, {args.requests} requests each, one at a time, "
            f"in {len(shares)} rounds over every scenario..."
        )
        for scenario in plan.scenarios:
            await load.run(
                client, scenario, sessions[scenario.role], requests=args.warm_up, concurrency=1
            )
        await asyncio.to_thread(between_phases)
        # Round after round over every scenario, the no-op among them: a machine that slows
        # down for a minute slows every scenario's requests alike, so each page's ratio to
        # the no-op holds where one scenario after the other would put the slow minute on a
        # few pages only.
        sequential = {scenario.name: load.Timings() for scenario in plan.scenarios}
        for share in shares:
            for scenario in plan.scenarios:
                await load.run(
                    client,
                    scenario,
                    sessions[scenario.role],
                    requests=share,
                    concurrency=1,
                    into=sequential[scenario.name],
                )
        await asyncio.to_thread(between_phases)
        concurrent = {}
        _say(f"... and {args.concurrency} at a time...")
        for scenario in plan.scenarios:
            concurrent[scenario.name] = await load.run(
                client,
                scenario,
                sessions[scenario.role],
                requests=args.requests,
                concurrency=args.concurrency,
            )
    return sequential, concurrent


def _streamed_queries(timings: Any) -> None:
    """Read the whole query count of each streamed response, left in the cache by the web
    worker once it sent the last row."""
    from django.core.cache import cache

    from esm.bench import streamed_count_key

    for phase in timings:
        for scenario in phase.values():
            if scenario.streamed:
                keys = {streamed_count_key(request_id) for request_id in scenario.streamed}
                scenario.queries += list(cache.get_many(keys).values())
                cache.delete_many(keys)


def _time_query(
    server: dict[str, Any], query: tuple[str, tuple[Any, ...]], *, times: int, warm_up: int
) -> dict:
    """The queue page's main query, run `times` times on one psycopg connection."""
    from bench.load import percentile

    text, params = query
    connection = psycopg.connect(**_connection_kwargs(server))
    try:
        with connection.cursor() as cursor:
            seconds = []
            for _ in range(warm_up + times):
                started = time.perf_counter()
                cursor.execute(text, params)
                cursor.fetchall()
                seconds.append(time.perf_counter() - started)
            del seconds[:warm_up]
    finally:
        connection.close()
    return {
        f"p{share}_ms": round(percentile(seconds, share / 100) * 1000, 2) for share in (50, 95, 99)
    }


def _peak_rss_kb(master: int) -> int:
    """The largest VmHWM (peak resident set) among the gunicorn master's workers."""
    peak = 0
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            with suppress(OSError):
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
    return peak


def _results(
    timings: Any,
    *,
    plan: Any,
    size: dict[str, int],
    seeded: str,
    queue_query: dict[str, float],
    peak_rss_kb: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from django.conf import settings

    from bench.load import summary

    sequential, concurrent = timings
    noop_seq, noop_con = summary(sequential[NOOP]), summary(concurrent[NOOP])
    scenarios = {}
    for scenario in plan.scenarios:
        alone, loaded = summary(sequential[scenario.name]), summary(concurrent[scenario.name])
        target = _target(scenario.name)
        ratio = round(alone["p50_ms"] / noop_seq["p50_ms"], 1) if noop_seq["p50_ms"] else None
        queries = [q for q in (alone["queries_per_request"], loaded["queries_per_request"]) if q]
        scenarios[scenario.name] = {
            "role": scenario.role,
            "method": scenario.method,
            "url": scenario.url,
            "p50_ms": alone["p50_ms"],
            "p95_ms": alone["p95_ms"],
            "p99_ms": alone["p99_ms"],
            "rps": loaded["rps"],
            "errors": alone["errors"] + loaded["errors"],
            "queries_per_request": max(queries) if queries else None,
            "ratio_to_noop": ratio,
            "rps_ratio_to_noop": round(loaded["rps"] / noop_con["rps"], 2)
            if noop_con["rps"]
            else None,
            "target_ratio": target,
            "first_error": sequential[scenario.name].first_error
            or concurrent[scenario.name].first_error,
            "sequential": alone,
            "concurrent": loaded,
        }
    return {
        **size,
        "seeded_with": seeded,
        "requests_per_scenario": args.requests,
        "warm_up_requests_per_scenario": args.warm_up,
        "concurrency": args.concurrency,
        "web_workers": WEB_WORKERS,
        "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
        "floors": {
            "noop": {**noop_seq, "rps": noop_con["rps"]},
            "queue_query": queue_query,
        },
        "peak_worker_rss_mb": round(peak_rss_kb / 1024, 1),
        "scenarios": scenarios,
    }


def _target(name: str) -> int | None:
    if name in PAGES:
        return PAGE_TARGET
    if (
        name in ROLLUP_PAGES
        or name.startswith("dashboard")
        or name
        in (
            "portfolio",
            "collaboration map",
        )
    ):
        return ROLLUP_TARGET
    return None


def _report(results: dict[str, Any], *, out: Path) -> None:
    header = (
        "scenario",
        "role",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "x no-op",
        "rps@c",
        "x rps",
        "q",
        "err",
    )
    rows = []
    for name, row in results["scenarios"].items():
        missed = (
            (row["target_ratio"] and row["ratio_to_noop"] > row["target_ratio"])
            or (row["queries_per_request"] or 0) > MAX_QUERIES
            or (row["rps_ratio_to_noop"] or 0) < MIN_RPS_SHARE
        )
        rows.append(
            (
                name + (" !" if missed else ""),
                row["role"],
                f"{row['p50_ms']:.1f}",
                f"{row['p95_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                f"{row['ratio_to_noop']:.1f}" if row["ratio_to_noop"] is not None else "",
                f"{row['rps']:.0f}",
                f"{row['rps_ratio_to_noop']:.2f}" if row["rps_ratio_to_noop"] is not None else "",
                str(row["queries_per_request"] if row["queries_per_request"] is not None else ""),
                str(row["errors"]),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    floors = results["floors"]
    lines = [
        "",
        f"Page bench: {results['requests_in_db']:,} requests, {results['events_in_db']:,} events "
        f"(seeded: {results['seeded_with']}); gunicorn, {results['web_workers']} workers, "
        f"CONN_MAX_AGE={results['conn_max_age']}",
        f"{results['requests_per_scenario']} requests per scenario, one at a time (p50/p95/p99) "
        f"and {results['concurrency']} at once (rps@c)",
        "",
        line(header),
        line(tuple("-" * width for width in widths)),
        *(line(row) for row in rows),
        "",
        f"Floors: signed-in no-op p50 {floors['noop']['p50_ms']:.1f} ms, "
        f"{floors['noop']['rps']:.0f} rps at {results['concurrency']}; the queue page's main "
        f"query alone (psycopg) p50 {floors['queue_query']['p50_ms']:.1f} ms.",
        f"Peak resident memory of a web worker: {results['peak_worker_rss_mb']:.0f} MB.",
        f"! misses a target: p50 over {PAGE_TARGET}x the no-op (pages) or {ROLLUP_TARGET}x "
        f"(dashboards, maps, overview), more than {MAX_QUERIES} queries, or under "
        f"1/{round(1 / MIN_RPS_SHARE)} of the no-op's throughput at {results['concurrency']}.",
    ]
    failures = [
        f"  {name}: {row['errors']} errors, first: {row['first_error']}"
        for name, row in results["scenarios"].items()
        if row["errors"]
    ]
    if failures:
        lines += ["", "Errors:", *failures]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    lines.append(f"Wrote {out}")
    sys.stdout.write("\n".join(lines) + "\n")


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


if __name__ == "__main__":
    sys.exit(main())
