"""Faults under a live web server (gunicorn, DEBUG off): the database connection of a request
dropped mid-transaction, and a burst of concurrent submissions. Each test starts its own web
server, on the test process's own redis-server, and stops it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from bench import load
from bench.scenarios import Scenario
from esm.models import Event, EventKind
from services.models import Approval, FulfilmentTask, ServiceRequest, StepRun
from tests.esm.factories import TEST_PASSWORD, ProfileFactory
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
BURST_PEOPLE, BURST_EACH = 20, 10
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
    locker = psycopg.connect(
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


def test_a_burst_of_200_concurrent_submissions_saves_every_one_once_with_its_own_reference(
    fault_rig, sales_department, it_department
):
    item = CatalogItemFactory(department=it_department)
    people = [
        ProfileFactory(user__username=f"burst{n}", department=sales_department).user
        for n in range(BURST_PEOPLE)
    ]
    # 16 requests at once in the web server: the bench's concurrency, on 2 processes.
    web = fault_rig.web(workers=2, threads=8)
    submit = Scenario(
        "submit",
        "employee",
        reverse("catalog_item", args=[item.slug]),
        data=lambda: {"subject": "Burst", "submission_key": uuid.uuid4().hex},
        ok=frozenset({302}),
    )

    async def burst() -> list[load.Timings]:
        total = BURST_PEOPLE * BURST_EACH
        async with load.client(web.url, concurrency=total) as client:
            sessions = [
                await load.sign_in(client, username=person.username, password=TEST_PASSWORD)
                for person in people
            ]
            # Every submission in flight at once: each person sends BURST_EACH side by side.
            return await asyncio.gather(
                *(
                    load.run(client, submit, session, requests=BURST_EACH, concurrency=BURST_EACH)
                    for session in sessions
                )
            )

    timings = asyncio.run(burst())

    assert [(t.errors, t.first_error) for t in timings] == [(0, "")] * BURST_PEOPLE
    submitted = ServiceRequest.objects.filter(catalog_item=item)
    assert submitted.count() == BURST_PEOPLE * BURST_EACH
    assert len({service_request.reference for service_request in submitted}) == submitted.count()
    assert Counter(submitted.values_list("requester__username", flat=True)) == {
        person.username: BURST_EACH for person in people
    }
    # Each one whole: its `submitted` event, its task in IT's queue and the task's event.
    events = Event.objects.filter(subject_type="services.servicerequest", kind=EventKind.SUBMITTED)
    assert Counter(events.values_list("subject_id", flat=True)) == {
        service_request.pk: 1 for service_request in submitted
    }
    tasks = FulfilmentTask.objects.filter(service_request__in=submitted)
    assert Counter(tasks.values_list("service_request_id", flat=True)) == {
        service_request.pk: 1 for service_request in submitted
    }
    queued = Event.objects.filter(subject_type="services.fulfilmenttask", kind=EventKind.QUEUED)
    assert set(queued.values_list("subject_id", flat=True)) == set(
        tasks.values_list("pk", flat=True)
    )
