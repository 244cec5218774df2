"""The set-up pieces a fresh machine relies on: finding Python, Celery finding the tasks."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIND_PYTHON = Path(__file__).resolve().parents[2] / "scripts" / "find-python"


def _find_python(tmp_path, *, path, pyenv_root):
    environment = {"PATH": path, "PYENV_ROOT": str(pyenv_root), "HOME": str(tmp_path)}
    return subprocess.run(  # noqa: S603
        [FIND_PYTHON], env=environment, capture_output=True, text=True, check=False
    )


def _fake_python(directory: Path, version: str) -> Path:
    """A stand-in interpreter that answers the version check like Python `version` would."""
    directory.mkdir(parents=True)
    major, minor = version.split(".")[:2]
    script = directory / "python3"
    script.write_text(f"#!/bin/sh\n[ {major} -gt 3 ] || [ {minor} -ge 12 ] && exit 0 || exit 1\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def empty_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "ls", "sort"):
        target = subprocess.run(  # noqa: S603
            ["/bin/sh", "-c", f"command -v {tool}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        os.symlink(target, bin_dir / tool)
    return str(bin_dir)


def test_find_python_takes_pyenv_s_newest_recent_version(tmp_path, empty_path):
    pyenv = tmp_path / "pyenv"
    _fake_python(pyenv / "versions" / "3.11.7" / "bin", "3.11")
    _fake_python(pyenv / "versions" / "3.12.1" / "bin", "3.12")
    newest = _fake_python(pyenv / "versions" / "3.13.0" / "bin", "3.13")

    result = _find_python(tmp_path, path=empty_path, pyenv_root=pyenv)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(newest)


def test_find_python_says_what_it_needs_when_there_is_none(tmp_path, empty_path):
    pyenv = tmp_path / "pyenv"
    _fake_python(pyenv / "versions" / "3.11.7" / "bin", "3.11")

    result = _find_python(tmp_path, path=empty_path, pyenv_root=pyenv)

    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr


SERVICES_TASKS = {
    "services.tasks.run_step_task",
    "services.tasks.step_runs_sweep_task",
    "services.tasks.sla_breach_sweep_task",
    "services.tasks.notify_task",
    "services.tasks.service_requests_close_sweep_task",
}
# What a fresh process registers: as a worker does (the loader imports every app's tasks),
# and as a web process does (Django set up, no worker loader: the actions publish by name).
REGISTERED_IN_A_FRESH_PROCESS = {
    "worker": "from esm import celery_app as app; app.loader.import_default_modules()",
    "web": "import django; django.setup(); from celery import current_app as app",
}


@pytest.mark.parametrize("process", list(REGISTERED_IN_A_FRESH_PROCESS))
def test_a_fresh_process_registers_the_tasks_of_every_app(process):
    script = f"{REGISTERED_IN_A_FRESH_PROCESS[process]}; print(*sorted(app.tasks), sep=chr(10))"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=FIND_PYTHON.parents[1],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) >= SERVICES_TASKS


def _make_portal_url(*arguments, environment):
    return subprocess.run(  # noqa: S603
        [
            shutil.which("make"),
            "-s",
            "--no-print-directory",
            "--eval",
            "portal-url: ; @echo $$PORTAL_BASE_URL",
            "portal-url",
            *arguments,
        ],
        cwd=FIND_PYTHON.parents[1],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_points_email_links_at_the_port_it_serves_on():
    environment = {k: v for k, v in os.environ.items() if k not in {"PORTAL_BASE_URL", "PORT"}}

    assert _make_portal_url(environment=environment) == "http://127.0.0.1:8000"
    assert _make_portal_url("PORT=8123", environment=environment) == "http://127.0.0.1:8123"
    public = environment | {"PORTAL_BASE_URL": "https://esm.example.com"}
    assert _make_portal_url("PORT=8123", environment=public) == "https://esm.example.com"
