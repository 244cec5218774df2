"""Integration fixtures: a real Celery worker (a subprocess) on a real Redis, working the
test's PostgreSQL database.

The worker is another process, so it only sees committed rows: tests use
`django_db(transaction=True)`, and the worker connects to the test database by name
(`test_<name>`, `_gwN` under xdist). Each test has its own queue, so parallel test
processes sharing one Redis never run each other's steps.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.ci import running_in_ci
from tests.esm.factories import BusinessCalendarFactory
from tests.integration import actions
from tests.integration.harness import (
    CeleryWorker,
    PrivateRedis,
    WebServer,
    database_url,
    private_queue,
    publishing_to,
    redis_queue_forget,
    stop_all,
)


def _missing_services() -> str:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL is not PostgreSQL"
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    return ""


MISSING = _missing_services()
# In CI the services must be there: a missing one fails the tests instead of skipping them.
needs_services = pytest.mark.skipif(
    bool(MISSING) and not running_in_ci(),
    reason=f"Integration tests need a real PostgreSQL and Redis: {MISSING}.",
)
needs_redis_server = pytest.mark.skipif(
    not PrivateRedis.available() and not running_in_ci(),
    reason="Fault tests start a private redis-server, and none is installed.",
)


class Rig:
    """One test's stack: a queue on a Redis, the workers on it, web servers publishing to
    it, the database."""

    def __init__(self, *, redis_url: str, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.queue = private_queue()
        self.log_dir = log_dir
        self.database_url = database_url(connection.settings_dict)
        self.workers: list[CeleryWorker] = []
        self.servers: list[WebServer] = []

    def worker(self, **env: str) -> CeleryWorker:
        """Start one more worker (2 pool processes) on this rig's queue; ready when returned."""
        name = f"{self.queue}-w{len(self.workers) + 1}"
        worker = CeleryWorker(
            name=name,
            database_url=self.database_url,
            redis_url=self.redis_url,
            queue=self.queue,
            log_path=self.log_dir / f"{name}.log",
            env=env,
        )
        self.workers.append(worker)
        return worker.start()

    def web(self, *, workers: int = 2, threads: int = 1) -> WebServer:
        """Start gunicorn on this rig's database and Redis; serving when returned."""
        server = WebServer(
            database_url=self.database_url,
            redis_url=self.redis_url,
            queue=self.queue,
            log_path=self.log_dir / f"web{len(self.servers) + 1}.log",
            workers=workers,
            threads=threads,
        )
        self.servers.append(server)
        return server.start()

    def logs(self) -> str:
        workers = [f"--- {w.name} ---\n{w.log_tail()}" for w in self.workers]
        servers = [f"--- web on {s.port} ---\n{s.log_tail()}" for s in self.servers]
        return "\n".join(workers + servers)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        stop_all(self.workers)


@pytest.fixture
def automation_db(transactional_db: None) -> None:
    """Committed data the worker can see, an empty effects table, a business calendar."""
    actions.effects_table_reset()
    BusinessCalendarFactory(name="Company", is_default=True)


@pytest.fixture
def rig_on(
    automation_db: None, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Rig]]:
    """Build rigs on a Redis; their workers stop before the test database is flushed."""
    with ExitStack() as stack:

        def build(redis_url: str) -> Rig:
            rig = Rig(redis_url=redis_url, log_dir=tmp_path)
            stack.enter_context(publishing_to(broker_url=redis_url, queue=rig.queue))
            stack.callback(redis_queue_forget, redis_url, rig.queue)
            stack.callback(_print_logs_on_failure, request, rig)
            stack.callback(rig.stop)
            return rig

        yield build


def _print_logs_on_failure(request: pytest.FixtureRequest, rig: Rig) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\nWorker logs of {request.node.name}:\n{rig.logs()}")  # noqa: T201


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keeps each phase's report on the test, so teardown knows whether the call failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def shared_rig(rig_on: Callable[[str], Rig]) -> Rig:
    """A rig on the configured Redis (REDIS_URL), which other test processes share."""
    return rig_on(settings.REDIS_URL)


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fault_rig(private_redis: PrivateRedis, rig_on: Callable[[str], Rig]) -> Iterator[Rig]:
    """A rig on this test process's own redis-server, which the test may stop and start."""
    if private_redis.process is None:
        private_redis.start()
    private_redis.flush()
    rig = rig_on(private_redis.url)
    yield rig
    # Leave it running for the next test, whatever this one did to it.
    if private_redis.process is None:
        private_redis.start()
