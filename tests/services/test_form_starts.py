"""Form starts (the denominator of abandonment) and deflection inside its stated window."""

import datetime as dt

import pytest
from django.urls import reverse

from esm import clock
from esm.models import Event, EventKind
from services import actions, selectors
from services.actions.knowledge import FORM_START_WINDOW
from services.models import ArticleView, FormStart
from tests.services.factories import (
    ArticleFactory,
    CatalogItemFactory,
    EntitlementFactory,
    ServiceRequestFactory,
)

MON_9 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _submit(item, person, key="form-1"):
    service_request, _ = actions.service_request_submit(
        item=item, raised_by=person, subject="Need it", answers=[], submission_key=key
    )
    return service_request


@pytest.fixture
def item(it_department):
    return CatalogItemFactory(department=it_department, service__department=it_department)


def test_opening_an_item_form_records_one_start_per_person_item_and_day(client, employee, item):
    client.force_login(employee)
    url = reverse("catalog_item", args=[item.slug])
    with clock.travel(MON_9) as now:
        assert client.get(url).status_code == 200
        now.to(MON_9 + dt.timedelta(hours=3))
        assert client.get(url).status_code == 200
        assert FormStart.objects.count() == 1
        now.to(MON_9 + dt.timedelta(days=1))
        assert client.get(url).status_code == 200

    starts = FormStart.objects.order_by("started_at")
    assert [(start.person, start.catalog_item, start.started_at) for start in starts] == [
        (employee, item, MON_9),
        (employee, item, MON_9 + dt.timedelta(days=1)),
    ]


def test_an_item_form_one_may_not_request_records_no_start(
    client, employee, it_department, hr_department
):
    hidden = CatalogItemFactory(department=it_department, service__department=it_department)
    EntitlementFactory(item=hidden, department=hr_department)
    client.force_login(employee)

    assert client.get(reverse("catalog_item", args=[hidden.slug])).status_code == 404
    assert not FormStart.objects.exists()


def test_a_request_links_to_its_form_start_so_abandonment_is_starts_without_one(
    employee, manager, item
):
    with clock.travel(MON_9) as now:
        actions.form_start_record(item=item, person=employee)
        actions.form_start_record(item=item, person=manager)
        now.to(MON_9 + dt.timedelta(minutes=7))
        submitted = _submit(item, employee)

    assert submitted.form_start == FormStart.objects.get(person=employee)
    submitted_event = Event.objects.for_subject(submitted).get(kind=EventKind.SUBMITTED)
    assert submitted_event.payload["form_start"] == submitted.form_start_id
    abandoned = FormStart.objects.filter(requests__isnull=True)
    assert [start.person for start in abandoned] == [manager]


def test_a_request_raised_long_after_the_form_was_opened_has_no_form_start(employee, item):
    with clock.travel(MON_9) as now:
        actions.form_start_record(item=item, person=employee)
        now.to(MON_9 + FORM_START_WINDOW + dt.timedelta(minutes=1))
        late = _submit(item, employee)

    assert late.form_start is None


def test_a_request_through_the_api_without_a_form_has_no_form_start(employee, item):
    assert _submit(item, employee).form_start is None


def test_article_reads_from_suggestions_carry_their_time_and_form_start(employee, item):
    article = ArticleFactory()
    with clock.travel(MON_9) as now:
        actions.form_start_record(item=item, person=employee)
        now.to(MON_9 + dt.timedelta(minutes=2))
        actions.article_view_record(article=article, user=employee, from_item=item)

    view = ArticleView.objects.get()
    assert (view.viewed_at, view.form_start) == (
        MON_9 + dt.timedelta(minutes=2),
        FormStart.objects.get(),
    )


def test_deflection_counts_only_requests_raised_inside_the_window(employee, manager, item):
    """Both read at 09:00; the manager raised a request 2 h later (not deflected), the
    employee only 3 days later (deflected: the article answered them for the day)."""
    article = ArticleFactory()
    with clock.travel(MON_9) as now:
        actions.article_view_record(article=article, user=employee, from_item=item)
        actions.article_view_record(article=article, user=manager, from_item=item)
        now.to(MON_9 + dt.timedelta(hours=2))
        ServiceRequestFactory(catalog_item=item, requester=manager, raised_by=manager)
        now.to(MON_9 + dt.timedelta(days=3))
        ServiceRequestFactory(catalog_item=item, requester=employee, raised_by=employee)
        deflected = selectors.deflections(since=MON_9 - dt.timedelta(days=1))
        assert [view.user for view in deflected] == [employee]


def test_a_read_younger_than_the_window_is_not_judged_yet(employee, item):
    article = ArticleFactory()
    with clock.travel(MON_9) as now:
        actions.article_view_record(article=article, user=employee, from_item=item)
        now.to(MON_9 + dt.timedelta(hours=23))
        assert not selectors.deflections(since=MON_9 - dt.timedelta(days=1)).exists()
        now.to(MON_9 + dt.timedelta(hours=25))
        assert selectors.deflections(since=MON_9 - dt.timedelta(days=1)).count() == 1
