"""Admins configure reporting in the admin, held to the same rules as the portal's pages;
who read which report is evidence, read there and never written."""

import pytest
from django.urls import reverse

from reporting.models import (
    CostRate,
    Measure,
    ReportFeedback,
    ReportView,
    Subscription,
)
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ObjectiveFactory,
    ReportFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(executive):
    return ReportFactory(owner=executive, measures=[MeasureFactory(key="end_to_end_attainment")])


def test_the_reporting_admin_pages_open(client, superuser, report, executive, it_department):
    view = ReportView.objects.create(report=report, viewer=executive)
    feedback = ReportFeedback.objects.create(report=report, author=executive, helped=True)
    subscription = Subscription.objects.create(
        report=report, subscriber=executive, frequency=Subscription.Frequency.WEEKLY
    )
    rate = CostRate.objects.create(department=it_department, hourly_rate=60)
    client.force_login(superuser)

    pages = [
        reverse("admin:reporting_measure_change", args=[report.lines.get().measure_id]),
        reverse("admin:reporting_measure_add"),
        reverse("admin:reporting_audience_change", args=[report.audience_id]),
        reverse("admin:reporting_objective_change", args=[ObjectiveFactory().pk]),
        reverse("admin:reporting_report_change", args=[report.pk]),
        reverse("admin:reporting_reportview_changelist"),
        reverse("admin:reporting_reportview_change", args=[view.pk]),
        reverse("admin:reporting_reportfeedback_change", args=[feedback.pk]),
        reverse("admin:reporting_subscription_change", args=[subscription.pk]),
        reverse("admin:reporting_costrate_change", args=[rate.pk]),
    ]
    for url in pages:
        assert client.get(url).status_code == 200, url


def test_report_views_are_read_not_written(client, superuser, report, executive):
    view = ReportView.objects.create(report=report, viewer=executive, count=3)
    client.force_login(superuser)

    added = client.get(reverse("admin:reporting_reportview_add"))
    changed = client.post(
        reverse("admin:reporting_reportview_change", args=[view.pk]), {"count": "99"}
    )

    assert added.status_code == 403
    assert changed.status_code == 403
    view.refresh_from_db()
    assert view.count == 3


def test_the_measure_admin_keeps_the_point_of_acting_beyond_the_target(client, superuser):
    client.force_login(superuser)
    data = {
        "name": "Promises kept",
        "definition": "The share kept.",
        "kind": "outcome",
        "unit": "%",
        "direction": "higher",
        "target": "0.9",
        "act_at": "0.95",
        "source_controlled": "on",
        "data_source": "The event log",
        "function": "end_to_end_attainment",
        "key": "",
    }

    refused = client.post(reverse("admin:reporting_measure_add"), data)
    accepted = client.post(reverse("admin:reporting_measure_add"), {**data, "act_at": "0.8"})

    assert refused.status_code == 200
    assert "so they act below the target" in refused.content.decode()
    assert accepted.status_code == 302
    assert Measure.objects.get().act_at == 0.8


def test_the_audience_admin_refuses_departments_for_executives(client, superuser, it_department):
    audience = AudienceFactory(name="Executives", slug="executives")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:reporting_audience_change", args=[audience.pk]),
        {
            "name": "Executives",
            "slug": "executives",
            "members": "executives",
            "departments": [it_department.pk],
            "wants_to_know": "Outcomes.",
            "why": "They fund services.",
            "acts_by": "Moving budget.",
            "cadence": "monthly",
        },
    )

    assert response.status_code == 200
    assert "leave these empty" in response.content.decode()
    assert not audience.departments.exists()
