"""`make bench` end to end at a small size: every scenario answers, the results have every
figure. A smoke, not a measurement: no timing is asserted."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.ci import running_in_ci

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_KEYS = {
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "rps",
    "errors",
    "queries_per_request",
    "ratio_to_noop",
}
SCENARIOS = {
    "no-op (floor)",
    "portal home",
    "catalog search",
    "item form",
    "submit",
    "my requests",
    "request detail",
    "approvals",
    "queue list",
    "queue, first page",
    "queue, last page",
    "take next",
    "task page",
    "department overview",
    "value-stream list",
    "value-stream map",
    "journey map",
    "portfolio",
    "collaboration map",
    "stream export (CSV)",
    "API: my requests",
    "API: queue tasks",
}

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(
        not (ON_POSTGRESQL and settings.REDIS_URL) and not running_in_ci(),
        reason="make bench runs on PostgreSQL and Redis only.",
    ),
]


def test_the_bench_runs_every_scenario_without_errors_and_reports_every_figure(tmp_path):
    out = tmp_path / "results.json"
    env = os.environ | {
        # Enough for open work in the queues: seed_scale spreads the requests over two
        # years, and only the last days' are still open (about 0.4 % of them).
        "BENCH_REQUESTS": "2000",
        "BENCH_DATABASE": f"esm_bench_smoke_{uuid.uuid4().hex[:8]}",
    }
    finished = subprocess.run(  # noqa: S603 - our interpreter and module
        [
            sys.executable,
            "-m",
            "bench.web",
            "--requests",
            "2",
            "--warm-up",
            "1",
            "--drop",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr

    results = json.loads(out.read_text())
    assert results["requests_in_db"] > 0
    assert results["events_in_db"] > 0
    assert results["peak_worker_rss_mb"] > 0
    assert results["warm_up_requests_per_scenario"] == 1
    assert set(results["floors"]) == {"noop", "queue_query"}
    assert results["floors"]["queue_query"]["p50_ms"] > 0
    scenarios = results["scenarios"]
    assert set(scenarios) >= SCENARIOS
    assert any(name.startswith("dashboard: ") for name in scenarios)
    for name, row in scenarios.items():
        assert set(row) >= SCENARIO_KEYS, name
        assert row["errors"] == 0, (name, row["first_error"])
        assert row["queries_per_request"], name
