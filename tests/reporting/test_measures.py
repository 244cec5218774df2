"""Built-in measures on hand-built data, with the answers worked out by hand.

The period is the week of Mon 2 Nov 2026; "before" is the week before it.
"""

import datetime as dt

import pytest
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.measures import REGISTRY, Scope
from reporting.models import Measure, Snapshot
from reporting.rollups import scopes, snapshots_refresh
from services.models import (
    ArticleView,
    AutomationRun,
    ExperienceRating,
    ServiceRequest,
    StepRun,
)
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceRequestFactory,
)
from valuestreams.metrics import Period

pytestmark = pytest.mark.django_db

MON = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
WEEK = Period(MON - dt.timedelta(hours=9), MON + dt.timedelta(days=7))
BEFORE = MON - dt.timedelta(days=7)


def value(key, scope=None, period=WEEK):
    return REGISTRY[key](period, scope or Scope())


def resolved(item, at, **fields):
    return ServiceRequestFactory(
        catalog_item=item,
        submitted_at=at - dt.timedelta(hours=5),
        resolved_at=at,
        state=ServiceRequest.State.RESOLVED,
        **fields,
    )


@pytest.fixture
def hr_item(hr_department):
    return CatalogItemFactory(department=hr_department, service__department=hr_department)


@pytest.fixture
def it_item(it_department):
    return CatalogItemFactory(department=it_department, service__department=it_department)


def test_request_volume_counts_what_was_raised_in_the_period_by_scope(
    hr_item, it_item, hr_department
):
    for item, at in ((hr_item, MON), (hr_item, MON + dt.timedelta(days=1)), (it_item, MON)):
        ServiceRequestFactory(catalog_item=item, submitted_at=at)
    ServiceRequestFactory(catalog_item=hr_item, submitted_at=BEFORE)

    assert value("request_volume").value == 3
    assert value("request_volume", Scope(department=hr_department)).value == 2
    assert value("request_volume", Scope(service=it_item.service)).value == 1


def test_end_to_end_attainment_is_the_share_resolved_within_the_promise(hr_item):
    for n in range(4):
        resolved(hr_item, MON + dt.timedelta(hours=n), end_to_end_breached=n == 0)
    resolved(hr_item, BEFORE, end_to_end_breached=True)  # another period's

    attainment = value("end_to_end_attainment")
    assert (attainment.value, attainment.cases) == (0.75, 4)
    assert value("end_to_end_attainment", period=Period(BEFORE, BEFORE)).value is None


def test_department_target_attainment_reads_the_tasks_done_in_the_period(hr_item):
    for breached in (False, False, True):
        FulfilmentTaskFactory(
            service_request__catalog_item=hr_item, done_at=MON, sla_breached=breached, state="done"
        )
    FulfilmentTaskFactory(service_request__catalog_item=hr_item, done_at=None)

    assert value("department_target_attainment").value == pytest.approx(2 / 3)


def test_reopen_rate_and_experience_with_its_response_rate(hr_item, employee):
    # Four resolved: one reopened and rated 2, one rated 5, two never rated.
    reopened, happy, *_unrated = (resolved(hr_item, MON) for _ in range(4))
    with transaction.atomic():
        event_record(
            subject=reopened, kind=EventKind.REOPENED, reference=reopened.reference, actor=employee
        )
    ExperienceRating.objects.create(service_request=reopened, score=2, rated_by=employee)
    ExperienceRating.objects.create(service_request=happy, score=5, rated_by=employee)

    assert value("reopen_rate").value == 0.25
    rating = value("experience_rating")
    assert (rating.value, rating.cases) == (3.5, 2)
    assert value("rating_response_rate").value == 0.5


def test_knowledge_deflection_counts_reads_not_followed_by_a_request(hr_item, employee, manager):
    article = ArticleFactory(department=hr_item.department)
    with clock.travel(MON):
        ArticleView.objects.create(article=article, user=employee, catalog_item=hr_item)
        ArticleView.objects.create(article=article, user=manager, catalog_item=hr_item)
    ServiceRequestFactory(
        catalog_item=hr_item, raised_by=manager, submitted_at=MON + dt.timedelta(hours=2)
    )

    with clock.travel(MON + dt.timedelta(days=3)):
        deflection = value("knowledge_deflection_rate")
    assert (deflection.value, deflection.cases) == (0.5, 2)


def test_snapshots_are_replaced_not_repeated(hr_item):
    Measure.objects.create(
        key="request_volume",
        name="Requests raised",
        definition="Requests raised in the last four weeks.",
        kind=Measure.Kind.OUTPUT,
        unit="requests",
        direction=Measure.Direction.HIGHER,
        data_source="Service requests",
    )
    Measure.objects.create(
        key="ticket_sentiment_from_outside",
        name="Survey score",
        definition="From a survey tool the portal does not hold.",
        kind=Measure.Kind.EXPERIENCE,
        unit="points",
        direction=Measure.Direction.HIGHER,
        data_source="The yearly survey",
        source_controlled=False,
    )
    ServiceRequestFactory(catalog_item=hr_item, submitted_at=MON)
    day = MON.date()

    with clock.travel(MON + dt.timedelta(hours=1)):
        first = snapshots_refresh(day=day)
        assert snapshots_refresh(day=day) == first
    assert first == len(scopes())  # one measure the portal can compute, every scope
    assert Snapshot.objects.count() == first
    overall = Snapshot.objects.get(scope="all")
    assert (overall.value, overall.cases) == (1, 1)


def test_first_touch_resolution_leaves_out_work_touched_again(hr_item, employee):
    # Three resolved: one at the first touch, one handed off, one that asked the employee.
    _first_touch, handed, asked = (resolved(hr_item, MON) for _ in range(3))
    with transaction.atomic():
        for service_request, kind in (
            (handed, EventKind.HANDED_OFF),
            (asked, "waiting_on_employee"),
        ):
            event_record(
                subject=service_request,
                kind=kind,
                reference=service_request.reference,
                actor=employee,
            )

    assert value("first_touch_resolution").value == pytest.approx(1 / 3)


def test_automation_rate_and_the_staff_hours_it_saved(hr_item, settings):
    settings.AUTOMATION_MINUTES_SAVED_PER_STEP = 30
    service_request = resolved(hr_item, MON)
    run = AutomationRun.objects.create(service_request=service_request, plan={})
    for n, (kind, with_people) in enumerate(
        (("automated", False), ("automated", False), ("automated", True), ("human", True))
    ):
        step = StepRun.objects.create(
            run=run,
            step_key=f"step-{n}",
            idempotency_key=f"run-{run.pk}-step-{n}",
            name=f"Step {n}",
            kind=kind,
            department=hr_item.department,
            state=StepRun.State.SUCCEEDED,
            finished_at=MON,
        )
        if with_people:
            with transaction.atomic():
                event_record(subject=step, kind=EventKind.STEP_WITH_PEOPLE)

    assert value("automation_rate").value == 0.5  # two of four steps done by automation alone
    saved = value("staff_hours_saved")
    assert (saved.value, saved.cases) == (1.0, 2)  # two steps of 30 minutes
