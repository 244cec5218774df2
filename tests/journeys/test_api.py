"""The journey API under /api/v1/journeys/: the same rules as the pages (a map one may not
see is a 404, one one may see but not shape a 403)."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from esm.permissions import can
from journeys import selectors
from journeys.models import Finding, JourneyMap
from tests.esm.factories import UserFactory
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory
from tests.services.factories import ArticleFactory, CatalogItemFactory
from tests.valuestreams.factories import StageFactory, ValueStreamFactory

pytestmark = pytest.mark.django_db

JOURNEYS = reverse("journeys-api:journeys")
Status = JourneyMap.Status


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _url(journey, name="journey", *args):
    return reverse(f"journeys-api:{name}", args=[journey.slug, *args])


def _slugs(response):
    return [row["slug"] for row in response.json()["results"]]


@pytest.fixture
def owner(db):
    return UserFactory(username="journey_owner", first_name="Jo", last_name="Owner")


@pytest.fixture
def joining(owner, it_department, hr_department):
    """Two stages; the first has a touchpoint linked to an item, an article and a stream
    stage, with one finding."""
    journey = JourneyMapFactory(name="Joining", slug="joining", owner=owner)
    day_one = JourneyStageFactory(journey=journey, name="Day one", position=1)
    JourneyStageFactory(journey=journey, name="Week one", position=2)
    laptop = TouchpointFactory(stage=day_one, name="Laptop", department=it_department)
    laptop.items.add(CatalogItemFactory(name="Laptop", slug="laptop", department=it_department))
    laptop.articles.add(ArticleFactory(title="First day", slug="first-day"))
    stream = ValueStreamFactory(slug="onboarding")
    laptop.stream_stages.add(StageFactory(stream=stream, name="Accounts", department=it_department))
    Finding.objects.create(touchpoint=laptop, kind="pain_point", title="Late laptops")
    return journey


@pytest.fixture
def draft(owner):
    return JourneyMapFactory(name="Leaving", slug="leaving", owner=owner, status=Status.DRAFT)


def _touchpoint(journey):
    return journey.stages.get(name="Day one").touchpoints.get()


# List ------------------------------------------------------------------------------------


def test_readers_list_live_maps_and_not_others_drafts(joining, draft, it_agent):
    response = _client(it_agent).get(JOURNEYS)

    assert response.status_code == 200
    assert _slugs(response) == ["joining"]
    assert response.json()["results"][0] == {
        "slug": "joining",
        "name": "Joining",
        "persona": "new_hire",
        "goal": "Productive in my first week",
        "status": "live",
        "version": "as_is",
        "as_is": None,
        "owner": {"username": "journey_owner", "name": "Jo Owner"},
    }


def test_owners_and_admins_also_list_drafts(joining, draft, owner, superuser):
    assert _slugs(_client(owner).get(JOURNEYS)) == ["joining", "leaving"]
    assert _slugs(_client(superuser).get(JOURNEYS)) == ["joining", "leaving"]


def test_employees_and_outsiders_list_no_maps(joining, employee, outsider):
    assert _slugs(_client(employee).get(JOURNEYS)) == []
    assert _slugs(_client(outsider).get(JOURNEYS)) == []


def test_the_list_is_for_signed_in_people(joining):
    assert _client().get(JOURNEYS).status_code in (401, 403)


@pytest.mark.parametrize(
    "persona", ["employee", "it_agent", "department_manager", "executive", "outsider", "superuser"]
)
def test_the_visible_maps_agree_with_the_rule(persona, request, joining, draft):
    user = request.getfixturevalue(persona)
    journeys = [
        joining,
        draft,
        JourneyMapFactory(status=Status.DRAFT),
        JourneyMapFactory(status=Status.RETIRED),
    ]

    visible = set(selectors.journeys_visible_to(user))

    assert visible == {j for j in journeys if can(user, "journeys.view_journey", j)}


# Detail ----------------------------------------------------------------------------------


def test_a_map_comes_with_its_stages_touchpoints_links_and_findings(joining, it_agent):
    response = _client(it_agent).get(_url(joining))

    assert response.status_code == 200
    stages = response.json()["stages"]
    assert [(s["name"], s["position"]) for s in stages] == [("Day one", 1), ("Week one", 2)]
    assert stages[1]["touchpoints"] == []
    [touchpoint] = stages[0]["touchpoints"]
    assert touchpoint["name"] == "Laptop"
    assert touchpoint["department"] == {"slug": "it", "name": "IT"}
    assert touchpoint["items"] == [{"slug": "laptop", "name": "Laptop"}]
    assert touchpoint["articles"] == [{"slug": "first-day", "title": "First day"}]
    assert [(s["name"], s["stream"]) for s in touchpoint["stream_stages"]] == [
        ("Accounts", "onboarding")
    ]
    [finding] = touchpoint["findings"]
    assert (finding["title"], finding["kind"], finding["status"]) == (
        "Late laptops",
        "pain_point",
        "new",
    )


def test_a_map_costs_the_same_queries_whatever_its_size(
    joining, it_agent, it_department, django_assert_max_num_queries
):
    client = _client(it_agent)
    client.get(_url(joining))  # the session and the viewer's roles, once
    with django_assert_max_num_queries(20) as before:
        client.get(_url(joining))
    for n in range(4):
        stage = JourneyStageFactory(journey=joining, position=10 + n)
        touchpoint = TouchpointFactory(stage=stage, department=it_department)
        touchpoint.items.add(CatalogItemFactory(department=it_department))
        touchpoint.articles.add(ArticleFactory())
        Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title=f"Idea {n}")

    with django_assert_max_num_queries(20) as after:
        response = client.get(_url(joining))

    assert len(response.json()["stages"]) == 6
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_draft_is_not_found_for_readers_who_may_not_shape_it(draft, it_agent, owner):
    assert _client(it_agent).get(_url(draft)).status_code == 404
    assert _client(owner).get(_url(draft)).status_code == 200


@pytest.mark.parametrize("persona", ["employee", "outsider"])
def test_employees_and_outsiders_find_no_such_map(joining, request, persona):
    client = _client(request.getfixturevalue(persona))

    assert client.get(_url(joining)).status_code == 404
    assert client.get(_url(joining, "findings")).status_code == 404


# Findings --------------------------------------------------------------------------------


def test_readers_list_a_maps_findings(joining, it_agent):
    response = _client(it_agent).get(_url(joining, "findings"))

    assert response.status_code == 200
    assert [f["title"] for f in response.json()["results"]] == ["Late laptops"]


def test_the_owner_writes_a_finding(joining, owner, it_agent):
    touchpoint = _touchpoint(joining)

    response = _client(owner).post(
        _url(joining, "findings"),
        {
            "touchpoint": touchpoint.pk,
            "kind": "opportunity",
            "title": "Order laptops at offer",
            "owner": "it_agent",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["status"], body["owner"]["username"]) == (
        "Order laptops at offer",
        "new",
        "it_agent",
    )
    finding = Finding.objects.get(pk=body["id"])
    assert (finding.touchpoint, finding.owner, finding.suggestion) == (touchpoint, it_agent, "")


def test_a_reader_who_may_not_shape_the_map_may_not_write_or_move_findings(joining, it_agent):
    client = _client(it_agent)
    finding = Finding.objects.get()

    created = client.post(
        _url(joining, "findings"),
        {"touchpoint": _touchpoint(joining).pk, "kind": "pain_point", "title": "Mine"},
        format="json",
    )
    patched = client.patch(_url(joining, "finding", finding.pk), {"status": "done"}, format="json")

    assert (created.status_code, patched.status_code) == (403, 403)
    assert Finding.objects.count() == 1
    finding.refresh_from_db()
    assert (finding.status, finding.done_at) == ("new", None)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "pain_point", "title": "X"}, "touchpoint"),
        ({"touchpoint": 0, "kind": "pain_point", "title": "X"}, "touchpoint"),
        ({"kind": "grumble", "title": "X"}, "kind"),
        ({"kind": "pain_point", "title": ""}, "title"),
        ({"kind": "pain_point", "title": "X", "owner": "nobody"}, "owner"),
        ({"kind": "pain_point", "title": "X", "suggestion": "watermelon"}, "suggestion"),
    ],
)
def test_an_invalid_finding_is_a_400_by_field(joining, owner, payload, field):
    data = {"touchpoint": _touchpoint(joining).pk} | payload
    if "touchpoint" not in payload and field == "touchpoint":
        del data["touchpoint"]

    response = _client(owner).post(_url(joining, "findings"), data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Finding.objects.count() == 1


def test_the_owner_moves_a_finding_to_done(joining, owner, it_agent):
    finding = Finding.objects.get()

    response = _client(owner).patch(
        _url(joining, "finding", finding.pk),
        {"status": "done", "owner": "it_agent", "description": "Ordered at offer now."},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    assert body["done_at"] is not None
    assert body["owner"]["username"] == "it_agent"
    finding.refresh_from_db()
    assert (finding.status, finding.owner, finding.description) == (
        "done",
        it_agent,
        "Ordered at offer now.",
    )
    assert finding.done_at is not None


def test_a_patch_changes_only_what_it_names(joining, owner, it_agent):
    finding = Finding.objects.get()
    finding.owner, finding.description = it_agent, "Before"
    finding.save()

    response = _client(owner).patch(
        _url(joining, "finding", finding.pk), {"status": "accepted"}, format="json"
    )

    assert response.status_code == 200
    finding.refresh_from_db()
    assert (finding.status, finding.owner, finding.description) == ("accepted", it_agent, "Before")


def test_a_finding_patch_refuses_other_fields(joining, owner):
    finding = Finding.objects.get()

    response = _client(owner).patch(
        _url(joining, "finding", finding.pk), {"title": "Renamed", "status": "zzz"}, format="json"
    )

    assert response.status_code == 400
    assert "status" in response.json()
    finding.refresh_from_db()
    assert (finding.title, finding.status) == ("Late laptops", "new")


def test_a_finding_of_another_map_is_not_found(joining, owner):
    other = Finding.objects.create(touchpoint=TouchpointFactory(), kind="pain_point", title="X")

    response = _client(owner).patch(
        _url(joining, "finding", other.pk), {"status": "done"}, format="json"
    )

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "new"


# Schema ----------------------------------------------------------------------------------


def test_the_schema_describes_the_journey_operations(it_agent):
    paths = _client(it_agent).get(reverse("api-schema"), {"format": "json"}).json()["paths"]

    assert "/api/v1/journeys/" in paths
    assert "get" in paths["/api/v1/journeys/{slug}/"]
    assert set(paths["/api/v1/journeys/{slug}/findings/"]) >= {"get", "post"}
    assert "patch" in paths["/api/v1/journeys/{slug}/findings/{id}/"]


def test_the_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
