"""The value-stream API under /api/v1/streams/: the same rules as the pages (a stream one
may not see is a 404, one one may see but not shape a 403)."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from esm.permissions import can
from tests.esm.factories import UserFactory
from tests.services.automation_doubles import plan_step as _step
from tests.services.factories import CatalogItemFactory
from tests.valuestreams.factories import HandoffTargetFactory, StageFactory, ValueStreamFactory
from valuestreams import selectors
from valuestreams.models import StageStep, ValueStream

pytestmark = pytest.mark.django_db

STREAMS = reverse("valuestreams-api:streams")
Status = ValueStream.Status


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def _url(stream, name="stream"):
    return reverse(f"valuestreams-api:{name}", args=[stream.slug])


def _slugs(response):
    return [row["slug"] for row in response.json()["results"]]


@pytest.fixture
def owner(db):
    return UserFactory(username="stream_owner", first_name="Olu", last_name="Owner")


@pytest.fixture
def onboarding(owner, hr_department, it_department, facilities_department):
    """Three stages: HR first, then IT and Facilities side by side, with two targets."""
    stream = ValueStreamFactory(
        name="Onboarding", slug="onboarding", owner=owner, outcome="Productive on day one"
    )
    item = CatalogItemFactory(name="New hire", slug="new-hire", department=hr_department)
    stream.items.add(item)
    hr = StageFactory(stream=stream, name="HR record", department=hr_department, position=1)
    it = StageFactory(
        stream=stream, name="Accounts", department=it_department, parallel_group=2, position=1
    )
    desk = StageFactory(
        stream=stream, name="Desk", department=facilities_department, parallel_group=2, position=2
    )
    StageStep.objects.create(stage=hr, plan_step=_step(item, "hr-record", kind="human"))
    StageStep.objects.create(stage=it, plan_step=_step(item, "ad-account"))
    StageStep.objects.create(stage=it, plan_step=_step(item, "laptop", kind="human"))
    StageStep.objects.create(stage=desk, plan_step=_step(item, "desk", kind="human"))
    HandoffTargetFactory(from_stage=hr, to_stage=it, pickup_minutes=120)
    HandoffTargetFactory(from_stage=hr, to_stage=desk, pickup_minutes=480)
    return stream


@pytest.fixture
def draft(owner):
    return ValueStreamFactory(name="Leaving", slug="leaving", owner=owner, status=Status.DRAFT)


# List ----------------------------------------------------------------------------------


def test_readers_list_live_streams_and_not_others_drafts(onboarding, draft, it_agent):
    response = _client(it_agent).get(STREAMS)

    assert response.status_code == 200
    assert _slugs(response) == ["onboarding"]
    assert response.json()["count"] == 1
    row = response.json()["results"][0]
    assert row == {
        "slug": "onboarding",
        "name": "Onboarding",
        "outcome": "Productive on day one",
        "customer": "New hires",
        "status": "live",
        "owner": {"username": "stream_owner", "name": "Olu Owner"},
    }


def test_owners_and_admins_also_list_drafts(onboarding, draft, owner, superuser):
    assert _slugs(_client(owner).get(STREAMS)) == ["leaving", "onboarding"]
    assert _slugs(_client(superuser).get(STREAMS)) == ["leaving", "onboarding"]


def test_employees_and_outsiders_list_no_streams(onboarding, employee, outsider):
    assert _slugs(_client(employee).get(STREAMS)) == []
    assert _slugs(_client(outsider).get(STREAMS)) == []


def test_the_list_is_for_signed_in_people(onboarding):
    assert _client().get(STREAMS).status_code in (401, 403)


def test_the_list_is_paginated_like_the_services_api(it_agent):
    ValueStreamFactory.create_batch(27)

    response = _client(it_agent).get(STREAMS)

    assert response.json()["count"] == 27
    assert len(response.json()["results"]) == 25
    assert response.json()["next"].endswith("?page=2")


@pytest.mark.parametrize(
    "persona", ["employee", "it_agent", "department_manager", "executive", "outsider", "superuser"]
)
def test_the_visible_streams_agree_with_the_rule(persona, request, onboarding, draft):
    user = request.getfixturevalue(persona)
    other_draft = ValueStreamFactory(status=Status.DRAFT)
    retired = ValueStreamFactory(status=Status.RETIRED)
    streams = [onboarding, draft, other_draft, retired]

    visible = set(selectors.value_streams_visible_to(user))

    assert visible == {s for s in streams if can(user, "valuestreams.view_stream", s)}


# Detail --------------------------------------------------------------------------------


def test_a_stream_comes_with_its_stages_in_order(onboarding, it_agent):
    response = _client(it_agent).get(_url(onboarding))

    assert response.status_code == 200
    body = response.json()
    assert body["items"] == [{"slug": "new-hire", "name": "New hire"}]
    stages = body["stages"]
    assert [(s["name"], s["parallel_group"], s["position"]) for s in stages] == [
        ("HR record", 1, 1),
        ("Accounts", 2, 1),
        ("Desk", 2, 2),
    ]
    assert [s["department"]["slug"] for s in stages] == ["hr", "it", "facilities"]
    assert [[step["key"] for step in s["steps"]] for s in stages] == [
        ["hr-record"],
        ["ad-account", "laptop"],
        ["desk"],
    ]
    assert stages[1]["steps"][0] == {"key": "ad-account", "name": "Ad account", "item": "new-hire"}
    assert stages[0]["handoff_targets"] == [
        {"to_stage": "Accounts", "pickup_minutes": 120},
        {"to_stage": "Desk", "pickup_minutes": 480},
    ]
    assert stages[1]["handoff_targets"] == []


def test_a_stream_costs_the_same_queries_whatever_its_size(
    onboarding, it_agent, django_assert_max_num_queries
):
    client = _client(it_agent)
    client.get(_url(onboarding))  # the session and the viewer's roles, once
    with django_assert_max_num_queries(20) as before:
        client.get(_url(onboarding))
    item = onboarding.items.get()
    for n in range(5):
        stage = StageFactory(stream=onboarding, parallel_group=3 + n)
        StageStep.objects.create(stage=stage, plan_step=_step(item, f"extra-{n}"))
        HandoffTargetFactory(from_stage=onboarding.stages.first(), to_stage=stage)

    with django_assert_max_num_queries(20) as after:
        response = client.get(_url(onboarding))

    assert len(response.json()["stages"]) == 8
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_draft_is_not_found_for_readers_who_may_not_shape_it(draft, it_agent, owner):
    assert _client(it_agent).get(_url(draft)).status_code == 404
    assert _client(owner).get(_url(draft)).status_code == 200


def test_an_unknown_stream_is_not_found(it_agent):
    assert _client(it_agent).get("/api/v1/streams/nothing-here/").status_code == 404


# Change --------------------------------------------------------------------------------


def test_the_owner_changes_the_words_and_status(onboarding, owner):
    response = _client(owner).patch(
        _url(onboarding),
        {"name": "Joining", "outcome": "Ready on day one", "status": "retired"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Joining"
    assert response.json()["stages"][0]["name"] == "HR record"
    onboarding.refresh_from_db()
    assert (onboarding.name, onboarding.outcome, onboarding.customer, onboarding.status) == (
        "Joining",
        "Ready on day one",
        "New hires",
        "retired",
    )


def test_an_admin_may_change_a_stream(onboarding, superuser):
    response = _client(superuser).patch(_url(onboarding), {"customer": "Joiners"}, format="json")

    assert response.status_code == 200
    onboarding.refresh_from_db()
    assert onboarding.customer == "Joiners"


def test_readers_may_not_change_a_stream(onboarding, it_agent, executive):
    for user in (it_agent, executive):
        response = _client(user).patch(_url(onboarding), {"name": "Mine"}, format="json")

        assert response.status_code == 403
    onboarding.refresh_from_db()
    assert onboarding.name == "Onboarding"


def test_a_stream_one_may_not_see_is_not_found_to_change(draft, it_agent, outsider):
    for user in (it_agent, outsider):
        response = _client(user).patch(_url(draft), {"name": "Mine"}, format="json")

        assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.name == "Leaving"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "paused"}, "status"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"name": "Leaving"}, "name"),  # another stream's name
        ({"slug": "elsewhere"}, "slug"),
        ({"owner": 1, "name": "Joining"}, "owner"),
    ],
)
def test_bad_input_is_refused_by_field_and_changes_nothing(
    onboarding, draft, owner, payload, field
):
    response = _client(owner).patch(_url(onboarding), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    onboarding.refresh_from_db()
    assert (onboarding.name, onboarding.slug, onboarding.status) == (
        "Onboarding",
        "onboarding",
        "live",
    )


# Export endpoints ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_the_export_of_a_stream_one_may_not_see_is_not_found(draft, it_agent, outsider, fmt):
    assert _client(it_agent).get(_url(draft, f"stream-export-{fmt}")).status_code == 404
    assert _client(outsider).get(_url(draft, f"stream-export-{fmt}")).status_code == 404
    assert _client().get(_url(draft, f"stream-export-{fmt}")).status_code in (401, 403)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        ({"start": "2026-11-01", "end": "yesterday"}, "end"),
        ({"start": "2026-11-09", "end": "2026-11-02"}, "end"),
        ({"start": "2026-11-02"}, "end"),
        ({"end": "2026-11-02"}, "start"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_a_bad_period_is_a_400_by_field(onboarding, it_agent, query, field, fmt):
    response = _client(it_agent).get(_url(onboarding, f"stream-export-{fmt}"), query)

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("csv", "text/csv; charset=utf-8"), ("xes", "application/xml; charset=utf-8")],
)
def test_exports_download_whatever_the_client_accepts(onboarding, it_agent, fmt, content_type):
    response = _client(it_agent).get(
        _url(onboarding, f"stream-export-{fmt}"), HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="onboarding-events.{fmt}"'


# Schema --------------------------------------------------------------------------------


def test_the_schema_describes_the_stream_operations(it_agent):
    paths = _client(it_agent).get(reverse("api-schema"), {"format": "json"}).json()["paths"]

    assert set(paths["/api/v1/streams/{slug}/"]) >= {"get", "patch"}
    assert "/api/v1/streams/" in paths
    csv = paths["/api/v1/streams/{slug}/export.csv"]["get"]
    assert {p["name"] for p in csv["parameters"]} == {"slug", "start", "end"}
    assert "text/csv" in csv["responses"]["200"]["content"]
    xes = paths["/api/v1/streams/{slug}/export.xes"]["get"]
    assert "application/xml" in xes["responses"]["200"]["content"]


def test_the_schema_generates_without_warnings(tmp_path):
    # Several serializers have a `status` with its own choices: each needs its enum name.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
