"""The collaboration map's rollup: each handoff and consult between departments, read from
built events, first in full and then only for the cases that changed since."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.crossings import crossings_refresh, crossings_refreshed_through
from reporting.models import Crossing
from reporting.tasks import crossings_refresh_task
from services.models import Consult
from tests.services.factories import FulfilmentTaskFactory, ServiceRequestFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _at(moment, **event):
    with clock.travel(moment), transaction.atomic():
        return event_record(**event)


@pytest.fixture
def case(hr_department, it_department):
    """An HR case with its HR task and the IT task it is handed to."""
    service_request = ServiceRequestFactory(catalog_item__department=hr_department)
    sending = FulfilmentTaskFactory(
        service_request=service_request, queue__department=hr_department
    )
    receiving = FulfilmentTaskFactory(
        service_request=service_request, queue__department=it_department
    )
    return service_request, sending, receiving


def hand_off(case, source, target, *, at):
    service_request, sending, receiving = case
    return _at(
        at,
        subject=sending,
        kind=EventKind.HANDED_OFF,
        from_department=source,
        to_department=target,
        reference=service_request.reference,
        payload={"to_task": receiving.pk},
    )


def test_a_full_refresh_holds_each_handoff_and_consult_between_departments(
    case, hr_department, it_department, hr_agent
):
    """The handoff picked up an hour later and sent back; the consult answered in 30
    minutes; a handoff between two HR queues is no crossing."""
    service_request, sending, receiving = case
    handed = hand_off(case, hr_department, it_department, at=MONDAY)
    _at(MONDAY + HOUR, subject=receiving, kind=EventKind.CLAIMED)
    _at(MONDAY + 2 * HOUR, subject=receiving, kind=EventKind.SENT_BACK)
    hand_off(case, hr_department, hr_department, at=MONDAY)
    consult = Consult.objects.create(
        asking_task=sending,
        consult_task=receiving,
        from_department=hr_department,
        to_department=it_department,
        question="Which laptop?",
        asked_by=hr_agent,
        asked_at=MONDAY,
    )
    common = {"subject": consult, "reference": service_request.reference}
    asked = _at(
        MONDAY,
        kind=EventKind.CONSULT_ASKED,
        from_department=hr_department,
        to_department=it_department,
        **common,
    )
    _at(MONDAY + HOUR / 2, kind=EventKind.CONSULT_ANSWERED, **common)

    with clock.travel(MONDAY + 3 * HOUR):
        crossings_refresh(full=True)

    rows = {row.event_id: row for row in Crossing.objects.all()}
    assert set(rows) == {handed.pk, asked.pk}
    handoff, question = rows[handed.pk], rows[asked.pk]
    assert (handoff.kind, handoff.case_id) == (Crossing.Kind.HANDOFF, service_request.pk)
    assert (handoff.from_department, handoff.to_department) == (hr_department, it_department)
    assert (handoff.picked_at, handoff.sent_back) == (MONDAY + HOUR, True)
    assert (question.kind, question.picked_at) == (Crossing.Kind.CONSULT, MONDAY + HOUR / 2)
    assert not question.sent_back
    assert crossings_refreshed_through() == MONDAY + 3 * HOUR


def test_a_refresh_reads_again_only_the_cases_with_events_since_the_last(
    case, hr_department, it_department
):
    """The handoff claimed after the first refresh is picked up at its claim; an untouched
    case's row stays as it was written."""
    _, _, receiving = case
    hand_off(case, hr_department, it_department, at=MONDAY)
    other = ServiceRequestFactory(catalog_item__department=it_department)
    untouched = (
        other,
        FulfilmentTaskFactory(service_request=other, queue__department=it_department),
        FulfilmentTaskFactory(service_request=other, queue__department=hr_department),
    )
    hand_off(untouched, it_department, hr_department, at=MONDAY)
    with clock.travel(MONDAY + HOUR):
        crossings_refresh()
    assert Crossing.objects.get(case=case[0]).picked_at is None

    # The case's every event carries its reference, as the actions write them.
    _at(MONDAY + 3 * HOUR, subject=receiving, kind=EventKind.CLAIMED, reference=case[0].reference)
    with clock.travel(MONDAY + 4 * HOUR):
        written = crossings_refresh()

    assert written == 1
    assert Crossing.objects.get(case=case[0]).picked_at == MONDAY + 3 * HOUR
    assert Crossing.objects.get(case=other).refreshed_at == MONDAY + HOUR
    assert crossings_refreshed_through() == MONDAY + 4 * HOUR


def test_refreshing_twice_writes_the_same_rows(case, hr_department, it_department):
    hand_off(case, hr_department, it_department, at=MONDAY)
    with clock.travel(MONDAY + HOUR):
        crossings_refresh_task()
        crossings_refresh_task(full=True)

    assert Crossing.objects.count() == 1
    assert Crossing.objects.get().picked_at is None


def test_nothing_to_hold_is_no_error():
    assert crossings_refresh(full=True) == 0
    assert Crossing.objects.count() == 0
    assert crossings_refreshed_through() is not None
