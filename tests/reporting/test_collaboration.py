"""The collaboration map: handoffs and consults between departments over a period, with
their volume, median pick-up delay and send-back rate, worked out by hand on built events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.collaboration import collaboration_map
from services.models import Consult
from tests.services.factories import (
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceRequestFactory,
)
from valuestreams.forms import day_period

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
HANDED = NOW - dt.timedelta(days=2)
PERIOD = day_period(NOW.date() - dt.timedelta(days=6), NOW.date())
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _at(moment: dt.datetime, **event) -> None:
    with clock.travel(moment), transaction.atomic():
        event_record(**event)


def handoff(source, target, *, claimed_after=None, sent_back=False, confidential=False, at=HANDED):
    """A case of `source`'s handed to `target` at `at`, claimed `claimed_after` it (or
    never)."""
    item = CatalogItemFactory(department=source, is_confidential=confidential)
    service_request = ServiceRequestFactory(catalog_item=item)
    sending = FulfilmentTaskFactory(service_request=service_request)
    receiving = FulfilmentTaskFactory(service_request=service_request, queue__department=target)
    _at(
        at,
        subject=sending,
        kind=EventKind.HANDED_OFF,
        from_department=source,
        to_department=target,
        reference=service_request.reference,
        payload={"to_task": receiving.pk},
        is_confidential=confidential,
    )
    if claimed_after is not None:
        _at(at + claimed_after, subject=receiving, kind=EventKind.CLAIMED)
    if sent_back:
        _at(
            at + claimed_after + HOUR,
            subject=receiving,
            kind=EventKind.SENT_BACK,
            from_department=target,
            to_department=source,
            payload={"to_task": sending.pk},
        )
    return service_request


def consult(source, target, *, answered_after, asked_by):
    item = CatalogItemFactory(department=source)
    asking = FulfilmentTaskFactory(service_request=ServiceRequestFactory(catalog_item=item))
    question = FulfilmentTaskFactory(
        service_request=asking.service_request, queue__department=target
    )
    found = Consult.objects.create(
        asking_task=asking,
        consult_task=question,
        from_department=source,
        to_department=target,
        question="Which laptop?",
        asked_by=asked_by,
        asked_at=HANDED,
    )
    common = {"subject": found, "reference": asking.service_request.reference}
    _at(
        HANDED, kind=EventKind.CONSULT_ASKED, from_department=source, to_department=target, **common
    )
    _at(
        HANDED + answered_after,
        kind=EventKind.CONSULT_ANSWERED,
        from_department=target,
        to_department=source,
        **common,
    )
    return found


@pytest.fixture
def worked_example(hr_department, it_department, hr_agent):
    """HR hands four cases to IT: picked up after 1 h, 3 h (then sent back) and 2 h, and
    one not yet; IT hands one back to HR, picked up after 5 h; HR asks IT one consult,
    answered after 30 minutes.

    HR → IT: 4 handoffs, delays 1, 2, 3 h: the median is the 2nd of 3 (nearest rank
    ceil(3/2) = 2), 2 h; 1 sent back of 4 = 25%; 1 consult, answered in 0.5 h.
    IT → HR: 1 handoff, 5 h, none sent back."""
    cases = [
        handoff(hr_department, it_department, claimed_after=HOUR),
        handoff(hr_department, it_department, claimed_after=3 * HOUR, sent_back=True),
        handoff(hr_department, it_department, claimed_after=2 * HOUR),
        handoff(hr_department, it_department),
        handoff(it_department, hr_department, claimed_after=5 * HOUR),
    ]
    consult(hr_department, it_department, answered_after=HOUR / 2, asked_by=hr_agent)
    # Outside the period: must not count.
    handoff(hr_department, it_department, claimed_after=HOUR, at=NOW - dt.timedelta(days=30))
    return cases


def _edges(found):
    return {(e.from_department.slug, e.to_department.slug): e for e in found.edges}


def test_edges_carry_volume_median_pickup_and_send_back_rate(worked_example, hr_agent):
    found = collaboration_map(period=PERIOD, viewer=hr_agent)

    edges = _edges(found)
    assert set(edges) == {("hr", "it"), ("it", "hr")}
    hr_it = edges[("hr", "it")]
    assert hr_it.handoffs.volume == 4
    assert hr_it.handoffs.picked_up == 3
    assert hr_it.handoffs.median == pytest.approx(2.0)
    assert hr_it.handoffs.sent_back == 1
    assert hr_it.handoffs.send_back_rate == pytest.approx(0.25)
    assert hr_it.consults.volume == 1
    assert hr_it.consults.median == pytest.approx(0.5)
    assert edges[("it", "hr")].consults.volume == 0
    assert [e.volume for e in found.edges] == [5, 1]
    assert {d.slug for d in found.departments} >= {"hr", "it"}


def test_figures_of_a_small_edge_held_back_from_who_may_not_see_its_cases(
    worked_example, hr_agent, it_agent
):
    """IT's one handoff to HR is an IT case: HR's agent counts it and reads no delay or
    rate; IT's agent, who may see it, reads 5 h and 0% sent back."""
    for_hr = _edges(collaboration_map(period=PERIOD, viewer=hr_agent))[("it", "hr")]
    for_it = _edges(collaboration_map(period=PERIOD, viewer=it_agent))[("it", "hr")]

    assert (for_hr.handoffs.volume, for_hr.handoffs.hidden) == (1, 1)
    assert for_hr.handoffs.held_back
    assert (for_hr.handoffs.median, for_hr.handoffs.send_back_rate) == (None, None)
    assert for_it.handoffs.median == pytest.approx(5.0)
    assert for_it.handoffs.send_back_rate == 0.0
