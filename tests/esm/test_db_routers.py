"""Reads of the measuring pages go to the read replica; everything else to the primary.

The `replica` alias of the test settings is a test mirror of the default database: another
connection to the same test database. Each connection records its own queries, so a test
sees which alias every read went to. The tests commit their data (`transaction=True`):
the replica's connection sees only committed rows, as a real replica would.
"""

import pytest
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from esm.db_routers import REPLICA, ReplicaRouter, reading_from_replica
from esm.models import Event
from reporting.models import Report
from services.models import FulfilmentTask, ServiceRequest
from tests.services.factories import CatalogItemFactory, ServiceRequestFactory
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.models import CaseFlow, ValueStream

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
    pytest.mark.usefixtures("replica_router"),
]


@pytest.fixture
def replica_router():
    with override_settings(DATABASE_ROUTERS=["esm.db_routers.ReplicaRouter"]):
        yield


class Reads:
    """The SQL each alias ran inside the block."""

    def __enter__(self):
        self.primary = CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])
        self.replica = CaptureQueriesContext(connections[REPLICA])
        self.primary.__enter__()
        self.replica.__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)

    def on_primary(self, table: str) -> bool:
        return any(f'"{table}"' in query["sql"] for query in self.primary.captured_queries)

    def on_replica(self, table: str) -> bool:
        return any(f'"{table}"' in query["sql"] for query in self.replica.captured_queries)


@pytest.mark.parametrize("model", [CaseFlow, ValueStream, Report, Event, ServiceRequest])
def test_inside_the_context_reads_of_any_model_go_to_the_replica(model):
    assert model.objects.all().db == DEFAULT_DB_ALIAS
    with reading_from_replica():
        assert model.objects.all().db == REPLICA


def test_writes_go_to_the_primary_even_inside_the_context():
    router = ReplicaRouter()
    with reading_from_replica():
        assert router.db_for_write(Event) == DEFAULT_DB_ALIAS
        assert router.db_for_write(CaseFlow) == DEFAULT_DB_ALIAS


def test_reads_inside_a_transaction_stay_on_the_primary():
    # A rollup refresh or an action reads what it just wrote, inside its transaction.
    with reading_from_replica(), transaction.atomic():
        assert FulfilmentTask.objects.all().db == DEFAULT_DB_ALIAS
        assert CaseFlow.objects.all().db == DEFAULT_DB_ALIAS


def test_sessions_are_always_read_from_the_primary():
    with reading_from_replica():
        assert Session.objects.all().db == DEFAULT_DB_ALIAS


def test_nothing_is_ever_migrated_on_the_replica():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "valuestreams") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "valuestreams") is True


def test_a_measuring_page_reads_the_replica_and_the_session_the_primary(client, hr_agent):
    ValueStreamFactory(name="Onboarding", slug="onboarding", owner=hr_agent)
    client.force_login(hr_agent)

    with Reads() as reads:
        page = client.get(reverse("valuestream_list"))

    assert page.status_code == 200
    assert "Onboarding" in page.content.decode()
    assert reads.on_replica("valuestreams_valuestream")
    assert not reads.on_primary("valuestreams_valuestream")
    assert reads.on_primary("django_session")
    assert not reads.on_replica("django_session")


def test_an_editing_page_of_a_measuring_app_reads_the_primary(client, hr_agent):
    ValueStreamFactory(name="Onboarding", slug="onboarding", owner=hr_agent)
    client.force_login(hr_agent)

    with Reads() as reads:
        page = client.get(reverse("valuestream_edit", args=["onboarding"]))

    assert page.status_code == 200
    assert reads.on_primary("valuestreams_valuestream")
    assert reads.replica.captured_queries == []


def test_an_operational_page_reads_the_primary(client, employee):
    client.force_login(employee)

    with Reads() as reads:
        page = client.get(reverse("my_requests"))

    assert page.status_code == 200
    assert reads.on_primary("services_servicerequest")
    assert reads.replica.captured_queries == []


def test_a_posted_form_of_a_measuring_app_reads_the_primary(client, hr_agent):
    stream = ValueStreamFactory(name="Onboarding", slug="onboarding", owner=hr_agent)
    client.force_login(hr_agent)

    with Reads() as reads:
        client.post(reverse("valuestream_refresh", args=[stream.slug]))

    assert reads.on_primary("valuestreams_valuestream")
    assert reads.replica.captured_queries == []


def test_a_streamed_export_reads_the_replica_while_it_is_read_out(hr_agent):
    stream = ValueStreamFactory(name="Onboarding", slug="onboarding", owner=hr_agent)
    item = CatalogItemFactory(department=hr_agent.department_roles.get().department)
    stream.items.add(item)
    ServiceRequestFactory(catalog_item=item, requester=hr_agent)
    api = APIClient()
    api.force_login(hr_agent)

    with Reads() as reads:
        response = api.get(reverse("valuestreams-api:stream-export-csv", args=[stream.slug]))
        before_reading = len(reads.replica.captured_queries)
        b"".join(response.streaming_content)

    assert response.status_code == 200
    # The export's queries run as the body is read out, and they too read the replica.
    assert len(reads.replica.captured_queries) > before_reading
    assert reads.on_replica("esm_event")
    assert not reads.on_primary("esm_event")
