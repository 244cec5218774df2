"""The nine readiness signs, each data-drawn rule on hand-built data with a known answer."""

from __future__ import annotations

import datetime as dt

import pytest

from esm import clock
from esm.models import DepartmentRole
from journeys.models import Finding
from reporting import readiness
from reporting.models import Measure, ReadinessAssessment, ReportMeasure
from services.models import Article
from tests.esm.factories import DepartmentFactory, DepartmentRoleFactory, UserFactory
from tests.journeys.factories import TouchpointFactory
from tests.reporting.factories import (
    AudienceFactory,
    MeasureFactory,
    ReportFactory,
    SnapshotFactory,
)
from tests.services.factories import ArticleFactory, ServiceFactory, ServiceRequestFactory
from tests.valuestreams.factories import StageFactory
from valuestreams.models import CaseFlow, CaseStage

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with clock.travel(NOW):
        yield


def _answers(department):
    return {
        item.sign.key: item.answer
        for item in readiness.department_readiness([department])[department.pk]
    }


def _report(department, *kinds):
    report = ReportFactory()
    report.audience.departments.add(department)
    for position, kind in enumerate(kinds):
        measure = MeasureFactory(kind=kind, key=f"k{report.pk}-{position}")
        ReportMeasure.objects.create(report=report, measure=measure, position=position)
    return report


@pytest.mark.django_db
def test_outcome_reports_yes_when_a_report_shows_an_outcome():
    department = DepartmentFactory()
    _report(department, Measure.Kind.OUTPUT)
    _report(department, Measure.Kind.OUTPUT, Measure.Kind.OUTCOME)
    answer = _answers(department)["outcome_reports"]
    assert answer.answer == "yes"
    assert answer.evidence.startswith("1 of its 2 reports")


@pytest.mark.django_db
def test_outcome_reports_partly_with_outputs_only_and_no_without_reports():
    outputs, bare = DepartmentFactory(), DepartmentFactory()
    _report(outputs, Measure.Kind.OUTPUT)
    AudienceFactory()  # an audience for no one in particular counts for no department
    assert _answers(outputs)["outcome_reports"].answer == "partly"
    assert _answers(bare)["outcome_reports"].answer == "no"


@pytest.mark.django_db
def test_owned_by_business_counts_owners_outside_the_departments_staff():
    department = DepartmentFactory()
    insider, outsider = UserFactory(), UserFactory()
    DepartmentRoleFactory(user=insider, department=department, role=DepartmentRole.Role.AGENT)
    ServiceFactory(department=department, owner=insider)
    ServiceFactory(department=department, owner=insider)
    ServiceFactory(department=department, owner=outsider)
    ServiceFactory(department=department, owner=None)  # no owner: not judged
    answer = _answers(department)["owned_by_business"]
    assert answer.answer == "partly"
    assert answer.evidence == "1 of its 3 owned live services are owned outside it."

    ServiceFactory(department=department, owner=outsider)
    assert _answers(department)["owned_by_business"].answer == "yes"


@pytest.mark.django_db
def test_owned_by_business_no_when_only_its_staff_own():
    department = DepartmentFactory()
    manager = UserFactory()
    DepartmentRoleFactory(user=manager, department=department, role=DepartmentRole.Role.MANAGER)
    ServiceFactory(department=department, owner=manager)
    assert _answers(department)["owned_by_business"].answer == "no"


def _ratings(service, *values, day=dt.date(2026, 11, 1)):
    measure = Measure.objects.filter(key="experience_rating").first() or MeasureFactory(
        key="experience_rating", kind=Measure.Kind.EXPERIENCE
    )
    for offset, value in enumerate(values):
        SnapshotFactory(
            measure=measure,
            service=service,
            scope=f"service:{service.pk}",
            day=day + dt.timedelta(days=offset),
            value=value,
        )


@pytest.mark.django_db
def test_consistent_experience_from_the_spread_of_service_means():
    department = DepartmentFactory()
    steady, shaky = ServiceFactory(department=department), ServiceFactory(department=department)
    _ratings(steady, 4.0, 4.4)  # mean 4.2
    _ratings(shaky, 3.0, 3.6)  # mean 3.3: spread 0.9
    _ratings(shaky, 1.0, day=dt.date(2026, 6, 1))  # before the window: ignored
    answer = _answers(department)["consistent_experience"]
    assert answer.answer == "partly"
    assert "spread of 0.9" in answer.evidence


@pytest.mark.django_db
def test_consistent_experience_falls_back_to_the_assessment_with_one_rated_service(executive):
    department = DepartmentFactory()
    _ratings(ServiceFactory(department=department), 4.5)
    assert _answers(department)["consistent_experience"].answer == ""
    ReadinessAssessment.objects.create(
        department=department,
        sign="consistent_experience",
        answer="yes",
        evidence="Same desk, same script.",
        assessed_by=executive,
        assessed_on=dt.date(2026, 11, 1),
    )
    answer = _answers(department)["consistent_experience"]
    assert (answer.answer, answer.from_data) == ("yes", False)
    assert answer.evidence.startswith("Same desk, same script.")


def _stage_case(stage, *, process, wait, received, flawed, started=NOW - dt.timedelta(days=3)):
    service_request = ServiceRequestFactory()
    case = CaseFlow.objects.create(
        stream=stage.stream,
        service_request=service_request,
        reference=f"REQ-{service_request.pk}",
        submitted_at=started,
        refreshed_at=NOW,
    )
    CaseStage.objects.create(
        case=case,
        stage=stage,
        started_at=started,
        process_minutes=process,
        queue_wait_minutes=wait,
        received=received,
        flawed=flawed,
    )


@pytest.mark.django_db
def test_lean_processes_from_flow_efficiency_and_complete_and_accurate():
    lean, wasteful, half = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    _stage_case(StageFactory(department=lean), process=30, wait=60, received=10, flawed=1)
    _stage_case(StageFactory(department=wasteful), process=10, wait=90, received=4, flawed=2)
    _stage_case(StageFactory(department=half), process=50, wait=50, received=2, flawed=1)
    _stage_case(
        StageFactory(department=half),
        process=0,
        wait=900,
        received=8,
        flawed=8,
        started=NOW - dt.timedelta(days=200),  # before the window: ignored
    )
    lean_answer = _answers(lean)["lean_processes"]
    assert lean_answer.answer == "yes"
    assert "flow efficiency 33%, %C&A 90%" in lean_answer.evidence
    assert _answers(wasteful)["lean_processes"].answer == "no"
    assert _answers(half)["lean_processes"].answer == "partly"


@pytest.mark.django_db
def test_successes_published_counts_published_articles_and_done_findings():
    department = DepartmentFactory()
    ArticleFactory(department=department, status=Article.Status.PUBLISHED)
    ArticleFactory(department=department, status=Article.Status.DRAFT)
    touchpoint = TouchpointFactory(department=department)
    Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="a", status="done")
    Finding.objects.create(touchpoint=touchpoint, kind="opportunity", title="b", status="new")
    answer = _answers(department)["successes_published"]
    assert answer.answer == "partly"
    assert answer.evidence == "1 published knowledge articles, 1 journey findings done."
    Finding.objects.create(touchpoint=touchpoint, kind="pain_point", title="c", status="done")
    assert _answers(department)["successes_published"].answer == "yes"


@pytest.mark.django_db
def test_assessed_signs_read_the_latest_assessment(executive):
    department = DepartmentFactory()
    for day, answer in ((dt.date(2026, 9, 1), "no"), (dt.date(2026, 11, 1), "yes")):
        ReadinessAssessment.objects.create(
            department=department,
            sign="business_sponsor",
            answer=answer,
            evidence="The COO asked for it." if answer == "yes" else "Nobody yet.",
            assessed_by=executive,
            assessed_on=day,
        )
    answers = _answers(department)
    assert answers["business_sponsor"].answer == "yes"
    assert answers["service_mindset"].answer == ""
    assert len(answers) == 9


@pytest.mark.django_db
def test_readiness_costs_the_same_queries_for_more_departments(django_assert_max_num_queries):
    departments = [DepartmentFactory() for _ in range(2)]
    with django_assert_max_num_queries(7):
        readiness.department_readiness(departments)
    departments += [DepartmentFactory() for _ in range(6)]
    for department in departments:
        _report(department, Measure.Kind.OUTCOME)
        ServiceFactory(department=department, owner=UserFactory())
    with django_assert_max_num_queries(7):
        readiness.department_readiness(departments)
