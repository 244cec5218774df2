"""Faults under a live web server (gunicorn, DEBUG off): the database connection of a request
dropped mid-transaction, and a burst of concurrent submissions. Each test starts its own
redis-server, web server and worker, and stops them."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg2
import pytest
from django.db import connection
from django.urls import reverse

from esm.models import Event, EventKind
from services.models import Approval, FulfilmentTask, ServiceRequest, StepRun
from tests.integration.conftest import needs_redis_server, needs_services
from tests.integration.harness import wait_for
from tests.integration.portal import Portal
from tests.services.factories import CatalogItemFactory

pytestmark = [
    pytest.mark.integration,
    needs_services,
    needs_redis_server,
    pytest.mark.django_db(transaction=True),
]

LOCK_TIMEOUT = 30
SERVER_ERROR_HEADING = "Something went wrong on our side"


def _counts() -> dict[str, int]:
    return {
        "requests": ServiceRequest.objects.count(),
        "tasks": FulfilmentTask.objects.count(),
        "approvals": Approval.objects.count(),
        "step runs": StepRun.objects.count(),
        "events": Event.objects.count(),
    }


@contextmanager
def _table_locked(table: str) -> Iterator[None]:
    """Hold an EXCLUSIVE lock on `table` from a connection of our own: readers go on, and
    the first writer waits for it, in the middle of its transaction."""
    locker = psycopg2.connect(
        dbname=connection.settings_dict["NAME"],
        user=connection.settings_dict["USER"] or None,
        password=connection.settings_dict["PASSWORD"] or None,
        host=connection.settings_dict["HOST"] or None,
        port=connection.settings_dict["PORT"] or None,
    )
    try:
        with locker.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
        yield
    finally:
        locker.rollback()
        locker.close()


def _backend_waiting_to_write(table: str) -> int | None:
    """The server process of the connection waiting for the lock to insert into `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            " AND state = 'active' AND query LIKE %s",
            [f'INSERT INTO "{table}"%'],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _terminate(backend: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        assert cursor.fetchone() == (True,)


def test_a_submission_whose_database_connection_drops_mid_transaction_gets_the_error_page_and_saves_nothing(  # noqa: E501
    fault_rig, employee, it_department
):
    item = CatalogItemFactory(department=it_department)
    # One web process: the request after the fault is served by the process that lost its
    # connection.
    web = fault_rig.web(workers=1)
    portal = Portal(web.url, username=employee.username)
    before = _counts()
    events_table = Event._meta.db_table

    with _table_locked(events_table), ThreadPoolExecutor(max_workers=1) as pool:
        # The request row is written; its `submitted` event waits for the lock.
        sent = pool.submit(portal.submit, item, key="kim")
        backend = wait_for(
            lambda: _backend_waiting_to_write(events_table),
            timeout=LOCK_TIMEOUT,
            what="the submission to wait inside its transaction",
        )
        _terminate(backend)
        answer = sent.result(timeout=LOCK_TIMEOUT)

    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert SERVER_ERROR_HEADING in answer.text
    assert "Traceback" not in answer.text
    assert "OperationalError" not in answer.text
    assert _counts() == before

    # The process reconnects for the next request: the same form sent again is saved, once.
    again = portal.submit(item, key="kim")
    assert again.status_code == 302, again.text
    service_request = ServiceRequest.objects.get()
    assert again.headers["location"] == reverse("request_detail", args=[service_request.reference])
    assert portal.submit(item, key="kim").headers["location"] == again.headers["location"]
    assert ServiceRequest.objects.count() == 1
    assert service_request.tasks.count() == 1
    assert Event.objects.for_subject(service_request).filter(kind=EventKind.SUBMITTED).count() == 1
    assert portal.get(reverse("my_requests")).status_code == 200
    portal.close()
