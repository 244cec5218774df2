"""The rollup refresh as the workers run it: from beat, whole at night, and on demand."""

import pytest
from django.conf import settings
from django.db import transaction

from esm.celery import app
from esm.events import event_record
from esm.models import EventKind
from tests.services.factories import CatalogItemFactory, ServiceRequestFactory
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.models import CaseFlow
from valuestreams.tasks import value_stream_refresh_task, value_streams_refresh_task

pytestmark = pytest.mark.django_db


def test_beat_runs_registered_refresh_tasks():
    # What a worker imports when it starts: every app's tasks module, whatever this test
    # process happened to import before.
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "valuestreams.tasks.value_streams_refresh_task" in scheduled
    assert scheduled <= set(app.tasks)


def test_refresh_tasks_roll_up_a_stream_and_ignore_a_deleted_one(employee):
    item = CatalogItemFactory()
    stream = ValueStreamFactory()
    stream.items.add(item)
    service_request = ServiceRequestFactory(catalog_item=item, requester=employee)
    with transaction.atomic():
        event_record(
            subject=service_request,
            kind=EventKind.SUBMITTED,
            actor=employee,
            reference=service_request.reference,
            to_value="submitted",
        )

    assert value_streams_refresh_task.delay().get() == 1
    assert CaseFlow.objects.get().service_request == service_request
    assert value_stream_refresh_task.delay(stream.pk).get() == 1
    assert value_stream_refresh_task.delay(stream.pk + 1000).get() == 0
