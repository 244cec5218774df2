"""Adoption per department and month, each figure on hand-built data with a known answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from esm import clock
from esm.events import event_record
from esm.models import EventKind
from reporting.adoption import department_adoption, month_starts
from services.models import (
    Article,
    ArticleView,
    AutomationRun,
    Consult,
    FormStart,
    InboundMessage,
    Service,
    StepRun,
)
from tests.esm.factories import DepartmentFactory, UserFactory
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    FulfilmentTaskFactory,
    ServiceFactory,
    ServiceRequestFactory,
)

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
OCT = dt.datetime(2026, 10, 12, 10, tzinfo=dt.UTC)
NOV = dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _months(adoption):
    return {month.month: month for month in adoption.months}


def _raise(item, *, at, portal=True, on_behalf=False):
    requester = UserFactory()
    raised_by = UserFactory() if on_behalf else requester
    start = (
        FormStart.objects.create(person=raised_by, catalog_item=item, day=at.date())
        if portal
        else None
    )
    return ServiceRequestFactory(
        catalog_item=item,
        requester=requester,
        raised_by=raised_by,
        form_start=start,
        submitted_at=at,
    )


def test_month_starts_end_with_this_month():
    assert month_starts(3) == [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]


def _message(service_request, status=InboundMessage.Status.REQUEST_RAISED):
    return InboundMessage.objects.create(
        message_id=f"<{service_request.pk}-{status}@example.com>",
        service_request=service_request,
        status=status,
        raw=b"Subject: help",
    )


def test_channel_shares_split_portal_on_behalf_email_and_other(executive):
    item = CatalogItemFactory()
    for _ in range(3):
        _raise(item, at=NOV)
    _raise(item, at=NOV, on_behalf=True)
    _raise(item, at=NOV, on_behalf=True, portal=False)
    _raise(item, at=NOV, portal=False)
    _message(_raise(item, at=NOV, portal=False))  # raised by a message to an inbound address
    # A reply by e-mail to a request raised in the portal leaves it a portal request.
    _message(_raise(item, at=NOV), status=InboundMessage.Status.COMMENTED)
    _raise(item, at=OCT)
    _raise(item, at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))  # before the six months

    adoption = department_adoption(department_ids=[item.department_id], viewer=executive)
    months = _months(adoption[item.department_id])
    november = months[dt.date(2026, 11, 1)]
    assert (
        november.requests,
        november.portal,
        november.on_behalf,
        november.email,
        november.other,
    ) == (8, 4, 2, 1, 1)
    assert november.portal_share == 0.5
    assert november.on_behalf_share == 0.25
    assert november.email_share == 0.125
    assert months[dt.date(2026, 10, 1)].requests == 1
    assert len(months) == 6


def test_a_month_of_few_requests_is_held_back_from_outsiders_not_staff(
    executive, it_agent, it_department
):
    item = CatalogItemFactory(service=ServiceFactory(department=it_department))
    _raise(item, at=NOV)
    outside = _months(
        department_adoption(department_ids=[it_department.pk], viewer=executive)[it_department.pk]
    )
    inside = _months(
        department_adoption(department_ids=[it_department.pk], viewer=it_agent)[it_department.pk]
    )
    assert outside[dt.date(2026, 11, 1)].portal_share is None
    assert inside[dt.date(2026, 11, 1)].portal_share == 1.0


def test_automation_rate_counts_steps_done_by_automation_alone(executive):
    item = CatalogItemFactory()
    run = AutomationRun.objects.create(
        service_request=ServiceRequestFactory(catalog_item=item), plan={}
    )
    for n, (kind, with_people, finished) in enumerate(
        (
            ("automated", False, NOV),
            ("automated", True, NOV),
            ("human", False, NOV),
            ("automated", False, OCT),
        )
    ):
        step = StepRun.objects.create(
            run=run,
            step_key=f"step-{n}",
            idempotency_key=f"run-{run.pk}-step-{n}",
            name=f"Step {n}",
            kind=kind,
            department=item.department,
            state=StepRun.State.SUCCEEDED,
            finished_at=finished,
        )
        if with_people:
            with transaction.atomic():
                event_record(subject=step, kind=EventKind.STEP_WITH_PEOPLE)

    months = _months(
        department_adoption(department_ids=[item.department_id], viewer=executive)[
            item.department_id
        ]
    )
    assert months[dt.date(2026, 11, 1)].automation_rate == pytest.approx(1 / 3)
    assert months[dt.date(2026, 10, 1)].automation_rate == 1.0
    assert months[dt.date(2026, 9, 1)].automation_rate is None


def test_articles_written_and_the_deflections_they_earned(executive):
    item = CatalogItemFactory()
    department = item.department
    with clock.travel(OCT):
        article = ArticleFactory(department=department)
    with clock.travel(NOV):
        ArticleFactory(department=department)
        ArticleFactory(department=department)
        ArticleFactory(department=department, status=Article.Status.DRAFT)  # not shared yet
        reader, follower = UserFactory(), UserFactory()
        ArticleView.objects.create(article=article, user=reader, catalog_item=item)
        ArticleView.objects.create(article=article, user=follower, catalog_item=item)
    ServiceRequestFactory(
        catalog_item=item, requester=follower, submitted_at=NOV + dt.timedelta(hours=1)
    )

    months = _months(
        department_adoption(department_ids=[department.pk], viewer=executive)[department.pk]
    )
    assert months[dt.date(2026, 10, 1)].articles_written == 1
    assert months[dt.date(2026, 11, 1)].articles_written == 2
    assert months[dt.date(2026, 11, 1)].deflections == 1  # the follower raised one anyway


def test_consults_answered_count_for_the_department_asked(executive):
    asked = DepartmentFactory()
    asking = FulfilmentTaskFactory()
    for n, (state, answered_at) in enumerate(
        (
            ("answered", NOV),
            ("answered", OCT),
            ("open", None),
            ("answered", dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
        )
    ):
        question = FulfilmentTaskFactory(
            queue__department=asked, service_request=asking.service_request, title=f"Q{n}"
        )
        Consult.objects.create(
            asking_task=asking,
            consult_task=question,
            from_department=asking.department,
            to_department=asked,
            question="Which?",
            asked_by=UserFactory(),
            state=state,
            answered_at=answered_at,
            answered_by=UserFactory() if answered_at else None,
        )
    months = _months(department_adoption(department_ids=[asked.pk], viewer=executive)[asked.pk])
    assert months[dt.date(2026, 11, 1)].consults_answered == 1
    assert months[dt.date(2026, 10, 1)].consults_answered == 1


def test_catalog_coverage_is_live_services_with_a_published_item(executive):
    department = DepartmentFactory()
    CatalogItemFactory(service__department=department)
    CatalogItemFactory(service__department=department, is_published=False)
    ServiceFactory(department=department)
    ServiceFactory(department=department, status=Service.Status.RETIRED)
    adoption = department_adoption(department_ids=[department.pk], viewer=executive)[department.pk]
    assert (adoption.covered, adoption.services) == (1, 3)
    assert adoption.catalog_coverage == pytest.approx(1 / 3)


def test_adoption_costs_the_same_queries_for_more_departments_and_history(
    executive, django_assert_max_num_queries
):
    items = [CatalogItemFactory() for _ in range(2)]
    ids = [item.department_id for item in items]
    with django_assert_max_num_queries(8):
        department_adoption(department_ids=ids, viewer=executive)
    items += [CatalogItemFactory() for _ in range(5)]
    for item in items:
        _raise(item, at=NOV)
        _raise(item, at=OCT, on_behalf=True)
    with django_assert_max_num_queries(8):
        department_adoption(department_ids=[item.department_id for item in items], viewer=executive)
