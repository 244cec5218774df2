"""Journey owners shape their maps in the portal: what the map is about, its stages and
touchpoints with their links, the findings on touchpoints, and the to-be map that improves
on an as-is one. Nobody else changes anything."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from esm.models import Event
from journeys import actions
from journeys.models import Finding, JourneyMap, JourneyStage, Touchpoint
from services.models import Article
from tests.esm.factories import UserFactory
from tests.journeys.factories import JourneyMapFactory, JourneyStageFactory, TouchpointFactory
from tests.services.factories import ArticleFactory, CatalogItemFactory
from tests.valuestreams.factories import StageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(username="journey_owner")


@pytest.fixture
def journey(owner):
    return JourneyMapFactory(name="Joining", slug="joining", owner=owner)


@pytest.fixture
def links(hr_department, it_department):
    """One catalog item, one published article and one value-stream stage to link to."""
    return {
        "item": CatalogItemFactory(name="Laptop", department=it_department),
        "article": ArticleFactory(title="Your first day", department=hr_department),
        "stream_stage": StageFactory(name="Accounts", department=it_department),
    }


def journey_form(**changes):
    data = {
        "name": "Joining",
        "slug": "joining",
        "persona": "new_hire",
        "goal": "Productive in my first week",
        "status": "live",
    }
    data.update(changes)
    return data


def touchpoint_form(stage, links=None, **changes):
    data = {
        "stage": stage.pk,
        "name": "Get a laptop",
        "description": "The laptop is on the desk on day one.",
        "channel": "portal",
        "department": "",
        "position": 1,
    }
    if links:
        data |= {
            "items": [links["item"].pk],
            "articles": [links["article"].pk],
            "stream_stages": [links["stream_stage"].pk],
        }
    data.update(changes)
    return data


def url(name, journey, *args):
    return reverse(name, args=[journey.slug, *args])


# -- the map itself ------------------------------------------------------------------------


def test_a_department_manager_starts_a_draft_map_they_own(client, department_manager):
    client.force_login(department_manager)

    response = client.post(reverse("journey_new"), journey_form(status="draft"))

    journey = JourneyMap.objects.get(slug="joining")
    assert response.status_code == 302
    assert response["Location"] == reverse("journey_stages", args=["joining"])
    assert (journey.owner, journey.status, journey.version) == (
        department_manager,
        "draft",
        "as_is",
    )


def test_an_agent_may_not_start_a_map(client, it_agent):
    client.force_login(it_agent)

    assert client.get(reverse("journey_new")).status_code == 403
    assert client.post(reverse("journey_new"), journey_form()).status_code == 403
    assert not JourneyMap.objects.exists()


def test_owner_edits_the_map_and_sees_the_change(client, owner, journey):
    client.force_login(owner)

    response = client.post(
        url("journey_edit", journey),
        journey_form(name="Starting", slug="starting", persona="relocating"),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("journey_edit", args=["starting"])
    page = response.content.decode()
    assert "Starting is saved." in page
    assert 'value="Starting"' in page
    journey.refresh_from_db()
    assert (journey.name, journey.slug, journey.persona, journey.owner) == (
        "Starting",
        "starting",
        "relocating",
        owner,
    )


def test_a_taken_address_is_refused_beside_the_field_and_nothing_changes(client, owner, journey):
    JourneyMapFactory(slug="taken")
    client.force_login(owner)

    response = client.post(url("journey_edit", journey), journey_form(name="New", slug="taken"))

    assert response.status_code == 400
    assert "slug" in response.context["form"].errors
    assert 'class="field has-error"' in response.content.decode()
    journey.refresh_from_db()
    assert (journey.name, journey.slug) == ("Joining", "joining")


def test_a_non_owner_agent_is_refused_and_nothing_changes(client, it_agent, journey):
    stage = JourneyStageFactory(journey=journey, name="Day one")
    touchpoint = TouchpointFactory(stage=stage)
    finding = Finding.objects.create(touchpoint=touchpoint, kind="pain_point", title="Slow")
    client.force_login(it_agent)

    for name in ("journey_edit", "journey_stages", "journey_finding_new"):
        assert client.get(url(name, journey)).status_code == 403
    assert client.get(url("journey_finding_edit", journey, finding.pk)).status_code == 403
    posts = [
        (url("journey_edit", journey), journey_form(name="Hijacked")),
        (url("journey_stages", journey), {"name": "Extra", "position": 9}),
        (url("journey_stage_remove", journey, stage.pk), {}),
        (url("journey_touchpoint_new", journey), touchpoint_form(stage)),
        (url("journey_touchpoint_remove", journey, touchpoint.pk), {}),
        (url("journey_finding_edit", journey, finding.pk), {"status": "done"}),
        (url("journey_to_be_start", journey), {}),
    ]
    for address, data in posts:
        assert client.post(address, data).status_code == 403

    journey.refresh_from_db()
    assert journey.name == "Joining"
    assert list(journey.stages.all()) == [stage]
    assert list(Touchpoint.objects.all()) == [touchpoint]
    finding.refresh_from_db()
    assert finding.status == "new"
    assert not JourneyMap.objects.filter(as_is=journey).exists()


@pytest.mark.parametrize("persona", ["employee", "outsider"])
def test_employees_and_outsiders_find_no_such_map(client, request, persona, journey):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url("journey_edit", journey)).status_code == 404
    assert client.get(url("journey_stages", journey)).status_code == 404
    assert client.post(url("journey_edit", journey), journey_form(name="X")).status_code == 404
    journey.refresh_from_db()
    assert journey.name == "Joining"


def test_a_draft_is_not_found_for_readers_who_may_not_shape_it(client, it_agent, owner):
    draft = JourneyMapFactory(slug="leaving", owner=owner, status=JourneyMap.Status.DRAFT)
    client.force_login(it_agent)

    assert client.get(url("journey_edit", draft)).status_code == 404
    client.force_login(owner)
    assert client.get(url("journey_edit", draft)).status_code == 200


def test_an_admin_shapes_any_map_and_may_hand_it_over(client, superuser, journey, it_agent):
    client.force_login(superuser)

    response = client.post(url("journey_edit", journey), journey_form(owner="it_agent"))

    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.owner == it_agent


def test_signed_out_visitors_are_sent_to_sign_in(client, journey):
    response = client.get(url("journey_edit", journey))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# -- stages and touchpoints ----------------------------------------------------------------


def test_owner_adds_edits_and_removes_stages(client, owner, journey):
    client.force_login(owner)

    response = client.post(url("journey_stages", journey), {"name": "Day one", "position": 2})
    assert response.status_code == 302
    stage = journey.stages.get()
    assert (stage.name, stage.position) == ("Day one", 2)

    client.post(url("journey_stage_edit", journey, stage.pk), {"name": "First day", "position": 1})
    stage.refresh_from_db()
    assert (stage.name, stage.position) == ("First day", 1)

    client.post(url("journey_stage_remove", journey, stage.pk))
    assert not journey.stages.exists()


def test_a_stage_name_taken_in_the_journey_is_refused_beside_the_field(client, owner, journey):
    JourneyStageFactory(journey=journey, name="Day one")
    client.force_login(owner)

    response = client.post(url("journey_stages", journey), {"name": "Day one", "position": 3})

    assert response.status_code == 400
    assert "already has a stage called" in response.context["stage_form"].errors["name"][0]
    assert journey.stages.count() == 1


def test_owner_adds_a_touchpoint_with_its_links_and_changes_it(client, owner, journey, links):
    stage = JourneyStageFactory(journey=journey, name="Day one")
    client.force_login(owner)

    response = client.post(url("journey_touchpoint_new", journey), touchpoint_form(stage, links))

    assert response.status_code == 302
    touchpoint = Touchpoint.objects.get(stage=stage)
    assert (touchpoint.name, touchpoint.channel, touchpoint.position) == (
        "Get a laptop",
        "portal",
        1,
    )
    assert list(touchpoint.items.all()) == [links["item"]]
    assert list(touchpoint.articles.all()) == [links["article"]]
    assert list(touchpoint.stream_stages.all()) == [links["stream_stage"]]
    page = client.get(url("journey_stages", journey)).content.decode()
    assert "Item: Laptop" in page
    assert "Article: Your first day" in page

    edit = url("journey_touchpoint_edit", journey, touchpoint.pk)
    assert 'value="Get a laptop"' in client.get(edit).content.decode()
    client.post(edit, touchpoint_form(stage, name="Laptop ready", channel="in_person"))
    touchpoint.refresh_from_db()
    assert (touchpoint.name, touchpoint.channel) == ("Laptop ready", "in_person")
    assert not touchpoint.items.exists()

    client.post(url("journey_touchpoint_remove", journey, touchpoint.pk))
    assert not Touchpoint.objects.exists()


def test_the_stages_page_offers_a_touchpoint_for_the_stage_asked_and_a_stage_after_the_last(
    client, owner, journey
):
    JourneyStageFactory(journey=journey, name="Day one", position=1)
    week_one = JourneyStageFactory(journey=journey, name="Week one", position=4)
    client.force_login(owner)

    response = client.get(url("journey_stages", journey), {"stage": week_one.pk})

    assert response.context["touchpoint_form"].initial["stage"] == week_one.pk
    assert response.context["stage_form"].initial["position"] == 5


def test_a_touchpoint_cannot_link_an_unpublished_article(owner, journey, links):
    stage = JourneyStageFactory(journey=journey)
    draft = ArticleFactory(status=Article.Status.DRAFT)

    with pytest.raises(ValidationError) as refused:
        actions.touchpoint_save(
            journey=journey,
            by=owner,
            stage=stage,
            name="Read up",
            description="",
            channel="portal",
            department=None,
            position=0,
            items=[],
            articles=[links["article"], draft],
            stream_stages=[],
        )

    assert "articles" in refused.value.message_dict
    assert not Touchpoint.objects.exists()
    assert not Event.objects.exists()


def test_the_touchpoint_form_offers_only_published_articles(client, owner, journey, links):
    stage = JourneyStageFactory(journey=journey)
    ArticleFactory(title="Secret draft", status=Article.Status.DRAFT)
    client.force_login(owner)

    page = client.get(url("journey_stages", journey), {"stage": stage.pk}).content.decode()

    assert "Your first day" in page
    assert "Secret draft" not in page


def test_a_touchpoint_on_another_journeys_stage_is_refused(client, owner, journey):
    JourneyStageFactory(journey=journey)
    elsewhere = JourneyStageFactory()
    client.force_login(owner)

    response = client.post(url("journey_touchpoint_new", journey), touchpoint_form(elsewhere))

    assert response.status_code == 400
    assert "stage" in response.context["touchpoint_form"].errors
    assert not Touchpoint.objects.exists()


def test_an_invalid_touchpoint_shows_its_errors_beside_the_fields(client, owner, journey):
    stage = JourneyStageFactory(journey=journey)
    client.force_login(owner)

    response = client.post(
        url("journey_touchpoint_new", journey), touchpoint_form(stage, name="", channel="fax")
    )

    assert response.status_code == 400
    errors = response.context["touchpoint_form"].errors
    assert set(errors) == {"name", "channel"}
    assert not Touchpoint.objects.exists()


def test_the_stages_page_keeps_a_constant_number_of_queries(
    client, owner, journey, hr_department, django_assert_max_num_queries
):
    def count():
        with django_assert_max_num_queries(20) as queries:
            assert client.get(url("journey_stages", journey)).status_code == 200
        return len(queries.captured_queries)

    def add_stage(n):
        stage = JourneyStageFactory(journey=journey, position=n)
        touchpoint = TouchpointFactory(stage=stage, department=hr_department)
        touchpoint.items.add(CatalogItemFactory(department=hr_department))
        touchpoint.articles.add(ArticleFactory(department=hr_department))
        touchpoint.stream_stages.add(StageFactory(department=hr_department))

    client.force_login(owner)
    add_stage(0)
    before = count()
    for n in range(1, 5):
        add_stage(n)

    assert count() == before


# -- findings ------------------------------------------------------------------------------


@pytest.fixture
def touchpoint(journey):
    return TouchpointFactory(stage=JourneyStageFactory(journey=journey, name="Day one"))


def test_owner_writes_a_finding_on_a_touchpoint(client, owner, journey, touchpoint, it_agent):
    client.force_login(owner)
    new = url("journey_finding_new", journey)

    form = client.get(new, {"touchpoint": touchpoint.pk}).context["form"]
    assert form.initial["touchpoint"] == str(touchpoint.pk)
    response = client.post(
        new,
        {
            "touchpoint": touchpoint.pk,
            "kind": "pain_point",
            "title": "No laptop on day one",
            "description": "Three of five new hires waited.",
            "owner": "it_agent",
        },
    )

    finding = Finding.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("journey_finding_edit", journey, finding.pk)
    assert (finding.touchpoint, finding.kind, finding.owner, finding.status) == (
        touchpoint,
        "pain_point",
        it_agent,
        "new",
    )
    assert finding.suggestion == ""


def test_an_invalid_finding_shows_errors_beside_the_fields(client, owner, journey, touchpoint):
    client.force_login(owner)

    response = client.post(
        url("journey_finding_new", journey),
        {"touchpoint": touchpoint.pk, "kind": "grumble", "title": "", "owner": "nobody"},
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"kind", "title", "owner"}
    assert not Finding.objects.exists()


def test_a_finding_set_to_done_records_when(client, owner, journey, touchpoint):
    finding = Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="Automate")
    client.force_login(owner)

    response = client.post(
        url("journey_finding_edit", journey, finding.pk),
        {"status": "done", "owner": "", "description": "Shipped the laptop automation."},
        follow=True,
    )

    assert "“Automate” is saved." in response.content.decode()
    finding.refresh_from_db()
    assert finding.status == "done"
    assert finding.done_at is not None
    assert finding.description == "Shipped the laptop automation."


def test_done_keeps_its_first_date_and_reopening_clears_it(owner, touchpoint):
    finding = Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="Automate")

    finding = actions.finding_set_status(finding=finding, status="done", by=owner, value_after=2.5)
    done_at = finding.done_at
    finding = actions.finding_set_status(finding=finding, status="done", by=owner)
    assert (finding.done_at, finding.value_after) == (done_at, 2.5)

    finding = actions.finding_set_status(finding=finding, status="in_progress", by=owner)
    assert (finding.done_at, finding.value_after) == (None, None)


def test_a_finding_taken_on_without_an_owner_becomes_the_takers(owner, touchpoint):
    finding = Finding.objects.create(touchpoint=touchpoint, kind="pain_point", title="Slow")

    finding = actions.finding_set_status(finding=finding, status="accepted", by=owner)

    assert finding.owner == owner


def test_a_finding_of_another_journey_is_not_found(client, owner, journey):
    other = Finding.objects.create(touchpoint=TouchpointFactory(), kind="pain_point", title="X")
    client.force_login(owner)

    assert client.get(url("journey_finding_edit", journey, other.pk)).status_code == 404


# -- the to-be map -------------------------------------------------------------------------


def test_the_to_be_map_copies_stages_touchpoints_and_links(client, owner, journey, links):
    day_one = JourneyStageFactory(journey=journey, name="Day one", position=1)
    week_one = JourneyStageFactory(journey=journey, name="Week one", position=2)
    laptop = TouchpointFactory(stage=day_one, name="Laptop", channel="in_person", position=3)
    laptop.items.add(links["item"])
    laptop.articles.add(links["article"])
    laptop.stream_stages.add(links["stream_stage"])
    TouchpointFactory(stage=week_one, name="Check-in")
    Finding.objects.create(touchpoint=laptop, kind="pain_point", title="Late")
    client.force_login(owner)

    response = client.post(url("journey_to_be_start", journey))

    to_be = JourneyMap.objects.get(as_is=journey)
    assert response["Location"] == reverse("journey_edit", args=[to_be.slug])
    assert (to_be.version, to_be.status, to_be.owner) == ("to_be", "draft", owner)
    assert to_be.slug == "joining-to-be"
    assert [(s.name, s.position) for s in to_be.stages.all()] == [("Day one", 1), ("Week one", 2)]
    copy = Touchpoint.objects.get(stage__journey=to_be, name="Laptop")
    assert copy.pk != laptop.pk
    assert (copy.channel, copy.position) == ("in_person", 3)
    assert list(copy.items.all()) == [links["item"]]
    assert list(copy.articles.all()) == [links["article"]]
    assert list(copy.stream_stages.all()) == [links["stream_stage"]]
    assert Touchpoint.objects.filter(stage__journey=to_be).count() == 2
    assert not Finding.objects.filter(touchpoint__stage__journey=to_be).exists()
    assert JourneyStage.objects.filter(journey=journey).count() == 2


def test_an_as_is_map_has_one_to_be_map(client, owner, journey):
    client.force_login(owner)
    client.post(url("journey_to_be_start", journey))

    response = client.post(url("journey_to_be_start", journey), follow=True)

    assert "already has a to-be map" in response.content.decode()
    assert JourneyMap.objects.filter(as_is=journey).count() == 1


def test_a_to_be_map_has_no_to_be_map(owner, journey):
    to_be = actions.journey_to_be_start(journey=journey, by=owner)

    with pytest.raises(ValidationError):
        actions.journey_to_be_start(journey=to_be, by=owner)
    assert JourneyMap.objects.count() == 2
