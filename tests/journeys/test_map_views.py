"""The measured journey pages and the signals API, on the hand-worked week of conftest."""

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from journeys import actions
from journeys.models import Finding
from tests.journeys.conftest import WED, at
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

WEEK = {"start": "2026-11-02", "end": "2026-11-08"}


def test_the_map_shows_touchpoints_by_stage_with_their_friction_and_the_curve(client, week):
    client.force_login(week.people["hr_agent"])

    page = client.get(reverse("journey_map", args=[week.journey.slug]), WEEK).content.decode()

    assert "Before day one" in page
    assert "First day" in page
    assert "Record" in page
    assert "Welcome lunch" in page
    assert "Not measured" in page  # the lunch has no links
    assert "<svg" in page  # the emotion curve
    touchpoint = week.touchpoints["record"]
    assert reverse("journey_touchpoint", args=[week.journey.slug, touchpoint.pk]) in page


def test_the_map_runs_a_fixed_number_of_queries(client, week, django_assert_max_num_queries):
    client.force_login(week.people["hr_agent"])
    url = reverse("journey_map", args=[week.journey.slug])
    with django_assert_max_num_queries(40) as few:
        client.get(url, WEEK)
    stage = JourneyStageFactory(journey=week.journey, name="First week", position=2)
    for _ in range(4):
        point = TouchpointFactory(stage=stage)
        point.items.add(week.items["record"])
        Finding.objects.create(touchpoint=point, kind=Finding.Kind.PAIN_POINT, title="Slow")
    week.refresh()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url, WEEK)


def test_a_touchpoint_shows_its_signals_and_only_comments_the_reader_may_see(
    client, week, executive
):
    url = reverse("journey_touchpoint", args=[week.journey.slug, week.touchpoints["record"].pk])

    client.force_login(week.people["hr_agent"])
    as_hr = client.get(url, WEEK).content.decode()
    assert "Still not working, this is terrible" in as_hr

    client.force_login(executive)
    as_executive = client.get(url, WEEK).content.decode()
    assert "Still not working" not in as_executive
    assert "fewer than 5 cases" in as_executive.lower()


def test_journeys_are_private_to_who_may_read_them(client, week, employee, hr_agent):
    draft = JourneyMapFactory(slug="draft-map", status="draft", owner=hr_agent)
    client.force_login(employee)
    assert client.get(reverse("journey_list")).status_code == 404
    assert client.get(reverse("journey_map", args=[week.journey.slug])).status_code == 404
    other = TouchpointFactory()
    client.force_login(hr_agent)
    assert client.get(reverse("journey_map", args=[draft.slug])).status_code == 200
    misplaced = reverse("journey_touchpoint", args=[week.journey.slug, other.pk])
    assert client.get(misplaced).status_code == 404


def test_the_list_shows_each_map_with_its_open_findings(client, week):
    Finding.objects.create(
        touchpoint=week.touchpoints["record"], kind=Finding.Kind.PAIN_POINT, title="Slow"
    )
    client.force_login(week.people["hr_agent"])

    page = client.get(reverse("journey_list")).content.decode()

    assert week.journey.name in page
    assert reverse("journey_map", args=[week.journey.slug]) in page


def test_the_signals_api_gives_the_pages_figures(client, week):
    client.force_login(week.people["hr_agent"])

    data = client.get(f"/api/v1/journeys/{week.journey.slug}/signals/", WEEK).json()

    record = next(t for t in data["touchpoints"] if t["touchpoint"]["name"] == "Record")
    assert record["cases"] == 3
    assert record["resolution"]["p50"] == pytest.approx(5)
    assert record["reopen_rate"] == pytest.approx(1 / 3)
    assert record["rating_distribution"] == [0, 1, 0, 0, 1]
    assert record["friction"]["confidence"] == 3
    assert [point["stage"] for point in data["curve"]] == ["Before day one", "First day"]
    bad = client.get(f"/api/v1/journeys/{week.journey.slug}/signals/", {"start": "2026-11-09"})
    assert bad.status_code == 400


def test_marking_a_suggested_finding_done_records_the_signal_after(client, week):
    finding = Finding.objects.create(
        touchpoint=week.touchpoints["record"],
        kind=Finding.Kind.PAIN_POINT,
        title="Many reopen",
        suggestion=Finding.Suggestion.HANDOFF_HOTSPOT,
        signal="reopen_rate",
        value_before=0.5,
    )
    client.force_login(week.people["hr_agent"])
    url = f"/api/v1/journeys/{week.journey.slug}/findings/{finding.pk}/"
    with clock.travel(at(WED + dt.timedelta(days=3), 12)):
        response = client.patch(url, {"status": "done"}, content_type="application/json")

    assert response.status_code == 200
    finding.refresh_from_db()
    assert finding.status == Finding.Status.DONE
    assert finding.value_after == pytest.approx(1 / 3)  # the week's reopen rate


def test_a_to_be_map_stands_beside_its_as_is_for_who_may_see_it(client, week, executive):
    owner = week.people["hr_agent"]
    to_be = actions.journey_to_be_start(journey=week.journey, by=owner)
    url = reverse("journey_map", args=[week.journey.slug])

    client.force_login(owner)
    page = client.get(url, WEEK).content.decode()
    assert f"To be: {to_be.name}" in page
    to_be_card = reverse(
        "journey_touchpoint", args=[to_be.slug, to_be.stages.first().touchpoints.first().pk]
    )
    assert to_be_card in page

    client.force_login(executive)  # the to-be map is still a draft: only its owner sees it
    assert "To be:" not in client.get(url, WEEK).content.decode()
