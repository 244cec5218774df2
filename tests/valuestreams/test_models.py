"""Value streams as modelled: stages made of plan steps, handoff targets at boundaries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from services.models import PlanStep
from tests.services.factories import CatalogItemFactory
from valuestreams.models import HandoffTarget, Stage, StageStep, ValueStream

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarding(hr_department, it_department, department_manager):
    item = CatalogItemFactory(department=hr_department, service__department=hr_department)
    stream = ValueStream.objects.create(
        name="Onboarding",
        slug="onboarding",
        outcome="A new hire productive on day one",
        customer="New hires",
        owner=department_manager,
    )
    stream.items.add(item)
    record = Stage.objects.create(stream=stream, name="Record", department=hr_department)
    laptop = Stage.objects.create(
        stream=stream, name="Laptop", department=it_department, parallel_group=2
    )
    return stream, item, record, laptop


def _step(item, key, department):
    return PlanStep.objects.create(
        item=item, key=key, name=key, kind=PlanStep.Kind.HUMAN, department=department
    )


def test_a_plan_step_belongs_to_at_most_one_stage(onboarding, hr_department):
    _, item, record, laptop = onboarding
    step = _step(item, "hr-record", hr_department)
    StageStep.objects.create(stage=record, plan_step=step)

    with pytest.raises(IntegrityError):
        StageStep.objects.create(stage=laptop, plan_step=step)


def test_a_stage_takes_only_steps_of_the_stream_s_items(onboarding, hr_department):
    _, _, record, _ = onboarding
    elsewhere = _step(CatalogItemFactory(), "other", hr_department)

    with pytest.raises(ValidationError, match="runs this stream"):
        StageStep(stage=record, plan_step=elsewhere).full_clean()


def test_handoff_targets_sit_at_department_boundaries_and_flow_forward(onboarding, hr_department):
    stream, _, record, laptop = onboarding
    welcome = Stage.objects.create(
        stream=stream, name="Welcome", department=hr_department, parallel_group=3
    )

    HandoffTarget(
        stream=stream, from_stage=record, to_stage=laptop, pickup_minutes=120
    ).full_clean()
    with pytest.raises(ValidationError, match="department boundary"):
        HandoffTarget(
            stream=stream, from_stage=record, to_stage=welcome, pickup_minutes=60
        ).full_clean()
    with pytest.raises(ValidationError, match="flow forward"):
        HandoffTarget(
            stream=stream, from_stage=laptop, to_stage=record, pickup_minutes=60
        ).full_clean()
    with pytest.raises(IntegrityError):
        HandoffTarget.objects.create(
            stream=stream, from_stage=record, to_stage=record, pickup_minutes=60
        )


def test_a_handoff_target_joins_stages_of_its_own_stream(onboarding, it_department, employee):
    stream, _, record, _ = onboarding
    other = ValueStream.objects.create(
        name="Other", slug="other", outcome="x", customer="y", owner=employee
    )
    foreign = Stage.objects.create(
        stream=other, name="Foreign", department=it_department, parallel_group=2
    )

    with pytest.raises(ValidationError, match="belong to this stream"):
        HandoffTarget(
            stream=stream, from_stage=record, to_stage=foreign, pickup_minutes=60
        ).full_clean()
