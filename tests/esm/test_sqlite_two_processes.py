"""The embedded default under two processes: `make demo` runs the web server and Celery beat
side by side on one SQLite file, and neither may fail because the other is writing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSACTIONS = 150

# Each transaction reads, then writes: the shape of every action (lock, check, save). Under
# SQLite's default deferred transactions that read takes a snapshot which the other
# process's commit makes stale, and the write then fails at once with "database is
# locked" instead of waiting for the lock.
WRITER = """
import sys

import django
from django.db import transaction

django.setup()
from django.contrib.sessions.models import Session
from django.utils import timezone

name, count = sys.argv[1], int(sys.argv[2])
for number in range(count):
    with transaction.atomic():
        total = Session.objects.count()
        Session.objects.create(
            session_key=f"{name}-{number}", session_data=str(total), expire_date=timezone.now()
        )
        Session.objects.filter(session_key="shared").update(session_data=f"{name}-{number}")
"""


def _environment(database):
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER"}
    }
    return environment | {
        "DJANGO_SETTINGS_MODULE": "esm.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(ROOT),
    }


def _manage(environment, *arguments):
    subprocess.run(  # noqa: S603 - our interpreter and manage.py
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("", "sqlite"),
    reason="the embedded SQLite default only",
)
def test_two_processes_writing_at_once_both_succeed(tmp_path):
    environment = _environment(tmp_path / "portal.sqlite3")
    _manage(environment, "migrate", "sessions", "--noinput")
    _manage(
        environment,
        "shell",
        "-c",
        "from django.contrib.sessions.models import Session; from django.utils import timezone;"
        "Session.objects.create(session_key='shared', session_data='', expire_date=timezone.now())",
    )

    writers = [
        subprocess.Popen(  # noqa: S603 - our interpreter and script
            [sys.executable, "-c", WRITER, name, str(TRANSACTIONS)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("web", "beat")
    ]
    outcomes = [(writer.wait(timeout=120), writer.communicate()[1]) for writer in writers]

    for returncode, errors in outcomes:
        assert "database is locked" not in errors
        assert returncode == 0, errors
