"""The reporting API under /api/v1/: measures with their values and history, reports and
their dashboards, by the same rules as the pages (a report is for its audience; figures
under five cases are held back from who may not see them all)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from reporting.models import Audience
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)
from tests.services.factories import ServiceFactory
from tests.valuestreams.factories import ValueStreamFactory
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 2)
MEASURES = reverse("reporting-api:measures")
REPORTS = reverse("reporting-api:reports")


def _client(user):
    client = APIClient()
    client.force_login(user)
    return client


def _measure_url(measure):
    return reverse("reporting-api:measure", args=[measure.key])


def _dashboard_url(report):
    return reverse("reporting-api:report-dashboard", args=[report.slug])


@pytest.fixture
def promises():
    return MeasureFactory(
        key="end_to_end_attainment",
        name="Promises kept",
        target=0.9,
        act_at=0.8,
        objective__title="Trusted services",
    )


@pytest.fixture
def reopens():
    return MeasureFactory(
        key="reopen_rate",
        name="Reopened requests",
        direction="lower",
        target=0.05,
        objective=None,
    )


@pytest.fixture
def executive_report(executive, promises, reopens):
    audience = AudienceFactory(name="Executives", members=Audience.Members.EXECUTIVES)
    return ReportFactory(
        name="Outcomes", slug="outcomes", audience=audience, measures=[reopens, promises]
    )


# Measures ------------------------------------------------------------------------------


def test_measures_list_each_definition_with_its_current_value(
    department_manager, promises, reopens
):
    SnapshotFactory(measure=promises, day=DAY - dt.timedelta(weeks=1), value=0.95, cases=40)
    SnapshotFactory(measure=promises, day=DAY, value=0.85, cases=42)

    response = _client(department_manager).get(MEASURES)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert (first["key"], second["key"]) == ("end_to_end_attainment", "reopen_rate")
    assert first["objective"]["title"] == "Trusted services"
    assert (first["target"], first["act_at"], first["direction"]) == (0.9, 0.8, "higher")
    assert first["current"] == {
        "value": 0.85,
        "cases": 42,
        "day": "2026-11-02",
        "status": "watch",
        "held_back": False,
    }
    assert second["objective"] is None
    assert second["current"]["status"] == "no-data"


def test_measures_are_refused_to_an_employee(employee, promises):
    response = _client(employee).get(MEASURES)

    assert response.status_code == 403
    assert _client(employee).get(_measure_url(promises)).status_code == 403


def test_an_enterprise_figure_under_five_cases_is_held_back(executive, promises):
    SnapshotFactory(measure=promises, day=DAY, value=1.0, cases=3)

    current = _client(executive).get(MEASURES).json()["results"][0]["current"]

    assert current == {
        "value": None,
        "cases": None,  # for a count, the cases are the figure
        "day": "2026-11-02",
        "status": "too-few",
        "held_back": True,
    }


def test_a_measure_has_its_weekly_history_in_the_scope_asked_for(
    department_manager, promises, it_department
):
    scope = f"department:{it_department.pk}"
    for weeks, value in [(2, 0.7), (1, 0.8), (0, 0.92)]:
        SnapshotFactory(
            measure=promises,
            day=DAY - dt.timedelta(weeks=weeks),
            scope=scope,
            department=it_department,
            value=value,
            cases=3,
        )
    SnapshotFactory(measure=promises, day=DAY, value=0.5, cases=50)

    response = _client(department_manager).get(_measure_url(promises), {"scope": scope})

    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == {"key": scope, "label": "IT"}
    # The department's own staff see its small figures.
    assert body["current"]["value"] == 0.92
    assert body["current"]["status"] == "met"
    assert body["history"] == [
        {"day": "2026-10-19", "value": 0.7},
        {"day": "2026-10-26", "value": 0.8},
        {"day": "2026-11-02", "value": 0.92},
    ]


def test_a_department_history_under_five_cases_is_held_back_from_an_executive(
    executive, promises, it_department
):
    scope = f"department:{it_department.pk}"
    SnapshotFactory(
        measure=promises, day=DAY, scope=scope, department=it_department, value=1.0, cases=2
    )

    body = _client(executive).get(_measure_url(promises), {"scope": scope}).json()

    assert body["current"]["held_back"] is True
    assert body["current"]["value"] is None
    assert body["history"] == [{"day": "2026-11-02", "value": None}]


def test_a_department_scope_is_only_for_its_staff_executives_and_admins(
    department_manager, superuser, executive, promises, hr_department
):
    url = _measure_url(promises)
    scope = {"scope": f"department:{hr_department.pk}"}

    assert _client(department_manager).get(url, scope).status_code == 403
    assert _client(executive).get(url, scope).status_code == 200
    assert _client(superuser).get(url, scope).status_code == 200


def test_a_service_scope_follows_its_department_and_a_stream_its_readers(
    department_manager, it_department, hr_department
):
    volume = MeasureFactory(key="request_volume", name="Requests raised")
    # Not computed by the portal, so no kind of scope is ruled out by a function.
    survey = MeasureFactory(key="survey_engagement", source_controlled=False)
    it_service = ServiceFactory(department=it_department)
    hr_service = ServiceFactory(department=hr_department)
    live, draft = ValueStreamFactory(), ValueStreamFactory(status=ValueStream.Status.DRAFT)
    client = _client(department_manager)

    def status(measure, scope):
        return client.get(_measure_url(measure), {"scope": scope}).status_code

    assert status(volume, f"service:{it_service.pk}") == 200
    assert status(volume, f"service:{hr_service.pk}") == 403
    assert status(survey, f"stream:{live.pk}") == 200
    assert status(survey, f"stream:{draft.pk}") == 403


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("everything", 'Give "all", or "department:"'),
        ("department:", 'Give "all", or "department:"'),
        ("department:0", 'Give "all", or "department:"'),
        ("department:x1", 'Give "all", or "department:"'),
        ("department:999999", "No department has the id 999999."),
        ("stream:1", "Promises kept is not measured per stream."),
    ],
)
def test_a_bad_scope_is_refused_with_a_field_message(executive, promises, scope, message):
    response = _client(executive).get(_measure_url(promises), {"scope": scope})

    assert response.status_code == 400
    assert message in response.json()["scope"][0]


def test_an_unknown_measure_is_not_found(executive):
    response = _client(executive).get(reverse("reporting-api:measure", args=["no_such"]))

    assert response.status_code == 404


def test_the_measure_list_runs_a_fixed_number_of_queries(executive, django_assert_max_num_queries):
    client = _client(executive)

    def grow(start, count):
        for n in range(start, start + count):
            SnapshotFactory(measure=MeasureFactory(key=f"measure_{n}"), day=DAY)

    grow(0, 2)
    with django_assert_max_num_queries(20) as few:
        client.get(MEASURES)
    grow(2, 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(MEASURES)
    assert response.json()["count"] == 12


# Reports -------------------------------------------------------------------------------


def test_reports_list_what_the_caller_may_read(employee, executive, executive_report):
    everyone = ReportFactory(
        name="Services", slug="services", audience__members=Audience.Members.EMPLOYEES
    )

    for_employee = _client(employee).get(REPORTS).json()
    for_executive = _client(executive).get(REPORTS).json()

    assert [r["slug"] for r in for_employee["results"]] == [everyone.slug]
    assert [r["slug"] for r in for_executive["results"]] == ["outcomes", "services"]
    outcomes = for_executive["results"][0]
    assert outcomes["audience"] == {
        "slug": executive_report.audience.slug,
        "name": "Executives",
        "members": "executives",
    }
    assert outcomes["owner"]["username"] == executive_report.owner.username


def test_a_report_has_its_measures_in_order(executive, executive_report):
    response = _client(executive).get(reverse("reporting-api:report", args=["outcomes"]))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Outcomes"
    assert [(line["position"], line["measure"]["key"]) for line in body["measures"]] == [
        (0, "reopen_rate"),
        (1, "end_to_end_attainment"),
    ]


def test_the_executive_report_does_not_exist_for_an_employee(employee, executive_report):
    client = _client(employee)

    assert client.get(reverse("reporting-api:report", args=["outcomes"])).status_code == 404
    assert client.get(_dashboard_url(executive_report)).status_code == 404


def test_an_unknown_report_is_not_found(executive):
    client = _client(executive)

    assert client.get(reverse("reporting-api:report", args=["nope"])).status_code == 404
    assert client.get(reverse("reporting-api:report-dashboard", args=["nope"])).status_code == 404


def test_the_dashboard_has_the_reports_cards_in_order(executive, executive_report, promises):
    SnapshotFactory(measure=promises, day=DAY, value=0.93, cases=30)

    response = _client(executive).get(_dashboard_url(executive_report))

    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == {"key": "all", "label": "Whole enterprise", "department": None}
    assert body["scopes"] == [body["scope"]]
    reopen_card, promise_card = body["cards"]
    assert reopen_card["measure"]["key"] == "reopen_rate"
    assert reopen_card["status"] == "no-data"
    assert (promise_card["value"], promise_card["status"]) == (0.93, "met")
    assert promise_card["series"] == [{"day": "2026-11-02", "value": 0.93}]


def test_a_department_dashboard_reads_a_chosen_department_among_the_readers_own(
    department_manager, it_department, hr_department, promises
):
    audience = AudienceFactory(members=Audience.Members.DEPARTMENT_MANAGERS)
    report = ReportFactory(audience=audience, measures=[promises])
    SnapshotFactory(
        measure=promises,
        day=DAY,
        scope=f"department:{it_department.pk}",
        department=it_department,
        value=0.7,
        cases=3,
    )
    client = _client(department_manager)

    chosen = client.get(_dashboard_url(report), {"department": it_department.pk})
    refused = client.get(_dashboard_url(report), {"department": hr_department.pk})
    malformed = client.get(_dashboard_url(report), {"department": "it"})

    assert chosen.status_code == 200
    assert chosen.json()["scope"]["department"] == it_department.pk
    # Its own staff see a department's small figures.
    assert chosen.json()["cards"][0]["value"] == 0.7
    assert refused.status_code == 400
    assert f"{it_department.pk} (IT)" in refused.json()["department"][0]
    assert malformed.status_code == 400
    assert "department" in malformed.json()


def test_a_dashboard_of_the_whole_enterprise_has_no_department_to_choose(
    executive, executive_report, it_department
):
    response = _client(executive).get(
        _dashboard_url(executive_report), {"department": it_department.pk}
    )

    assert response.status_code == 400
    assert "no department to choose" in response.json()["department"][0]


def test_the_dashboard_holds_back_small_enterprise_figures(executive, executive_report, promises):
    SnapshotFactory(measure=promises, day=DAY, value=1.0, cases=4)

    cards = _client(executive).get(_dashboard_url(executive_report)).json()["cards"]

    assert (cards[1]["value"], cards[1]["held_back"], cards[1]["status"]) == (None, True, "too-few")
    assert cards[1]["series"] == [{"day": "2026-11-02", "value": None}]


def test_the_report_api_runs_a_fixed_number_of_queries(executive, django_assert_max_num_queries):
    audience = AudienceFactory(members=Audience.Members.EXECUTIVES)
    report = ReportFactory(slug="grows", audience=audience)
    client = _client(executive)
    urls = [REPORTS, reverse("reporting-api:report", args=["grows"]), _dashboard_url(report)]

    def grow(start, count):
        for n in range(start, start + count):
            measure = MeasureFactory(key=f"measure_{n}")
            report.lines.create(measure=measure, position=n)
            SnapshotFactory(measure=measure, day=DAY)
            ReportFactory(audience=audience, measures=[measure])

    grow(0, 2)
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(20) as few:
            client.get(url)
        counts[url] = len(few.captured_queries)
    grow(2, 10)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200


# Schema --------------------------------------------------------------------------------


def test_the_schema_describes_the_reporting_operations(executive):
    paths = _client(executive).get(reverse("api-schema"), {"format": "json"}).json()["paths"]

    detail = paths["/api/v1/measures/{key}/"]["get"]
    assert {p["name"] for p in detail["parameters"]} == {"key", "scope"}
    dashboard = paths["/api/v1/reports/{slug}/dashboard/"]["get"]
    assert {p["name"] for p in dashboard["parameters"]} == {"slug", "department"}
    assert {"/api/v1/measures/", "/api/v1/reports/", "/api/v1/reports/{slug}/"} <= set(paths)


def test_the_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
