"""Shaping a journey map records who changed what: maps, stages, touchpoints, findings."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from esm.models import Event, EventKind
from journeys import actions
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint
from tests.esm.factories import UserFactory
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory
from tests.services.factories import CatalogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(username="journey_owner")


@pytest.fixture
def journey(owner):
    return JourneyMapFactory(name="Joining", slug="joining", owner=owner)


def _events(kind):
    return list(Event.objects.filter(kind=kind).order_by("id"))


def _map_values(journey, **changes):
    values = {
        "name": journey.name,
        "slug": journey.slug,
        "persona": journey.persona,
        "goal": journey.goal,
        "status": journey.status,
    }
    return values | changes


def test_changing_a_map_records_who_changed_which_fields(journey, owner):
    actions.journey_update(journey=journey, by=owner, **_map_values(journey, name="Starting"))

    [changed] = _events(EventKind.CONFIG_CHANGED)
    assert (changed.subject_type, changed.subject_id) == ("journeys.journeymap", journey.pk)
    assert changed.actor == owner
    assert changed.payload == {
        "via": "journey_update",
        "name": "Starting",
        "fields": ["name"],
        "changes": {"name": ["Joining", "Starting"]},
    }


def test_a_refused_map_change_records_nothing_and_changes_nothing(journey, owner):
    JourneyMapFactory(slug="taken")

    with pytest.raises(ValidationError):
        actions.journey_update(
            journey=journey, by=owner, **_map_values(journey, name="Other", slug="taken")
        )

    journey.refresh_from_db()
    assert (journey.name, journey.slug) == ("Joining", "joining")
    assert not Event.objects.exists()


def test_a_touchpoints_links_are_recorded_as_fields_of_it(journey, owner, it_department):
    stage = JourneyStageFactory(journey=journey, name="Day one")
    laptop = CatalogItemFactory(name="Laptop")
    values = {
        "name": "Collect laptop",
        "description": "",
        "channel": "in_person",
        "department": it_department,
        "position": 1,
        "articles": [],
        "stream_stages": [],
    }
    touchpoint = actions.touchpoint_save(journey=journey, by=owner, stage=stage, items=[], **values)
    actions.touchpoint_save(
        journey=journey, by=owner, touchpoint=touchpoint, stage=stage, items=[laptop], **values
    )

    [created] = _events(EventKind.CONFIG_CREATED)
    assert (created.subject_id, created.actor, created.department) == (
        touchpoint.pk,
        owner,
        it_department,
    )
    [changed] = _events(EventKind.CONFIG_CHANGED)
    assert changed.payload["changes"] == {"items": [[], [str(laptop)]]}


def test_removing_a_stage_in_the_portal_records_what_went_with_it(client, journey, owner):
    stage = JourneyStageFactory(journey=journey, name="Week one")
    touchpoints = TouchpointFactory.create_batch(2, stage=stage)
    Finding.objects.create(touchpoint=touchpoints[0], kind="pain_point", title="Slow")
    client.force_login(owner)

    answer = client.post(reverse("journey_stage_remove", args=[journey.slug, stage.pk]))

    assert answer.status_code == 302
    assert not JourneyStage.objects.filter(pk=stage.pk).exists()
    [deleted] = _events(EventKind.CONFIG_DELETED)
    assert (deleted.subject_type, deleted.subject_id, deleted.actor) == (
        "journeys.journeystage",
        stage.pk,
        owner,
    )
    assert deleted.payload == {
        "via": "journey_stage_delete",
        "name": str(stage),
        "removed": {"journeys.finding": 1, "journeys.touchpoint": 2},
    }


def test_moving_a_finding_along_is_one_recorded_change(journey, owner):
    touchpoint = TouchpointFactory(stage=JourneyStageFactory(journey=journey))
    finding = actions.finding_save(
        touchpoint=touchpoint, by=owner, kind="pain_point", title="Slow", description=""
    )

    actions.finding_update(
        finding=finding, by=owner, description="Badges take a week", owner=None, status="accepted"
    )

    [created] = _events(EventKind.CONFIG_CREATED)
    assert (created.subject_id, created.payload["via"]) == (finding.pk, "finding_save")
    [changed] = _events(EventKind.CONFIG_CHANGED)
    assert changed.payload["changes"] == {
        "description": ["", "Badges take a week"],
        "owner": [None, str(owner)],
        "status": ["new", "accepted"],
    }


def test_a_to_be_map_is_recorded_as_created_by_who_started_it(journey, owner):
    TouchpointFactory(stage=JourneyStageFactory(journey=journey))

    to_be = actions.journey_to_be_start(journey=journey, by=owner)

    [created] = _events(EventKind.CONFIG_CREATED)
    assert (created.subject_type, created.subject_id, created.actor) == (
        "journeys.journeymap",
        to_be.pk,
        owner,
    )
    assert JourneyMap.objects.count() == 2
    assert Touchpoint.objects.count() == 2
