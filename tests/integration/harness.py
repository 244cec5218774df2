"""Real processes for integration tests and benches: a Celery worker, a private Redis, a
web server.

Both run as subprocesses in their own process group, so one signal reaches the worker and
every pool process it forked, and nothing is left running when a test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import redis
from celery import Celery, current_app

ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 60
WORKER_STOP_TIMEOUT = 20
REDIS_START_TIMEOUT = 10
WEB_START_TIMEOUT = 60


def wait_for[T](
    predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:.0f}s waiting for {what}.")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_queue(prefix: str = "esm-it") -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL for a worker to reach the database Django is connected to."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def redis_queue_forget(redis_url: str, queue: str) -> None:
    """Remove a private queue's keys (its list and its bindings) from a shared Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


@contextmanager
def publishing_to(*, broker_url: str, queue: str) -> Iterator[Celery]:
    """Make this thread publish tasks to `broker_url`, on `queue`, for real (not eagerly).

    A fresh Celery app becomes the current one: the engine's `run_step_task.delay()` (a
    shared task) resolves to it, so the test process publishes where its worker listens,
    and the project's app, its connections and its eager setting are left untouched. It
    knows every shared task imported by then (import tests.integration.actions first for
    the no-op task).
    """
    app = Celery("esm-integration", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=broker_url,
        result_backend=broker_url,
        task_always_eager=False,
        task_default_queue=queue,
        # The whole run on its private queue: the project's queue per kind of work would
        # send steps where no test worker listens.
        task_routes=None,
    )
    previous = current_app._get_current_object()
    app.set_current()
    try:
        yield app
    finally:
        previous.set_current()
        app.close()


class PrivateRedis:
    """A redis-server of our own on a free loopback port, to stop and start at will.

    Append-only persistence, as in docker-compose.yml: a restart keeps queued messages,
    the queue bindings and the unacknowledged messages of dead workers.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--dir", str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        try:
            wait_for(self._ours, timeout=REDIS_START_TIMEOUT, what=f"redis-server on {self.port}")
        except TimeoutError:
            self.stop()
            raise

    def _ours(self) -> bool:
        """Answering, and it is our process (not another server that took the port)."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited; see {self.directory / 'redis.log'}")
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            return client.info("server")["process_id"] == self.process.pid
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Shut it down (SIGTERM: it writes its append-only file and exits)."""
        if self.process is None:
            return
        self.process.terminate()
        _wait_then_kill_group(self.process, timeout=REDIS_START_TIMEOUT)
        self.process = None

    def flush(self) -> None:
        client = redis.Redis(port=self.port)
        try:
            client.flushall()
        finally:
            client.close()


class CeleryWorker:
    """`celery worker` in a subprocess, on a private queue, with the test-support actions."""

    def __init__(
        self,
        *,
        name: str,
        database_url: str,
        redis_url: str,
        queue: str,
        log_path: Path,
        concurrency: int = 2,
        settings_module: str = "tests.integration.worker_settings",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.queue = queue
        self.log_path = log_path
        self.concurrency = concurrency
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> CeleryWorker:
        assert self.process is None, "already started"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "celery", "-A", "tests.integration.worker", "worker",
                "--pool=prefork", f"--concurrency={self.concurrency}",
                "-Q", self.queue, "-n", f"{self.name}@%h",
                # Alone on its queue: no waiting for, or chatting with, other workers.
                "--without-mingle", "--without-gossip", "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for(self._ready, timeout=WORKER_START_TIMEOUT, what=f"worker {self.name} to start")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"Worker {self.name} exited at start:\n{self.log_tail()}")
        return f"{self.name}@" in (log := self.log()) and " ready." in log

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: nothing gets to clean up."""
        assert self.process is not None, "not started"
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WORKER_STOP_TIMEOUT)

    def terminate(self) -> None:
        """Ask for a warm shutdown (SIGTERM to the worker itself: running tasks finish
        first); a SIGTERM to the whole group would kill its pool processes mid-task."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        """Warm shutdown, waited for; SIGKILL if it hangs. Returns once nothing is left."""
        if self.process is not None:
            self.terminate()
            _wait_then_kill_group(self.process, timeout=WORKER_STOP_TIMEOUT)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


class WebServer:
    """gunicorn serving the portal in a subprocess, on a free loopback port, with DEBUG off.

    Its settings are the test settings (the test's database, passwords the factories set)
    with tasks published to `queue` instead of run eagerly, and the production error pages.
    `workers` sync processes, each with `threads` threads: as many requests at once.
    """

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        queue: str,
        log_path: Path,
        workers: int = 2,
        threads: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.workers = workers
        self.threads = threads
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.integration.web_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        assert self.process is None, "already started"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "gunicorn", "esm.wsgi",
                "--workers", str(self.workers), "--threads", str(self.threads),
                "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
                # Room for a burst of connections waiting for a worker.
                "--backlog", "2048",
                # Idle connections outlive the client's (httpx drops its own after 5 s):
                # the server never closes one the client is about to reuse.
                "--keep-alive", "30",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for(
            self._serving, timeout=WEB_START_TIMEOUT, what=f"gunicorn on {self.port}", interval=0.2
        )
        return self

    def _serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/account/sign-in/", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM (gunicorn finishes the requests in flight), SIGKILL if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
        if self.process is not None:
            _wait_then_kill_group(self.process, timeout=WORKER_STOP_TIMEOUT)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def stop_all(workers: list[CeleryWorker]) -> None:
    """Stop workers side by side: a warm shutdown takes seconds, even for an idle worker."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop()


def _wait_then_kill_group(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    # Pool processes left behind by a dead parent share its group: end them too.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
