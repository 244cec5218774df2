"""Stream owners shape their streams in the portal: what the stream is, its stages and
their plan steps, and the handoff targets between them. Nobody else changes anything."""

import pytest
from django.urls import reverse

from esm.models import Event, EventKind
from services.models import PlanStep
from tests.esm.factories import UserFactory
from tests.services.factories import CatalogItemFactory
from tests.valuestreams.factories import HandoffTargetFactory, StageFactory, ValueStreamFactory
from valuestreams import actions
from valuestreams.models import HandoffTarget, RollupWatermark, Stage, StageStep, ValueStream

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(username="stream_owner")


@pytest.fixture
def new_hire(hr_department):
    return CatalogItemFactory(
        name="New hire",
        slug="new-hire",
        department=hr_department,
        service__department=hr_department,
    )


@pytest.fixture
def stream(owner, new_hire):
    stream = ValueStreamFactory(name="Onboarding", slug="onboarding", owner=owner)
    stream.items.add(new_hire)
    return stream


def _step(item, key, department, kind=PlanStep.Kind.HUMAN, **extra):
    name = key.replace("-", " ").title()
    return PlanStep.objects.create(
        item=item, key=key, name=name, department=department, kind=kind, **extra
    )


def stream_form(**changes):
    data = {
        "name": "Onboarding",
        "slug": "onboarding",
        "outcome": "A new hire productive on day one",
        "customer": "New hires",
        "status": "live",
        "items": [],
    }
    data.update(changes)
    return data


def stage_form(department, steps=(), **changes):
    data = {
        "name": "Record",
        "department": department.pk,
        "parallel_group": 1,
        "position": 0,
        "expected_process_minutes": 30,
        "plan_steps": [step.pk for step in steps],
    }
    data.update(changes)
    return data


def url(name, stream, *args):
    return reverse(name, args=[stream.slug, *args])


# -- the stream itself ---------------------------------------------------------------------


def test_owner_edits_the_stream_and_sees_the_change(client, owner, stream, new_hire):
    client.force_login(owner)

    response = client.post(
        url("valuestream_edit", stream),
        stream_form(name="Joining", slug="joining", items=[new_hire.pk]),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("valuestream_edit", args=["joining"])
    page = response.content.decode()
    assert "Joining is saved." in page
    assert 'value="Joining"' in page
    stream.refresh_from_db()
    assert (stream.name, stream.slug, stream.owner) == ("Joining", "joining", owner)
    assert list(stream.items.all()) == [new_hire]


def test_a_non_owner_agent_is_refused_and_nothing_changes(client, it_agent, stream, it_department):
    target = HandoffTargetFactory(from_stage__stream=stream)
    client.force_login(it_agent)

    assert client.get(url("valuestream_copis", stream)).status_code == 200
    for name in ("valuestream_edit", "valuestream_stages", "valuestream_handoffs"):
        assert client.get(url(name, stream)).status_code == 403
    assert (
        client.post(url("valuestream_edit", stream), stream_form(name="Hijacked")).status_code
        == 403
    )
    assert (
        client.post(url("valuestream_stages", stream), stage_form(it_department)).status_code == 403
    )
    assert (
        client.post(url("valuestream_stage_remove", stream, target.from_stage.pk)).status_code
        == 403
    )
    assert client.post(url("valuestream_handoff_remove", stream, target.pk)).status_code == 403

    stream.refresh_from_db()
    assert stream.name == "Onboarding"
    assert stream.stages.count() == 2
    assert HandoffTarget.objects.filter(pk=target.pk).exists()


def test_employees_and_outsiders_find_no_stream(client, employee, outsider, stream):
    stage = StageFactory(stream=stream)
    for person in (employee, outsider):
        client.force_login(person)
        for name in (
            "valuestream_edit",
            "valuestream_stages",
            "valuestream_handoffs",
            "valuestream_copis",
        ):
            assert client.get(url(name, stream)).status_code == 404
        assert client.post(url("valuestream_edit", stream), stream_form()).status_code == 404
        assert client.post(url("valuestream_stage_remove", stream, stage.pk)).status_code == 404
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_a_draft_is_not_there_for_readers_who_may_not_shape_it(client, it_agent, owner, stream):
    ValueStream.objects.filter(pk=stream.pk).update(status=ValueStream.Status.DRAFT)
    client.force_login(it_agent)

    assert client.get(url("valuestream_copis", stream)).status_code == 404
    assert client.get(url("valuestream_edit", stream)).status_code == 404

    client.force_login(owner)
    assert client.get(url("valuestream_copis", stream)).status_code == 200


def test_a_taken_address_is_refused_beside_its_field(client, owner, stream):
    ValueStreamFactory(slug="offboarding", name="Offboarding")
    client.force_login(owner)

    response = client.post(
        url("valuestream_edit", stream), stream_form(name="X", slug="offboarding")
    )

    assert response.status_code == 400
    field = response.context["form"]["slug"]
    assert any("already exists" in error for error in field.errors)
    assert 'class="field has-error"' in response.content.decode()
    stream.refresh_from_db()
    assert (stream.name, stream.slug) == ("Onboarding", "onboarding")


def test_an_item_with_steps_in_a_stage_cannot_leave_the_stream(
    client, owner, stream, new_hire, hr_department
):
    stage = StageFactory(stream=stream, name="Record", department=hr_department)
    StageStep.objects.create(stage=stage, plan_step=_step(new_hire, "hr-record", hr_department))
    client.force_login(owner)

    response = client.post(url("valuestream_edit", stream), stream_form(items=[]))

    assert response.status_code == 400
    assert "take them out of the stage first" in str(response.context["form"]["items"].errors)
    assert list(stream.items.all()) == [new_hire]


def test_a_department_manager_starts_a_stream_they_own(client, department_manager, new_hire):
    client.force_login(department_manager)
    page = client.get(reverse("valuestream_new"))
    assert page.status_code == 200
    assert 'name="owner"' not in page.content.decode()

    response = client.post(
        reverse("valuestream_new"), stream_form(owner="root", items=[new_hire.pk])
    )

    stream = ValueStream.objects.get(slug="onboarding")
    assert response.url == reverse("valuestream_stages", args=["onboarding"])
    assert stream.owner == department_manager
    assert list(stream.items.all()) == [new_hire]


def test_an_admin_may_name_another_owner(client, superuser, owner):
    client.force_login(superuser)

    client.post(reverse("valuestream_new"), stream_form(owner="stream_owner"))

    assert ValueStream.objects.get(slug="onboarding").owner == owner


def test_agents_and_employees_do_not_start_streams(client, it_agent, employee):
    for person in (it_agent, employee):
        client.force_login(person)
        assert client.get(reverse("valuestream_new")).status_code == 403
        assert client.post(reverse("valuestream_new"), stream_form()).status_code == 403
    assert not ValueStream.objects.exists()


# -- stages ------------------------------------------------------------------------------------


def test_owner_adds_a_stage_made_of_free_plan_steps(
    client, owner, stream, new_hire, hr_department, it_department
):
    record = _step(new_hire, "hr-record", hr_department)
    laptop = _step(new_hire, "it-laptop", it_department)
    elsewhere = ValueStreamFactory()
    elsewhere.items.add(new_hire)
    taken = StageFactory(stream=elsewhere, name="Taken")
    StageStep.objects.create(stage=taken, plan_step=laptop)
    client.force_login(owner)

    page = client.get(url("valuestream_stages", stream)).content.decode()
    assert "Hr Record" in page
    assert "It Laptop" not in page  # in a stage of another stream already

    response = client.post(
        url("valuestream_stages", stream), stage_form(hr_department, [record]), follow=True
    )

    assert "The stage Record is saved." in response.content.decode()
    stage = stream.stages.get()
    assert (stage.name, stage.department, stage.expected_process_minutes) == (
        "Record",
        hr_department,
        30,
    )
    assert [link.plan_step for link in stage.steps.all()] == [record]


def test_a_plan_step_already_in_another_stage_is_refused(
    client, owner, stream, new_hire, hr_department, it_department
):
    laptop = _step(new_hire, "it-laptop", it_department)
    first = StageFactory(stream=stream, name="Laptop", department=it_department)
    StageStep.objects.create(stage=first, plan_step=laptop)
    client.force_login(owner)

    response = client.post(url("valuestream_stages", stream), stage_form(hr_department, [laptop]))

    assert response.status_code == 400
    errors = response.context["form"]["plan_steps"].errors
    assert errors == [
        "“It Laptop” is already in the stage “Laptop”: a plan step belongs to one stage only."
    ]
    assert stream.stages.count() == 1
    assert laptop.stage_link.stage == first


def test_a_step_of_an_item_outside_the_stream_is_refused(client, owner, stream, hr_department):
    foreign = _step(CatalogItemFactory(), "foreign", hr_department)
    client.force_login(owner)

    response = client.post(url("valuestream_stages", stream), stage_form(hr_department, [foreign]))

    assert response.status_code == 400
    assert response.context["form"]["plan_steps"].errors
    assert not stream.stages.exists()


def test_stage_names_are_unique_within_the_stream(client, owner, stream, hr_department):
    StageFactory(stream=stream, name="Record")
    client.force_login(owner)

    response = client.post(url("valuestream_stages", stream), stage_form(hr_department))

    assert response.status_code == 400
    assert response.context["form"]["name"].errors == [
        "This stream already has a stage called “Record”."
    ]
    assert stream.stages.count() == 1


def test_owner_edits_a_stage_and_its_steps(client, owner, stream, new_hire, hr_department):
    record = _step(new_hire, "hr-record", hr_department)
    contract = _step(new_hire, "hr-contract", hr_department)
    stage = StageFactory(stream=stream, name="Record", department=hr_department)
    StageStep.objects.create(stage=stage, plan_step=record)
    client.force_login(owner)

    page = client.get(url("valuestream_stage_edit", stream, stage.pk)).content.decode()
    assert "Edit the stage Record" in page
    assert "Hr Record" in page
    assert "Hr Contract" in page

    client.post(
        url("valuestream_stage_edit", stream, stage.pk),
        stage_form(hr_department, [contract], name="Paperwork", parallel_group=2),
    )

    stage.refresh_from_db()
    assert (stage.name, stage.parallel_group) == ("Paperwork", 2)
    assert [link.plan_step for link in stage.steps.all()] == [contract]
    assert not StageStep.objects.filter(plan_step=record).exists()


def test_owner_removes_a_stage(client, owner, stream):
    stage = StageFactory(stream=stream)
    client.force_login(owner)

    assert client.get(url("valuestream_stage_remove", stream, stage.pk)).status_code == 405
    response = client.post(url("valuestream_stage_remove", stream, stage.pk))

    assert response.url == url("valuestream_stages", stream)
    assert not stream.stages.exists()


def test_a_stage_of_another_stream_is_not_found(client, owner, stream):
    other = StageFactory()
    client.force_login(owner)

    assert client.get(url("valuestream_stage_edit", stream, other.pk)).status_code == 404
    assert client.post(url("valuestream_stage_remove", stream, other.pk)).status_code == 404
    assert Stage.objects.filter(pk=other.pk).exists()


# -- handoff targets -----------------------------------------------------------------------------


@pytest.fixture
def stages(stream, hr_department, it_department):
    record = StageFactory(stream=stream, name="Record", department=hr_department, parallel_group=1)
    laptop = StageFactory(stream=stream, name="Laptop", department=it_department, parallel_group=2)
    contract = StageFactory(
        stream=stream, name="Contract", department=hr_department, parallel_group=2
    )
    return record, laptop, contract


def handoff_form(from_stage, to_stage, minutes=240):
    return {"from_stage": from_stage.pk, "to_stage": to_stage.pk, "pickup_minutes": minutes}


def test_owner_sets_a_handoff_target(client, owner, stream, stages):
    record, laptop, _ = stages
    client.force_login(owner)

    response = client.post(
        url("valuestream_handoffs", stream), handoff_form(record, laptop), follow=True
    )

    target = stream.handoff_targets.get()
    assert (target.from_stage, target.to_stage, target.pickup_minutes) == (record, laptop, 240)
    assert "Record → Laptop" in response.content.decode()

    client.post(
        url("valuestream_handoff_edit", stream, target.pk), handoff_form(record, laptop, 60)
    )
    target.refresh_from_db()
    assert target.pickup_minutes == 60


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (lambda record, laptop, contract: (record, contract), "sits at a department boundary"),
        (lambda record, laptop, contract: (laptop, record), "must flow forward"),
        (lambda record, laptop, contract: (record, record), "other than the one the work leaves"),
    ],
    ids=["one department", "backwards", "same stage"],
)
def test_a_handoff_target_that_breaks_the_rules_is_refused_beside_its_field(
    client, owner, stream, stages, pick, message
):
    from_stage, to_stage = pick(*stages)
    client.force_login(owner)

    response = client.post(url("valuestream_handoffs", stream), handoff_form(from_stage, to_stage))

    assert response.status_code == 400
    errors = response.context["form"]["to_stage"].errors
    assert len(errors) == 1
    assert message in errors[0]
    assert not HandoffTarget.objects.exists()


def test_a_second_target_for_the_same_handoff_is_refused(client, owner, stream, stages):
    record, laptop, _ = stages
    HandoffTarget.objects.create(
        stream=stream, from_stage=record, to_stage=laptop, pickup_minutes=30
    )
    client.force_login(owner)

    response = client.post(url("valuestream_handoffs", stream), handoff_form(record, laptop))

    assert response.status_code == 400
    assert "already has a target" in response.context["form"]["to_stage"].errors[0]
    assert stream.handoff_targets.get().pickup_minutes == 30


def test_stages_of_another_stream_are_not_offered(client, owner, stream, stages):
    record, _, _ = stages
    other = StageFactory(parallel_group=5)
    client.force_login(owner)

    response = client.post(url("valuestream_handoffs", stream), handoff_form(record, other))

    assert response.status_code == 400
    assert response.context["form"]["to_stage"].errors
    assert not HandoffTarget.objects.exists()


def test_owner_removes_a_handoff_target(client, owner, stream, stages):
    record, laptop, _ = stages
    target = HandoffTarget.objects.create(
        stream=stream, from_stage=record, to_stage=laptop, pickup_minutes=30
    )
    client.force_login(owner)

    client.post(url("valuestream_handoff_remove", stream, target.pk))

    assert not HandoffTarget.objects.exists()


# -- the actions, called directly ------------------------------------------------------------------


def test_stage_save_refuses_a_stage_of_another_stream(stream, hr_department):
    other = StageFactory()
    with pytest.raises(ValueError, match="another stream"):
        actions.stage_save(
            stream=stream,
            by=None,
            stage=other,
            name="X",
            department=hr_department,
            position=0,
            parallel_group=1,
            expected_process_minutes=0,
            plan_steps=[],
        )
    other.refresh_from_db()
    assert other.name != "X"


def test_the_shaping_pages_keep_a_constant_number_of_queries(
    client, owner, stream, new_hire, hr_department, it_department, django_assert_max_num_queries
):
    def count(name):
        with django_assert_max_num_queries(14) as queries:
            assert client.get(url(name, stream)).status_code == 200
        return len(queries.captured_queries)

    def add_stage(n):
        department = hr_department if n % 2 else it_department
        stage = StageFactory(stream=stream, department=department, parallel_group=n + 1)
        StageStep.objects.create(stage=stage, plan_step=_step(new_hire, f"s{n}", department))
        _step(new_hire, f"free{n}", department)
        return stage

    client.force_login(owner)
    previous = add_stage(0)
    small = {name: count(name) for name in ("valuestream_stages", "valuestream_handoffs")}

    for n in range(1, 5):
        stage = add_stage(n)
        HandoffTarget.objects.create(
            stream=stream, from_stage=previous, to_stage=stage, pickup_minutes=60
        )
        previous = stage

    assert {name: count(name) for name in small} == small


def test_changing_a_stage_recomputes_the_streams_figures(
    django_capture_on_commit_callbacks, hr_department
):
    stream = ValueStreamFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stage = actions.stage_save(
            stream=stream,
            by=None,
            name="Record",
            department=hr_department,
            position=0,
            parallel_group=1,
            expected_process_minutes=30,
            plan_steps=[],
        )
        actions.stage_delete(stage=stage, by=None)
    assert len(callbacks) == 2
    assert RollupWatermark.objects.filter(stream=stream).exists()


def test_changing_a_stream_and_its_stages_records_who_changed_what(owner, stream, hr_department):
    actions.value_stream_update(
        stream=stream,
        by=owner,
        name="Joining",
        slug=stream.slug,
        outcome=stream.outcome,
        customer=stream.customer,
        status=stream.status,
        items=stream.items.all(),
    )
    stage = actions.stage_save(
        stream=stream,
        by=owner,
        name="Record",
        department=hr_department,
        position=0,
        parallel_group=1,
        expected_process_minutes=30,
        plan_steps=[],
    )
    actions.stage_delete(stage=stage, by=owner)

    events = Event.objects.order_by("id")
    assert [(e.kind, e.subject_type) for e in events] == [
        (EventKind.CONFIG_CHANGED, "valuestreams.valuestream"),
        (EventKind.CONFIG_CREATED, "valuestreams.stage"),
        (EventKind.CONFIG_DELETED, "valuestreams.stage"),
    ]
    assert {e.actor for e in events} == {owner}
    assert events[0].payload["fields"] == ["name"]
    assert events[2].payload == {"via": "stage_delete", "name": str(stage)}
